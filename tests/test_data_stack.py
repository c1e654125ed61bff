"""The data layer: governed zones owned by each LOB, checked on the synthesized policies."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from blueprint.assembly.access.question import Questions
from genai_constructs.storage import METADATA_READ_ACTIONS, OBJECT_WRITE_ACTIONS
from tests.conftest import Synthesized

# The zones keep these logical IDs (pinned on purpose: a renamed construct id would make
# CloudFormation replace, or for Retain orphan, the bucket).
ZONE_BUCKETS = {
    "raw": "ZonesRawBucket805D1BBC",
    "curated": "ZonesCuratedBucket6C6E8B8E",
    "training": "ZonesTrainingBucket1598EE77",
    "artifacts": "ZonesArtifactsBucketAC7DFAF6",
}
PINNED_LOGICAL_IDS = {
    **{logical_id: "AWS::S3::Bucket" for logical_id in ZONE_BUCKETS.values()},
    "CuratedDatabase": "AWS::Glue::Database",
}
STATEFUL_TYPES = {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::Glue::Database"}
ACCOUNT_IN_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):")
KMS_KEY_ID = "s3:x-amz-server-side-encryption-aws-kms-key-id"
GOVERNANCE_AUDITOR = "arn:aws:iam::222222222222:role/example-corp-auditor"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _principal_accounts(statement: dict[str, Any]) -> set[str]:
    principal = statement.get("Principal", {})
    arns = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else [principal]
    return {
        m.group(1) for arn in arns if isinstance(arn, str) and (m := ACCOUNT_IN_ARN.search(arn))
    }


def test_pinned_logical_ids(example: Synthesized) -> None:
    for env in ("interactive", "nonprod", "prod"):
        resources = example.template_json(f"claims-{env}-data")["Resources"]
        for logical_id, resource_type in PINNED_LOGICAL_IDS.items():
            assert resources[logical_id]["Type"] == resource_type


PROD_RELEASE_ROLE = "arn:aws:iam::666666666666:role/example-corp-model-release"


def _is_release_share(placement_key: str, statement: dict[str, Any]) -> bool:
    """Nonprod shares the merged models of its pipelines with prod's release role alone."""
    return (
        placement_key == "claims-nonprod"
        and statement["Principal"] == {"AWS": "arn:aws:iam::666666666666:root"}
        and statement["Condition"]["ArnEquals"] == {"aws:PrincipalArn": [PROD_RELEASE_ROLE]}
        and set(_as_list(statement["Action"])) <= {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
    )


def test_no_lob_bucket_policy_grants_data_to_another_account(example: Synthesized) -> None:
    """Only the auditor's metadata reads, prod's release of nonprod's merged models, and the
    hub's ingestion role's reads of the documents claims promotes (from its prod, through S3)."""
    checked = shares = promoted = 0
    for placement in example.plan.lob_environments():
        for layer in ("security", "data"):
            template = example.template_json(f"{placement.key}-{layer}")
            for statement in _policy_statements(template):
                if statement["Effect"] != "Allow":
                    continue
                checked += 1
                foreign = _principal_accounts(statement) - {placement.account}
                if not foreign:
                    continue
                if _is_release_share(placement.key, statement):
                    shares += 1
                    continue
                if foreign == {"888888888888"}:
                    assert placement.key == "claims-prod"
                    assert statement["Condition"]["ArnEquals"] == {
                        "aws:PrincipalArn": [
                            "arn:aws:iam::888888888888:role/example-corp-ingestion"
                        ]
                    }
                    promoted += 1
                    continue
                assert foreign == {"222222222222"}, (placement.key, statement)
                assert statement["Principal"] == {"AWS": GOVERNANCE_AUDITOR}
                assert set(_as_list(statement["Action"])) <= set(METADATA_READ_ACTIONS)
                assert not any(a.startswith("s3:GetObject") for a in _as_list(statement["Action"]))
    assert checked > 0
    assert shares == 2  # read and list of the merged models in the artifacts zone
    assert promoted >= 2  # the promoted prefix's objects, and its key through S3


def test_every_zone_denies_principals_outside_its_account(example: Synthesized) -> None:
    for placement in example.plan.lob_environments():
        template = example.template_json(f"{placement.key}-data")
        denies = [
            s
            for s in _policy_statements(template)
            if s.get("Sid") in ("DenyOutsideAccount", "DenyOutsideAccountExceptMetadata")
        ]
        assert len(denies) == 4, placement.key
        for deny in denies:
            assert deny["Effect"] == "Deny"
            assert deny["Principal"] == {"AWS": "*"}
            assert deny["Condition"]["StringNotEquals"] == {
                "aws:PrincipalAccount": placement.account
            }


def test_metadata_reads_by_the_auditor_only_where_enabled(example: Synthesized) -> None:
    def allows(stack: str) -> list[dict[str, Any]]:
        return [
            s
            for s in _policy_statements(example.template_json(stack))
            if s.get("Sid") == "AllowNamedMetadataReaders"
        ]

    assert len(allows("claims-prod-data")) == 4
    assert allows("marketing-prod-data") == []


@pytest.mark.parametrize(
    ("encryption", "key", "expected"),
    [
        (None, None, "allow"),
        ("aws:kms", "key/data", "allow"),
        ("aws:kms", "key/logs", "deny"),
        ("AES256", None, "deny"),
    ],
    ids=["default-encryption", "the-zone-key", "another-key", "s3-managed"],
)
def test_uploads_with_another_key_or_encryption_are_denied(
    example: Synthesized,
    example_access: Questions,
    encryption: str | None,
    key: str | None,
    expected: str,
) -> None:
    context = [f"s3:x-amz-server-side-encryption={encryption}"] if encryption else []
    if key:
        security = "claims-prod-security"
        context.append(f"{KMS_KEY_ID}={{{security}/{example.marked(security, key)}.Arn}}")
    decision = example_access.ask(
        "666666666666:example-corp-ingestion",
        "s3:PutObject",
        f"claims-prod-data/{ZONE_BUCKETS['training']}/batch/1.jsonl",
        tuple(context),
    )
    assert decision.decision == expected, decision.reasons


def test_zones_are_encrypted_logged_versioned_and_private(example: Synthesized) -> None:
    template = example.template("marketing-nonprod-data")
    security = "marketing-nonprod-security"
    data_key = example.marked(security, "key/data")
    [data_key_export] = [
        output["Export"]["Name"]
        for output in example.template_json(security)["Outputs"].values()
        if output["Value"] == {"Fn::GetAtt": [data_key, "Arn"]}
    ]
    buckets = template.find_resources("AWS::S3::Bucket")
    assert set(buckets) == set(ZONE_BUCKETS.values())
    for zone, logical_id in ZONE_BUCKETS.items():
        properties = buckets[logical_id]["Properties"]
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::ImportValue": data_key_export},
                },
            }
        ]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert properties["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert properties["OwnershipControls"] == {
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
        }
        assert properties["LoggingConfiguration"]["LogFilePrefix"] == f"{zone}/"
        assert properties["LifecycleConfiguration"]["Rules"] == [
            {
                "Id": "ExpireNoncurrentAndIncomplete",
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
            }
        ]
        tags = {t["Key"]: t["Value"] for t in properties["Tags"]}
        assert tags["data-classification"] == "internal"
        assert tags["lob"] == "marketing"


def test_operational_zones_accept_writes_from_pipelines_only(example: Synthesized) -> None:
    for stack, expected in (
        ("claims-prod-data", 4),
        ("claims-nonprod-data", 4),
        ("claims-interactive-data", 0),
    ):
        denies = [
            s
            for s in _policy_statements(example.template_json(stack))
            if s.get("Sid") == "DenyWritesWithoutWorkloadTag"
        ]
        assert len(denies) == expected, stack
        for deny in denies:
            assert sorted(_as_list(deny["Action"])) == sorted(OBJECT_WRITE_ACTIONS)
            assert deny["Condition"]["StringNotEquals"] == {
                "aws:PrincipalTag/genai-platform:workload": "pipeline"
            }


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("raw", "deny"), ("curated", "allow"), ("training", "allow"), ("artifacts", "deny")],
)
def test_interactive_data_scientists_read_curated_and_training_only(
    example_access: Questions, zone: str, expected: str
) -> None:
    decision = example_access.ask(
        "444444444444:example-corp-data-scientist",
        "s3:GetObject",
        f"claims-interactive-data/{ZONE_BUCKETS[zone]}/sample.parquet",
    )
    assert decision.decision == expected, decision.reasons


def test_restricted_data_locks_the_raw_zone(example: Synthesized) -> None:
    buckets = example.template("research-prod-data").find_resources("AWS::S3::Bucket")
    raw = buckets[ZONE_BUCKETS["raw"]]["Properties"]
    assert raw["ObjectLockEnabled"] is True
    assert raw["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": 365, "Mode": "GOVERNANCE"}},
    }
    assert raw["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 365
    }
    for zone in ("curated", "training", "artifacts"):
        assert "ObjectLockConfiguration" not in buckets[ZONE_BUCKETS[zone]]["Properties"]
    confidential = example.template("claims-prod-data").find_resources("AWS::S3::Bucket")
    assert "ObjectLockConfiguration" not in confidential[ZONE_BUCKETS["raw"]]["Properties"]


def test_glue_database_and_encrypted_catalog(example: Synthesized) -> None:
    template = example.template("research-nonprod-data")
    template.has_resource_properties(
        "AWS::Glue::Database",
        {
            "CatalogId": "555555555557",
            "DatabaseInput": {"Name": "research_nonprod_curated", "LocationUri": Match.any_value()},
        },
    )
    template.has_resource_properties(
        "AWS::Glue::DataCatalogEncryptionSettings",
        {
            "DataCatalogEncryptionSettings": {
                "EncryptionAtRest": {
                    "CatalogEncryptionMode": "SSE-KMS",
                    "SseAwsKmsKeyId": {"Fn::ImportValue": Match.any_value()},
                },
                "ConnectionPasswordEncryption": {
                    "ReturnConnectionPasswordEncrypted": True,
                    "KmsKeyId": {"Fn::ImportValue": Match.any_value()},
                },
            }
        },
    )


@pytest.mark.parametrize("env", ["nonprod", "prod"])
def test_operational_stateful_resources_are_retained(example: Synthesized, env: str) -> None:
    checked = 0
    for name, template in example.templates().items():
        if f"-{env}-" not in name:
            continue
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in STATEFUL_TYPES:
                checked += 1
                assert resource.get("DeletionPolicy") == "Retain", f"{name}/{logical_id}"
    assert checked >= 3 * 8


def test_objects_are_never_auto_deleted(example: Synthesized) -> None:
    for name, template in example.templates().items():
        types = {r["Type"] for r in template["Resources"].values()}
        assert "Custom::S3AutoDeleteObjects" not in types, name


def test_data_deploys_after_its_roles_and_the_central_auditor(example: Synthesized) -> None:
    dependencies = {
        stack.stack_name: {d.id for d in stack.dependencies} for stack in example.assembly.stacks
    }
    assert dependencies["claims-prod-data"] >= {
        "claims-prod-security",
        "claims-prod-foundation",
        "platform-governance-foundation",
    }
    assert "platform-governance-foundation" not in dependencies["marketing-prod-data"]
