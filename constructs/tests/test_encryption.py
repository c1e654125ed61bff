from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs import PlatformKey


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    PlatformKey(stack, "Data", description="data at rest")
    PlatformKey(
        stack,
        "Logs",
        description="log groups",
        allow_cloudwatch_logs=True,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return Template.from_stack(stack)


def test_keys_rotate(template: Template) -> None:
    for key in template.find_resources("AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_only_the_logs_key_admits_cloudwatch_logs(template: Template) -> None:
    keys = template.find_resources("AWS::KMS::Key")
    statements = {
        logical_id: [s.get("Sid") for s in key["Properties"]["KeyPolicy"]["Statement"]]
        for logical_id, key in keys.items()
    }
    data = next(v for k, v in statements.items() if k.startswith("Data"))
    logs = next(v for k, v in statements.items() if k.startswith("Logs"))
    assert "AllowCloudWatchLogsOfThisAccount" not in data
    assert "AllowCloudWatchLogsOfThisAccount" in logs


def test_removal_policy_is_explicit(template: Template) -> None:
    keys = template.find_resources("AWS::KMS::Key")
    data = next(v for k, v in keys.items() if k.startswith("Data"))
    logs = next(v for k, v in keys.items() if k.startswith("Logs"))
    assert data["DeletionPolicy"] == "Retain"
    assert logs["DeletionPolicy"] == "Delete"
    assert logs["Properties"]["PendingWindowInDays"] == 7


def test_description_is_required() -> None:
    with pytest.raises(ValueError, match="PlatformKey: description must not be empty"):
        PlatformKey(new_stack(), "Key", description=" ")
