from __future__ import annotations

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.invocation_logging import ModelInvocationLogging


def _logging(**overrides):  # type: ignore[no-untyped-def]
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    props = {
        "log_group": logs.LogGroup(stack, "Logs"),
        "bucket": s3.Bucket.from_bucket_name(stack, "Archive", "archive"),
        "encryption_key": key,
        "vpc": vpc,
    } | overrides
    return stack, ModelInvocationLogging(stack, "Invocations", **props)


@pytest.fixture(scope="module")
def template() -> Template:
    stack, _ = _logging(max_input_tokens=1000, interventions_per_5_minutes=3)
    return Template.from_stack(stack)


def test_custom_resource_configures_all_delivery(template: Template) -> None:
    template.has_resource_properties(
        "Custom::BedrockModelInvocationLogging",
        {
            "BucketName": "archive",
            "KeyPrefix": "invocations/",
            "TextDelivery": "true",
            "ImageDelivery": "true",
            "EmbeddingDelivery": "true",
            "RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("InvocationsDeliveryRole"), "Arn"]},
        },
    )


def test_logging_stays_on_when_the_resource_leaves_its_template(template: Template) -> None:
    [configuration] = template.find_resources("Custom::BedrockModelInvocationLogging").values()
    assert configuration["DeletionPolicy"] == "Retain"
    assert configuration["UpdateReplacePolicy"] == "Retain"


def test_function_can_only_configure_logging_and_pass_the_delivery_role(template: Template) -> None:
    policy = next(
        p
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if k.startswith("InvocationsConfiguratorFunctionServiceRole")
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {
        a: s["Resource"]
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert actions["bedrock:PutModelInvocationLoggingConfiguration"] == "*"
    assert actions["bedrock:DeleteModelInvocationLoggingConfiguration"] == "*"
    assert actions["iam:PassRole"]["Fn::GetAtt"][0].startswith("InvocationsDeliveryRole")
    assert actions["sqs:SendMessage"]["Fn::GetAtt"][0].startswith(
        "InvocationsConfiguratorDeadLetters"
    )
    assert set(actions) == {
        "bedrock:PutModelInvocationLoggingConfiguration",
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        "bedrock:GetModelInvocationLoggingConfiguration",
        "iam:PassRole",
        "sqs:SendMessage",
    }


def test_thresholds_reach_the_alarms(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Logs::MetricFilter", {"FilterPattern": "{ $.input.inputTokenCount > 1000 }"}
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"Threshold": 3, "ComparisonOperator": "GreaterThanOrEqualToThreshold"},
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"max_input_tokens": 0},
            r"ModelInvocationLogging: max_input_tokens must be at least 1 \(got 0\)",
        ),
        (
            {"interventions_per_5_minutes": 0},
            r"ModelInvocationLogging: interventions_per_5_minutes must be at least 1 \(got 0\)",
        ),
    ],
)
def test_thresholds_are_checked(props: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _logging(**props)
