from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs import Persona, PersonaRoles
from genai_constructs.naming import sign_in_role_patterns

PERSONAS = [
    Persona(
        name="analyst",
        description="Reads dashboards",
        managed_policies=("job-function/ViewOnlyAccess",),
    ),
    Persona(
        name="auditor", description="Reads logs", trusted_accounts=("123456789012", "210987654321")
    ),
]


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    PersonaRoles(stack, "People", prefix="acme", personas=PERSONAS)
    return Template.from_stack(stack)


def test_roles_are_named_and_bounded(template: Template) -> None:
    roles = template.find_resources("AWS::IAM::Role")
    boundary_id = next(iter(template.find_resources("AWS::IAM::ManagedPolicy")))
    assert {r["Properties"]["RoleName"] for r in roles.values()} == {"acme-analyst", "acme-auditor"}
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == {"Ref": boundary_id}
        assert role["Properties"]["MaxSessionDuration"] == 3600


def test_boundary_denies_escalation(template: Template) -> None:
    policy = next(iter(template.find_resources("AWS::IAM::ManagedPolicy").values()))
    assert policy["Properties"]["ManagedPolicyName"] == "acme-permissions-boundary"
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    deny_without_boundary = statements["DenyRoleOrUserWithoutThisBoundary"]
    assert deny_without_boundary["Effect"] == "Deny"
    assert "iam:CreateRole" in deny_without_boundary["Action"]
    assert deny_without_boundary["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
    assert statements["DenyBoundaryChange"]["Effect"] == "Deny"
    assert "kms:ScheduleKeyDeletion" in statements["DenyKeyDestruction"]["Action"]
    assert "cloudtrail:StopLogging" in statements["DenyAuditEvidenceDestruction"]["Action"]


def test_boundary_keeps_stacks_and_the_audit_record_to_the_delivery_pipeline(
    template: Template,
) -> None:
    policy = next(iter(template.find_resources("AWS::IAM::ManagedPolicy").values()))
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    stacks = statements["DenyStackChangesExceptByDelivery"]
    assert stacks["Effect"] == "Deny"
    assert {
        "cloudformation:Update*",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:ActivateType",
    } <= set(stacks["Action"])
    assert stacks["Condition"] == {
        "StringNotEquals": {"aws:PrincipalTag/genai-platform:workload": "delivery"}
    }
    assert "s3:PutBucketLogging" in statements["DenyAuditEvidenceDestruction"]["Action"]
    assert "lambda:Update*" in statements["DenyGovernanceFunctionUse"]["Action"]


def door_statements(
    template: Template, role_name: str, action: str = "sts:AssumeRole"
) -> list[dict[str, Any]]:
    [role] = [
        r
        for r in template.find_resources("AWS::IAM::Role").values()
        if r["Properties"]["RoleName"] == role_name
    ]
    statements: list[dict[str, Any]] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return [s for s in statements if s["Action"] == action]


def test_each_door_may_tag_the_session_only_with_who_signed_in(template: Template) -> None:
    doors = door_statements(template, "acme-auditor")
    tagging = door_statements(template, "acme-auditor", "sts:TagSession")
    assert [s["Principal"] for s in tagging] == [s["Principal"] for s in doors]
    for door, statement in zip(doors, tagging, strict=True):
        assert statement["Condition"] == {
            **door["Condition"],
            "StringEquals": {"aws:RequestTag/genai-user": "${aws:PrincipalTag/genai-user}"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["genai-user"]},
        }


def test_each_trusted_account_is_trusted_only_for_the_personas_sign_in_role(
    template: Template,
) -> None:
    statements = door_statements(template, "acme-auditor")
    assert [s["Principal"] for s in statements] == [
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"AWS": "arn:aws:iam::210987654321:root"},
    ]
    for statement, account in zip(statements, ("123456789012", "210987654321"), strict=True):
        patterns = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
        reserved = f"arn:<AWS::Partition>:iam::{account}:role/aws-reserved/sso.amazonaws.com/"
        role = "AWSReservedSSO_genai-auditor_????????????????"
        assert [joined(pattern) for pattern in patterns] == [reserved + role, f"{reserved}*/{role}"]


def test_no_persona_trusts_an_account_without_a_principal_condition(template: Template) -> None:
    for role in template.find_resources("AWS::IAM::Role").values():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            if "AWS" in statement["Principal"]:
                assert "aws:PrincipalArn" in str(statement.get("Condition"))


def test_a_persona_may_name_its_own_sign_in_roles() -> None:
    stack = new_stack()
    saml = "arn:aws:iam::123456789012:role/federated/analysts-*"
    persona = Persona(
        name="analyst",
        description="Signs in through the enterprise's SAML provider",
        trusted_accounts=("123456789012",),
        sign_in_roles=(saml,),
    )
    PersonaRoles(stack, "People", prefix="acme", personas=[persona])
    [statement] = door_statements(Template.from_stack(stack), "acme-analyst")
    assert statement["Condition"] == {"ArnLike": {"aws:PrincipalArn": [saml]}}


def joined(value: Any) -> str:
    if isinstance(value, str):
        return value
    delimiter, parts = value["Fn::Join"]
    return str(delimiter).join(
        part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts
    )


def test_no_personas_is_refused() -> None:
    with pytest.raises(ValueError, match="PersonaRoles: personas must name at least one persona"):
        PersonaRoles(new_stack(), "People", prefix="acme", personas=[])


def test_duplicate_personas_are_refused() -> None:
    with pytest.raises(ValueError, match="PersonaRoles: persona names must be unique"):
        PersonaRoles(new_stack(), "People", prefix="acme", personas=[PERSONAS[0], PERSONAS[0]])


def test_invalid_names_are_refused() -> None:
    with pytest.raises(
        ValueError, match=("PersonaRoles: 'acme-data scientist' is not a valid IAM name")
    ):
        PersonaRoles(
            new_stack(),
            "People",
            prefix="acme",
            personas=[Persona(name="data scientist", description="x")],
        )


def test_a_persona_entered_from_another_account_trusts_that_role_only() -> None:
    stack = new_stack()
    source = "arn:aws:iam::210987654321:role/acme-analyst"
    persona = Persona(
        name="analyst",
        description="Enters from the LOB",
        trusted_accounts=(),
        trusted_role_arns=(source,),
    )
    PersonaRoles(stack, "People", prefix="acme", personas=[persona])
    [role] = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    statement, tagging = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": source}}
    assert "210987654321" in str(statement["Principal"])
    # The person who signed in to the source role stays who they are.
    assert tagging["Action"] == "sts:TagSession"
    assert tagging["Condition"]["ArnEquals"] == statement["Condition"]["ArnEquals"]


def test_a_persona_that_trusts_nobody_is_refused() -> None:
    nobody = Persona(name="analyst", description="Trusts nobody", trusted_accounts=())
    with pytest.raises(ValueError, match="PersonaRoles: persona 'analyst' trusts nobody"):
        PersonaRoles(new_stack(), "People", prefix="acme", personas=[nobody])


@pytest.mark.parametrize(
    ("role", "matches"),
    [
        ("AWSReservedSSO_genai-auditor_0123456789abcdef", True),
        ("eu-west-1/AWSReservedSSO_genai-auditor_0123456789abcdef", True),
        ("AWSReservedSSO_genai-auditor_x_0123456789abcdef", False),
        ("AWSReservedSSO_AWSReservedSSO_genai-auditor_0123456789abcdef", False),
        ("AWSReservedSSO_genai-auditor_0123456789abcdef0", False),
    ],
)
def test_the_sign_in_patterns_match_only_that_permission_sets_role(
    role: str, matches: bool
) -> None:
    arn = f"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/{role}"
    patterns = sign_in_role_patterns("aws", "123456789012", "genai-auditor")
    assert any(fnmatchcase(arn, pattern) for pattern in patterns) is matches
