"""Construct tests synthesize small stacks with the repository's feature flags."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import App, Environment, Stack

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def new_stack(stack_id: str = "test") -> Stack:
    app = App(context=json.loads(CDK_JSON.read_text())["context"])
    return Stack(app, stack_id, env=Environment(account="123456789012", region="eu-west-1"))
