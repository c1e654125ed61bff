"""The delivery pipelines: wave order, approval, smoke checks, quotas, and the smoke script."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from aws_cdk import App, CfnWaitConditionHandle, Stack, cx_api
from constructs import Construct
from moto import mock_aws

from blueprint.assembly.access.chains import PrivilegeGraph
from blueprint.assembly.access.evaluate import Evaluator
from blueprint.assembly.access.world import build_world
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from blueprint.model import names
from blueprint.model.config import OrgConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.generate import generate_org
from blueprint.model.placing import plan_for
from blueprint.model.plan import Placement, Plan
from blueprint.model.rollout import (
    MAX_ACTIONS_PER_STAGE,
    MAX_STAGES,
    actions_per_lob_stage,
    plan_rollout,
    stage_count,
)
from blueprint.model.settings import Settings
from stacks import synthesize
from stacks.compliance import app_props
from stacks.foundation import FoundationStack
from stacks.pipeline import add_pipelines, build_delivery
from tests.conftest import EXAMPLE, REPO, Synthesized, feature_flags

sys.path.insert(0, str(REPO / "blueprint" / "deploy"))
import smoke

LAYERS = ("security", "foundation", "data", "genai", "ml")
# The nonprod environments whose use cases answer from knowledge bases (RAG release gate).
RAG_GATED = {"claims-nonprod", "research-nonprod"}
MAX_TEMPLATE_BYTES = 1_000_000  # CloudFormation: template body from S3
MAX_ROLE_INLINE_POLICY = 10_240  # IAM: inline policies of one role, whitespace excluded
MAX_RESOURCES = 500  # CloudFormation: resources per stack


def pipelines_of(assembly: cx_api.CloudAssembly) -> dict[str, dict[str, Any]]:
    return {
        stack.stack_name: dict(stack.template)
        for stack in assembly.stacks
        if stack.stack_name.startswith("platform-pipeline") and "support" not in stack.stack_name
    }


def codepipeline(template: dict[str, Any]) -> dict[str, Any]:
    [resource] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    return dict(resource["Properties"])


def stages(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list(codepipeline(template)["Stages"])


def lob_actions(stage: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The actions of a wave by LOB environment (from the stack name or the smoke target)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for action in stage["Actions"]:
        configuration = action.get("Configuration", {})
        if "StackName" in configuration:
            key = configuration["StackName"].rsplit("-", 1)[0]
        elif "PREFIX" in smoke_variables(action):
            key = smoke_variables(action)["PREFIX"]
        else:
            continue
        grouped.setdefault(key, []).append(action)
    return grouped


def smoke_variables(action: dict[str, Any]) -> dict[str, str]:
    variables = json.loads(action.get("Configuration", {}).get("EnvironmentVariables", "[]"))
    return {v["name"]: v["value"] for v in variables}


# ---------------------------------------------------------------- the example, with pipelines


@pytest.fixture(scope="module")
def delivery(example_config: OrgConfig, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("pipeline.out")
    app = App(outdir=str(outdir), **app_props(feature_flags() | {"pipeline": "true"}))
    plan = build_delivery(app, example_config, Settings(org_file=Path("environments/example.yaml")))
    return Synthesized(app=app, plan=plan, assembly=synthesize(app), outdir=outdir)


@pytest.fixture(scope="module")
def pipeline_template(delivery: Synthesized) -> dict[str, Any]:
    return delivery.template_json("platform-pipeline")


def test_pipeline_in_tooling_account_and_platform_stacks_direct(delivery: Synthesized) -> None:
    top_level = {s.stack_name: s.environment.account for s in delivery.assembly.stacks}
    assert top_level["platform-pipeline"] == "333333333333"
    assert {
        "organization-policies",
        "platform-governance-audit",
        "platform-governance-foundation",
        "platform-tooling-security",
    } <= set(top_level)
    assert not any(name.startswith("claims-") for name in top_level)
    nested = {s.stack_name for s in delivery.assembly.stacks_recursively}
    assert {f"claims-prod-{layer}" for layer in LAYERS} <= nested


def test_the_pipeline_assembly_is_judged_with_its_stages_stacks(
    delivery: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`blueprint access` and `blueprint audit` read the stages' nested assemblies, and the
    stack CodePipeline adds for another region's actions carries the tooling identity."""
    assembly = read_assembly(delivery.outdir)
    placements = {stack.identity.placement for stack in assembly.stacks}
    assert {p.key for p in delivery.plan.placements} - {"management"} <= placements
    support = [stack for stack in assembly.stacks if stack.artifact_id.startswith("cross-region")]
    assert support and {stack.identity.placement for stack in support} == {"platform-tooling"}
    assert main(["access", str(delivery.outdir), "--org", str(EXAMPLE)]) == 0
    printed = capsys.readouterr().out
    assert "in 9 LOB environments: every check as expected, 0 unknown" in printed
    copy = tmp_path / "pipeline.out"
    shutil.copytree(delivery.outdir, copy, ignore=shutil.ignore_patterns("asset.*"))
    assert main(["audit", str(copy), "--org", str(EXAMPLE), "--no-lint"]) == 0
    report = json.loads((copy / "audit" / "audit.json").read_text())
    environments = {entry["placement"] for entry in report["access"]["environments"]}
    assert len(environments) == 9


def test_waves_in_order_interactive_nonprod_prod(pipeline_template: dict[str, Any]) -> None:
    names = [stage["Name"] for stage in stages(pipeline_template)]
    assert names == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "interactive",
        "nonprod",
        "prod",
    ]


def test_prod_is_approved_after_its_diff_and_before_it_deploys(
    pipeline_template: dict[str, Any], example_config: OrgConfig
) -> None:
    prod = stages(pipeline_template)[-1]
    by_name = {a["Name"]: a for a in prod["Actions"]}
    diff, approval = by_name["DiffProd"], by_name["ApproveProd"]
    assert (diff["RunOrder"], approval["RunOrder"]) == (1, 2)
    assert diff["ActionTypeId"]["Category"] == "Build"
    assert approval["ActionTypeId"]["Category"] == "Approval"
    assert approval["Configuration"]["NotificationArn"] == {
        "Ref": next(
            logical_id
            for logical_id, resource in pipeline_template["Resources"].items()
            if resource["Type"] == "AWS::SNS::Topic" and logical_id.startswith("ReleaseApprovals")
        )
    }
    prod_keys = [f"{lob.name}-prod" for lob in example_config.lobs]
    assert all(key in approval["Configuration"]["CustomData"] for key in prod_keys)
    others = [a for a in prod["Actions"] if a not in (diff, approval)]
    assert min(a["RunOrder"] for a in others) == 3
    for stage in stages(pipeline_template)[:-1]:
        assert all(a["ActionTypeId"]["Category"] != "Approval" for a in stage["Actions"])


def test_the_diff_covers_every_prod_stack(
    pipeline_template: dict[str, Any], example_config: OrgConfig
) -> None:
    projects = [
        r["Properties"]["Source"]["BuildSpec"]
        for r in pipeline_template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project" and "diff --app" in str(r["Properties"])
    ]
    [spec] = projects
    command = json.loads(spec)["phases"]["build"]["commands"][0]
    assert command.startswith("npx --yes aws-cdk@2.1148.1 diff --app . ")
    for lob in example_config.lobs:
        assert f"'{lob.name}-prod/*'" in command


def test_the_pipeline_runs_pinned_cdk_tools(
    pipeline_template: dict[str, Any], delivery: Synthesized
) -> None:
    specs = " ".join(
        str(r["Properties"].get("Source", {}).get("BuildSpec", ""))
        for r in pipeline_template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
    ) + " ".join(path.read_text() for path in delivery.outdir.glob("buildspec-*.yaml"))
    assert "@latest" not in specs and "aws-cdk@2 " not in specs
    assert "cdk-assets@4.7.3" in specs
    assert "aws-cdk@2.1148.1" in specs


def test_one_stage_per_lob_per_wave(
    pipeline_template: dict[str, Any], example_config: OrgConfig
) -> None:
    for stage in stages(pipeline_template)[4:]:
        grouped = lob_actions(stage)
        assert sorted(grouped) == sorted(
            f"{lob.name}-{stage['Name']}" for lob in example_config.lobs
        )
        for key, group in grouped.items():
            # The rollout planner's count is the synthesized one: Prepare and Deploy per stack,
            # and the smoke check.
            assert len(group) == actions_per_lob_stage(gated=key in RAG_GATED), key
            layers = {a["Name"].split(".")[1] for a in group if a["Name"].endswith(".Deploy")}
            assert layers == set(LAYERS)
            assert {
                a["Configuration"]["StackName"]
                for a in group
                if "StackName" in a.get("Configuration", {})
            } == {f"{key}-{layer}" for layer in LAYERS}


def test_smoke_check_after_each_lob_stage(pipeline_template: dict[str, Any]) -> None:
    for stage in stages(pipeline_template)[4:]:
        for key, group in lob_actions(stage).items():
            [smoke_action] = [a for a in group if a["Name"].endswith(".SmokeCheck")]
            assert smoke_action["Name"] == f"{key}.SmokeCheck"
            deploys = [a["RunOrder"] for a in group if a["Name"].endswith(".Deploy")]
            assert smoke_action["RunOrder"] > max(deploys)
            values = smoke_variables(smoke_action)
            assert values["PREFIX"] == key
            assert values["STACKS"] == ",".join(LAYERS)
            assert values["ROLE_ARN"].endswith(
                f"lookup-role-{values['ACCOUNT']}-{values['REGION']}"
            )


def test_rag_release_gate_after_the_smoke_check_of_gated_nonprod(
    pipeline_template: dict[str, Any],
) -> None:
    gates, waves = {}, {}
    for stage in stages(pipeline_template)[4:]:
        for key, group in lob_actions(stage).items():
            by_name = {a["Name"].split(".", 1)[1]: a for a in group if "." in a["Name"]}
            if "RagReleaseGate" not in by_name:
                continue
            gate = by_name["RagReleaseGate"]
            assert gate["RunOrder"] > by_name["SmokeCheck"]["RunOrder"]
            gates[key], waves[key] = smoke_variables(gate), stage["Name"]
    assert set(gates) == RAG_GATED
    # In the nonprod wave, which the prod wave follows (test_waves_in_order_...).
    assert set(waves.values()) == {"nonprod"}
    assert gates["claims-nonprod"] == {
        "REGION": "eu-west-1",
        "ROLE_ARN": "arn:aws:iam::555555555555:role/example-corp-rag-release-gate",
        "PARAMETERS": (
            "/genai-platform/claims/nonprod/rag-evaluations/claims-assistant/function-arn"
        ),
        "PREFIX": "claims-nonprod",
    }


def test_pipeline_settings(pipeline_template: dict[str, Any]) -> None:
    resources = pipeline_template["Resources"].values()
    pipeline = codepipeline(pipeline_template)
    assert pipeline["PipelineType"] == "V2"
    [source] = stages(pipeline_template)[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["FullRepositoryId"] == "example-corp/genai-platform"
    assert source["Configuration"]["BranchName"] == "main"
    assert source["Configuration"]["ConnectionArn"].startswith("arn:aws:codeconnections:eu-west-1")
    stores = [store["ArtifactStore"] for store in pipeline["ArtifactStores"]]  # one per region
    assert stores and all(store["EncryptionKey"]["Type"] == "KMS" for store in stores)
    keys = [r for r in resources if r["Type"] == "AWS::KMS::Key"]
    assert keys and all(k["Properties"]["EnableKeyRotation"] for k in keys)
    projects = [r["Properties"] for r in resources if r["Type"] == "AWS::CodeBuild::Project"]
    assert projects and all(p["Environment"]["PrivilegedMode"] is False for p in projects)
    assert all("EncryptionKey" in p for p in projects)
    synth = next(p for p in projects if "make test" in json.dumps(p["Source"]))
    buildspec = synth["Source"]["BuildSpec"]
    assert "make synth" in buildspec and "cdk synth --quiet -c pipeline=true" in buildspec
    assert '"cdk.out"' in buildspec or "cdk.out" in buildspec
    self_mutation = [a for s in stages(pipeline_template) for a in s["Actions"]]
    assert any(a["Name"] == "SelfMutate" for a in self_mutation)


def test_gates_pass_and_acknowledgments_are_narrow(delivery: Synthesized) -> None:
    report = json.loads((delivery.outdir / "nag-report.json").read_text())
    assert all(not pack["unacknowledged"] for pack in report["packs"])
    pipeline_acks = [
        a for a in report["acknowledgments"] if a["resource"].startswith("platform-pipeline")
    ]
    assert pipeline_acks
    assert all("/Resource" in a["resource"] or "Pipeline" in a["resource"] for a in pipeline_acks)


def test_pipeline_templates_are_cfn_lint_clean(delivery: Synthesized) -> None:
    from cfnlint.api import ManualArgs, lint

    for stack in delivery.assembly.stacks:
        if stack.stack_name.startswith("platform-pipeline"):
            config = ManualArgs(regions=[stack.environment.region])
            matches = lint(Path(stack.template_full_path).read_text(), config=config)
            assert matches == [], stack.stack_name


def test_stage_stacks_are_the_directly_deployed_stacks(
    delivery: Synthesized, example: Synthesized
) -> None:
    """Same names, accounts, resources and exports as with `cdk deploy`.

    Construct paths gain the stage's id, so the few names CDK derives from the full path differ
    (VPC Name tags, self-referencing security-group rules, grant policies on imported roles):
    taking over stacks first deployed directly replaces those resources (docs/PIPELINE.md).
    """
    direct = {s.stack_name: s for s in example.assembly.stacks}
    top_level = {s.stack_name for s in delivery.assembly.stacks}
    staged = [s for s in delivery.assembly.stacks_recursively if s.stack_name not in top_level]
    assert len(staged) == len(example.plan.lob_environments()) * len(LAYERS)
    for stack in staged:
        twin = direct[stack.stack_name]
        assert stack.environment.account == twin.environment.account
        assert stack.environment.region == twin.environment.region
        assert stack.template.get("Outputs") == twin.template.get("Outputs"), stack.stack_name
        assert _types(stack.template) == _types(twin.template), stack.stack_name
        if stack.stack_name.endswith(("-security", "-genai")):
            assert stack.template == twin.template, stack.stack_name


def _types(template: dict[str, Any]) -> list[str]:
    return sorted(resource["Type"] for resource in template["Resources"].values())


def test_pipeline_needs_its_config(example_config: OrgConfig) -> None:
    platform = example_config.platform.model_copy(update={"pipeline": None})
    config = example_config.model_copy(update={"platform": platform})
    with pytest.raises(SystemExit, match=r"platform\.pipeline"):
        build_delivery(
            App(**app_props(feature_flags())), config, Settings(org_file=Path("org.yaml"))
        )


# ---------------------------------------------------------------- quotas at any organization size


def large_plan(lob_count: int) -> Plan:
    base = yaml.safe_load(EXAMPLE.read_text())
    return plan_for(OrgConfig.model_validate(generate_org(lob_count, base)))


def test_generated_org_is_valid_and_unique() -> None:
    base = yaml.safe_load(EXAMPLE.read_text())
    org = generate_org(100, base)
    config = OrgConfig.model_validate(org)
    assert [lob.name for lob in config.lobs][:2] == ["lob-001", "lob-002"]
    accounts = [env.account for lob in config.lobs for _, env in lob.environments.items()]
    assert len(accounts) == len(set(accounts)) == 300
    assert not set(accounts) & {"111111111111", "222222222222", "333333333333"}


def test_rollout_numbers() -> None:
    [small] = plan_rollout(large_plan(3))
    assert [w.name for w in small.waves] == ["interactive", "nonprod", "prod"]
    assert stage_count(small) == 7
    large = plan_rollout(large_plan(100))
    assert [len(r.lobs) for r in large] == [25, 25, 25, 25]
    assert [w.name for w in large[0].waves][:8] == [
        *(f"interactive-{i}" for i in range(1, 8)),
        "nonprod-1",
    ]
    assert all(stage_count(r) == 25 for r in large)


def test_rollout_splits_pipelines_on_the_stage_quota() -> None:
    """With one LOB per wave (48-action stages), the 50-stage quota decides."""
    rollouts = plan_rollout(large_plan(100), stage_actions=48)
    assert all(stage_count(r) <= MAX_STAGES for r in rollouts)
    assert [len(r.lobs) for r in rollouts] == [15, 15, 15, 15, 15, 15, 10]


def stub_placement(
    scope: Construct, plan: Plan, placement: Placement, foundations: dict[str, FoundationStack]
) -> list[Stack]:
    """Stand-ins for an LOB environment's five stacks: same names, accounts and order."""
    stacks: list[Stack] = []
    for layer in LAYERS:
        stack = Stack(scope, f"{placement.key}-{layer}", stack_name=f"{placement.key}-{layer}")
        CfnWaitConditionHandle(stack, "Placeholder")
        if stacks:
            stack.add_stack_dependency(stacks[min(len(stacks), 2) - 1])
        stacks.append(stack)
    return stacks


@pytest.fixture(scope="module")
def hundred_assembly(tmp_path_factory: pytest.TempPathFactory) -> cx_api.CloudAssembly:
    """The pipelines of a 100-LOB organization (300 LOB stages, stand-in stacks, no nag)."""
    app = App(outdir=str(tmp_path_factory.mktemp("hundred.out")), **app_props(feature_flags()))
    add_pipelines(app, large_plan(100), Settings(org_file=Path("org.yaml")), build=stub_placement)
    return app.synth()


@pytest.fixture(scope="module")
def hundred(hundred_assembly: cx_api.CloudAssembly) -> dict[str, dict[str, Any]]:
    return pipelines_of(hundred_assembly)


@pytest.fixture(scope="module")
def hundred_sizes(hundred_assembly: cx_api.CloudAssembly) -> dict[str, int]:
    """Template file sizes in bytes, as the CLI uploads them."""
    return {
        s.stack_name: Path(s.template_full_path).stat().st_size for s in hundred_assembly.stacks
    }


def test_hundred_lobs_fit_codepipeline_quotas(hundred: dict[str, dict[str, Any]]) -> None:
    assert sorted(hundred) == ["platform-pipeline", *(f"platform-pipeline-{i}" for i in (2, 3, 4))]
    deployed: list[str] = []
    for name, template in hundred.items():
        pipeline_stages = stages(template)
        assert len(pipeline_stages) <= MAX_STAGES, name
        for stage in pipeline_stages:
            assert len(stage["Actions"]) <= MAX_ACTIONS_PER_STAGE, (name, stage["Name"])
            assert "." not in stage["Name"]  # no overflow stage split by CDK Pipelines
        order = {key: i for i, s in enumerate(pipeline_stages) for key in lob_actions(s)}
        for key in order:
            lob, environment = key.rsplit("-", 1)
            assert EnvironmentName(environment)
            if environment != "interactive" and f"{lob}-interactive" in order:
                assert order[f"{lob}-interactive"] < order[key]
            if environment == "prod":
                assert order[f"{lob}-nonprod"] < order[key]
        deployed += order
    assert len(deployed) == len(set(deployed)) == 300


def test_hundred_lobs_fit_cloudformation_and_iam_limits(
    hundred: dict[str, dict[str, Any]], hundred_sizes: dict[str, int]
) -> None:
    assert max(hundred_sizes.values()) < MAX_TEMPLATE_BYTES
    for name, template in hundred.items():
        assert len(template["Resources"]) < MAX_RESOURCES, name
        inline: dict[str, int] = {}
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                size = len(
                    json.dumps(resource["Properties"]["PolicyDocument"], separators=(",", ":"))
                )
                for role in resource["Properties"].get("Roles", []):
                    inline[json.dumps(role)] = inline.get(json.dumps(role), 0) + size
        assert max(inline.values()) < MAX_ROLE_INLINE_POLICY, name


# ---------------------------------------------------------------- the smoke script, on moto

ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


BOUNDARY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _stack(name: str, resources: dict[str, Any]) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name, TemplateBody=json.dumps({"Resources": resources})
    )


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A healthy LOB environment in moto: data bucket, rotating key, VPC with an endpoint, a
    role with a permissions boundary."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        _stack(
            "claims-nonprod-security",
            {
                "Key": {
                    "Type": "AWS::KMS::Key",
                    "Properties": {"EnableKeyRotation": True, "KeyPolicy": KEY_POLICY},
                }
            },
        )
        _stack(
            "claims-nonprod-foundation",
            {
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
                "Endpoint": {
                    "Type": "AWS::EC2::VPCEndpoint",
                    "Properties": {
                        "VpcId": {"Ref": "Vpc"},
                        "ServiceName": f"com.amazonaws.{REGION}.s3",
                        "VpcEndpointType": "Gateway",
                        "RouteTableIds": [],
                    },
                },
                "Boundary": {
                    "Type": "AWS::IAM::ManagedPolicy",
                    "Properties": {"PolicyDocument": BOUNDARY_POLICY},
                },
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": TRUST_POLICY,
                        "PermissionsBoundary": {"Ref": "Boundary"},
                    },
                },
            },
        )
        encryption = {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
            ]
        }
        _stack(
            "claims-nonprod-data",
            {"Raw": {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": encryption}}},
        )
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in s3.list_buckets()["Buckets"]:
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": f"arn:aws:s3:::{bucket['Name']}/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
            s3.put_bucket_policy(Bucket=bucket["Name"], Policy=json.dumps(policy))
        yield "claims-nonprod"


ARGS = ["--account", ACCOUNT, "--region", REGION, "--prefix", "claims-nonprod"]


def test_smoke_check_passes(environment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main([*ARGS, "--stacks", "security,foundation,data"]) == 0
    assert "smoke check passed for claims-nonprod" in capsys.readouterr().out


def test_smoke_check_names_every_problem(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = boto3.client("s3", region_name=REGION).list_buckets()["Buckets"][0]["Name"]
    boto3.client("s3", region_name=REGION).delete_bucket_policy(Bucket=bucket)
    kms = boto3.client("kms", region_name=REGION)
    for key in kms.list_keys()["Keys"]:
        kms.disable_key_rotation(KeyId=key["KeyId"])
    assert smoke.main([*ARGS, "--stacks", "security,foundation,data,genai"]) == 1
    out = capsys.readouterr().out
    assert "smoke check FAILED for claims-nonprod" in out
    assert "stack claims-nonprod-genai: missing" in out
    assert f"bucket {bucket}: no bucket policy" in out
    assert "rotation disabled" in out


def test_smoke_check_needs_a_boundary_on_every_role(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    [role] = iam.list_roles()["Roles"]
    iam.delete_role_permissions_boundary(RoleName=role["RoleName"])
    assert smoke.main([*ARGS, "--stacks", "security,foundation,data"]) == 1
    assert f"role {role['RoleName']}: no permissions boundary" in capsys.readouterr().out


def test_smoke_check_refuses_another_account(environment: str) -> None:
    session = boto3.Session(region_name=REGION)
    assert smoke.check(session, "999999999999", "claims-nonprod", ["security"]) == [
        f"credentials are for account {ACCOUNT}, expected 999999999999"
    ]


def test_only_the_pipelines_roles_are_the_delivery_workload(
    pipeline_template: dict[str, Any], example: Synthesized
) -> None:
    roles = [r for r in pipeline_template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        assert {"Key": "genai-platform:workload", "Value": "delivery"} in role["Properties"]["Tags"]
    for template in example.templates().values():
        for resource in template["Resources"].values():
            tags = resource.get("Properties", {}).get("Tags", [])
            if isinstance(tags, list):
                assert {"Key": "genai-platform:workload", "Value": "delivery"} not in tags


def test_release_approvals_are_announced_on_an_encrypted_topic(
    pipeline_template: dict[str, Any], example_config: OrgConfig
) -> None:
    resources = pipeline_template["Resources"]
    [(topic_id, topic)] = [
        (k, r)
        for k, r in resources.items()
        if k.startswith("ReleaseApprovals") and r["Type"] == "AWS::SNS::Topic"
    ]
    assert "KmsMasterKeyId" in topic["Properties"]
    subscribed = sorted(
        r["Properties"]["Endpoint"]
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription"
        and r["Properties"]["TopicArn"] == {"Ref": topic_id}
    )
    assert subscribed == sorted(example_config.platform.alert_emails)


def test_no_person_of_the_tooling_account_reaches_what_the_pipeline_deploys(
    delivery: Synthesized,
) -> None:
    """With the delivery pipeline in the assembly, the tooling account's people become none of
    its roles: not by a build, a sandbox, the pipeline's definition or its artifacts."""
    world = build_world(read_assembly(delivery.outdir))
    organization = delivery.plan.config.organization
    graph = PrivilegeGraph(
        world, Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    )
    kinds = {runner.kind for runners in graph.runners().values() for runner in runners}
    assert {"build", "delivery-pipeline", "pipeline-artifact"} <= kinds
    tooling = delivery.plan.tooling
    for persona in tooling.personas:
        role = world.role(tooling.account, names.role_name(tooling.prefix, persona.name))
        assert role is not None
        assert list(graph.chains(role)) == [role.arn], persona
    pipeline_roles = [
        role for role in world.roles if role.where.startswith("platform-pipeline/Pipeline")
    ]
    assert any(len(graph.chains(role)) > 1 for role in pipeline_roles), "the pipeline deploys"
