"""Chains: every edge kind of the privilege graph on small hand-written assemblies, and each
escalation the security review found, refuted on the example and reachable again on a copy of
its templates with the old statement."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.access.catalog import load_catalog, run_catalog
from blueprint.assembly.access.chains import PrivilegeGraph, Reach
from blueprint.assembly.access.evaluate import Evaluator
from blueprint.assembly.access.question import request_for
from blueprint.assembly.access.report import catalog_lines
from blueprint.assembly.access.world import build_world
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from blueprint.model import names
from tests.access_worlds import (
    ALICE,
    World,
    allow,
    bucket,
    deny,
    key,
    role,
)
from tests.conftest import EXAMPLE, Synthesized
from tests.test_access_catalog import copy_assembly

Json = dict[str, Any]
OBJECT = "arn:aws:s3:::alice-data/report.csv"
ADMIN = f"{ALICE}:admin"
READER_ARN = {"Fn::GetAtt": ["Reader", "Arn"]}
IMAGE = f"{ALICE}.dkr.ecr.eu-west-1.amazonaws.com/recipe"
SSO_ROLE = (
    f"arn:aws:iam::{ALICE}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_genai-reader_*"
)


def world_with(tmp_path: Path, admin: list[Json], **resources: Json) -> World:
    """Alice's account: an admin allowed ``admin``, a reader that alone may read
    ``OBJECT`` (trusting only its sign-in door), the bucket, and ``resources``."""
    return World(
        tmp_path / "cdk.out",
        {
            "alice": (
                ALICE,
                {
                    "Admin": role("admin", statements=admin),
                    "Reader": role(
                        "reader",
                        statements=[allow("s3:GetObject", OBJECT)],
                        trust=[door(SSO_ROLE)],
                    ),
                    "Data": bucket("alice-data"),
                    **resources,
                },
            )
        },
    )


def door(pattern: str) -> Json:
    return allow(
        "sts:AssumeRole",
        None,
        principal={"AWS": f"arn:aws:iam::{ALICE}:root"},
        condition={"ArnLike": {"aws:PrincipalArn": pattern}},
    )


def reach(world: World, principal: str, action: str, resource: str) -> Reach:
    request = request_for(world.world, principal, action, resource, [])
    return PrivilegeGraph(world.world, world.evaluator).reach(request)


def kinds(found: Reach) -> list[str]:
    return [hop.kind for hop in found.chain]


# --- edges: one principal becomes another ---------------------------------------------


def test_assuming_a_role_is_an_edge_when_its_trust_admits_the_caller(tmp_path: Path) -> None:
    world = world_with(
        tmp_path,
        [allow("sts:AssumeRole")],
        Open=role("open", statements=[allow("s3:GetObject", OBJECT)], trust=[door("*")]),
    )
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert found.decision.decision == "allow"
    assert kinds(found) == ["assume-role"]
    assert found.chain[0].becomes == f"{ALICE}:open"
    assert world.decide(ADMIN, "s3:GetObject", OBJECT) == "deny"


def test_a_role_name_written_twice_is_followed_as_the_evaluator_reads_it(
    tmp_path: Path,
) -> None:
    """Two roles of one ARN (a role written in two stacks, one created on a condition): the
    chain follows the one the evaluator decides as, not the first written."""
    account_trust = [allow("sts:AssumeRole", None, principal={"AWS": f"arn:aws:iam::{ALICE}:root"})]
    world = world_with(
        tmp_path,
        [allow("sts:AssumeRole", f"arn:aws:iam::{ALICE}:role/twice")],
        TwiceBare=role("twice", trust=account_trust),
        TwiceAllowed=role("twice", statements=[allow("sts:AssumeRole")], trust=account_trust),
        Open=role("open", statements=[allow("s3:GetObject", OBJECT)], trust=account_trust),
    )
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert found.decision.decision == "allow"
    assert [hop.becomes for hop in found.chain] == [f"{ALICE}:twice", f"{ALICE}:open"]


def test_a_role_that_trusts_only_its_sign_in_door_is_no_edge(tmp_path: Path) -> None:
    world = world_with(tmp_path, [allow("sts:AssumeRole")])
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert found.decision.decision == "deny"
    assert found.chain == ()


RUNNERS: list[tuple[str, str, Json, str]] = [
    (
        "function-code",
        "lambda:UpdateFunctionCode",
        {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f", "Role": READER_ARN}},
        f"arn:aws:lambda:eu-west-1:{ALICE}:function:f",
    ),
    (
        "function-code",
        "lambda:UpdateFunctionConfiguration",
        {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f", "Role": READER_ARN}},
        f"arn:aws:lambda:eu-west-1:{ALICE}:function:f",
    ),
    (
        "build",
        "codebuild:StartBuild",
        {"Type": "AWS::CodeBuild::Project", "Properties": {"Name": "p", "ServiceRole": READER_ARN}},
        f"arn:aws:codebuild:eu-west-1:{ALICE}:project/p",
    ),
    (
        "pipeline",
        "sagemaker:UpdatePipeline",
        {
            "Type": "AWS::SageMaker::Pipeline",
            "Properties": {"PipelineName": "pl", "RoleArn": READER_ARN},
        },
        f"arn:aws:sagemaker:eu-west-1:{ALICE}:pipeline/pl",
    ),
    (
        "state-machine",
        "states:UpdateStateMachine",
        {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"StateMachineName": "sm", "RoleArn": READER_ARN},
        },
        f"arn:aws:states:eu-west-1:{ALICE}:stateMachine:sm",
    ),
    (
        "pipe",
        "pipes:UpdatePipe",
        {"Type": "AWS::Pipes::Pipe", "Properties": {"Name": "pp", "RoleArn": READER_ARN}},
        f"arn:aws:pipes:eu-west-1:{ALICE}:pipe/pp",
    ),
    (
        "mlflow",
        "sagemaker:CreatePresignedMlflowTrackingServerUrl",
        {
            "Type": "AWS::SageMaker::MlflowTrackingServer",
            "Properties": {"TrackingServerName": "t", "RoleArn": READER_ARN},
        },
        f"arn:aws:sagemaker:eu-west-1:{ALICE}:mlflow-tracking-server/t",
    ),
    (
        "build",
        "codebuild:StartSandbox + codebuild:StartCommandExecution",
        {"Type": "AWS::CodeBuild::Project", "Properties": {"Name": "p", "ServiceRole": READER_ARN}},
        f"arn:aws:codebuild:eu-west-1:{ALICE}:project/p",
    ),
    (
        "delivery-pipeline",
        "codepipeline:UpdatePipeline",
        {
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {"Name": "cp", "RoleArn": READER_ARN},
        },
        f"arn:aws:codepipeline:eu-west-1:{ALICE}:cp",
    ),
]


@pytest.mark.parametrize(
    ("kind", "action", "resource", "arn"), RUNNERS, ids=[r[1] for r in RUNNERS]
)
def test_changing_what_runs_as_a_role_is_an_edge(
    tmp_path: Path, kind: str, action: str, resource: Json, arn: str
) -> None:
    actions = action.split(" + ")
    world = world_with(tmp_path, [allow(actions, arn)], Runner=resource)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", [kind])
    assert found.chain[0].via.startswith(action)
    assert found.chain[0].becomes == f"{ALICE}:reader"
    refused = world_with(
        tmp_path / "refused", [allow(actions, arn), deny(actions[-1], arn)], Runner=resource
    )
    assert reach(refused, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_opening_a_studio_user_profile_acts_as_its_execution_role(tmp_path: Path) -> None:
    profile_arn = f"arn:aws:sagemaker:eu-west-1:{ALICE}:user-profile/*/u"
    resources = {
        "Domain": {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "d"}},
        "Profile": {
            "Type": "AWS::SageMaker::UserProfile",
            "Properties": {
                "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]},
                "UserProfileName": "u",
                "UserSettings": {"ExecutionRole": READER_ARN},
            },
        },
    }
    world = world_with(
        tmp_path, [allow("sagemaker:CreatePresignedDomainUrl", profile_arn)], **resources
    )
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["studio"])
    other = world_with(
        tmp_path / "other",
        [allow("sagemaker:CreatePresignedDomainUrl", profile_arn.replace("/u", "/v"))],
        **resources,
    )
    assert reach(other, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_a_studio_lifecycle_script_runs_as_the_profiles_execution_role(tmp_path: Path) -> None:
    resources = {
        "Domain": {"Type": "AWS::SageMaker::Domain", "Properties": {"DomainName": "d"}},
        "Profile": {
            "Type": "AWS::SageMaker::UserProfile",
            "Properties": {
                "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]},
                "UserProfileName": "u",
                "UserSettings": {"ExecutionRole": READER_ARN},
            },
        },
    }
    script = allow("sagemaker:CreateStudioLifecycleConfig")
    world = world_with(tmp_path, [script, allow("sagemaker:UpdateUserProfile")], **resources)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["studio"])
    assert found.chain[0].via.startswith(
        "sagemaker:CreateStudioLifecycleConfig + sagemaker:UpdateUserProfile"
    )
    without_script = world_with(
        tmp_path / "no-script", [allow("sagemaker:UpdateUserProfile")], **resources
    )
    assert reach(without_script, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_a_studio_space_runs_as_the_domains_space_role(tmp_path: Path) -> None:
    domain = {
        "Type": "AWS::SageMaker::Domain",
        "Properties": {"DomainName": "d", "DefaultSpaceSettings": {"ExecutionRole": READER_ARN}},
    }
    spaces = [allow("sagemaker:CreateSpace"), allow("sagemaker:StartSession")]
    world = world_with(tmp_path, spaces, Domain=domain)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["studio-space"])
    alone = world_with(tmp_path / "alone", [allow("sagemaker:CreateSpace")], Domain=domain)
    assert reach(alone, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_writing_a_delivery_pipelines_artifacts_acts_as_its_role(tmp_path: Path) -> None:
    pipeline = {
        "Type": "AWS::CodePipeline::Pipeline",
        "Properties": {
            "Name": "cp",
            "RoleArn": READER_ARN,
            "ArtifactStore": {"Type": "S3", "Location": "alice-artifacts"},
        },
    }
    artifacts = "arn:aws:s3:::alice-artifacts/*"
    world = world_with(tmp_path, [allow("s3:PutObject", artifacts)], Pipeline=pipeline)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["pipeline-artifact"])
    reader_only = world_with(
        tmp_path / "reader", [allow("s3:GetObject", artifacts)], Pipeline=pipeline
    )
    assert reach(reader_only, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_changing_a_stack_acts_as_cloudformations_execution_role(tmp_path: Path) -> None:
    stack = f"arn:aws:cloudformation:eu-west-1:{ALICE}:stack/alice/*"
    world = world_with(tmp_path, [allow("cloudformation:UpdateStack", stack)])
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["stack"])
    execution = names.cdk_role_name("cfn-exec", ALICE, "eu-west-1")
    assert found.chain[0].becomes == f"{ALICE}:{execution}"
    change_set = world_with(
        tmp_path / "change-set",
        [allow(["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"], stack)],
    )
    assert kinds(reach(change_set, ADMIN, "s3:GetObject", OBJECT)) == ["stack"]
    half = world_with(tmp_path / "half", [allow("cloudformation:CreateChangeSet", stack)])
    assert reach(half, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


def test_writing_the_staging_bucket_changes_what_cloudformation_deploys(tmp_path: Path) -> None:
    assets = f"arn:aws:s3:::{names.asset_bucket_name(ALICE, 'eu-west-1')}/*"
    world = world_with(tmp_path, [allow("s3:PutObject", assets)])
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["deployment-asset"])


def test_passing_a_role_to_a_service_that_runs_code_is_an_edge(tmp_path: Path) -> None:
    runnable = role(
        "runnable",
        statements=[allow("s3:GetObject", OBJECT)],
        trust=[allow("sts:AssumeRole", None, principal={"Service": "lambda.amazonaws.com"})],
    )
    passes = allow(
        "iam:PassRole",
        f"arn:aws:iam::{ALICE}:role/runnable",
        condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
    )
    world = world_with(tmp_path, [passes, allow("lambda:CreateFunction")], Runnable=runnable)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert (found.decision.decision, kinds(found)) == ("allow", ["pass-role"])
    assert "iam:PassRole + lambda:CreateFunction" in found.chain[0].via
    alone = world_with(tmp_path / "alone", [passes], Runnable=runnable)
    assert reach(alone, ADMIN, "s3:GetObject", OBJECT).decision.decision == "deny"


@pytest.mark.parametrize(
    ("image", "reachable"), [(f"{IMAGE}:latest", True), (f"{IMAGE}@sha256:{'0' * 64}", False)]
)
def test_pushing_an_image_pulled_by_a_mutable_tag_is_an_edge(
    tmp_path: Path, image: str, reachable: bool
) -> None:
    model = {
        "Type": "AWS::SageMaker::Model",
        "Properties": {"ExecutionRoleArn": READER_ARN, "PrimaryContainer": {"Image": image}},
    }
    repository = f"arn:aws:ecr:eu-west-1:{ALICE}:repository/recipe"
    world = world_with(tmp_path, [allow("ecr:PutImage", repository)], Model=model)
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert found.decision.decision == ("allow" if reachable else "deny")
    assert kinds(found) == (["image"] if reachable else [])


def test_a_chain_of_several_hops_is_followed_and_printed_hop_by_hop(tmp_path: Path) -> None:
    world = world_with(
        tmp_path,
        [allow("sts:AssumeRole")],
        Operator=role(
            "operator",
            statements=[allow("lambda:UpdateFunctionCode")],
            trust=[door("*")],
        ),
        Function={
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "f", "Role": READER_ARN},
        },
    )
    found = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert kinds(found) == ["assume-role", "function-code"]
    assert [hop.describe() for hop in found.chain] == [
        f"{ADMIN} -[assume-role: sts:AssumeRole]-> {ALICE}:operator",
        f"{ALICE}:operator -[function-code: lambda:UpdateFunctionCode alice/Function]-> "
        f"{ALICE}:reader",
    ]
    assert all(hop.decision.reasons for hop in found.chain)


# --- requests that yield the same outcome ----------------------------------------------


def test_a_log_subscription_or_export_reads_a_log_group(tmp_path: Path) -> None:
    group = f"arn:aws:logs:eu-west-1:{ALICE}:log-group:prompts:*"
    for action in ("logs:PutSubscriptionFilter", "logs:CreateExportTask"):
        world = world_with(tmp_path / action, [allow(action, group), deny("logs:GetLogEvents")])
        found = reach(world, ADMIN, "logs:GetLogEvents", group)
        assert found.decision.decision == "allow"
        assert found.request is not None and found.request.action == action


def test_a_key_grant_decrypts(tmp_path: Path) -> None:
    account_key = key([allow("kms:*", principal={"AWS": f"arn:aws:iam::{ALICE}:root"})])
    world = world_with(tmp_path, [allow("kms:CreateGrant")], Key=account_key)
    found = reach(world, ADMIN, "kms:Decrypt", "alice/Key")
    assert found.decision.decision == "allow"
    assert found.request is not None and found.request.action == "kms:CreateGrant"


def test_a_function_permission_invokes_and_a_bucket_policy_reads(tmp_path: Path) -> None:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"FunctionName": "answers", "Role": READER_ARN},
    }
    world = world_with(
        tmp_path,
        [allow("lambda:AddPermission"), allow("s3:PutBucketPolicy", "arn:aws:s3:::alice-data")],
        Function=function,
    )
    invoke = reach(world, ADMIN, "lambda:InvokeFunction", "alice/Function")
    assert invoke.request is not None and invoke.request.action == "lambda:AddPermission"
    read = reach(world, ADMIN, "s3:GetObject", OBJECT)
    assert read.decision.decision == "allow"
    assert read.request is not None and read.request.action == "s3:PutBucketPolicy"


# --- the example: each finding refuted, and reachable again with the old statement ------


def without_statement(sid: str, action: str | None = None) -> Callable[[Json], None]:
    """Every policy's (identity, boundary, bucket) statement ``sid`` gone (only ``action`` of
    it, when given)."""

    def change(template: Json) -> None:
        for resource in template["Resources"].values():
            policy = resource.get("Properties", {}).get("PolicyDocument")
            if policy is None:
                continue
            if action is None:
                policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]
                continue
            for statement in policy["Statement"]:
                if statement.get("Sid") == sid:
                    statement["Action"] = [a for a in statement["Action"] if a != action]

    return change


def persona_trust_of_the_whole_account(template: Json) -> None:
    """Persona roles trusting their account's root with no condition (the old trust)."""
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            if statement["Action"] == "sts:AssumeRole" and "AWSReservedSSO" in json.dumps(
                statement.get("Condition", {})
            ):
                statement.pop("Condition")


def studio_profiles_of_any_user(template: Json) -> None:
    for resource in template["Resources"].values():
        policy = resource.get("Properties", {}).get("PolicyDocument")
        for statement in (policy or {}).get("Statement", []):
            if statement.get("Sid") == "OpenStudio":
                statement["Resource"] = "arn:aws:sagemaker:*:*:user-profile/*/*"
                statement.pop("Condition", None)


def recipe_image_by_tag(template: Json) -> None:
    """The fine-tuning pipeline's recipe image by a tag (the old ``recipe_image``)."""
    text = json.dumps(template)
    if "claims-training-recipe@sha256:" not in text:
        return
    start = text.index("claims-training-recipe@sha256:")
    end = start + len("claims-training-recipe@sha256:") + 64
    template.clear()
    template.update(json.loads(text[:start] + "claims-training-recipe:2026.11" + text[end:]))


def recipe_image_by_tag_and_pushes(template: Json) -> None:
    """``recipe_image_by_tag``, and the persona guard without its deny of recipe pushes."""
    recipe_image_by_tag(template)
    for resource in template.get("Resources", {}).values():
        document = resource.get("Properties", {}).get("PolicyDocument")
        if resource.get("Type") == "AWS::IAM::ManagedPolicy" and document:
            document["Statement"] = [
                s for s in document["Statement"] if s.get("Sid") != "DenyRecipeImagePushes"
            ]


STACK_CHANGES = without_statement("DenyStackChangesExceptByDelivery")
WORKLOADS = without_statement("DenyWorkloadChangesByHand")
LOG_COPIES = without_statement("DenyLogCopies")
DELIVERY = without_statement("DenyDeliveryChangesByHand")
FINDINGS: list[tuple[str, Callable[[Json], None], str]] = [
    ("platform-admin-changes-a-stack", STACK_CHANGES, ""),
    ("platform-admin-reads-lob-data", STACK_CHANGES, "stack"),
    ("platform-admin-deletes-a-stack", STACK_CHANGES, ""),
    (
        "platform-admin-activates-a-cloudformation-extension",
        without_statement("DenyStackChangesExceptByDelivery", "cloudformation:ActivateType"),
        "",
    ),
    ("platform-admin-becomes-the-data-scientist", persona_trust_of_the_whole_account, ""),
    ("platform-admin-becomes-the-ml-engineer", persona_trust_of_the_whole_account, ""),
    ("platform-admin-reads-lob-data", persona_trust_of_the_whole_account, "assume-role"),
    ("platform-admin-replaces-function-code", WORKLOADS, ""),
    ("platform-admin-cannot-call-the-answer-api", WORKLOADS, ""),
    ("platform-admin-decrypts-with-the-lob-key", WORKLOADS, "function-code"),
    ("platform-admin-writes-merged-models", WORKLOADS, "pipeline"),
    ("platform-admin-changes-a-fine-tuning-pipeline", WORKLOADS, ""),
    ("platform-admin-gives-studio-a-lifecycle-script", WORKLOADS, ""),
    ("platform-admin-changes-the-studio-domain", WORKLOADS, ""),
    ("platform-admin-reads-training-data-through-studio", WORKLOADS, "studio"),
    ("platform-admin-changes-an-event-rule", WORKLOADS, ""),
    ("platform-admin-points-an-endpoint-elsewhere", WORKLOADS, ""),
    ("platform-admin-widens-a-knowledge-base", WORKLOADS, ""),
    (
        "platform-admin-copies-the-zone-inventory",
        without_statement("DenySettingsChangesByHand"),
        "",
    ),
    ("platform-admin-changes-a-published-id", without_statement("DenySettingsChangesByHand"), ""),
    (
        "platform-admin-opens-a-studio-space",
        without_statement("DenyLobDataReads", "sagemaker:CreateSpace"),
        "",
    ),
    ("platform-admin-exports-prompts", LOG_COPIES, ""),
    ("platform-admin-reads-prompts", LOG_COPIES, ""),
    ("platform-admin-reads-prompts-through-contributor-insights", LOG_COPIES, ""),
    ("platform-admin-filters-prompts-into-metrics", LOG_COPIES, ""),
    (
        "platform-admin-opens-mlflow",
        without_statement("DenyLobDataReads", "sagemaker:CreatePresignedMlflowTrackingServerUrl"),
        "",
    ),
    (
        "platform-admin-opens-the-mlflow-app",
        without_statement("DenyLobDataReads", "sagemaker:CreatePresignedMlflowAppUrl"),
        "",
    ),
    (
        "platform-admin-calls-the-mlflow-app",
        without_statement("DenyLobDataReads", "sagemaker:CallMlflowAppApi"),
        "",
    ),
    ("platform-admin-approves-a-model-package", without_statement("DenyModelApprovals"), ""),
    (
        "platform-admin-registers-a-model-package",
        without_statement("DenyModelApprovals", "sagemaker:CreateModelPackage"),
        "",
    ),
    (
        "platform-admin-changes-a-vector-access-policy",
        without_statement("DenyVectorAccessPolicyChanges"),
        "",
    ),
    (
        "governance-admin-changes-the-archive-logging",
        without_statement("DenyAuditEvidenceDestruction", "s3:PutBucketLogging"),
        "",
    ),
    (
        "governance-admin-forges-trail-logs",
        without_statement("DenyWritesExceptByCloudTrail"),
        "",
    ),
    ("governance-admin-deletes-trail-logs", without_statement("DenyDeletes"), ""),
    ("governance-admin-deletes-the-organization-trail", STACK_CHANGES, "stack"),
    ("tooling-admin-reads-lob-data", STACK_CHANGES, "stack"),
    ("tooling-admin-starts-a-build-sandbox", DELIVERY, ""),
    ("tooling-admin-rolls-back-a-release", DELIVERY, ""),
    ("data-scientist-opens-an-unlisted-studio-profile", studio_profiles_of_any_user, ""),
    ("platform-admin-writes-merged-models", recipe_image_by_tag_and_pushes, "image"),
]


@pytest.fixture(scope="module")
def refuted_today(example: Synthesized) -> dict[str, list[Any]]:
    """The findings' entries on the example as it is, by entry (one catalog run)."""
    wanted = {finding[0] for finding in FINDINGS}
    entries = [e for e in load_catalog() if e.id in wanted]
    outcomes: dict[str, list[Any]] = {}
    for outcome in run_catalog(world_of(example.outdir), example.plan, entries):
        outcomes.setdefault(outcome.query.entry.id, []).append(outcome)
    return outcomes


@pytest.mark.parametrize(
    ("entry_id", "change", "hop"), FINDINGS, ids=[f"{f[0]}-{f[2] or 'direct'}" for f in FINDINGS]
)
def test_each_finding_is_refuted_and_reachable_again_with_the_old_statement(
    example: Synthesized,
    refuted_today: dict[str, list[Any]],
    tmp_path: Path,
    entry_id: str,
    change: Callable[[Json], None],
    hop: str,
) -> None:
    [entry] = [e for e in load_catalog() if e.id == entry_id]
    today = refuted_today.get(entry_id, [])
    assert today and all(o.matches for o in today)
    old = copy_assembly(example, tmp_path / "cdk.out")
    for path in old.glob("*.template.json"):
        template = json.loads(path.read_text())
        before = json.dumps(template)
        change(template)
        if json.dumps(template) != before:
            path.write_text(json.dumps(template))
    outcomes = run_catalog(world_of(old), example.plan, [entry])
    reached = [o for o in outcomes if not o.matches]
    assert reached, f"{entry_id} holds on the old templates too"
    # Reached: allowed somewhere (elsewhere a chain may only possibly reach it).
    assert any(o.decision.decision == "allow" for o in reached)
    if hop:
        assert any(hop in [h.kind for h in o.chain] for o in reached)
        assert any("    chain: " in line for line in catalog_lines(reached))


def world_of(directory: Path) -> Any:
    return build_world(read_assembly(directory))


def test_the_only_edges_of_the_example_are_the_designed_ones(example: Synthesized) -> None:
    """No persona or workload role of the example becomes another principal but by design:
    the governance account's auditor becomes each other account's auditor (by exact ARN), and
    a data scientist's MLflow server reads and writes the artifacts zone for them, an ML
    engineer becomes the reviewer role of a use case with an answer API, a hub consumer's
    applications become its LOB's role in the hub. The
    bootstrap's roles are left out: only the delivery pipeline reaches them; so are the
    break-glass roles, administrators by design. Identity Center's sign-in roles become their
    own persona's role and nothing else."""
    world = world_of(example.outdir)
    organization = example.plan.config.organization
    graph = PrivilegeGraph(
        world, Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    )
    people = [r for r in world.roles if not r.where.startswith(("bootstrap ", "identity center"))]
    edges = {
        (hop.actor, hop.kind, hop.becomes)
        for role in people
        if not (role.name.text or "").endswith("-break-glass")
        for hop, _, _ in graph.edges(role)
    }
    for door in world.sign_in_doors:
        persona = door.permission_set.removeprefix("genai-")
        becomes = {(hop.kind, hop.becomes.split(":")[1]) for hop, _, _ in graph.edges(door.role)}
        assert becomes and all(
            kind == "assume-role" and name.endswith(f"-{persona}") for kind, name in becomes
        ), (door.permission_set, becomes)
    governance = example.plan.governance.account
    auditor = names.role_name(example.plan.governance.prefix, "auditor")
    others = {
        placement.account
        for placement in example.plan.placements
        if placement.account != governance and placement.kind.value != "management"
    }
    auditors = {
        (f"{governance}:{auditor}", "assume-role", f"{account}:{auditor}") for account in others
    }
    studios = [p for p in example.plan.lob_environments() if example.plan.hosts_studio(p)]
    mlflow = {
        (
            f"{p.account}:{names.role_name(p.prefix, 'data-scientist')}",
            "mlflow",
            f"{asset.stack.name}/{server_role(asset.stack.resources[asset.logical_id])}",
        )
        for p in studios
        for asset in world.assets_of(p.key, "mlflow")
    }
    # The recipe build's state machine starts its project: its definition, which nobody
    # changes by hand, passes no override, and nothing but Step Functions becomes its role.
    builds = {
        (f"{starter.stack.name}/{starter.logical_id}", "build", f"{b.stack.name}/{b.logical_id}")
        for p in example.plan.lob_environments()
        for starter in world.assets_of(p.key, "recipe-build-starter")
        for b in world.assets_of(p.key, "recipe-builder")
    }
    assert builds
    # The LOB's ML engineers become the reviewer role of each use case with an answer API
    # (claims-assistant in each claims environment, literature-review in research's nonprod
    # and prod, where research has ML engineers).
    reviewers = {
        (
            f"{p.account}:{names.role_name(p.prefix, 'ml-engineer')}",
            "assume-role",
            f"{asset.stack.name}/{asset.logical_id}",
        )
        for p in example.plan.lob_environments()
        for asset in world.assets_of(p.key, "reviewer-role")
    }
    assert len(reviewers) == 5
    # A consuming LOB's applications become its role in the hub (claims' and research's),
    # from each of its environments.
    hub, hub_config = example.plan.hub, example.plan.config.platform.hub
    assert hub is not None and hub_config is not None
    consumers = {
        (
            f"{p.account}:{names.app_role_name(p.prefix, use.name)}",
            "assume-role",
            f"{hub.account}:{names.app_role_name(hub.prefix, consumer.lob)}",
        )
        for consumer in hub_config.consumers
        for p in example.plan.lob_environments()
        if p.lob is not None and p.lob.name == consumer.lob
        for use in p.lob.genai.use_cases
    }
    assert len(consumers) == 6
    assert edges == auditors | mlflow | builds | reviewers | consumers


# --- the command line and the templates -------------------------------------------------


def test_the_command_line_prints_the_chain_hop_by_hop(
    example: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = copy_assembly(example, tmp_path / "cdk.out")
    for path in old.glob("*-foundation.template.json"):
        template = json.loads(path.read_text())
        STACK_CHANGES(template)
        path.write_text(json.dumps(template))
    admin = "444444444444:example-corp-platform-admin"
    curated = example_curated_object(example)
    question = ["--principal", admin, "--action", "s3:GetObject", "--resource", curated]
    assert main(["access", str(old), "--org", str(EXAMPLE), *question, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["decision"] == "deny"
    assert answer["through_chains"] == "allow"
    assert answer["chain"][0]["kind"] == "stack"
    assert answer["chain"][0]["via"].startswith("cloudformation:UpdateStack claims-interactive-")
    assert answer["chain"][0]["reasons"]
    assert main(["access", str(old), "--org", str(EXAMPLE), *question]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "deny"
    assert any(
        line.startswith("through a chain of ") and line.endswith(": allow") for line in lines
    )
    assert main(["access", str(old), "--org", str(EXAMPLE), "--json"]) == 1
    checks = json.loads(capsys.readouterr().out)
    reached = [c for c in checks if c["expect"] != c["decision"]]
    chained = [c for c in reached if c["chain"]]
    assert chained, "no check carries its chain"
    assert {hop["kind"] for c in chained for hop in c["chain"]} >= {"stack"}
    assert all({"actor", "becomes", "via", "reasons"} <= set(c["chain"][0]) for c in chained)


def example_curated_object(example: Synthesized) -> str:
    world = world_of(example.outdir)
    zone = world.asset("claims-interactive", "zone", "curated")
    assert zone is not None
    return f"{zone.stack.name}/{zone.logical_id}/sample.parquet"


def test_a_studio_profile_named_by_its_logical_id_gets_a_decision(example: Synthesized) -> None:
    world = world_of(example.outdir)
    organization = example.plan.config.organization
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    scientist = "444444444444:example-corp-data-scientist"
    decisions = {}
    for user in ("alice", "bruno"):
        profile = world.asset("claims-interactive", "studio-user", user)
        assert profile is not None
        resource = f"{profile.stack.name}/{profile.logical_id}"
        for signed_in in ("", "alice"):
            context = [f"aws:PrincipalTag/genai-user={signed_in}"] if signed_in else []
            request = request_for(
                world, scientist, "sagemaker:CreatePresignedDomainUrl", resource, context
            )
            decisions[(user, signed_in)] = evaluator.evaluate(request).decision
    # Who signed in decides: unknown until the question says, then only one's own profile.
    assert decisions == {
        ("alice", ""): "unknown",
        ("bruno", ""): "unknown",
        ("alice", "alice"): "allow",
        ("bruno", "alice"): "deny",
    }
    marketing = "444444444445:example-corp-data-scientist"
    profile = world.asset("claims-interactive", "studio-user", "alice")
    assert profile is not None
    request = request_for(
        world,
        marketing,
        "sagemaker:CreatePresignedDomainUrl",
        f"{profile.stack.name}/{profile.logical_id}",
        [],
    )
    assert evaluator.evaluate(request).decision == "deny"


def test_every_boundary_stays_under_the_managed_policy_size_limit(example: Synthesized) -> None:
    """IAM refuses a managed policy over 6,144 characters (white space aside); deploy-time
    names count as the placeholders the evaluator reads them as, with room to spare."""
    world = world_of(example.outdir)
    sizes = {}
    for stack in world.assembly.stacks:
        for logical_id, resource in stack.resources.items():
            if resource["Type"] != "AWS::IAM::ManagedPolicy":
                continue
            document = rendered(world, stack, resource["Properties"]["PolicyDocument"])
            sizes[f"{stack.name}/{logical_id}"] = len("".join(json.dumps(document).split()))
    boundaries = {name: size for name, size in sizes.items() if "Boundary" in name}
    foundations = [s for s in world.assembly.stacks if s.name.endswith("-foundation")]
    assert len(boundaries) == len(foundations)
    assert max(sizes.values()) <= 6144 - 400


def rendered(world: Any, stack: Any, value: Any) -> Any:
    if (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Fn::", "Ref"))
    ):
        return str(world.resolver.value(stack, value))
    if isinstance(value, dict):
        return {key: rendered(world, stack, item) for key, item in value.items()}
    if isinstance(value, list):
        return [rendered(world, stack, item) for item in value]
    return value


def server_role(server: Json) -> str:
    """The logical ID of an MLflow tracking server's role."""
    return str(server["Properties"]["RoleArn"]["Fn::GetAtt"][0])


def test_every_persona_carries_the_guard_against_changes_by_hand(example: Synthesized) -> None:
    for stack in (s for s in example.stack_names() if s.endswith("-foundation")):
        resources = example.template_json(stack)["Resources"]
        personas = {
            logical_id
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::IAM::Role"
            and "AWSReservedSSO" in json.dumps(resource["Properties"]["AssumeRolePolicyDocument"])
            and not resource["Properties"]["RoleName"].endswith("-break-glass")
        }
        [guard] = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::IAM::ManagedPolicy"
            and r["Properties"]
            .get("Description", "")
            .startswith("No persona changes the guardrail")
        ]
        assert {role["Ref"] for role in guard["Properties"]["Roles"]} == personas, stack
        [agent_guard] = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::IAM::ManagedPolicy"
            and r["Properties"].get("Description", "").startswith("No persona changes an agent")
        ]
        assert {role["Ref"] for role in agent_guard["Properties"]["Roles"]} == personas, stack
        sids = {s["Sid"] for s in guard["Properties"]["PolicyDocument"]["Statement"]}
        assert sids == {
            "DenyGovernanceChangesByHand",
            "DenyWorkloadChangesByHand",
            "DenyDeliveryChangesByHand",
            "DenyLogCopies",
            "DenyVectorAccessPolicyChanges",
            "DenySettingsChangesByHand",
            "DenyRecipeImagePushes",
            "DenyRegistryChangesByHand",
            "DenyOwnerTagChanges",
        }
