"""The security review's findings, each closed on the example's templates: confused deputies,
guardrail enforcement, network perimeter, audit evidence, registry and endpoint scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from blueprint.assembly.access.question import Questions
from blueprint.model.config import OrgConfig
from blueprint.model.endpoints import interface_endpoints
from tests.conftest import Synthesized

Json = dict[str, Any]
# Services that send no aws:SourceAccount or aws:SourceArn on the request and are held to
# the account another way (the reason is the value).
UNCONDITIONED_SERVICES = {
    "cloudwatch.amazonaws.com": "CloudWatch alarms publishing to an encrypted topic send no "
    "source account to KMS; the key is the account's own",
    "lambda.amazonaws.com": "Lambda assumes a function's execution role only for functions "
    "of the role's own account",
    "application-autoscaling.amazonaws.com": "Application Auto Scaling assumes the scaling "
    "role only for scalable targets of the role's own account",
}
ACCOUNT_CONDITIONS = {"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"}


def _service_grants(template: Json) -> Iterator[tuple[str, str, Json]]:
    """(logical id, service, statement) of every allow to an AWS service principal in a trust,
    key or resource policy."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        document = (
            properties.get("AssumeRolePolicyDocument")
            or properties.get("KeyPolicy")
            or (properties.get("PolicyDocument") if "Policy" in resource["Type"] else None)
        )
        if not isinstance(document, dict) or resource["Type"] in (
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
        ):
            continue
        for statement in document["Statement"]:
            principal = statement.get("Principal", {})
            if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
                continue
            services = principal.get("Service", [])
            for service in services if isinstance(services, list) else [services]:
                yield logical_id, service, statement


def test_every_service_acts_only_for_its_own_account(example: Synthesized) -> None:
    checked = 0
    for name, template in example.templates().items():
        for logical_id, service, statement in _service_grants(template):
            if service in UNCONDITIONED_SERVICES or service.startswith("logs."):
                continue
            condition_keys = {
                key for test in statement.get("Condition", {}).values() for key in test
            }
            assert condition_keys & ACCOUNT_CONDITIONS, (name, logical_id, service)
            checked += 1
    assert checked > 100


def test_cloudwatch_logs_use_the_key_only_for_this_accounts_log_groups(
    example: Synthesized,
) -> None:
    template = example.template_json("claims-prod-security")
    statements = [
        (statement, service)
        for _, service, statement in _service_grants(template)
        if service.startswith("logs.")
    ]
    assert statements
    for statement, _ in statements:
        assert statement["Condition"] == {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:666666666666:"
                "log-group:*"
            }
        }


def test_eventbridge_publishes_approvals_through_its_own_role(example: Synthesized) -> None:
    key = example.template_json("claims-nonprod-security")["Resources"][
        example.marked("claims-nonprod-security", "key/data")
    ]
    services = {
        service
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        for service in _as_list(statement.get("Principal", {}).get("Service", []))
    }
    assert "events.amazonaws.com" not in services
    ml = example.template_json("claims-nonprod-ml")["Resources"]
    [publisher] = [
        r
        for lid, r in ml.items()
        if lid.startswith("FineTuningClaimsSummarizerApprovalPublisher")
        and r["Type"] == "AWS::IAM::Role"
    ]
    assert publisher["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "555555555555"}},
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
        }
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- guardrail -------------------------------------------------------------------------------


def test_the_guardrail_is_enforced_on_whole_messages_in_every_lob_environment(
    example: Synthesized,
) -> None:
    embedding = list(example.plan.unguarded_model_ids())
    for placement in example.plan.lob_environments():
        template = example.template(f"{placement.key}-genai")
        template.has_resource_properties(
            "AWS::Bedrock::EnforcedGuardrailConfiguration",
            {
                "ModelEnforcement": {"IncludedModels": ["ALL"], "ExcludedModels": embedding},
                "SelectiveContentGuarding": {
                    "Messages": "COMPREHENSIVE",
                    "System": "COMPREHENSIVE",
                },
            },
        )


MODEL = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"


@pytest.mark.parametrize(
    ("guardrail", "expected"),
    [
        (None, "deny"),
        ("arn:aws:bedrock:eu-west-1:999999999999:guardrail/selfmade:1", "deny"),
        ("arn:aws:bedrock:eu-west-1:222222222222:guardrail/platform:1", "allow"),
    ],
    ids=["no-guardrail", "another-accounts-guardrail", "this-accounts-guardrail"],
)
def test_the_boundary_admits_only_the_accounts_own_guardrails(
    example_access: Questions, guardrail: str | None, expected: str
) -> None:
    """PowerUserAccess allows any model call; the boundary is what holds the platform team in
    the governance account to a guardrail of that account, which no bounded role can make."""
    context = [f"bedrock:GuardrailIdentifier={guardrail}"] if guardrail else []
    decision = example_access.ask(
        "222222222222:example-corp-platform-admin", "bedrock:InvokeModel", MODEL, context
    )
    assert decision.decision == expected, decision.reasons


def test_no_bounded_role_but_the_logging_configurator_changes_governance(
    example_access: Questions,
) -> None:
    for action in ("bedrock:CreateGuardrail", "bedrock:PutEnforcedGuardrailConfiguration"):
        decision = example_access.ask("222222222222:example-corp-platform-admin", action, "*")
        assert decision.decision == "deny"
        assert any("DenyGuardrailAndLoggingChanges" in r for r in decision.reasons)
    logging_role = next(
        logical_id
        for logical_id, resource in example_access.world.assembly.stack(
            "claims-prod-genai"
        ).resources.items()
        if resource.get("Metadata", {}).get("genai-platform:asset")
        == "logging-role/invocation-logging"
    )
    decision = example_access.ask(
        f"claims-prod-genai/{logging_role}",
        "bedrock:PutModelInvocationLoggingConfiguration",
        "*",
    )
    assert decision.decision == "allow", decision.reasons


# --- registry and endpoints ----------------------------------------------------------------------


def test_the_registry_admits_only_the_prod_release_role(example: Synthesized) -> None:
    groups = example.template("claims-nonprod-ml").find_resources(
        "AWS::SageMaker::ModelPackageGroup"
    )
    [group] = groups.values()
    [statement] = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::666666666666:root"]}
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": ["arn:aws:iam::666666666666:role/example-corp-model-release"]
        }
    }
    assert statement["Action"] == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "sagemaker:DescribeModelPackageGroup",
    ]


def _role_of(example: Synthesized, stack: str, prefix: str) -> str:
    return next(
        f"{stack}/{logical_id}"
        for logical_id, resource in example.template_json(stack)["Resources"].items()
        if logical_id.startswith(prefix) and resource["Type"] == "AWS::IAM::Role"
    )


@pytest.mark.parametrize(
    ("role", "action", "key", "expected"),
    [
        (
            "EndpointClaimsSummarizerExecutionRole",
            "s3:PutObject",
            "capture/claims-summarizer/a",
            "allow",
        ),
        (
            "EndpointClaimsSummarizerExecutionRole",
            "s3:DeleteObject",
            "capture/claims-summarizer/a",
            "deny",
        ),
        (
            "EndpointClaimsSummarizerExecutionRole",
            "s3:GetObject",
            "capture/claims-summarizer/a",
            "deny",
        ),
        (
            "EndpointClaimsSummarizerMonitorRole",
            "s3:GetObject",
            "capture/claims-summarizer/a",
            "allow",
        ),
        (
            "EndpointClaimsSummarizerMonitorRole",
            "s3:DeleteObject",
            "capture/claims-summarizer/a",
            "deny",
        ),
        (
            "EndpointClaimsSummarizerMonitorRole",
            "s3:PutObject",
            "capture/claims-summarizer/a",
            "deny",
        ),
        (
            "EndpointClaimsSummarizerMonitorRole",
            "s3:PutObject",
            "capture/claims-summarizer/monitoring/report.json",
            "allow",
        ),
    ],
)
def test_captured_data_is_added_and_read_never_deleted(
    example: Synthesized,
    example_access: Questions,
    role: str,
    action: str,
    key: str,
    expected: str,
) -> None:
    principal = _role_of(example, "claims-prod-ml", role)
    artifacts = example.marked("claims-prod-data", "zone/artifacts")
    decision = example_access.ask(principal, action, f"claims-prod-data/{artifacts}/{key}")
    assert decision.decision == expected, decision.reasons


# --- network perimeter ---------------------------------------------------------------------------


def test_every_endpoint_keeps_data_inside_the_organization(example: Synthesized) -> None:
    organization = example.plan.config.organization.id
    checked = 0
    for placement in example.plan.placements:
        resources = example.template_json(f"{placement.key}-foundation")["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::EC2::VPCEndpoint":
                continue
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            if resource["Properties"].get("VpcEndpointType") == "Interface":
                assert statements == [
                    {
                        "Action": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization}},
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Resource": "*",
                        "Sid": "OrganizationPrincipalsOnly",
                    }
                ], logical_id
            else:
                by_sid = {s["Sid"]: s for s in statements}
                assert set(by_sid) == {
                    "OrganizationBucketsForOrganizationPrincipals",
                    "EcrImageLayers",
                    "CloudFormationCustomResourceResponses",
                }
                assert by_sid["OrganizationBucketsForOrganizationPrincipals"]["Condition"] == {
                    "StringEquals": {
                        "aws:PrincipalOrgID": organization,
                        "aws:ResourceOrgID": organization,
                    }
                }
                assert by_sid["EcrImageLayers"]["Action"] == "s3:GetObject"
                assert by_sid["CloudFormationCustomResourceResponses"]["Action"] == "s3:PutObject"
            checked += 1
    # Each placement's interface endpoints (what its workloads call) and the S3 gateway.
    assert checked == sum(
        len(interface_endpoints(example.plan, placement)) + 1
        for placement in example.plan.placements
    )
    assert checked > len(example.plan.placements)


@pytest.mark.parametrize(
    "action", ["ec2:AttachInternetGateway", "ec2:CreateNatGateway", "ec2:ModifyVpcEndpoint"]
)
def test_no_role_under_the_boundary_opens_a_network_path(
    example_access: Questions, action: str
) -> None:
    for principal in (
        "222222222222:example-corp-platform-admin",
        "444444444444:example-corp-platform-admin",
    ):
        decision = example_access.ask(principal, action, "*")
        assert decision.decision == "deny"
        assert any("DenyNetworkPathChanges" in reason for reason in decision.reasons)


def test_the_organization_trail_records_object_access_to_every_data_bucket(
    example: Synthesized,
) -> None:
    trail = example.template("platform-governance-audit")
    archive = next(iter(trail.find_resources("AWS::S3::Bucket")))
    trail.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "IsOrganizationTrail": True,
            "AdvancedEventSelectors": [
                {
                    "Name": "Management events",
                    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
                },
                {
                    "Name": "Object reads and writes of the organization's buckets",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        {
                            "Field": "resources.ARN",
                            "NotStartsWith": [
                                {"Fn::Join": ["", [{"Fn::GetAtt": [archive, "Arn"]}, "/"]]},
                                "arn:aws:s3:::cdk-",
                            ],
                        },
                    ],
                },
                {
                    "Name": "Writes of the CDK asset buckets",
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        {"Field": "readOnly", "Equals": ["false"]},
                        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::cdk-"]},
                    ],
                },
            ],
        },
    )


# --- release approvals ----------------------------------------------------------------------

APPROVAL = "arn:aws:codepipeline:eu-west-1:333333333333:platform-pipeline/prod/ApproveProd"


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("333333333333:example-corp-release-approver", "allow"),
        ("333333333333:example-corp-platform-admin", "deny"),
        ("333333333333:example-corp-auditor", "deny"),
    ],
)
def test_only_the_release_approver_approves_a_prod_release(
    example_access: Questions, principal: str, expected: str
) -> None:
    decision = example_access.ask(principal, "codepipeline:PutApprovalResult", APPROVAL)
    assert decision.decision == expected, decision.reasons
    if principal.endswith("platform-admin"):
        assert "[DenyReleaseApprovalsExceptByTheApprover]" in decision.reasons[0]


@pytest.mark.parametrize(
    "action", ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration"]
)
def test_nobody_in_the_governance_account_loosens_the_log_archive(
    example: Synthesized, example_access: Questions, action: str
) -> None:
    archive = next(
        iter(example.template("platform-governance-audit").find_resources("AWS::S3::Bucket"))
    )
    for principal in (
        "222222222222:example-corp-platform-admin",
        "222222222222:example-corp-auditor",
    ):
        decision = example_access.ask(principal, action, f"platform-governance-audit/{archive}")
        assert decision.decision == "deny", (principal, decision.reasons)


# --- the controls docs/auditors.md cites, each exercised on its own ------------------------------


def test_another_accounts_broad_role_is_stopped_by_the_bucket_and_key_policies(
    example: Synthesized, example_access: Questions
) -> None:
    """The tooling account's platform-admin holds PowerUserAccess and no LOB-data deny: only
    the LOB's bucket policy and key policy stand between it and the data."""
    admin = "333333333333:example-corp-platform-admin"
    curated = example.marked("claims-prod-data", "zone/curated")
    read = example_access.ask(admin, "s3:GetObject", f"claims-prod-data/{curated}/a.csv")
    assert read.decision == "deny"
    assert read.reasons[0].endswith("[DenyOutsideAccountExceptMetadata]")
    data_key = example.marked("claims-prod-security", "key/data")
    decrypt = example_access.ask(admin, "kms:Decrypt", f"claims-prod-security/{data_key}")
    assert decrypt.decision == "deny"
    assert decrypt.reasons == ("the resource's policy does not admit the principal's account",)


def test_only_workload_roles_that_write_operational_zones_carry_the_pipeline_tag(
    example: Synthesized,
) -> None:
    tagged = set()
    for name, template in example.templates().items():
        for logical_id, resource in template["Resources"].items():
            raw = resource.get("Properties", {}).get("Tags", [])
            tags = raw if isinstance(raw, dict) else {t["Key"]: t["Value"] for t in raw}
            if tags.get("genai-platform:workload") == "pipeline":
                assert resource["Type"] == "AWS::IAM::Role", (name, logical_id)
                tagged.add(re.sub(r"[0-9A-F]{8}$", "", logical_id))
    assert tagged == {
        "WorkloadIngestionRoleIngestion",
        "FineTuningClaimsSummarizerExecutionRole",
        "ImportMistral7bInstructRole",  # stages the base weights in nonprod's artifacts
        "EndpointClaimsSummarizerExecutionRole",
        "EndpointClaimsSummarizerMonitorRole",
        "ModelReleaseRole",  # nonprod and prod: writes the releases it serves
        # RAG evaluations write their reports to the artifacts zone
        "UseCaseClaimsAssistantEvaluationFunctionServiceRole",
        "UseCaseLiteratureReviewEvaluationFunctionServiceRole",
        # answer APIs keep the ratings of their answers in the artifacts zone
        "UseCaseClaimsAssistantAnswerApiFunctionServiceRole",
        "UseCaseLiteratureReviewAnswerApiFunctionServiceRole",
        # review desks keep decisions and their exports in the artifacts zone
        "UseCaseClaimsAssistantReviewDeskFunctionServiceRole",
        "UseCaseLiteratureReviewReviewDeskFunctionServiceRole",
        # the hub's, for its consuming LOBs' use cases (claims', research's)
        "UseCaseClaimsEvaluationFunctionServiceRole",
        "UseCaseClaimsAnswerApiFunctionServiceRole",
        "UseCaseResearchEvaluationFunctionServiceRole",
        "UseCaseResearchAnswerApiFunctionServiceRole",
    }


BOUNDARY_DENIES = {
    "ec2:CreateVpnGateway": "DenyNetworkPathChanges",
    "ec2:CreateTransitGatewayVpcAttachment": "DenyNetworkPathChanges",
    "ec2:CreateVpcPeeringConnection": "DenyNetworkPathChanges",
    "ec2:CreateVpcEndpoint": "DenyNetworkPathChanges",
    "ec2:DeleteFlowLogs": "DenyAuditEvidenceDestruction",
    "logs:DeleteLogGroup": "DenyAuditEvidenceDestruction",
    "s3:PutBucketVersioning": "DenyAuditEvidenceDestruction",
    "s3:PutBucketObjectLockConfiguration": "DenyAuditEvidenceDestruction",
    "cloudtrail:StopLogging": "DenyAuditEvidenceDestruction",
    "iam:DeleteRolePermissionsBoundary": "DenyBoundaryRemoval",
    "kms:DisableKey": "DenyKeyDestruction",
    "kms:ScheduleKeyDeletion": "DenyKeyDestruction",
}


@pytest.mark.parametrize(("action", "sid"), sorted(BOUNDARY_DENIES.items()))
def test_the_boundary_denies_it_to_every_role(
    example_access: Questions, action: str, sid: str
) -> None:
    for principal in (
        "222222222222:example-corp-platform-admin",
        "666666666666:example-corp-platform-admin",
        "666666666666:example-corp-app-claims-assistant",
    ):
        decision = example_access.ask(principal, action, "*")
        assert decision.decision == "deny", (principal, decision.reasons)
        assert any(reason.endswith(f"[{sid}]") for reason in decision.reasons), principal


def test_a_cross_region_profile_is_granted_in_every_region_it_routes_to(
    example: Synthesized, example_config: OrgConfig
) -> None:
    lite = next(m for m in example_config.catalog.bedrock if m.id == "amazon.nova-lite-v1:0")
    assert lite.inference_profile is not None
    resources = example.template_json("marketing-interactive-genai")["Resources"]
    granted = {
        resource
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and "bedrock:InvokeModel" in s["Action"]
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if isinstance(resource, str)
    }
    for region in lite.inference_profile.regions:
        assert f"arn:aws:bedrock:{region}::foundation-model/{lite.id}" in granted
    assert any(g.endswith(f"inference-profile/eu.{lite.id}") for g in granted)


def test_deployments_are_exempt_from_the_organization_policies_only_as_declared(
    example: Synthesized,
) -> None:
    exempt = set()
    for resource in example.template_json("organization-policies")["Resources"].values():
        if resource["Type"] != "AWS::Organizations::Policy" or resource["Properties"][
            "Type"
        ] not in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            continue
        for statement in resource["Properties"]["Content"]["Statement"]:
            for operator, tests in statement.get("Condition", {}).items():
                if operator.startswith("ArnNotLike"):
                    value = tests.get("aws:PrincipalArn", [])
                    exempt |= set(value if isinstance(value, list) else [value])
    assert {
        "arn:*:iam::*:role/cdk-genai-cfn-exec-role-*-*",
        "arn:*:iam::*:role/OrganizationAccountAccessRole",
    } <= exempt
    assert not {e for e in exempt if "cdk-" in e and "cdk-genai-cfn-exec" not in e}
