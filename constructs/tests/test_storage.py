from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs import AccessLogBucket, GovernedBucket, acknowledge


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    AccessLogBucket(stack, "Logs", archive_after_days=60, noncurrent_version_days=30)
    return Template.from_stack(stack)


def test_bucket_baseline(template: Template) -> None:
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "ArchiveAndExpireNoncurrent",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 60}],
                        }
                    ]
                },
            },
        },
    )


def test_no_auto_delete_custom_resource(template: Template) -> None:
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    template.resource_count_is("AWS::Lambda::Function", 0)


def test_archive_too_early_is_refused() -> None:
    with pytest.raises(
        ValueError, match=("AccessLogBucket: archive_after_days must be at least 30 \\(got 10\\)")
    ):
        AccessLogBucket(new_stack(), "Logs", archive_after_days=10)


def test_noncurrent_retention_must_be_positive() -> None:
    with pytest.raises(
        ValueError,
        match=("AccessLogBucket: noncurrent_version_days must be at least 1 \\(got 0\\)"),
    ):
        AccessLogBucket(new_stack(), "Logs", noncurrent_version_days=0)


def test_buckets_synthesize_without_the_apps_feature_flags() -> None:
    """An LOB team's app need not set @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy."""
    app = App()  # no context at all, unlike this repository's cdk.json
    stack = Stack(app, "consumer", env=Environment(account="123456789012", region="eu-west-1"))
    logs = AccessLogBucket(stack, "Logs").bucket
    GovernedBucket(stack, "Data", encryption_key=kms.Key(stack, "Key"), access_log_bucket=logs)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"LoggingConfiguration": Match.object_like({"LogFilePrefix": "Data/"})},
    )
    buckets = template.find_resources("AWS::S3::Bucket")
    assert all("AccessControl" not in b["Properties"] for b in buckets.values())


def test_acknowledging_a_wrapper_names_what_to_pass_instead() -> None:
    stack = new_stack()
    logs = AccessLogBucket(stack, "Logs").bucket
    data = GovernedBucket(
        stack, "Data", encryption_key=kms.Key(stack, "Key"), access_log_bucket=logs
    )
    with pytest.raises(ValueError, match=r"pass one of what it wraps: \.bucket$"):
        acknowledge(data, "AwsSolutions-S1", "A reason long enough to be a specific one.")
