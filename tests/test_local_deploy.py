"""`blueprint deploy --local`: the example organization deployed into moto, read back with boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.reader import TEMPLATE_BODY_LIMIT, AssemblyStack, read_assembly
from blueprint.cli import main
from blueprint.deploy import smoke
from blueprint.deploy.local import (
    Emulator,
    StackResult,
    asset_bucket,
    bootstrap,
    deploy_assembly,
    deploy_stack,
    moto_server,
    smoke_findings,
)
from genai_constructs.naming import OUTSIDE_BOUNDARY_TAG
from tests.conftest import Synthesized

CLAIMS_NONPROD = "555555555555"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def deployed(example: Synthesized) -> Iterator[tuple[Emulator, dict[str, StackResult]]]:
    """Every stack of the example organization, deployed once into a fresh moto server."""
    with moto_server() as endpoint:
        emulator = Emulator(endpoint)
        results = deploy_assembly(
            emulator, read_assembly(example.outdir), progress=lambda line: None
        )
        yield emulator, {result.stack.name: result for result in results}


def _client(emulator: Emulator, service: str, account: str = CLAIMS_NONPROD) -> Any:
    return emulator.account_client(account, REGION, service)


def _physical_ids(
    emulator: Emulator, stack: str, kind: str, account: str, only: set[str] | None = None
) -> list[str]:
    summaries = _client(emulator, "cloudformation", account).list_stack_resources(StackName=stack)[
        "StackResourceSummaries"
    ]
    return [
        s["PhysicalResourceId"]
        for s in summaries
        if s["ResourceType"] == kind and (only is None or s["LogicalResourceId"] in only)
    ]


def test_every_foundation_and_data_stack_is_created(
    deployed: tuple[Emulator, dict[str, StackResult]], example: Synthesized
) -> None:
    _, results = deployed
    layers = ("-security", "-foundation", "-data")
    expected = {name for name in example.stack_names() if name.endswith(layers)}
    assert len(expected) == 9 * 3 + 2 * 2 + 3  # and the hub's
    assert {name for name, result in results.items() if result.ok} >= expected
    for name in expected:
        template = example.template_json(name)
        result = results[name]
        assert result.created + len(result.gaps) == len(template["Resources"]), name


def test_stacks_are_created_in_dependency_order(
    deployed: tuple[Emulator, dict[str, StackResult]],
) -> None:
    _, results = deployed
    position = {name: index for index, name in enumerate(results)}
    for result in results.values():
        for dependency in result.stack.depends_on:
            assert position[dependency] < position[result.stack.name]


def test_each_stack_lands_in_its_own_account(
    deployed: tuple[Emulator, dict[str, StackResult]],
) -> None:
    emulator, results = deployed
    for account in ("444444444444", CLAIMS_NONPROD, "666666666668"):
        stacks = _client(emulator, "cloudformation", account).describe_stacks()["Stacks"]
        expected = {r.stack.name for r in results.values() if r.stack.account == account}
        assert {stack["StackName"] for stack in stacks} == expected


def test_data_zones_are_encrypted_with_the_security_stack_key(
    deployed: tuple[Emulator, dict[str, StackResult]],
) -> None:
    emulator, _ = deployed
    keys = _physical_ids(emulator, "claims-nonprod-security", "AWS::KMS::Key", CLAIMS_NONPROD)
    kms = _client(emulator, "kms")
    key_arns = {kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] for key in keys}
    s3 = _client(emulator, "s3")
    buckets = _physical_ids(emulator, "claims-nonprod-data", "AWS::S3::Bucket", CLAIMS_NONPROD)
    assert len(buckets) == 4
    for bucket in buckets:
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert default["KMSMasterKeyID"] in key_arns
    assert all(kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] for key in keys)


def test_foundation_network_and_roles(
    deployed: tuple[Emulator, dict[str, StackResult]], example: Synthesized
) -> None:
    emulator, _ = deployed
    stack = "claims-nonprod-foundation"
    [vpc] = _physical_ids(emulator, stack, "AWS::EC2::VPC", CLAIMS_NONPROD)
    ec2 = _client(emulator, "ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    template = example.template_json(stack)["Resources"]
    declared = [r for r in template.values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    assert len(endpoints["VpcEndpoints"]) == len(declared)
    services = {endpoint["ServiceName"] for endpoint in endpoints["VpcEndpoints"]}
    assert f"com.amazonaws.{REGION}.bedrock-runtime" in services
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    iam = _client(emulator, "iam")
    boundaries = {
        logical_id
        for logical_id, resource in template.items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and str(resource["Properties"].get("ManagedPolicyName", "")).endswith("boundary")
    }
    assert len(boundaries) == 1
    [boundary] = _physical_ids(
        emulator, stack, "AWS::IAM::ManagedPolicy", CLAIMS_NONPROD, only=boundaries
    )
    roles = _physical_ids(emulator, stack, "AWS::IAM::Role", CLAIMS_NONPROD)
    assert len(roles) == len([r for r in template.values() if r["Type"] == "AWS::IAM::Role"])
    outside = 0
    for role in roles:
        found = iam.get_role(RoleName=role)["Role"]
        outside_tag = {"Key": OUTSIDE_BOUNDARY_TAG[0], "Value": OUTSIDE_BOUNDARY_TAG[1]}
        if outside_tag in found.get("Tags", []):
            outside += 1
            assert "PermissionsBoundary" not in found
            continue
        assert found["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert outside == 2  # break glass and its alarm's publisher


def test_large_templates_go_through_the_bootstrap_bucket(
    deployed: tuple[Emulator, dict[str, StackResult]],
) -> None:
    emulator, results = deployed
    large = [r.stack for r in results.values() if r.stack.needs_template_url]
    assert large, "the example has templates over 51,200 bytes"
    for stack in large:
        assert stack.template_asset is not None
        s3 = _client(emulator, "s3", stack.account)
        body = s3.get_object(Bucket=stack.template_asset.bucket, Key=stack.template_asset.key)
        assert len(stack.template_body.encode()) > TEMPLATE_BODY_LIMIT
        assert set(json.loads(body["Body"].read())["Resources"]) == set(
            stack.template["Resources"]
        ) - set(results[stack.name].gaps)


def test_lambda_code_is_published_where_the_template_expects_it(
    deployed: tuple[Emulator, dict[str, StackResult]], example: Synthesized
) -> None:
    emulator, _ = deployed
    bucket = asset_bucket(CLAIMS_NONPROD, REGION)
    listing = _client(emulator, "s3").list_objects_v2(Bucket=bucket)["Contents"]
    keys = {entry["Key"] for entry in listing}
    template = example.template_json("claims-nonprod-genai")["Resources"]
    code = [
        r["Properties"]["Code"] for r in template.values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert code
    assert {c["S3Key"] for c in code} <= keys
    functions = _client(emulator, "lambda").list_functions()["Functions"]
    assert len(functions) >= len(code)


def test_gaps_are_reported_and_never_pass_a_smoke_check(
    deployed: tuple[Emulator, dict[str, StackResult]],
) -> None:
    emulator, results = deployed
    data = results["claims-nonprod-data"]
    assert "AWS::S3::BucketPolicy" in data.gaps.values()
    assert "not modelled" in data.reasons["AWS::S3::BucketPolicy"]
    genai = results["claims-nonprod-genai"]
    assert {"AWS::Bedrock::Guardrail", "Custom::BedrockModelInvocationLogging"} <= set(
        genai.gaps.values()
    )
    findings = smoke_findings(emulator, list(results.values()))
    assert not [f for f in findings if f.outcome == smoke.FAIL]
    policies = [f for f in findings if f.check == "bucket policy"]
    assert policies and all(f.outcome == smoke.NOT_EMULATED for f in policies)
    checks = {f.check for f in findings if f.outcome == smoke.PASS}
    assert checks == {
        "stack status",
        "bucket encryption",
        "KMS rotation",
        "VPC endpoints",
        "role boundary",
    }


# ------------------------------------------------------------ broken references, one stack


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with moto_server() as endpoint:
        emulator = Emulator(endpoint)
        bootstrap(emulator, CLAIMS_NONPROD, REGION)
        yield emulator


def _stack_with(tmp_path: Path, example: Synthesized, name: str, edit: Any) -> AssemblyStack:
    [stack] = [s for s in read_assembly(example.outdir).stacks if s.name == name]
    template = stack.template
    edit(template)
    path = tmp_path / f"{name}.template.json"
    path.write_text(json.dumps(template))
    return replace(stack, template_path=path)


def test_a_reference_to_a_missing_resource_names_the_stack_and_resource(
    emulator: Emulator, example: Synthesized, tmp_path: Path
) -> None:
    def break_reference(template: dict[str, Any]) -> None:
        log_group = next(
            logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Logs::LogGroup"
        )
        template["Resources"][log_group]["Properties"]["KmsKeyId"] = {"Ref": "NoSuchKey"}

    stack = _stack_with(tmp_path, example, "claims-nonprod-security", break_reference)
    result = deploy_stack(emulator, stack, exports=set())
    assert result.status == "REJECTED"
    assert result.message.startswith("claims-nonprod-security: resource FlowLogs")
    assert "(AWS::Logs::LogGroup): Ref NoSuchKey, which the template does not declare" in (
        result.message
    )
    names = [
        s["StackName"] for s in _client(emulator, "cloudformation").describe_stacks()["Stacks"]
    ]
    assert "claims-nonprod-security" not in names


def test_an_import_nobody_exports_names_the_stack_and_resource(
    emulator: Emulator, example: Synthesized
) -> None:
    [data] = [s for s in read_assembly(example.outdir).stacks if s.name == "claims-nonprod-data"]
    result = deploy_stack(emulator, data, exports=set())
    assert result.status == "REJECTED"
    assert result.message.startswith("claims-nonprod-data: resource Zones")
    assert "Fn::ImportValue claims-nonprod-security:ExportsOutput" in result.message
    assert "no stack in this account and region exports it" in result.message


def test_a_failed_stack_skips_its_dependents(example: Synthesized) -> None:
    with moto_server() as endpoint:
        emulator = Emulator(endpoint)
        results = deploy_assembly(
            emulator,
            read_assembly(example.outdir),
            select=lambda s: s.name.startswith("claims-nonprod-") and "security" not in s.name,
            progress=lambda line: None,
        )
    by_name = {r.stack.name: r for r in results}
    assert by_name["claims-nonprod-foundation"].status == "REJECTED"
    assert by_name["claims-nonprod-data"].status == "SKIPPED"
    assert by_name["claims-nonprod-data"].message == (
        "dependency claims-nonprod-foundation not created"
    )


# ------------------------------------------------------------------------------ the command


def test_deploy_local_prints_a_summary_and_the_smoke_checks(
    example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--local", str(example.outdir), "--stacks", "claims-interactive-*"]) == 0
    out = capsys.readouterr().out
    assert "[1/5] claims-interactive-security (444444444444/eu-west-1): CREATE_COMPLETE" in out
    assert "stack  " in out and "not emulated" in out
    assert "5/5 stack(s) created" in out
    assert "not emulated: AWS::Bedrock::Guardrail: not modelled by moto's CloudFormation" in out
    assert "smoke checks: " in out and " 0 failed, 4 not verifiable" in out


def test_deploy_without_local_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "cdk.out"]) == 2
    assert "only --local is implemented" in capsys.readouterr().err


def test_deploy_local_without_an_assembly_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--local", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "no manifest.json; run `make synth` first" in captured.err
    assert "moto server" not in captured.out
