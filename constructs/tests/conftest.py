"""Construct tests synthesize small stacks with the repository's feature flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def new_stack(stack_id: str = "test") -> Stack:
    app = App(context=json.loads(CDK_JSON.read_text())["context"])
    return Stack(app, stack_id, env=Environment(account="123456789012", region="eu-west-1"))


def assert_grants_attached(template: Template, stack: Stack, role: iam.Role) -> None:
    """The package's grants to ``role`` are in its one managed policy, attached to it alone."""
    from genai_constructs.grants import GRANTS_POLICY_ID

    policy = stack.get_logical_id(role.node.find_child(GRANTS_POLICY_ID).node.default_child)  # type: ignore[arg-type]
    assert template.to_json()["Resources"][policy]["Type"] == "AWS::IAM::ManagedPolicy"
    role_id = stack.get_logical_id(role.node.default_child)  # type: ignore[arg-type]
    attached = template.to_json()["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
    assert {"Ref": policy} in attached


# A FineTuningPipeline refuses a bad prop before it touches the others: these stand in for
# them in tests of its validation messages.
PIPELINE_PLACEHOLDERS: dict[str, Any] = {
    "spec": None,
    "vpc": None,
    "vpc_subnets": [None],
    "security_group": None,
    "encryption_key": None,
    "log_retention": None,
    "training_bucket": None,
    "artifacts_bucket": None,
}
