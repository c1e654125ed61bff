"""The platform's CDK bootstrap: its own qualifier, deployment roles for the delivery pipeline
only, a CloudFormation execution policy limited to what the platform deploys, hardened asset
storage, and a template that passes checkov with a reason on each skip."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.assembly.access.question import Questions
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from blueprint.deploy.bootstrap import (
    BOOTSTRAP_TEMPLATE,
    CHECKOV_SKIPS,
    DENIED_CREDENTIAL_READS,
    DENIED_IAM,
    TRUSTING_ROLES,
    BootstrapError,
    execution_services,
    platform_bootstrap,
    read_cdk_template,
)
from blueprint.model import names
from tests.conftest import REPO, Synthesized

Json = dict[str, Any]
CDK_TEMPLATE = REPO / "node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml"
CHECKOV = Path(os.environ.get("CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))
DELIVERY = {"StringEquals": {"aws:PrincipalTag/genai-platform:workload": "delivery"}}


@pytest.fixture(scope="module")
def template(example: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Json:
    out = tmp_path_factory.mktemp("bootstrap")
    for path in example.outdir.glob("*.json"):
        (out / path.name).write_text(path.read_text())
    assert main(["bootstrap-template", str(out)]) == 0
    return dict(yaml.safe_load((out / BOOTSTRAP_TEMPLATE).read_text()))


def _trust_statements(statements: list[Any]) -> list[Json]:
    """The statements of a trust policy, with both branches of each Fn::If."""
    found: list[Json] = []
    for statement in statements:
        if "Fn::If" in statement:
            found += _trust_statements([s for s in statement["Fn::If"][1:] if "Ref" not in s])
        else:
            found.append(statement)
    return found


def test_the_qualifier_is_the_platforms(template: Json) -> None:
    assert template["Parameters"]["Qualifier"]["Default"] == names.BOOTSTRAP_QUALIFIER == "genai"


@pytest.mark.parametrize("role", TRUSTING_ROLES)
def test_only_the_delivery_pipeline_assumes_the_deployment_roles(template: Json, role: str) -> None:
    statements = _trust_statements(
        template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    )
    assert len(statements) >= 4
    for statement in statements:
        condition = statement["Condition"]
        branches = condition["Fn::If"][1:] if "Fn::If" in condition else [condition]
        for branch in branches:
            assert branch["StringEquals"] == DELIVERY["StringEquals"], (role, statement)


def test_cloudformation_may_use_only_the_platforms_services(
    template: Json, example: Synthesized
) -> None:
    execution = template["Resources"]["CloudFormationExecutionRole"]["Properties"]
    assert execution["ManagedPolicyArns"] == [{"Ref": "CloudFormationExecutionPolicy"}]
    policy = template["Resources"]["CloudFormationExecutionPolicy"]["Properties"]
    allow, no_users, no_passwords = policy["PolicyDocument"]["Statement"]
    services = execution_services(read_assembly(example.outdir))
    assert allow["Action"] == [f"{service}:*" for service in services]
    assert {"bedrock", "sagemaker", "aoss", "application-autoscaling", "budgets"} <= set(services)
    # AWS::StepFunctions::* is IAM's `states`; `stepfunctions:*` would grant nothing.
    assert "states" in services and "stepfunctions" not in services
    assert "*:*" not in allow["Action"] and "iam:*" in allow["Action"]
    assert no_users == {
        "Sid": "NoIamUsersOrKeys",
        "Effect": "Deny",
        "Action": list(DENIED_IAM),
        "Resource": "*",
    }
    assert {"iam:CreateUser", "iam:CreateAccessKey", "iam:AddUserToGroup"} <= set(DENIED_IAM)
    assert no_passwords == {
        "Sid": "NoCredentialReads",
        "Effect": "Deny",
        "Action": list(DENIED_CREDENTIAL_READS),
        "Resource": "*",
    }


def test_the_file_assets_key_rotates_and_is_still_created_on_request(template: Json) -> None:
    key = template["Resources"]["FileAssetsBucketEncryptionKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    # `--bootstrap-customer-key` (FileAssetsBucketKmsKeyId '') creates it; the CLI's default
    # is S3's AWS managed key, and the bucket's encryption follows the same conditions.
    assert key["Condition"] == "CreateNewKey"
    assert template["Resources"]["FileAssetsBucketEncryptionKeyAlias"]["Condition"] == (
        "CreateNewKey"
    )
    assert template["Conditions"]["CreateNewKey"] == {
        "Fn::Equals": ["", {"Ref": "FileAssetsBucketKmsKeyId"}]
    }
    encryption = template["Resources"]["StagingBucket"]["Properties"]["BucketEncryption"]
    default = encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"]["Fn::If"][0] == "CreateNewKey"


def test_the_staging_bucket_blocks_public_access_whatever_the_parameter_says(
    template: Json,
) -> None:
    bucket = template["Resources"]["StagingBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    # The CLI always passes the parameter; 'false' (--no-public-access-block-configuration)
    # is refused by CloudFormation instead of silently opening the bucket.
    parameter = template["Parameters"]["PublicAccessBlockConfiguration"]
    assert parameter["AllowedValues"] == ["true"] and parameter["Default"] == "true"
    assert "UsePublicAccessBlockConfiguration" not in json.dumps(template)


def test_container_images_are_scanned_kms_encrypted_and_immutable(template: Json) -> None:
    repository = template["Resources"]["ContainerAssetsRepository"]["Properties"]
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    # CDK tags an image asset with its source hash, and cdk-assets skips a tag that exists.
    assert repository["ImageTagMutability"] == "IMMUTABLE"


def test_cdks_example_boundary_with_an_allow_all_is_not_offered(template: Json) -> None:
    assert "CdkBoostrapPermissionsBoundaryPolicy" not in template["Resources"]
    assert "UseExamplePermissionsBoundary" not in template["Parameters"]
    assert "ShouldCreatePermissionsBoundary" not in json.dumps(template)
    # The CLI's own flags for a boundary still work: they only add one.
    assert {"InputPermissionsBoundary", "ApplyPermissionsBoundaryToAllRoles"} <= set(
        template["Parameters"]
    )


def test_skips_are_written_as_checkov_and_acknowledge_write_them(template: Json) -> None:
    for logical_id, checks in CHECKOV_SKIPS.items():
        skips = template["Resources"][logical_id]["Metadata"]["checkov"]["skip"]
        assert skips == [{"id": check, "comment": reason} for check, reason in checks.items()]
        assert all(len(reason) >= 40 for reason in checks.values())


def test_the_template_is_valid_cloudformation(template: Json) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(yaml.safe_dump(template), config=ManualArgs(regions=["eu-west-1"]))
    # Errors, and W3037: an action whose service prefix IAM does not know grants nothing.
    assert [str(m) for m in matches if m.rule.id.startswith("E") or m.rule.id == "W3037"] == []
    # Parameters the CLI passes but the platform ignores (PublicAccessBlockConfiguration,
    # CloudFormationExecutionPolicies) and CDK's own AccessControl warn, nothing else.
    assert {m.rule.id for m in matches} <= {"W2001", "W8001", "W3045"}


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("Resources", "LookupRole"),
        ("Resources", "ContainerAssetsRepository"),
        ("Parameters", "PublicAccessBlockConfiguration"),
    ],
)
def test_a_changed_cdk_template_is_refused_with_a_clear_error(section: str, name: str) -> None:
    cdk = read_cdk_template(CDK_TEMPLATE)
    del cdk[section][name]
    with pytest.raises(BootstrapError, match=f"has no {name}; update blueprint/deploy"):
        platform_bootstrap(cdk, ["s3"])


@pytest.fixture(scope="module")
def scan(template: Json, tmp_path_factory: pytest.TempPathFactory) -> Json:
    """checkov on the bootstrap template, as the auditors run it (tests/test_checkov.py)."""
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}; run `make test` (it creates it)")
    path = tmp_path_factory.mktemp("bootstrap-scan") / BOOTSTRAP_TEMPLATE
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(path),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    assert isinstance(report, dict), report
    assert report["summary"]["parsing_errors"] == 0
    return dict(report["results"])


def _resource(check: Json) -> str:
    return str(check["resource"]).split(".", 1)[1]


def test_checkov_reports_no_failed_check_on_the_bootstrap(scan: Json) -> None:
    assert [(c["check_id"], c["resource"]) for c in scan["failed_checks"]] == []
    passed = {(c["check_id"], _resource(c)) for c in scan["passed_checks"]}
    assert {
        ("CKV_AWS_7", "FileAssetsBucketEncryptionKey"),  # rotation
        *(
            (check, "StagingBucket")  # the four settings of the public access block
            for check in ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56")
        ),
        ("CKV_AWS_51", "ContainerAssetsRepository"),  # immutable tags
        ("CKV_AWS_136", "ContainerAssetsRepository"),  # KMS
        ("CKV_AWS_163", "ContainerAssetsRepository"),  # scan on push
        ("CKV_AWS_107", "CloudFormationExecutionPolicy"),  # no credentials exposure
    } <= passed
    assert len(passed) > 60


def test_every_bootstrap_skip_is_declared_with_a_reason(scan: Json) -> None:
    skipped = {
        (c["check_id"], _resource(c)): c["check_result"].get("suppress_comment", "")
        for c in scan["skipped_checks"]
    }
    declared = {
        (check, logical_id): reason
        for logical_id, checks in CHECKOV_SKIPS.items()
        for check, reason in checks.items()
    }
    assert skipped == declared
    assert all(len(reason) >= 40 for reason in skipped.values())


@pytest.mark.parametrize(
    "principal",
    [
        "444444444444:example-corp-platform-admin",
        "666666666666:example-corp-ml-engineer",
        "666666666666:example-corp-app-claims-assistant",
    ],
)
def test_no_person_or_workload_assumes_a_deployment_role(
    example_access: Questions, principal: str
) -> None:
    account = principal.split(":")[0]
    deploy_role = names.role_arn(account, names.cdk_role_name("deploy", account, "eu-west-1"))
    decision = example_access.ask(principal, "sts:AssumeRole", deploy_role)
    assert decision.decision == "deny"
    assert decision.reasons[0].startswith("explicit deny by boundary")
    assert "[DenyDeploymentRolesExceptToDelivery]" in decision.reasons[0]
