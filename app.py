"""CDK entry point: read the settings and one organization file, and build it.

With ``-c pipeline=true`` (and ``platform.pipeline`` set) the LOB environments are deployed by
delivery pipelines in the tooling account instead (stacks/pipeline.py).
"""

import os

from aws_cdk import App

from blueprint.model.loader import load_config_or_exit
from blueprint.model.settings import Settings
from stacks import build_platform, synthesize
from stacks.compliance import app_props
from stacks.pipeline import build_delivery

app = App(**app_props())
settings = Settings.from_process(os.environ, app.node.try_get_context)
config = load_config_or_exit(settings.org_file)
if settings.pipeline:
    build_delivery(app, config, settings)
else:
    build_platform(app, config, training_code=settings.training_code)
synthesize(app)
