"""The access evaluator, rule by rule, on small hand-written assemblies.

The cases follow the IAM policy evaluation logic of the AWS documentation ("Policy evaluation
logic", "Cross-account policy evaluation logic", "Permissions boundaries for IAM entities",
"Key policies in AWS KMS"): explicit deny first, then organization policies, then resource
and identity policies capped by the boundary, and both sides across accounts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blueprint.assembly.access.evaluate import Request
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.question import QuestionError
from blueprint.assembly.access.symbols import text
from genai_constructs.organization import guardrails_scp
from tests.access_worlds import (
    ALICE,
    BOB,
    MANAGEMENT,
    ROOT_ID,
    World,
    allow,
    bucket,
    bucket_policy,
    deny,
    document,
    key,
    managed_policy,
    org_policy,
    role,
)

BUCKET = "arn:aws:s3:::alice-data"
OBJECT = f"{BUCKET}/report.csv"


def one_account(tmp_path: Path, **resources: dict[str, object]) -> World:
    """Alice's account with ``resources``, and her bucket ``alice-data`` unless they name
    another ``Data``."""
    return World(
        tmp_path / "cdk.out", {"alice": (ALICE, {"Data": bucket("alice-data"), **resources})}
    )


# --- identity policies, explicit and implicit deny -----------------------------------------


def test_nothing_allows_so_it_is_implicitly_denied(tmp_path: Path) -> None:
    world = one_account(tmp_path, Reader=role("reader"))
    decision = world.ask(f"{ALICE}:reader", "s3:ListAllMyBuckets", "*")
    assert decision.decision == "deny"
    assert decision.reasons == ("no identity policy of alice/Reader allows it",)


def test_an_identity_policy_allows_within_the_account(tmp_path: Path) -> None:
    world = one_account(tmp_path, Reader=role("reader", statements=[allow("s3:GetObject", OBJECT)]))
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "allow"
    assert decision.reasons == ("allowed by identity alice/Reader [#0]",)


def test_an_explicit_deny_overrides_any_allow(tmp_path: Path) -> None:
    statements = [allow("s3:*"), deny("s3:GetObject", OBJECT, sid="NoReports")]
    world = one_account(tmp_path, Reader=role("reader", statements=statements))
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "deny"
    assert decision.reasons == ("explicit deny by identity alice/Reader [NoReports]",)
    assert world.decide(f"{ALICE}:reader", "s3:PutObject", OBJECT) == "allow"


def test_actions_match_case_insensitively_with_wildcards(tmp_path: Path) -> None:
    world = one_account(tmp_path, Reader=role("reader", statements=[allow("S3:get*")]))
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "allow"
    assert world.decide(f"{ALICE}:reader", "s3:PutObject", OBJECT) == "deny"


def test_not_action_and_not_resource(tmp_path: Path) -> None:
    statements = [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": f"{BUCKET}/public/*"},
    ]
    world = one_account(tmp_path, Reader=role("reader", statements=statements))
    assert world.decide(f"{ALICE}:reader", "iam:CreateRole", "*") == "deny"
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", f"{BUCKET}/public/a") == "allow"
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "deny"


def test_managed_policies_attach_by_role_name_and_by_arn(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Reader=role("reader", managed=[{"Ref": "ReadReports"}]),
        Writer=role("writer"),
        ReadReports=managed_policy([allow("s3:GetObject", OBJECT)]),
        WriteReports=managed_policy([allow("s3:PutObject", OBJECT)], roles=["writer"]),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "allow"
    assert world.decide(f"{ALICE}:writer", "s3:PutObject", OBJECT) == "allow"
    assert world.decide(f"{ALICE}:writer", "s3:GetObject", OBJECT) == "deny"


def test_aws_managed_policies_come_from_the_pinned_snapshot(tmp_path: Path) -> None:
    view_only = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    world = one_account(tmp_path, Viewer=role("viewer", managed=[view_only]))
    allowed = world.ask(f"{ALICE}:viewer", "s3:ListAllMyBuckets", "*")
    assert allowed.decision == "allow"
    assert allowed.reasons[0].startswith("allowed by aws-managed ViewOnlyAccess v")
    assert world.decide(f"{ALICE}:viewer", "s3:GetObject", OBJECT) == "deny"


def test_a_managed_policy_outside_the_snapshot_makes_the_role_unknown(tmp_path: Path) -> None:
    unlisted = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    world = one_account(tmp_path, Admin=role("admin", managed=[unlisted]))
    decision = world.ask(f"{ALICE}:admin", "s3:GetObject", OBJECT)
    assert decision.decision == "unknown"
    assert decision.reasons == (f"cannot read {unlisted} of alice/Admin",)


# --- permissions boundary --------------------------------------------------------------------


def test_the_boundary_caps_what_identity_policies_allow(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Boundary=managed_policy([allow("s3:GetObject")]),
        Reader=role("reader", statements=[allow("s3:*")], boundary="Boundary"),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "allow"
    decision = world.ask(f"{ALICE}:reader", "s3:PutObject", OBJECT)
    assert decision.decision == "deny"
    assert "the permissions boundary of alice/Reader does not allow it" in decision.reasons


def test_the_boundary_alone_grants_nothing(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Boundary=managed_policy([allow("*")]),
        Reader=role("reader", boundary="Boundary"),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "deny"


def test_a_deny_in_the_boundary_is_explicit(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Boundary=managed_policy([allow("*"), deny("s3:DeleteBucketPolicy", sid="Keep")]),
        Admin=role("admin", statements=[allow("*")], boundary="Boundary"),
    )
    decision = world.ask(f"{ALICE}:admin", "s3:DeleteBucketPolicy", BUCKET)
    assert decision.decision == "deny"
    assert decision.reasons[0].startswith("explicit deny by boundary alice/Boundary [Keep]")


def test_the_boundary_caps_a_resource_policy_that_names_the_role(tmp_path: Path) -> None:
    reader_arn = f"arn:aws:iam::{ALICE}:role/reader"
    world = one_account(
        tmp_path,
        Boundary=managed_policy([allow("s3:ListBucket")]),
        Reader=role("reader", boundary="Boundary"),
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data", [allow("s3:GetObject", f"{BUCKET}/*", principal={"AWS": reader_arn})]
        ),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "deny"


# --- resource policies, same account and across accounts -------------------------------------


def test_a_bucket_policy_naming_the_role_allows_within_the_account(tmp_path: Path) -> None:
    reader_arn = f"arn:aws:iam::{ALICE}:role/reader"
    world = one_account(
        tmp_path,
        Reader=role("reader"),
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data",
            [allow("s3:GetObject", f"{BUCKET}/*", principal={"AWS": reader_arn}, sid="Share")],
        ),
    )
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "allow"
    assert decision.reasons == ("allowed by bucket alice/DataPolicy [Share]",)


def test_a_bucket_policy_naming_the_account_needs_an_identity_policy(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Reader=role("reader"),
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data", [allow("s3:GetObject", f"{BUCKET}/*", principal={"AWS": ALICE})]
        ),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "deny"


def test_a_bucket_policy_deny_applies_to_every_principal(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Reader=role("reader", statements=[allow("s3:*")]),
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data", [deny("s3:*", [BUCKET, f"{BUCKET}/*"], principal="*", sid="Closed")]
        ),
    )
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "deny"
    assert decision.reasons == ("explicit deny by bucket alice/DataPolicy [Closed]",)


def test_not_principal_excludes_the_named_role_from_a_deny(tmp_path: Path) -> None:
    keeper = f"arn:aws:iam::{ALICE}:role/keeper"
    world = one_account(
        tmp_path,
        Keeper=role("keeper", statements=[allow("s3:*")]),
        Other=role("other", statements=[allow("s3:*")]),
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data", [deny("s3:PutObject", f"{BUCKET}/*", notPrincipal={"AWS": keeper})]
        ),
    )
    assert world.decide(f"{ALICE}:keeper", "s3:PutObject", OBJECT) == "allow"
    assert world.decide(f"{ALICE}:other", "s3:PutObject", OBJECT) == "deny"


def two_accounts(tmp_path: Path, alice: dict[str, object], bob: dict[str, object]) -> World:
    return World(tmp_path / "cdk.out", {"alice": (ALICE, alice), "bob": (BOB, bob)})


@pytest.mark.parametrize(
    ("identity", "shared", "expected"),
    [(False, False, "deny"), (True, False, "deny"), (False, True, "deny"), (True, True, "allow")],
    ids=["neither", "identity-only", "bucket-only", "both"],
)
def test_across_accounts_both_sides_must_allow(
    tmp_path: Path, identity: bool, shared: bool, expected: str
) -> None:
    grants = [allow("s3:GetObject", f"{BUCKET}/*", principal={"AWS": f"arn:aws:iam::{BOB}:root"})]
    world = two_accounts(
        tmp_path,
        {
            "Data": bucket("alice-data"),
            "DataPolicy": bucket_policy("Data", grants if shared else []),
        },
        {"Reader": role("reader", statements=[allow("s3:GetObject")] if identity else None)},
    )
    assert world.decide(f"{BOB}:reader", "s3:GetObject", OBJECT) == expected


@pytest.mark.parametrize("identity", [False, True], ids=["identity-denies", "identity-allows"])
def test_a_resource_that_refuses_the_account_decides_whatever_the_identity_allows(
    tmp_path: Path, identity: bool
) -> None:
    world = two_accounts(
        tmp_path,
        {"Data": bucket("alice-data"), "DataPolicy": bucket_policy("Data", [])},
        {
            "Boundary": managed_policy([allow("s3:ListBucket")]),
            "Reader": role(
                "reader",
                statements=[allow("s3:GetObject")] if identity else None,
                boundary="Boundary",
            ),
        },
    )
    decision = world.ask(f"{BOB}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "deny"
    assert decision.reasons == (
        "the resource's policy does not admit the principal's account",
        "the permissions boundary of bob/Reader does not allow it",
    )


def test_resources_without_a_resource_policy_are_never_shared(tmp_path: Path) -> None:
    world = two_accounts(tmp_path, {}, {"Caller": role("caller", statements=[allow("*")])})
    guardrail = f"arn:aws:bedrock:eu-west-1:{ALICE}:guardrail/abc"
    decision = world.ask(f"{BOB}:caller", "bedrock:ApplyGuardrail", guardrail)
    assert decision.decision == "deny"
    assert decision.reasons == (
        "bedrock resources take no resource policy: no cross-account access",
    )


def test_a_model_package_group_policy_governs_its_packages(tmp_path: Path) -> None:
    group = {
        "Type": "AWS::SageMaker::ModelPackageGroup",
        "Properties": {
            "ModelPackageGroupName": "claims-model",
            "ModelPackageGroupPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    allow(
                        "sagemaker:DescribeModelPackage",
                        f"arn:aws:sagemaker:eu-west-1:{ALICE}:model-package/claims-model/*",
                        principal={"AWS": f"arn:aws:iam::{BOB}:root"},
                    )
                ],
            },
        },
    }
    world = two_accounts(
        tmp_path,
        {"Group": group},
        {"Deployer": role("deployer", statements=[allow("sagemaker:*")])},
    )
    package = f"arn:aws:sagemaker:eu-west-1:{ALICE}:model-package/claims-model/3"
    assert world.decide(f"{BOB}:deployer", "sagemaker:DescribeModelPackage", package) == "allow"
    assert world.decide(f"{BOB}:deployer", "sagemaker:DeleteModelPackage", package) == "deny"


# --- KMS keys and role trust ---------------------------------------------------------------


def test_a_key_serves_only_what_its_key_policy_allows(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        User=role("user", statements=[allow("kms:*")]),
        Key=key([allow("kms:DescribeKey", principal={"AWS": f"arn:aws:iam::{ALICE}:role/user"})]),
    )
    assert world.decide(f"{ALICE}:user", "kms:DescribeKey", "alice/Key") == "allow"
    decision = world.ask(f"{ALICE}:user", "kms:Decrypt", "alice/Key")
    assert decision.decision == "deny"
    assert decision.reasons == ("the key or trust policy does not admit the principal",)


def test_a_key_policy_naming_the_account_delegates_to_iam(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        User=role("user", statements=[allow("kms:Decrypt")]),
        Stranger=role("stranger"),
        Key=key([allow("kms:*", principal={"AWS": f"arn:aws:iam::{ALICE}:root"})]),
    )
    assert world.decide(f"{ALICE}:user", "kms:Decrypt", "alice/Key") == "allow"
    assert world.decide(f"{ALICE}:stranger", "kms:Decrypt", "alice/Key") == "deny"


def test_a_kms_grant_for_another_account_is_denied_by_the_key_policy(tmp_path: Path) -> None:
    world = two_accounts(
        tmp_path,
        {"Key": key([allow("kms:*", principal={"AWS": f"arn:aws:iam::{ALICE}:root"})])},
        {"Admin": role("admin", statements=[allow("kms:*")])},
    )
    assert world.decide(f"{BOB}:admin", "kms:CreateGrant", "alice/Key") == "deny"


def test_an_sse_kms_object_read_also_needs_the_key(tmp_path: Path) -> None:
    reader_arn = f"arn:aws:iam::{ALICE}:role/reader"
    resources = {
        "Reader": role("reader", statements=[allow("s3:GetObject")]),
        "Data": bucket("alice-data", key="Key"),
    }
    closed = one_account(tmp_path / "closed", Key=key([]), **resources)
    decision = closed.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "deny"
    assert decision.reasons[-1] == (
        "through S3 on its key: the key or trust policy does not admit the principal"
    )
    through_s3 = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    open_key = key([allow("kms:Decrypt", principal={"AWS": reader_arn}, condition=through_s3)])
    assert (
        one_account(tmp_path / "open", Key=open_key, **resources).decide(
            f"{ALICE}:reader", "s3:GetObject", OBJECT
        )
        == "allow"
    )


def test_assuming_a_role_needs_its_trust_policy(tmp_path: Path) -> None:
    auditor = f"arn:aws:iam::{BOB}:role/auditor"
    trust = [
        allow(
            "sts:AssumeRole",
            None,
            principal={"AWS": f"arn:aws:iam::{BOB}:root"},
            condition={"ArnEquals": {"aws:PrincipalArn": auditor}},
        )
    ]
    world = two_accounts(
        tmp_path,
        {"Target": role("target", trust=trust)},
        {
            "Auditor": role("auditor", statements=[allow("sts:AssumeRole")]),
            "Other": role("other", statements=[allow("sts:AssumeRole")]),
            "Idle": role("idle"),
        },
    )
    target = f"arn:aws:iam::{ALICE}:role/target"
    assert world.decide(f"{BOB}:auditor", "sts:AssumeRole", target) == "allow"
    assert world.decide(f"{BOB}:other", "sts:AssumeRole", target) == "deny"
    assert world.decide(f"{BOB}:idle", "sts:AssumeRole", target) == "deny"


def test_a_service_principal_needs_the_resource_policy(tmp_path: Path) -> None:
    world = one_account(
        tmp_path,
        Data=bucket("alice-data"),
        DataPolicy=bucket_policy(
            "Data",
            [
                allow(
                    "s3:PutObject", f"{BUCKET}/*", principal={"Service": "logging.s3.amazonaws.com"}
                )
            ],
        ),
    )

    def service(name: str, action: str) -> str:
        principal = Principal(ALICE, text(name), service=name)
        request = Request(principal, action, text(OBJECT), ALICE)
        return world.evaluator.evaluate(request).decision

    assert service("logging.s3.amazonaws.com", "s3:PutObject") == "allow"
    assert service("logging.s3.amazonaws.com", "s3:GetObject") == "deny"
    assert service("cloudtrail.amazonaws.com", "s3:PutObject") == "deny"


# --- organization policies -------------------------------------------------------------------


def organization(tmp_path: Path, policies: dict[str, object], **alice: dict[str, object]) -> World:
    return World(
        tmp_path / "cdk.out",
        {"org": (MANAGEMENT, policies), "alice": (ALICE, {"Data": bucket("alice-data"), **alice})},
    )


def test_an_scp_deny_binds_the_accounts_it_is_attached_to(tmp_path: Path) -> None:
    scp = org_policy("SERVICE_CONTROL_POLICY", [ALICE], [deny("s3:DeleteBucket", sid="Keep")])
    world = organization(tmp_path, {"Scp": scp}, Admin=role("admin", statements=[allow("*")]))
    decision = world.ask(f"{ALICE}:admin", "s3:DeleteBucket", BUCKET)
    assert decision.decision == "deny"
    assert decision.reasons == ("explicit deny by service-control-policy org/Scp [Keep]",)


def test_an_scp_on_the_root_binds_every_member_but_not_the_management_account(
    tmp_path: Path,
) -> None:
    scp = org_policy("SERVICE_CONTROL_POLICY", [ROOT_ID], [deny("ec2:DeleteFlowLogs")])
    world = organization(
        tmp_path,
        {"Scp": scp, "Admin": role("admin", statements=[allow("*")])},
        Admin=role("admin", statements=[allow("*")]),
    )
    assert world.decide(f"{ALICE}:admin", "ec2:DeleteFlowLogs", "*") == "deny"
    assert world.decide(f"{MANAGEMENT}:admin", "ec2:DeleteFlowLogs", "*") == "allow"


def test_requested_region_comes_from_the_resource_or_the_role(tmp_path: Path) -> None:
    outside = {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}
    scp = org_policy("SERVICE_CONTROL_POLICY", [ALICE], [deny("*", condition=outside)])
    world = organization(tmp_path, {"Scp": scp}, User=role("user", statements=[allow("*")]))
    model = "arn:aws:bedrock:{}::foundation-model/amazon.nova-lite-v1:0"
    assert (
        world.decide(f"{ALICE}:user", "bedrock:InvokeModel", model.format("eu-west-1")) == "allow"
    )
    assert world.decide(f"{ALICE}:user", "bedrock:InvokeModel", model.format("us-east-1")) == "deny"
    assert world.decide(f"{ALICE}:user", "s3:ListAllMyBuckets", "*") == "allow"


def test_an_rcp_binds_the_resources_of_its_accounts_whoever_asks(tmp_path: Path) -> None:
    others = {"StringNotEquals": {"aws:PrincipalAccount": ALICE}}
    rcp = org_policy(
        "RESOURCE_CONTROL_POLICY",
        [ALICE],
        [deny("s3:*", principal="*", condition=others, sid="OwnAccountOnly")],
    )
    open_to_bob = [allow("s3:GetObject", "*", principal={"AWS": f"arn:aws:iam::{BOB}:root"})]
    world = World(
        tmp_path / "cdk.out",
        {
            "org": (MANAGEMENT, {"Rcp": rcp}),
            "alice": (
                ALICE,
                {
                    "Data": bucket("alice-data"),
                    "P": bucket_policy("Data", open_to_bob),
                    "Reader": role("reader", statements=[allow("s3:GetObject")]),
                },
            ),
            "bob": (
                BOB,
                {
                    "Data": bucket("bob-data"),
                    "P": bucket_policy("Data", open_to_bob),
                    "Reader": role("reader", statements=[allow("s3:GetObject")]),
                },
            ),
        },
    )
    decision = world.ask(f"{BOB}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "deny"
    assert decision.reasons == (
        "explicit deny by resource-control-policy org/Rcp [OwnAccountOnly]",
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "allow"
    assert world.decide(f"{BOB}:reader", "s3:GetObject", "arn:aws:s3:::bob-data/x") == "allow"


# --- request context ---------------------------------------------------------------------------


def test_principal_tags_are_in_the_request_context(tmp_path: Path) -> None:
    pipeline_only = {"StringNotEquals": {"aws:PrincipalTag/genai:pipeline": "true"}}
    world = one_account(
        tmp_path,
        Pipeline=role("pipeline", statements=[allow("s3:*")], tags={"genai:pipeline": "true"}),
        Human=role("human", statements=[allow("s3:*")]),
        Data=bucket("alice-data"),
        P=bucket_policy(
            "Data", [deny("s3:PutObject", f"{BUCKET}/*", principal="*", condition=pipeline_only)]
        ),
    )
    assert world.decide(f"{ALICE}:pipeline", "s3:PutObject", OBJECT) == "allow"
    assert world.decide(f"{ALICE}:human", "s3:PutObject", OBJECT) == "deny"


def test_request_context_from_the_question(tmp_path: Path) -> None:
    guarded = {
        "StringEquals": {"bedrock:GuardrailIdentifier": "arn:aws:bedrock:eu-west-1:1:guardrail/g:1"}
    }
    world = one_account(
        tmp_path, App=role("app", statements=[allow("bedrock:InvokeModel", condition=guarded)])
    )
    model = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"
    with_guardrail = "bedrock:GuardrailIdentifier=arn:aws:bedrock:eu-west-1:1:guardrail/g:1"
    assert world.decide(f"{ALICE}:app", "bedrock:InvokeModel", model, with_guardrail) == "allow"
    assert world.decide(f"{ALICE}:app", "bedrock:InvokeModel", model) == "deny"


def test_a_condition_on_a_key_the_request_does_not_settle_is_unknown(tmp_path: Path) -> None:
    office = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    world = one_account(tmp_path, User=role("user", statements=[allow("s3:*", condition=office)]))
    decision = world.ask(f"{ALICE}:user", "s3:GetObject", OBJECT)
    assert decision.decision == "unknown"


def test_a_deny_on_an_unresolvable_value_is_unknown_never_silent(tmp_path: Path) -> None:
    imported = {"StringNotEquals": {"aws:PrincipalArn": {"Fn::ImportValue": "nowhere"}}}
    world = one_account(
        tmp_path,
        User=role(
            "user",
            statements=[allow("s3:*"), deny("s3:GetObject", condition=imported, sid="Maybe")],
        ),
    )
    decision = world.ask(f"{ALICE}:user", "s3:GetObject", OBJECT)
    assert decision.decision == "unknown"
    assert decision.reasons[0] == "may be denied by identity alice/User [Maybe]"


def test_deploy_time_names_match_the_policies_that_reference_them(tmp_path: Path) -> None:
    unnamed_bucket = {"Type": "AWS::S3::Bucket", "Properties": {}}
    reads = allow("s3:GetObject", {"Fn::Join": ["", [{"Fn::GetAtt": ["Data", "Arn"]}, "/*"]]})
    world = one_account(
        tmp_path,
        Data=unnamed_bucket,
        Other={"Type": "AWS::S3::Bucket", "Properties": {}},
        Reader=role("reader", statements=[reads]),
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", "alice/Data/x.csv") == "allow"
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", "alice/Other/x.csv") == "deny"
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT) == "unknown"


# --- OpenSearch Serverless ---------------------------------------------------------------------


def test_a_collection_needs_iam_and_its_data_access_policy(tmp_path: Path) -> None:
    collection = {"Type": "AWS::OpenSearchServerless::Collection", "Properties": {"Name": "docs"}}
    rule = {
        "Rules": [
            {
                "ResourceType": "index",
                "Resource": ["index/docs/*"],
                "Permission": ["aoss:ReadDocument"],
            }
        ],
        "Principal": [f"arn:aws:iam::{ALICE}:role/reader", f"arn:aws:iam::{ALICE}:role/no-iam"],
    }
    access = {
        "Type": "AWS::OpenSearchServerless::AccessPolicy",
        "Properties": {"Name": "docs", "Type": "data", "Policy": json.dumps([rule])},
    }
    api = allow("aoss:APIAccessAll", {"Fn::GetAtt": ["Docs", "Arn"]})
    world = one_account(
        tmp_path,
        Docs=collection,
        Access=access,
        Reader=role("reader", statements=[api]),
        Outsider=role("outsider", statements=[api]),
        NoIam=role("no-iam"),
    )
    decision = world.ask(f"{ALICE}:reader", "aoss:ReadDocument", "alice/Docs")
    assert decision.decision == "allow"
    assert decision.reasons[-1] == "granted by data access policy alice/Access"
    assert world.decide(f"{ALICE}:reader", "aoss:WriteDocument", "alice/Docs") == "deny"
    assert world.decide(f"{ALICE}:outsider", "aoss:ReadDocument", "alice/Docs") == "deny"
    assert world.decide(f"{ALICE}:no-iam", "aoss:ReadDocument", "alice/Docs") == "deny"


# --- intrinsic functions -------------------------------------------------------------------------


def test_intrinsics_resolve_as_cloudformation_would(tmp_path: Path) -> None:
    key_policy = [allow("kms:*", principal={"AWS": ALICE})]
    reads = allow(
        ["s3:GetObject", "kms:Decrypt"],
        [
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::alice-${AWS::AccountId}/*"},
            {"Fn::Select": [1, {"Fn::Split": [",", "x,arn:aws:s3:::selected/*"]}]},
            {"Fn::ImportValue": "security-key-arn"},
        ],
    )
    world = World(
        tmp_path / "cdk.out",
        {
            "security": (
                ALICE,
                {
                    "Key": key(key_policy),
                    "Other": key(key_policy),
                    "Named": bucket(f"alice-{ALICE}"),
                    "Selected": bucket("selected"),
                },
            ),
            "app": (ALICE, {"Reader": role("reader", statements=[reads])}),
        },
        exports={"security": {"security-key-arn": {"Fn::GetAtt": ["Key", "Arn"]}}},
    )
    assert (
        world.decide(f"{ALICE}:reader", "s3:GetObject", f"arn:aws:s3:::alice-{ALICE}/a") == "allow"
    )
    assert world.decide(f"{ALICE}:reader", "s3:GetObject", "arn:aws:s3:::selected/a") == "allow"
    assert world.decide(f"{ALICE}:reader", "kms:Decrypt", "security/Key") == "allow"
    assert world.decide(f"{ALICE}:reader", "kms:Decrypt", "security/Other") == "deny"


def test_an_import_of_no_export_is_unknown(tmp_path: Path) -> None:
    reads = allow("kms:Decrypt", {"Fn::ImportValue": "nowhere"})
    world = one_account(
        tmp_path,
        Key=key([allow("kms:*", principal={"AWS": ALICE})]),
        Reader=role("reader", statements=[reads]),
    )
    assert world.decide(f"{ALICE}:reader", "kms:Decrypt", "alice/Key") == "unknown"


def test_resource_tags_are_in_the_request_context(tmp_path: Path) -> None:
    protected = {"StringEquals": {"aws:ResourceTag/team": "governance"}}
    world = one_account(
        tmp_path,
        Guarded={
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "guarded",
                "Tags": [{"Key": "team", "Value": "governance"}],
            },
        },
        Open={"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "open"}},
        Caller=role(
            "caller",
            statements=[
                allow("lambda:InvokeFunction"),
                deny("lambda:*", condition=protected, sid="Hands"),
            ],
        ),
    )
    guarded = world.ask(f"{ALICE}:caller", "lambda:InvokeFunction", "alice/Guarded")
    assert guarded.decision == "deny"
    assert guarded.reasons == ("explicit deny by identity alice/Caller [Hands]",)
    assert world.decide(f"{ALICE}:caller", "lambda:InvokeFunction", "alice/Open") == "allow"


# --- fidelity: what IAM does that a literal reading would miss -------------------------------


def test_a_model_call_by_another_operation_is_authorized_as_invoke_model(tmp_path: Path) -> None:
    model = "arn:aws:bedrock:eu-west-1::foundation-model/vendor.model-v1:0"
    world = one_account(
        tmp_path,
        Caller=role("caller", statements=[allow("bedrock:*"), deny("bedrock:InvokeModel", model)]),
    )
    for operation in ("bedrock:StartAsyncInvoke", "bedrock:Converse"):
        decision = world.ask(f"{ALICE}:caller", operation, model)
        assert decision.decision == "deny", operation
        assert decision.reasons[0] == f"{operation} is authorized as bedrock:InvokeModel"


def test_a_statement_whose_action_is_not_a_literal_may_apply_to_any_action(
    tmp_path: Path,
) -> None:
    conditional = {
        "Effect": "Deny",
        "Action": {"Fn::If": ["Strict", "s3:*", "s3:DeleteObject"]},
        "Resource": "*",
    }
    world = one_account(
        tmp_path,
        Reader=role("reader", statements=[allow("s3:GetObject", OBJECT), conditional]),
    )
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "unknown"
    assert any(reason.startswith("may be denied by identity") for reason in decision.reasons)


def test_a_question_asks_one_action_without_a_wildcard(tmp_path: Path) -> None:
    world = one_account(tmp_path, Reader=role("reader", statements=[allow("s3:GetObject", OBJECT)]))
    with pytest.raises(QuestionError, match="one action, no wildcard"):
        world.ask(f"{ALICE}:reader", "s3:GetObj*", OBJECT)


def test_an_scp_on_an_organizational_unit_may_apply(tmp_path: Path) -> None:
    """The assembly does not say which unit an account is in: the unit's denies may apply."""
    unit_deny = org_policy("SERVICE_CONTROL_POLICY", ["ou-abcd-12345678"], [deny("s3:GetObject")])
    world = World(
        tmp_path / "cdk.out",
        {
            "org": (MANAGEMENT, {"Policy": unit_deny}),
            "alice": (
                ALICE,
                {
                    "Data": bucket("alice-data"),
                    "Reader": role("reader", statements=[allow("s3:GetObject", OBJECT)]),
                },
            ),
        },
    )
    decision = world.ask(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decision.decision == "unknown"
    assert any("may be denied by service-control-policy" in r for r in decision.reasons)


FUNCTION = f"arn:aws:lambda:eu-west-1:{ALICE}:function:answers"


@pytest.mark.parametrize("granted", [True, False], ids=["permitted", "not-permitted"])
def test_a_function_permission_admits_another_account(tmp_path: Path, granted: bool) -> None:
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Answers", "Arn"]},
            "Action": "lambda:InvokeFunction",
            "Principal": BOB,
        },
    }
    function = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "answers"}}
    world = two_accounts(
        tmp_path,
        {"Answers": function, **({"Permission": permission} if granted else {})},
        {"Caller": role("caller", statements=[allow("lambda:InvokeFunction", FUNCTION)])},
    )
    expected = "allow" if granted else "deny"
    assert world.decide(f"{BOB}:caller", "lambda:InvokeFunction", FUNCTION) == expected


def test_an_event_bus_policy_admits_another_accounts_publisher(tmp_path: Path) -> None:
    bus = f"arn:aws:events:eu-west-1:{ALICE}:event-bus/releases"
    policy = {
        "Type": "AWS::Events::EventBusPolicy",
        "Properties": {
            "EventBusName": "releases",
            "StatementId": "Publisher",
            "Statement": allow(
                "events:PutEvents", bus, principal={"AWS": f"arn:aws:iam::{BOB}:role/publisher"}
            ),
        },
    }
    publisher = role("publisher", statements=[allow("events:PutEvents", bus)])
    world = two_accounts(tmp_path, {"BusPolicy": policy}, {"Publisher": publisher})
    assert world.decide(f"{BOB}:publisher", "events:PutEvents", bus) == "allow"
    without = two_accounts(tmp_path / "without", {}, {"Publisher": publisher})
    assert without.decide(f"{BOB}:publisher", "events:PutEvents", bus) == "deny"


def test_a_repository_policy_admits_another_accounts_puller(tmp_path: Path) -> None:
    repository = f"arn:aws:ecr:eu-west-1:{ALICE}:repository/recipe"
    shared = {
        "Type": "AWS::ECR::Repository",
        "Properties": {
            "RepositoryName": "recipe",
            "RepositoryPolicyText": document(
                [allow("ecr:BatchGetImage", None, principal={"AWS": f"arn:aws:iam::{BOB}:root"})]
            ),
        },
    }
    puller = role("puller", statements=[allow("ecr:BatchGetImage", repository)])
    world = two_accounts(tmp_path, {"Repository": shared}, {"Puller": puller})
    assert world.decide(f"{BOB}:puller", "ecr:BatchGetImage", repository) == "allow"


def test_a_same_account_resource_policy_naming_everyone_is_not_capped_by_the_boundary(
    tmp_path: Path,
) -> None:
    """As IAM decides (and the independent simulator): a resource policy that names every
    principal, or the role's session, is not capped by the boundary's implicit deny; one that
    names the role is."""
    decisions = {}
    for name, principal in (
        ("everyone", "*"),
        ("session", {"AWS": f"arn:aws:sts::{ALICE}:assumed-role/reader/someone"}),
        ("role", {"AWS": f"arn:aws:iam::{ALICE}:role/reader"}),
    ):
        world = one_account(
            tmp_path / name,
            DataPolicy=bucket_policy("Data", [allow("s3:GetObject", OBJECT, principal=principal)]),
            Boundary=managed_policy([allow("sqs:*")]),
            Reader=role("reader", boundary="Boundary"),
        )
        decisions[name] = world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decisions == {"everyone": "allow", "session": "unknown", "role": "deny"}


def test_tags_decide_alike_however_the_resource_is_named(tmp_path: Path) -> None:
    tagged = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Tags": [{"Key": "lob", "Value": "claims"}]},
    }
    fenced = deny(
        "lambda:InvokeFunction", condition={"StringEquals": {"aws:ResourceTag/lob": "claims"}}
    )
    world = one_account(
        tmp_path,
        Answers=tagged,
        Caller=role("caller", statements=[allow("lambda:InvokeFunction"), fenced]),
    )
    by_id = world.ask(f"{ALICE}:caller", "lambda:InvokeFunction", "alice/Answers")
    literal = f"arn:aws:lambda:eu-west-1:{ALICE}:function:alice-Answers-A1B2C3"
    by_arn = world.ask(f"{ALICE}:caller", "lambda:InvokeFunction", literal)
    assert by_id.decision == "deny"
    assert by_arn.decision == "unknown"


def test_a_principal_tag_is_unknown_where_sessions_may_be_tagged(tmp_path: Path) -> None:
    team_only = deny("s3:GetObject", condition={"StringNotEquals": {"aws:PrincipalTag/team": "a"}})
    tagged_sessions = allow(
        ["sts:AssumeRole", "sts:TagSession"],
        None,
        principal={"AWS": f"arn:aws:iam::{ALICE}:root"},
    )
    decisions = {}
    for name, trust in (("untagged", None), ("tagged", [tagged_sessions])):
        world = one_account(
            tmp_path / name,
            Reader=role(
                "reader", statements=[allow("s3:GetObject", OBJECT), team_only], trust=trust
            ),
        )
        decisions[name] = world.decide(f"{ALICE}:reader", "s3:GetObject", OBJECT)
    assert decisions == {"untagged": "deny", "tagged": "unknown"}


def test_the_guardrails_scp_keeps_managed_policies_to_the_deployment(tmp_path: Path) -> None:
    """A new version of a managed policy attached to a protected role would change what the
    role may do: only the exempt (deployment, break-glass) roles may write one."""
    scp = guardrails_scp(
        ["arn:aws:iam::*:role/acme-*"],
        exempt_role_patterns=["arn:aws:iam::*:role/cdk-*-cfn-exec-role-*"],
    )
    statements = scp["Statement"]
    world = organization(
        tmp_path,
        {"Guardrails": org_policy("SERVICE_CONTROL_POLICY", [ALICE], statements)},
        Admin=role("admin", statements=[allow("*")]),
        Deployer=role(
            "cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1", statements=[allow("*")]
        ),
    )
    grants = f"arn:aws:iam::{ALICE}:policy/RagReleaseGateGenAiConstructsGrants-1A2B3C"
    for action in (
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:DeletePolicy",
    ):
        decision = world.ask(f"{ALICE}:admin", action, grants)
        assert decision.decision == "deny", action
        assert "[DenyManagedPolicyChanges]" in decision.reasons[0]
        deployer = f"{ALICE}:cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1"
        assert world.decide(deployer, action, grants) == "allow", action
