"""Props that come from parameters, imports or other resources are tokens at synthesis: the
constructs leave them to deploy time instead of refusing them, and still refuse bad values."""

from __future__ import annotations

import pytest
from aws_cdk import CfnParameter, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs import AccessLogBucket, GovernedBucket, S3VectorStore
from genai_constructs.validation import check_range, number_text


def number(stack: Stack, name: str) -> float:
    return CfnParameter(stack, name, type="Number").value_as_number


def test_numbers_from_parameters_are_left_to_deploy_time() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=number(stack, "Dimensions"))
    logs = AccessLogBucket(stack, "Logs", archive_after_days=number(stack, "Archive")).bucket
    GovernedBucket(
        stack,
        "Zone",
        encryption_key=key,
        access_log_bucket=logs,
        noncurrent_version_days=number(stack, "Noncurrent"),
    )
    template = Template.from_stack(stack).to_json()
    # (object_lock_days cannot be a token: the CDK's own Object Lock retention refuses one)
    assert {"Dimensions", "Archive", "Noncurrent"} <= set(template["Parameters"])
    [index] = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3Vectors::Index"]
    assert index["Properties"]["Dimension"] == {"Ref": "Dimensions"}


def test_known_values_are_still_checked() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    with pytest.raises(ValueError, match=r"S3VectorStore: dimensions must be 1-4096 \(got 0\)"):
        S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=0)
    logs = s3.Bucket.from_bucket_name(stack, "Logs", "logs")
    with pytest.raises(ValueError, match="GovernedBucket: object_lock_days must be at least 1"):
        GovernedBucket(
            stack, "Zone", encryption_key=key, access_log_bucket=logs, object_lock_days=0
        )


def test_a_number_becomes_text_for_the_environment_either_way() -> None:
    stack = new_stack()
    assert number_text(5) == "5"
    assert stack.resolve(number_text(number(stack, "Results"))) == {"Ref": "Results"}
    check_range("Probe", "results", number(stack, "Other"), 1, 100)
    with pytest.raises(ValueError, match=r"Probe: results must be 1-100 \(got 101\)"):
        check_range("Probe", "results", 101, 1, 100)
