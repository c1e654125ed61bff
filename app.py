"""CDK entry point: read the settings and one organization file, and build it.

With ``-c pipeline=true`` (and ``platform.pipeline`` set) the LOB environments are deployed by
delivery pipelines in the tooling account instead (stacks/pipeline.py).
"""

import os
import sys
import time

from aws_cdk import App, Stack

from blueprint.model.loader import load_config_or_exit
from blueprint.model.settings import Settings
from stacks import build_platform, synthesize
from stacks.compliance import app_props
from stacks.pipeline import build_delivery

app = App(**app_props())
settings = Settings.from_process(os.environ, app.node.try_get_context)
if not settings.org_given:
    print(
        f"ORG is not set: this is the example organization ({settings.org_file}), whose "
        "accounts are fictional; set ORG=path/to/your-org.yaml for yours "
        "(make diff and make deploy require it)",
        file=sys.stderr,
    )
config = load_config_or_exit(settings.org_file)
started = time.monotonic()
if settings.pipeline:
    build_delivery(app, config, settings)
else:
    build_platform(app, config, training_code=settings.training_code)
stacks = sum(1 for child in app.node.children if Stack.is_stack(child))
print(
    f"synthesizing {stacks} stacks of {settings.org_file}, each through the four cdk-nag packs "
    "and the platform's pack ...",
    file=sys.stderr,
    flush=True,
)
synthesize(app)
print(f"synthesized in {time.monotonic() - started:.0f} s", file=sys.stderr)
