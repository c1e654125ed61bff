from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs import AccessLogBucket, DataLakeZones, GovernedBucket

AUDITOR = "arn:aws:iam::210987654321:role/auditor"
ANALYST = "arn:aws:iam::123456789012:role/analyst"


def _dependencies():  # type: ignore[no-untyped-def]
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    logs = AccessLogBucket(stack, "Logs").bucket
    return stack, key, logs


@pytest.fixture(scope="module")
def template() -> Template:
    stack, key, logs = _dependencies()
    DataLakeZones(
        stack,
        "Lake",
        encryption_key=key,
        access_log_bucket=logs,
        zones=("raw", "curated"),
        object_lock_days={"raw": 30},
        denied_readers={"raw": [ANALYST]},
        metadata_reader_arns=[AUDITOR],
        writer_tag=("team", "pipeline"),
    )
    return Template.from_stack(stack)


def _statements(template: Template, bucket_prefix: str) -> dict[str, dict]:
    policies = template.find_resources("AWS::S3::BucketPolicy")
    policy = next(
        p for p in policies.values() if p["Properties"]["Bucket"]["Ref"].startswith(bucket_prefix)
    )
    return {s.get("Sid", "TLS"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_one_bucket_per_zone_with_the_lock_where_asked(template: Template) -> None:
    buckets = template.find_resources("AWS::S3::Bucket")
    raw = next(b for k, b in buckets.items() if k.startswith("LakeRaw"))
    curated = next(b for k, b in buckets.items() if k.startswith("LakeCurated"))
    assert raw["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": 30,
        "Mode": "GOVERNANCE",
    }
    assert "ObjectLockConfiguration" not in curated["Properties"]
    assert raw["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "raw/"


def test_policy_statements(template: Template) -> None:
    raw = _statements(template, "LakeRaw")
    curated = _statements(template, "LakeCurated")
    assert set(raw) == {
        "TLS",
        "DenyOutsideAccountExceptMetadata",
        "DenyOutsideAccountMetadataUnlessNamed",
        "AllowNamedMetadataReaders",
        "DenyOtherKeys",
        "DenyOtherEncryption",
        "DenyWritesWithoutWorkloadTag",
        "DenyNamedReaders",
    }
    assert set(curated) == set(raw) - {"DenyNamedReaders"}
    assert raw["AllowNamedMetadataReaders"]["Principal"] == {"AWS": AUDITOR}
    assert raw["DenyNamedReaders"]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [ANALYST]}}
    assert raw["DenyWritesWithoutWorkloadTag"]["Condition"]["StringNotEquals"] == {
        "aws:PrincipalTag/team": "pipeline"
    }


def test_a_plain_governed_bucket_denies_everything_outside_its_account() -> None:
    stack, key, logs = _dependencies()
    GovernedBucket(stack, "Data", encryption_key=key, access_log_bucket=logs)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "DenyOutsideAccount",
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {
                                    "StringNotEquals": {"aws:PrincipalAccount": "123456789012"},
                                    "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"noncurrent_version_days": 0},
            "GovernedBucket: noncurrent_version_days must be at least 1 (got 0)",
        ),
        ({"object_lock_days": 0}, "GovernedBucket: object_lock_days must be at least 1 (got 0)"),
        (
            {"shared_prefixes": {"reports": ["arn:aws:iam::123456789012:role/reader"]}},
            "GovernedBucket: shared prefix 'reports' must end with '/' and hold no leading '/' "
            "or '*'",
        ),
        (
            {"denied_reader_workspaces": ["*/"]},
            "GovernedBucket: denied readers' workspace '*/' must end with '/' and hold no "
            "leading '/' or '*'",
        ),
        (
            {"metadata_reader_arns": ["arn:aws:iam::123:user/x"]},
            "GovernedBucket: metadata_reader_arns must be the ARN of an IAM role "
            "(arn:<partition>:iam::<account>:role/<id>; resource types: role), "
            "got 'arn:aws:iam::123:user/x'",
        ),
    ],
)
def test_governed_bucket_validation(props: dict, message: str) -> None:
    stack, key, logs = _dependencies()
    with pytest.raises(ValueError) as raised:
        GovernedBucket(stack, "Data", encryption_key=key, access_log_bucket=logs, **props)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"zones": ()}, "DataLakeZones: zones must be unique and not empty (got ())"),
        (
            {"zones": ("raw", "raw")},
            "DataLakeZones: zones must be unique and not empty (got ('raw', 'raw'))",
        ),
        (
            {"object_lock_days": {"gold": 1}},
            "DataLakeZones: ['gold'] are not zones of ['raw', 'curated', 'training', 'artifacts']",
        ),
    ],
)
def test_data_lake_validation(props: dict, message: str) -> None:
    stack, key, logs = _dependencies()
    with pytest.raises(ValueError) as raised:
        DataLakeZones(stack, "Lake", encryption_key=key, access_log_bucket=logs, **props)
    assert str(raised.value) == message


def test_access_log_bucket_admits_log_delivery_from_its_account() -> None:
    stack = new_stack()
    AccessLogBucket(stack, "Logs")
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowAccessLogDeliveryFromThisAccount",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "123456789012"}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_imported_log_buckets_are_accepted() -> None:
    stack, key, _ = _dependencies()
    imported = s3.Bucket.from_bucket_name(stack, "Imported", "logs-bucket")
    GovernedBucket(stack, "Data", encryption_key=key, access_log_bucket=imported)
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": {
                "DestinationBucketName": "logs-bucket",
                "LogFilePrefix": "Data/",
            }
        },
    )


def test_denied_readers_keep_their_workspaces() -> None:
    stack, key, logs = _dependencies()
    DataLakeZones(
        stack,
        "Lake",
        encryption_key=key,
        access_log_bucket=logs,
        zones=("artifacts",),
        denied_readers={"artifacts": [ANALYST]},
        denied_reader_workspaces={"artifacts": ["experiments/", "mlflow/"]},
    )
    deny = _statements(Template.from_stack(stack), "LakeArtifacts")["DenyNamedReaders"]
    assert "Resource" not in deny
    assert [part["Fn::Join"][1][1] for part in deny["NotResource"]] == [
        "/experiments/*",
        "/mlflow/*",
    ]
    assert deny["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [ANALYST]}}


@pytest.mark.parametrize("prefix", ["experiments", "/experiments/", "exp*/"])
def test_a_workspace_is_a_plain_prefix(prefix: str) -> None:
    stack, key, logs = _dependencies()
    with pytest.raises(ValueError, match="denied readers' workspace"):
        GovernedBucket(
            stack,
            "Bucket",
            encryption_key=key,
            access_log_bucket=logs,
            denied_reader_arns=[ANALYST],
            denied_reader_workspaces=[prefix],
        )


def test_workspaces_of_an_unknown_zone_are_refused() -> None:
    stack, key, logs = _dependencies()
    with pytest.raises(ValueError, match=r"\['models'\] are not zones"):
        DataLakeZones(
            stack,
            "Lake",
            encryption_key=key,
            access_log_bucket=logs,
            zones=("raw",),
            denied_reader_workspaces={"models": ["experiments/"]},
        )
