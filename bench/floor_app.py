"""The floor: a CDK app with the blueprint's stacks and resource counts and no logic at all.

Reads FLOOR_SPEC (JSON: ``{"stacks": [[name, account, region, resource_count], ...]}``) and
creates that many plain L1 resources (``AWS::CloudFormation::WaitConditionHandle``, no
properties) in each stack, with the same synthesizer as the blueprint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, CfnWaitConditionHandle, Environment, Stack

app = App()
for name, account, region, count in json.loads(Path(os.environ["FLOOR_SPEC"]).read_text())[
    "stacks"
]:
    stack = Stack(app, name, env=Environment(account=account, region=region))
    for index in range(count):
        CfnWaitConditionHandle(stack, f"Resource{index}")
app.synth()
