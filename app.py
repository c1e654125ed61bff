"""CDK entry point: read one organization file (ORG, default the example) and build it."""

import os

from aws_cdk import App

from blueprint.loader import load_config_or_exit
from stacks import build_platform, synthesize

app = App()
build_platform(app, load_config_or_exit(os.environ.get("ORG", "environments/example.yaml")))
synthesize(app)
