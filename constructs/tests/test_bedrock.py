from __future__ import annotations

import pytest
from aws_cdk import CfnParameter, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.bedrock import (
    ApplicationInferenceProfiles,
    ApprovedModel,
    GovernedGuardrail,
    GuardrailSpec,
    ModelAccessPolicy,
    PromptCatalog,
    PromptSpec,
)
from genai_constructs.knowledge_base import GovernedKnowledgeBase

SPEC = GuardrailSpec(
    content_filters={"HATE": "HIGH", "PROMPT_ATTACK": "MEDIUM"},
    blocked_input_message="no",
    blocked_output_message="no",
    pii_entities={"EMAIL": "ANONYMIZE"},
)
LITE = ApprovedModel("amazon.nova-lite-v1:0", "eu", ("eu-west-1", "eu-west-3"))
PRO = ApprovedModel("amazon.nova-pro-v1:0")


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    guardrail = GovernedGuardrail(
        stack, "Guard", name="g", spec=SPEC, encryption_key=key, enforce=True
    )
    profiles = ApplicationInferenceProfiles(
        stack, "Profiles", use_cases={"chat": LITE}, name_prefix="lob-prod", tags={"lob": "lob"}
    )
    ModelAccessPolicy(
        stack,
        "Access",
        models=[LITE, PRO],
        guardrail=guardrail,
        application_profile_arns=list(profiles.arns.values()),
    )
    PromptCatalog(
        stack,
        "Prompts",
        encryption_key=key,
        name_prefix="lob-prod",
        prompts=[
            PromptSpec("greet", "amazon.nova-pro-v1:0", "Hello {{name}}, about {{topic}} {{name}}")
        ],
    )
    return Template.from_stack(stack)


def test_prompt_attack_is_filtered_on_input_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Bedrock::Guardrail",
        {
            "ContentPolicyConfig": {
                "FiltersConfig": [
                    {"Type": "HATE", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                    {"Type": "PROMPT_ATTACK", "InputStrength": "MEDIUM", "OutputStrength": "NONE"},
                ]
            },
        },
    )
    template.resource_count_is("AWS::Bedrock::EnforcedGuardrailConfiguration", 1)
    versions = template.find_resources("AWS::Bedrock::GuardrailVersion")
    assert list(versions) and next(iter(versions.values()))["DeletionPolicy"] == "Retain"


def test_cross_region_profile_grants_every_routed_region(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "InvokeApprovedModelsWithGuardrail",
                                "Resource": [
                                    "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
                                    "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0",
                                    "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0",
                                    "arn:aws:bedrock:eu-west-3::foundation-model/amazon.nova-lite-v1:0",
                                    {
                                        "Fn::GetAtt": [
                                            Match.string_like_regexp("ProfilesChat"),
                                            "InferenceProfileArn",
                                        ]
                                    },
                                ],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_profiles_copy_from_the_system_profile(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Bedrock::ApplicationInferenceProfile",
        {
            "InferenceProfileName": "lob-prod-chat",
            "ModelSource": {
                "CopyFrom": (
                    "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0"
                )
            },
            "Tags": [{"Key": "lob", "Value": "lob"}, {"Key": "use-case", "Value": "chat"}],
        },
    )


def test_prompt_variables_are_declared_once_in_order(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Bedrock::Prompt",
        {
            "Variants": [
                Match.object_like(
                    {
                        "TemplateConfiguration": {
                            "Text": Match.object_like(
                                {"InputVariables": [{"Name": "name"}, {"Name": "topic"}]}
                            )
                        }
                    }
                )
            ],
        },
    )


def test_the_version_follows_the_policy() -> None:
    changed = GuardrailSpec(**{**SPEC.__dict__, "grounding_threshold": 0.5})
    assert SPEC.fingerprint() == GuardrailSpec(**SPEC.__dict__).fingerprint()
    assert SPEC.fingerprint() != changed.fingerprint()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            GuardrailSpec({"HATE": "EXTREME"}, "no", "no"),
            "GovernedGuardrail: content filter HATE=EXTREME is not valid",
        ),
        (
            GuardrailSpec({}, "no", "no"),
            "GovernedGuardrail: content_filters must name at least one",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "no", "no", pii_entities={"EMAIL": "HIDE"}),
            "GovernedGuardrail: PII action EMAIL=HIDE is not valid; allowed: BLOCK, ANONYMIZE",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "no", "no", pii_entities={"EMAIL_ADDRESS": "BLOCK"}),
            "GovernedGuardrail: pii_entities: 'EMAIL_ADDRESS' is not a Bedrock PII entity type",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "no", "no", grounding_threshold=1.5),
            r"GovernedGuardrail: grounding_threshold must be at least 0 and below 1 \(got 1.5\)",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "no", "no", relevance_threshold=-0.1),
            "GovernedGuardrail: relevance_threshold must be at least 0 and below 1",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "  ", "no"),
            "GovernedGuardrail: blocked_input_message must be 1-500 characters of text",
        ),
        (
            GuardrailSpec({"HATE": "LOW"}, "no", "x" * 501),
            "GovernedGuardrail: blocked_output_message must be 1-500 characters of text",
        ),
    ],
)
def test_guardrail_validation(spec: GuardrailSpec, message: str) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        GovernedGuardrail(
            stack,
            "G",
            name="g",
            spec=spec,
            encryption_key=kms.Key(stack, "K", enable_key_rotation=True),
        )


GUARDRAIL_ARN = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/abc123def456"


def test_model_access_needs_a_model() -> None:
    stack = new_stack()
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
    )
    with pytest.raises(ValueError, match="ModelAccessPolicy: models must name at least one"):
        ModelAccessPolicy(
            stack,
            "A",
            models=[],
            guardrail=guardrail,
        )


def test_an_imported_guardrail_is_named_by_its_arn_and_version() -> None:
    stack = new_stack()
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
    )
    assert guardrail.versioned_arn == f"{GUARDRAIL_ARN}:3"
    assert stack.resolve(guardrail.guardrail_id) == "abc123def456"
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    ModelAccessPolicy(
        stack,
        "Access",
        models=[ApprovedModel("amazon.nova-lite-v1:0")],
        guardrail=guardrail,
        roles=[role],
    )
    condition = {"StringEquals": {"bedrock:GuardrailIdentifier": f"{GUARDRAIL_ARN}:3"}}
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Sid": "InvokeApprovedModelsWithGuardrail", "Condition": condition}
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"guardrail_arn": "arn:aws:s3:::bucket", "version": "1"}, "is not a guardrail ARN"),
        ({"guardrail_arn": GUARDRAIL_ARN, "version": "DRAFT"}, "DRAFT cannot be enforced"),
    ],
)
def test_an_imported_guardrail_is_checked(attributes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GovernedGuardrail.from_guardrail_attributes(new_stack(), "Central", **attributes)


def test_an_imported_guardrail_skips_unresolved_values() -> None:
    stack = new_stack()
    arn = CfnParameter(stack, "GuardrailArn").value_as_string
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=arn, version=CfnParameter(stack, "V").value_as_string
    )
    assert Token.is_unresolved(guardrail.guardrail_id)


def test_prompt_names_are_unique() -> None:
    stack = new_stack()
    prompt = PromptSpec("a", "m.x", "t")
    with pytest.raises(ValueError, match=r"PromptCatalog: prompt names must be unique"):
        PromptCatalog(
            stack,
            "P",
            prompts=[prompt, prompt],
            name_prefix="p",
            encryption_key=kms.Key(stack, "K", enable_key_rotation=True),
        )


def test_profile_arns_are_read_by_use_case() -> None:
    stack = new_stack()
    profiles = ApplicationInferenceProfiles(
        stack, "Profiles", use_cases={"chat": LITE, "summary": PRO}, name_prefix="p", tags={}
    )
    arns = profiles.arns
    assert list(arns) == ["chat", "summary"]
    assert stack.resolve(arns["summary"]) == {
        "Fn::GetAtt": [
            stack.get_logical_id(profiles.profiles["summary"]),
            "InferenceProfileArn",
        ]
    }


def test_a_guardrail_name_with_spaces_is_refused() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="GovernedGuardrail: name 'my guardrail' is not a"):
        GovernedGuardrail(
            stack,
            "G",
            name="my guardrail",
            spec=SPEC,
            encryption_key=kms.Key(stack, "K", enable_key_rotation=True),
        )


def test_applying_a_guardrail_includes_decrypting_it_through_bedrock() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    guardrail = GovernedGuardrail(stack, "Guard", name="g", spec=SPEC, encryption_key=key)
    imported = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
    )
    role = iam.Role(stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    other = iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    assert guardrail.grant_apply(role).success
    assert imported.grant_apply(other).success
    policies = {
        logical_id: policy["Properties"]
        for logical_id, policy in Template.from_stack(stack)
        .find_resources("AWS::IAM::ManagedPolicy")
        .items()
    }
    by_role = {
        properties["PolicyDocument"]["Statement"][0]["Resource"] == GUARDRAIL_ARN: properties
        for properties in policies.values()
    }
    own = by_role[False]["PolicyDocument"]["Statement"]
    assert [statement["Action"] for statement in own] == ["bedrock:ApplyGuardrail", "kms:Decrypt"]
    assert own[1]["Resource"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]
    }  # type: ignore[arg-type]
    assert own[1]["Condition"] == {
        "StringEquals": {"kms:ViaService": "bedrock.eu-west-1.amazonaws.com"}
    }
    # An import that does not name its key grants what it can: ApplyGuardrail.
    central = by_role[True]["PolicyDocument"]["Statement"]
    assert [statement["Action"] for statement in central] == ["bedrock:ApplyGuardrail"]


def test_model_access_takes_knowledge_bases_not_their_arns() -> None:
    stack = new_stack()
    arn = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/ABCDE12345"
    ModelAccessPolicy(
        stack,
        "Access",
        models=[ApprovedModel("amazon.nova-lite-v1:0")],
        guardrail=GovernedGuardrail.from_guardrail_attributes(
            stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
        ),
        knowledge_bases=[GovernedKnowledgeBase.from_knowledge_base_arn(stack, "Policies", arn)],
    )
    [policy] = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    retrieve = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert retrieve["UseKnowledgeBases"]["Resource"] == arn
    assert retrieve["UseKnowledgeBases"]["Action"] == "bedrock:Retrieve"


PROFILE_ARN = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/p1"


def test_through_profiles_only_reaches_the_models_through_the_profiles() -> None:
    stack = new_stack()
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
    )
    ModelAccessPolicy(
        stack,
        "Access",
        models=[ApprovedModel("amazon.nova-lite-v1:0")],
        guardrail=guardrail,
        application_profile_arns=[PROFILE_ARN],
        through_profiles_only=True,
    )
    [policy] = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["InvokeApprovedModelsWithGuardrail"]["Resource"] == PROFILE_ARN
    through = statements["InvokeModelsThroughTheProfiles"]
    assert (
        through["Resource"] == "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0"
    )
    assert through["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"] == [PROFILE_ARN]
    assert (
        through["Condition"]["StringEquals"]["bedrock:GuardrailIdentifier"] == f"{GUARDRAIL_ARN}:3"
    )


def test_through_profiles_only_needs_a_profile() -> None:
    stack = new_stack()
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        stack, "Central", guardrail_arn=GUARDRAIL_ARN, version="3"
    )
    with pytest.raises(ValueError, match="through_profiles_only needs application_profile_arns"):
        ModelAccessPolicy(
            stack,
            "A",
            models=[ApprovedModel("amazon.nova-lite-v1:0")],
            guardrail=guardrail,
            through_profiles_only=True,
        )
