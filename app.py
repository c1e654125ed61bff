"""CDK entry point: read one organization file (ORG, default the example) and build it.

With ``-c pipeline=true`` (and ``platform.pipeline`` set) the LOB environments are deployed by
delivery pipelines in the tooling account instead (stacks/pipeline.py).
"""

import os

from aws_cdk import App

from blueprint.model.loader import load_config_or_exit
from stacks import build_platform, synthesize
from stacks.compliance import APP_PROPS
from stacks.pipeline import build_delivery, pipeline_requested

app = App(**APP_PROPS)
org_file = os.environ.get("ORG", "environments/example.yaml")
config = load_config_or_exit(org_file)
if pipeline_requested(app):
    build_delivery(app, config, org_file)
else:
    build_platform(app, config)
synthesize(app)
