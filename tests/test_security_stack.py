"""The security stack of every account: keys, access-log bucket, flow-log group."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.conftest import Synthesized

# Stateful resources keep these logical IDs; renaming a construct id must fail this test,
# because CloudFormation would replace (and for Retain, orphan) the resource.
PINNED_LOGICAL_IDS = {
    "DataKey2A0DE9E6": "AWS::KMS::Key",
    "LogsKeyFE4C4A83": "AWS::KMS::Key",
    "AccessLogsBucketCD784A59": "AWS::S3::Bucket",
    "FlowLogs16C1943A": "AWS::Logs::LogGroup",
}


@pytest.mark.parametrize(
    "stack_name",
    ["claims-prod-security", "platform-governance-security", "marketing-interactive-security"],
)
def test_stateful_logical_ids_are_pinned(example: Synthesized, stack_name: str) -> None:
    resources = example.template_json(stack_name)["Resources"]
    for logical_id, resource_type in PINNED_LOGICAL_IDS.items():
        assert resources[logical_id]["Type"] == resource_type


def test_keys_rotate_and_trust_only_their_own_account(example: Synthesized) -> None:
    template = example.template("claims-prod-security")
    template.resource_count_is("AWS::KMS::Key", 2)
    keys = template.find_resources("AWS::KMS::Key")
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            principal = statement["Principal"]
            sid = statement.get("Sid")
            if sid == "AllowNamedRolesToReadSharedObjects":
                # The hub's ingestion role reads the documents claims promotes, through S3.
                assert principal["AWS"] == "arn:aws:iam::888888888888:root"
                assert statement["Action"] == "kms:Decrypt"
                assert statement["Condition"] == {
                    "ArnEquals": {
                        "aws:PrincipalArn": [
                            "arn:aws:iam::888888888888:role/example-corp-ingestion"
                        ]
                    },
                    "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
                }
            elif "AWS" in principal:
                assert principal["AWS"] == "arn:aws:iam::666666666666:root"
            elif sid == "AllowCloudWatchLogsOfThisAccount":
                assert principal == {"Service": "logs.eu-west-1.amazonaws.com"}
                assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
                    "arn:aws:logs:eu-west-1:666666666666:log-group:*"
                )
            elif sid == "AllowAwsServicesActingForThisAccount":
                assert set(_as_list(principal["Service"])) <= {
                    "bedrock.amazonaws.com",
                    "indexing.s3vectors.amazonaws.com",
                    "events.amazonaws.com",  # queues knowledge-base ingestion requests
                }
                assert statement["Condition"] == {
                    "StringEquals": {"aws:SourceAccount": "666666666666"}
                }
            else:
                # CloudWatch alarms publishing to the encrypted alarm topic send no source
                # account; the topic policy keeps other accounts out.
                assert sid == "AllowCloudWatchAlarmsToEncryptedTopics"
                assert principal == {"Service": "cloudwatch.amazonaws.com"}
                assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def test_access_log_bucket_is_private_versioned_and_tls_only(example: Synthesized) -> None:
    template = example.template("claims-nonprod-security")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_flow_log_group_is_encrypted_with_the_logs_key(example: Synthesized) -> None:
    template = example.template("claims-prod-security")
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "KmsKeyId": {"Fn::GetAtt": [example.marked("claims-prod-security", "key/logs"), "Arn"]},
            "RetentionInDays": 731,
        },
    )


@pytest.mark.parametrize(
    ("stack_name", "days"),
    [
        ("marketing-prod-security", 365),
        ("claims-prod-security", 731),
        ("research-prod-security", 2557),
        ("platform-governance-security", 2557),
    ],
)
def test_log_retention_follows_data_classification(
    example: Synthesized, stack_name: str, days: int
) -> None:
    example.template(stack_name).has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": days}
    )


@pytest.mark.parametrize(
    "stack_name",
    [
        "claims-nonprod-security",
        "claims-prod-security",
        "claims-interactive-security",
        "platform-tooling-security",
    ],
)
def test_stateful_resources_are_retained(example: Synthesized, stack_name: str) -> None:
    resources = example.template_json(stack_name)["Resources"]
    for logical_id in PINNED_LOGICAL_IDS:
        assert resources[logical_id]["DeletionPolicy"] == "Retain"
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain"


def test_interactive_data_of_a_lob_that_opts_out_is_destroyed(example: Synthesized) -> None:
    resources = example.template_json("marketing-interactive-security")["Resources"]
    for logical_id in PINNED_LOGICAL_IDS:
        assert resources[logical_id]["DeletionPolicy"] == "Delete"
    data_key = example.marked("marketing-interactive-security", "key/data")
    assert resources[data_key]["Properties"]["PendingWindowInDays"] == 7


def test_prod_and_platform_stacks_have_termination_protection(example: Synthesized) -> None:
    protected = {
        stack.stack_name for stack in example.assembly.stacks if stack.termination_protection
    }
    expected = (
        {
            f"{key}-{layer}"
            for key in (
                "claims-prod",
                "marketing-prod",
                "research-prod",
                "platform-governance",
                "platform-tooling",
                "platform-hub",
            )
            for layer in ("security", "foundation")
        }
        | {
            f"{lob}-prod-{layer}"
            for lob in ("claims", "marketing", "research")
            for layer in ("data", "genai", "ml")
        }
        | {
            "organization-policies",
            "organization-budgets-1",
            "organization-workforce",
            "platform-governance-audit",
            "platform-governance-metrics-sink-eu-central-1",
            "platform-governance-oversight-1",
            "platform-hub-data",
            "platform-hub-genai",
        }
    )
    assert protected == expected


def test_access_log_bucket_admits_log_delivery_from_its_own_account(example: Synthesized) -> None:
    example.template("claims-prod-security").has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowAccessLogDeliveryFromThisAccount",
                                "Effect": "Allow",
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "666666666666"}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
