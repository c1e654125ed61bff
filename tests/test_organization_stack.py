"""The organization stack: OUs, service and resource control policies, management policies.

One app with two organization stacks (guardrail enforced or not) is synthesized once, with
the cdk-nag gates; the policies are then evaluated as Organizations would see them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnResource, Environment

from blueprint.model.inputs.organization import ModelCatalogScope
from genai_constructs.organization import (
    GLOBAL_SERVICE_ACTIONS,
    bedrock_org_policy,
    bedrock_scp,
    policy_size,
    region_scp,
    tag_policy,
)
from stacks.compliance import add_compliance_gates
from stacks.organization import OrganizationStack
from tests.conftest import feature_flags

MANAGEMENT = "111111111111"
ALLOWED_REGIONS = ["eu-west-1", "eu-central-1", "eu-west-3", "eu-north-1"]
APPROVED_MODELS = ["amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "amazon.titan-embed-text-v2:0"]
ROOT_ID = "r-ab12"
ORGANIZATION_ID = "o-exampleorg1"
GUARDRAIL_ARN = f"arn:aws:bedrock:eu-west-1:{MANAGEMENT}:guardrail/abc123def456"
EXEMPT_ROLES = [
    "arn:*:iam::*:role/cdk-*-cfn-exec-role-*",
    "arn:*:iam::*:role/example-corp-break-glass",
]
PROTECTED_ROLES = ["arn:*:iam::*:role/example-corp-*"]
LOBS = ["claims", "marketing", "research"]
CONFIDENTIAL = ("444444444444", "555555555555", "666666666666")
INTERNAL = ("444444444445", "555555555556", "666666666667")
RESTRICTED_LOB = ("444444444446", "555555555557", "666666666668")
PLATFORM = ("222222222222", "333333333333")
WORKLOAD_ACCOUNTS = [*CONFIDENTIAL, *INTERNAL, *RESTRICTED_LOB]
MEMBER_ACCOUNTS = [*PLATFORM, *WORKLOAD_ACCOUNTS]
CATALOGS = [
    ModelCatalogScope("internal", tuple(APPROVED_MODELS), INTERNAL),
    ModelCatalogScope("confidential", tuple(APPROVED_MODELS), CONFIDENTIAL),
    ModelCatalogScope("restricted", tuple(APPROVED_MODELS[1:]), (*RESTRICTED_LOB, *PLATFORM)),
]
ENFORCED, UNENFORCED = "example-corp-organization", "example-corp-organization-no-guardrail"
SCP_QUOTA, TAG_POLICY_QUOTA, OPT_OUT_QUOTA = 5120, 10_000, 2500
POLICY_SPECS = (
    Path(sys.executable)
    .parents[1]
    .glob("lib/python3*/site-packages/cfnlint/data/AdditionalSpecs/Policies.json")
)


def stack_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "env": Environment(account=MANAGEMENT, region="eu-west-1"),
        "org_name": "example-corp",
        "allowed_regions": ALLOWED_REGIONS,
        "organization_root_id": ROOT_ID,
        "organization_id": ORGANIZATION_ID,
        "member_accounts": MEMBER_ACCOUNTS,
        "workload_accounts": WORKLOAD_ACCOUNTS,
        "model_catalogs": CATALOGS,
        "lob_names": LOBS,
        "protected_role_patterns": PROTECTED_ROLES,
        "exempt_role_patterns": EXEMPT_ROLES,
        "enforce_bedrock_guardrail": True,
        "guardrail_arn": GUARDRAIL_ARN,
        "guardrail_version": "1",
    }
    return kwargs | overrides


@dataclass
class Organization:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    stack: OrganizationStack

    def resources(self, stack_name: str = ENFORCED) -> dict[str, Any]:
        return dict(self.templates[stack_name]["Resources"])

    def policies(self, stack_name: str = ENFORCED) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource["Properties"]
            for logical_id, resource in self.resources(stack_name).items()
            if resource["Type"] == "AWS::Organizations::Policy"
        }

    def content(self, logical_id: str) -> dict[str, Any]:
        return dict(self.policies()[logical_id]["Content"])


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Organization:
    outdir = tmp_path_factory.mktemp("organization.out")
    app = App(outdir=str(outdir), context=feature_flags())
    stack = OrganizationStack(app, ENFORCED, **stack_kwargs())
    OrganizationStack(
        app,
        UNENFORCED,
        **stack_kwargs(enforce_bedrock_guardrail=False, sagemaker_require_volume_key=False),
    )
    add_compliance_gates(app)
    assembly = app.synth()
    templates = {s.stack_name: dict(s.template) for s in assembly.stacks}
    return Organization(outdir=outdir, templates=templates, stack=stack)


def region_scp_denies(statement: dict[str, Any], action: str, region: str, principal: str) -> bool:
    """Evaluate the region statement as IAM would for one request."""
    if any(fnmatchcase(action, pattern) for pattern in statement["NotAction"]):
        return False
    condition = statement["Condition"]
    if region in condition["StringNotEquals"]["aws:RequestedRegion"]:
        return False
    exempt = condition["ArnNotLike"]["aws:PrincipalArn"]
    return not any(fnmatchcase(principal, pattern) for pattern in exempt)


def not_resource_denies(statement: dict[str, Any], arn: str) -> bool:
    """A Deny with NotResource applies to every ARN that none of its patterns match."""
    return not any(fnmatchcase(arn, pattern) for pattern in statement["NotResource"])


def test_region_outside_the_allow_list_is_denied(org: Organization) -> None:
    [statement] = org.content("RegionRestriction")["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == "*"
    assert statement["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ALLOWED_REGIONS
    assert statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == EXEMPT_ROLES
    assert statement["NotAction"] == list(GLOBAL_SERVICE_ACTIONS)
    assert "kms:*" not in statement["NotAction"]

    lob_role = "arn:aws:iam::666666666666:role/example-corp-platform-admin"
    cdk_role = "arn:aws:iam::666666666666:role/cdk-genai-cfn-exec-role-666666666666-us-east-1"
    assert region_scp_denies(statement, "bedrock:InvokeModel", "us-east-1", lob_role)
    assert region_scp_denies(statement, "kms:Decrypt", "ap-southeast-1", lob_role)
    assert not region_scp_denies(statement, "bedrock:InvokeModel", "eu-west-1", lob_role)
    assert not region_scp_denies(statement, "iam:CreateRole", "us-east-1", lob_role)
    assert not region_scp_denies(statement, "bedrock:InvokeModel", "us-east-1", cdk_role)


def test_model_outside_the_catalog_is_denied(org: Organization) -> None:
    invoke, batch = org.content("BedrockModelCatalogConfidential")["Statement"]
    assert invoke["Effect"] == batch["Effect"] == "Deny"
    assert invoke["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert batch["Action"] == "bedrock:CreateModelInvocationJob"
    foundation = {
        p.split("foundation-model/")[1] for p in invoke["NotResource"] if "foundation-model/" in p
    }
    profiles = {
        p.split("inference-profile/*.")[1]
        for p in invoke["NotResource"]
        if ":inference-profile/" in p
    }
    assert foundation == profiles == set(APPROVED_MODELS)

    def denied(arn: str) -> bool:
        return not_resource_denies(invoke, arn)

    assert denied("arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-v2")
    assert denied("arn:aws:bedrock:eu-west-1:444444444444:inference-profile/eu.anthropic.claude-v2")
    assert denied("arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0:300k")
    for model in APPROVED_MODELS:
        assert not denied(f"arn:aws:bedrock:eu-central-1::foundation-model/{model}")
        assert not denied(f"arn:aws:bedrock:eu-west-1:444444444444:inference-profile/eu.{model}")
    assert not denied("arn:aws:bedrock:eu-west-1:444444444444:application-inference-profile/x1")
    assert not_resource_denies(batch, "arn:aws:bedrock:eu-west-1::foundation-model/meta.llama3")
    assert not not_resource_denies(
        batch, "arn:aws:bedrock:eu-west-1:444444444444:model-invocation-job/job1"
    )


def test_opt_out_policy_covers_every_ai_service(org: Organization) -> None:
    services = org.content("AiServicesOptOut")["services"]
    assert {key for key in services if not key.startswith("@@")} == {"default"}
    assert services["default"]["opt_out_policy"]["@@assign"] == "optOut"
    assert services["default"]["opt_out_policy"]["@@operators_allowed_for_child_policies"] == [
        "@@none"
    ]


def test_tag_policy_enforces_key_casing_and_allowed_values(org: Organization) -> None:
    tags = org.content("TagPolicy")["tags"]
    assert set(tags) == {"lob", "environment", "cost-center", "data-classification"}
    assert all(tags[key]["tag_key"]["@@assign"] == key for key in tags)
    assert tags["environment"]["tag_value"]["@@assign"] == [
        "interactive",
        "nonprod",
        "prod",
        "platform",
    ]
    assert tags["data-classification"]["tag_value"]["@@assign"] == [
        "public",
        "internal",
        "confidential",
        "restricted",
    ]
    assert tags["lob"]["tag_value"]["@@assign"] == [*LOBS, "platform"]


def test_every_policy_is_within_its_quota(org: Organization) -> None:
    quotas = {
        "SERVICE_CONTROL_POLICY": SCP_QUOTA,
        "RESOURCE_CONTROL_POLICY": SCP_QUOTA,
        "TAG_POLICY": TAG_POLICY_QUOTA,
        "AISERVICES_OPT_OUT_POLICY": OPT_OUT_QUOTA,
        "BEDROCK_POLICY": TAG_POLICY_QUOTA,
    }
    for logical_id, policy in org.policies().items():
        size = len(json.dumps(policy["Content"], separators=(",", ":")))
        assert size < quotas[policy["Type"]], (logical_id, size)


def test_policies_are_attached_to_the_accounts_by_id(org: Organization) -> None:
    """In force from the first deployment, whatever OU an account sits in."""
    assert not [
        r for r in org.resources().values() if r["Type"] == "AWS::Organizations::OrganizationalUnit"
    ]

    def targets(logical_id: str) -> list[str]:
        return list(org.policies()[logical_id]["TargetIds"])

    assert targets("RegionRestriction") == targets("SecurityGuardrails") == MEMBER_ACCOUNTS
    assert targets("DataPerimeter") == MEMBER_ACCOUNTS
    assert targets("SageMakerIsolation") == WORKLOAD_ACCOUNTS
    assert targets("BedrockModelCatalogInternal") == list(INTERNAL)
    assert targets("BedrockModelCatalogConfidential") == list(CONFIDENTIAL)
    assert targets("BedrockModelCatalogRestricted") == [*RESTRICTED_LOB, *PLATFORM]
    assert targets("AiServicesOptOut") == targets("TagPolicy") == [ROOT_ID]
    assert targets("BedrockGuardrailEnforcement") == [ROOT_ID]
    types = {logical_id: policy["Type"] for logical_id, policy in org.policies().items()}
    assert types == {
        "RegionRestriction": "SERVICE_CONTROL_POLICY",
        "SecurityGuardrails": "SERVICE_CONTROL_POLICY",
        "BedrockModelCatalogInternal": "SERVICE_CONTROL_POLICY",
        "BedrockModelCatalogConfidential": "SERVICE_CONTROL_POLICY",
        "BedrockModelCatalogRestricted": "SERVICE_CONTROL_POLICY",
        "SageMakerIsolation": "SERVICE_CONTROL_POLICY",
        "DataPerimeter": "RESOURCE_CONTROL_POLICY",
        "AiServicesOptOut": "AISERVICES_OPT_OUT_POLICY",
        "TagPolicy": "TAG_POLICY",
        "BedrockGuardrailEnforcement": "BEDROCK_POLICY",
    }


def test_restricted_accounts_cannot_invoke_models_approved_for_less(org: Organization) -> None:
    invoke, _ = org.content("BedrockModelCatalogRestricted")["Statement"]
    assert not_resource_denies(
        invoke, f"arn:aws:bedrock:eu-west-1::foundation-model/{APPROVED_MODELS[0]}"
    )
    assert not not_resource_denies(
        invoke, f"arn:aws:bedrock:eu-west-1::foundation-model/{APPROVED_MODELS[1]}"
    )


def test_no_account_carries_more_scps_than_aws_attaches() -> None:
    crowded = [ModelCatalogScope("all", tuple(APPROVED_MODELS), tuple(MEMBER_ACCOUNTS))]
    extra = ModelCatalogScope("again", tuple(APPROVED_MODELS), ("444444444444",))
    app = App(context=feature_flags())
    with pytest.raises(ValueError) as raised:
        OrganizationStack(app, "probe", **stack_kwargs(model_catalogs=[*crowded, extra]))
    assert (
        str(raised.value)
        == "OrganizationStack: accounts ['444444444444'] are in two model catalogs"
    )


def test_bedrock_policy_only_when_guardrail_is_enforced(org: Organization) -> None:
    def bedrock_policies(stack_name: str) -> list[dict[str, Any]]:
        return [p for p in org.policies(stack_name).values() if p["Type"] == "BEDROCK_POLICY"]

    assert bedrock_policies(UNENFORCED) == []
    [enforced] = bedrock_policies(ENFORCED)
    config = enforced["Content"]["bedrock"]["guardrail_inference"]["eu-west-1"]["config_1"]
    assert config["identifier"]["@@assign"] == f"{GUARDRAIL_ARN}:1"
    assert config["model_enforcement"]["included_models"]["@@assign"] == ["ALL"]


def test_the_workload_scp_requires_vpc_and_keys(org: Organization) -> None:
    def conditions(stack_name: str) -> dict[str, dict[str, Any]]:
        [policy] = [
            p for p in org.policies(stack_name).values() if p["Name"].endswith("workload-isolation")
        ]
        return {
            s["Sid"]: s["Condition"]["Null"]
            for s in policy["Content"]["Statement"]
            if s["Sid"].startswith("Deny") and "sagemaker:" in str(s["Condition"])
        }

    assert conditions(ENFORCED) == {
        "DenyWorkloadsWithoutVpcSubnets": {"sagemaker:VpcSubnets": "true"},
        "DenyWorkloadsWithoutVpcSecurityGroups": {"sagemaker:VpcSecurityGroupIds": "true"},
        "DenyJobsWithoutOutputKey": {"sagemaker:OutputKmsKeyArn": "true"},
        "DenyJobsAndEndpointsWithoutVolumeKey": {"sagemaker:VolumeKmsKeyArn": "true"},
    }
    assert "DenyJobsAndEndpointsWithoutVolumeKey" not in conditions(UNENFORCED)


def test_every_statement_has_a_unique_sid(org: Organization) -> None:
    for logical_id, policy in org.policies().items():
        statements = policy["Content"].get("Statement")
        if statements is None:
            continue  # management policies (opt-out, tag, Bedrock) have no statements
        sids = [statement.get("Sid") for statement in statements]
        assert all(sids) and len(set(sids)) == len(sids), logical_id


def test_data_perimeter_covers_only_services_rcps_support(org: Organization) -> None:
    [statement] = org.content("DataPerimeter")["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Action"] == ["s3:*", "kms:*", "aoss:*"]
    assert statement["Condition"] == {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORGANIZATION_ID},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }


def test_guardrails_protect_audit_services_and_platform_roles(org: Organization) -> None:
    statements = {s["Sid"]: s for s in org.content("SecurityGuardrails")["Statement"]}
    assert statements["DenyPlatformRoleChanges"]["Resource"] == PROTECTED_ROLES
    assert statements["DenyManagedPolicyChanges"]["Resource"] == ["arn:*:iam::*:policy/*"]
    assert statements["DenyManagedPolicyChanges"]["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": EXEMPT_ROLES}
    }
    assert statements["DenyLeavingOrganization"]["Action"] == "organizations:LeaveOrganization"
    assert "Condition" not in statements["DenyLeavingOrganization"]
    assert statements["DenyPublicAccessBlockChanges"]["Action"] == [
        "s3:PutAccountPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ]
    for sid in ("DenyCloudTrailChanges", "DenyConfigChanges", "DenyGuardDutyChanges"):
        assert statements[sid]["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": EXEMPT_ROLES}}


@cache
def _known_actions() -> dict[str, set[str]]:
    specs = json.loads(next(iter(POLICY_SPECS)).read_text())
    return {service: set(spec["Actions"]) for service, spec in specs.items()}


def test_every_action_exists_in_the_iam_reference(org: Organization) -> None:
    known = _known_actions()
    for logical_id, policy in org.policies().items():
        for statement in policy["Content"].get("Statement", []):
            actions = statement.get("Action", statement.get("NotAction"))
            for action in [actions] if isinstance(actions, str) else actions:
                service, name = action.split(":")
                assert service in known, (logical_id, action)
                assert name == "*" or name.lower() in known[service], (logical_id, action)


def test_cfn_lint_reports_nothing(org: Organization) -> None:
    templates = sorted(org.outdir.glob("*.template.json"))
    assert len(templates) == 2
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"allowed_regions": []},
            "OrganizationStack: allowed_regions must name at least one region",
        ),
        (
            {"guardrail_arn": None},
            "OrganizationStack: enforce_bedrock_guardrail needs guardrail_arn and "
            "guardrail_version",
        ),
        (
            {"guardrail_version": None},
            "OrganizationStack: enforce_bedrock_guardrail needs guardrail_arn and "
            "guardrail_version",
        ),
        (
            {"guardrail_arn": "arn:aws:bedrock:eu-west-1:222222222222:guardrail/abc123def456"},
            "OrganizationStack: the enforced guardrail must be owned by the management account "
            "111111111111 (got 222222222222)",
        ),
        (
            {"guardrail_version": "DRAFT"},
            "bedrock_org_policy: guardrail_version 'DRAFT' must be a published version number, "
            "not DRAFT",
        ),
        (
            {"member_accounts": []},
            "OrganizationStack: member_accounts must name at least one account",
        ),
        (
            {"workload_accounts": ["999999999999"]},
            "OrganizationStack: workload accounts ['999999999999'] are not member accounts",
        ),
        (
            {"model_catalogs": CATALOGS[1:]},
            "OrganizationStack: model_catalogs must cover every member account once (missing "
            "['444444444445', '555555555556', '666666666667'], strays [])",
        ),
        (
            {"protected_role_patterns": []},
            "OrganizationStack: protected_role_patterns must name at least one role pattern",
        ),
        (
            {"exempt_role_patterns": []},
            "OrganizationStack: exempt_role_patterns must name at least one role pattern, or the "
            "roles that deploy the platform are locked out",
        ),
        (
            {"exempt_role_patterns": ["cdk-*"]},
            "region_scp: 'cdk-*' is not an IAM role ARN pattern "
            "(arn:<partition>:iam::<account or *>:role/<name>)",
        ),
        ({"allowed_regions": ["europe"]}, "region_scp: 'europe' is not a region name"),
        (
            {"model_catalogs": [replace(CATALOGS[0], model_ids=("anthropic.*",)), *CATALOGS[1:]]},
            "bedrock_scp: 'anthropic.*' is not a model ID "
            "(letters, digits and . _ : - only, no wildcards)",
        ),
    ],
)
def test_invalid_input_is_refused_before_any_resource(
    overrides: dict[str, Any], message: str
) -> None:
    app = App(context=feature_flags())
    with pytest.raises(ValueError) as raised:
        OrganizationStack(app, "probe", **stack_kwargs(**overrides))
    assert str(raised.value) == message
    assert not [c for c in app.node.find_all() if CfnResource.is_cfn_resource(c)]


def test_policy_over_its_quota_is_refused() -> None:
    models = [f"vendor.a-very-long-model-name-number-{i:03d}-v1:0" for i in range(40)]
    size = policy_size(bedrock_scp(models))
    assert size > SCP_QUOTA
    app = App(context=feature_flags())
    with pytest.raises(ValueError) as raised:
        catalogs = [replace(CATALOGS[0], model_ids=tuple(models)), *CATALOGS[1:]]
        OrganizationStack(app, "probe", **stack_kwargs(model_catalogs=catalogs))
    assert str(raised.value) == (
        f"OrganizationStack: policy 'bedrock-model-catalog-internal' is {size} characters, "
        "over the 5120-character quota of SERVICE_CONTROL_POLICY"
    )


def test_builders_refuse_invalid_input() -> None:
    with pytest.raises(ValueError, match=r"^region_scp: allowed_regions must name at least"):
        region_scp([])
    with pytest.raises(ValueError, match=r"^bedrock_scp: approved_model_ids must name at least"):
        bedrock_scp([])
    with pytest.raises(ValueError, match=r"is not a Bedrock guardrail ARN$"):
        bedrock_org_policy("arn:aws:bedrock:eu-west-1:111111111111:agent/x", "1")
    with pytest.raises(ValueError, match=r"^tag_policy: keys must name at least one tag key$"):
        tag_policy([])
    with pytest.raises(
        ValueError,
        match=re.escape("tag_policy: allowed_values names keys ['tier'] not in ['lob']"),
    ):
        tag_policy(["lob"], allowed_values={"tier": ["gold"]})


def test_policy_size_ignores_white_space() -> None:
    assert policy_size({"a": [1, 2]}) == len('{"a":[1,2]}')
