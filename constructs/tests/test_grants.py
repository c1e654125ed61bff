"""The package's grants write a managed policy on a role of the app, never its inline policy."""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from conftest import assert_grants_attached
from genai_constructs import GovernedGuardrail, GovernedKnowledgeBase

GUARDRAIL = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abcdefghij12"
KNOWLEDGE_BASE = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/ABCDEFGHIJ"


def granted(stack: Stack, role: iam.IRole) -> Template:
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Guardrail", guardrail_arn=GUARDRAIL, version="3"
    )
    knowledge_base = GovernedKnowledgeBase.from_knowledge_base_arn(
        stack, "Policies", KNOWLEDGE_BASE
    )
    assert guardrail.grant_apply(role).success
    assert knowledge_base.grant_retrieve(role).success
    return Template.from_stack(stack)


def test_grants_to_a_role_of_the_app_share_one_managed_policy_attached_to_it() -> None:
    stack = Stack(App(), "team")
    role = iam.Role(stack, "Application", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    template = granted(stack, role)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    assert_grants_attached(template, stack, role)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "bedrock:ApplyGuardrail",
                            "Effect": "Allow",
                            "Resource": GUARDRAIL,
                        }
                    ),
                    Match.object_like(
                        {
                            "Action": "bedrock:Retrieve",
                            "Effect": "Allow",
                            "Resource": KNOWLEDGE_BASE,
                        }
                    ),
                ]
            }
        },
    )


def test_a_role_imported_by_name_keeps_the_cdks_inline_policy_in_this_stack() -> None:
    stack = Stack(App(), "team")
    role = iam.Role.from_role_name(stack, "Existing", "lob-application")
    template = granted(stack, role)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["lob-application"],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like({"Action": "bedrock:ApplyGuardrail"}),
                    Match.object_like({"Action": "bedrock:Retrieve"}),
                ]
            },
        },
    )


def test_what_waits_for_a_grant_waits_for_its_policy_and_the_roles_attachment() -> None:
    stack = Stack(App(), "team")
    role = iam.Role(stack, "Application", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Guardrail", guardrail_arn=GUARDRAIL, version="3"
    )
    waiting = iam.CfnUser(stack, "Waiting")
    guardrail.grant_apply(role).apply_before(waiting)
    depends_on = Template.from_stack(stack).find_resources("AWS::IAM::User")[
        stack.get_logical_id(waiting)
    ]["DependsOn"]
    assert sorted(depends_on) == sorted(
        [
            stack.get_logical_id(role.node.default_child),  # type: ignore[arg-type]
            stack.get_logical_id(
                role.node.find_child("GenAiConstructsGrants").node.default_child  # type: ignore[arg-type]
            ),
        ]
    )
