"""Props that take an ARN refuse a bare ID, a name or another resource's ARN, and say what an
ARN of the kind looks like; unresolved tokens are left to the deploy."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnParameter, Stack
from aws_cdk.assertions import Template

from conftest import PIPELINE_PLACEHOLDERS, new_stack
from genai_constructs import PlatformKey
from genai_constructs.bedrock import ApprovedModel, GovernedGuardrail, ModelAccessPolicy
from genai_constructs.fine_tuning import FineTuningPipeline
from genai_constructs.identity import Persona, PersonaRoles
from genai_constructs.knowledge_base import GovernedKnowledgeBase
from genai_constructs.rag import AnswerApi, RagEvaluation
from genai_constructs.storage import GovernedBucket
from genai_constructs.validation import (
    BEDROCK_MODEL,
    IAM_ROLE,
    IDENTITY_CENTER_INSTANCE,
    KNOWLEDGE_BASE,
    PERMISSION_SET,
    check_arn,
)
from genai_constructs.workforce import GroupAssignments, WorkforceAccess

MODEL_ID = "amazon.titan-embed-text-v2:0"
MODEL_ARN = f"arn:aws:bedrock:eu-west-1::foundation-model/{MODEL_ID}"
ROLE_ARN = "arn:aws:iam::123456789012:role/genai-release"
USER_ARN = "arn:aws:iam::123456789012:user/alice"
KB_ARN = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/ABCDE12345"
# Constructs refuse a bad ARN before they touch any other prop: these stand in for them.
UNUSED: Any = None


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (MODEL_ARN, BEDROCK_MODEL),
        ("arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0", BEDROCK_MODEL),
        ("arn:aws-cn:bedrock:cn-north-1::foundation-model/amazon.nova-pro-v1:0", BEDROCK_MODEL),
        ("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.x.y-v1:0", BEDROCK_MODEL),
        ("arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/p1", BEDROCK_MODEL),
        (KB_ARN, KNOWLEDGE_BASE),
        ("arn:aws-us-gov:iam::123456789012:role/path/to/genai-release", IAM_ROLE),
        ("arn:aws:sso:::instance/ssoins-1234567890abcdef", IDENTITY_CENTER_INSTANCE),
        (
            "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-0123456789abcdef",
            PERMISSION_SET,
        ),
        ("arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-v1:0", BEDROCK_MODEL),
        (
            "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1",
            BEDROCK_MODEL,
        ),
    ],
)
def test_an_arn_of_the_kind_is_accepted(value: str, kind: Any) -> None:
    check_arn("Probe", "prop", value, kind)


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        (
            MODEL_ID,
            BEDROCK_MODEL,
            "Probe: prop must be the ARN of a Bedrock model (arn:<partition>:bedrock:<region>::"
            "foundation-model/<id>; resource types: foundation-model, "
            "inference-profile, application-inference-profile, custom-model, "
            "custom-model-deployment, imported-model, provisioned-model, prompt-router, "
            "default-prompt-router), got "
            f"'{MODEL_ID}'; '{MODEL_ID}' is a model ID: a foundation model's ARN is "
            f"arn:<partition>:bedrock:<region>::foundation-model/{MODEL_ID}",
        ),
        (KB_ARN, BEDROCK_MODEL, f"got '{KB_ARN}'"),
        (
            "arn:aws:bedrock:eu-west-1:123456789012:foundation-model/amazon.nova-pro-v1:0",
            BEDROCK_MODEL,
            "must be the ARN of a Bedrock model",
        ),
        ("ABCDE12345", KNOWLEDGE_BASE, "must be the ARN of a knowledge base"),
        (
            USER_ARN,
            IAM_ROLE,
            "must be the ARN of an IAM role (arn:<partition>:iam::<account>:role/<id>;",
        ),
        ("arn:aws:iam::123:role/x", IAM_ROLE, "got 'arn:aws:iam::123:role/x'"),
        ("genai-release", IAM_ROLE, "got 'genai-release'"),
        ("arn:aws:iam:eu-west-1:123456789012:role/x", IAM_ROLE, "got 'arn:aws:iam:eu-west-1:"),
        ("arn:aws:bedrock::123456789012:knowledge-base/ABCDE12345", KNOWLEDGE_BASE, "got"),
        ("ssoins-1234567890abcdef", IDENTITY_CENTER_INSTANCE, "IAM Identity Center instance"),
        # Wildcards would match other resources in the ArnEquals conditions these end up in.
        ("arn:aws:iam::222222222222:role/*", IAM_ROLE, "got 'arn:aws:iam::222222222222:role/*'"),
        ("arn:aws:iam::222222222222:role/Admin?", IAM_ROLE, "got"),
        ("arn:aws:iam::222222222222:role/a b", IAM_ROLE, "got"),
        ("arn:aws:iam::222222222222:role/x\n", IAM_ROLE, "got"),
        ("arn:aws:bedrock:*::foundation-model/*", BEDROCK_MODEL, "got"),
        ("arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/*", KNOWLEDGE_BASE, "got"),
        ("arn:aws:iam:::role/x", IAM_ROLE, "got"),
    ],
)
def test_anything_else_is_refused_with_the_form_expected(
    value: str, kind: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_arn("Probe", "prop", value, kind)


def test_an_unresolved_arn_is_left_to_the_deploy() -> None:
    stack = new_stack()
    check_arn("Probe", "prop", CfnParameter(stack, "Model").value_as_string, BEDROCK_MODEL)
    check_arn("Probe", "prop", f"arn:{stack.partition}:iam::{stack.account}:role/x", IAM_ROLE)


def _guardrail(stack: Stack) -> GovernedGuardrail:
    return GovernedGuardrail.from_guardrail_attributes(
        stack,
        "Guardrail",
        guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr1",
        version="1",
    )


def _knowledge_base(**arns: str) -> None:
    props: dict[str, Any] = {"embedding_model_arn": MODEL_ARN, **arns}
    GovernedKnowledgeBase(
        new_stack(),
        "Kb",
        name="policies",
        source_bucket=UNUSED,
        source_prefix="policies/",
        data_key=UNUSED,
        vector_store=UNUSED,
        **props,
    )


def _answer_api() -> None:
    AnswerApi(
        new_stack(),
        "Answers",
        knowledge_bases=UNUSED,
        model_arn=MODEL_ID,
        guardrail=UNUSED,
        max_question_chars=100,
        results=5,
        encryption_key=UNUSED,
        vpc=UNUSED,
        log_retention=UNUSED,
    )


def _rag_evaluation() -> None:
    RagEvaluation(
        new_stack(),
        "Evaluation",
        use_case="assistant",
        knowledge_bases=UNUSED,
        model_arn="claude",
        guardrail=UNUSED,
        results=5,
        questions_bucket=UNUSED,
        questions_key="q.jsonl",
        report_bucket=UNUSED,
        report_prefix="r/",
        thresholds=UNUSED,
        metric_namespace="GenAI/lob",
        data_key=UNUSED,
        encryption_key=UNUSED,
        vpc=UNUSED,
        log_retention=UNUSED,
    )


def _model_access(**arns: list[str]) -> None:
    stack = new_stack()
    ModelAccessPolicy(
        stack,
        "Access",
        models=[ApprovedModel("amazon.nova-pro-v1:0")],
        guardrail=_guardrail(stack),
        **arns,
    )


def _persona_roles(persona: Persona, **props: list[str]) -> None:
    PersonaRoles(new_stack(), "People", prefix="acme", personas=[persona], **props)


def _fine_tuning(**props: Any) -> None:
    FineTuningPipeline(new_stack(), "Tuning", **{**PIPELINE_PLACEHOLDERS, **props})


def _bucket(**props: Any) -> None:
    stack = new_stack()
    GovernedBucket(
        stack,
        "Data",
        encryption_key=PlatformKey(stack, "Key", description="data").key,
        access_log_bucket=UNUSED,
        **props,
    )


PERSONA = Persona(name="data-scientist", description="x", trusted_accounts=())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: _knowledge_base(embedding_model_arn=MODEL_ID),
            "GovernedKnowledgeBase: embedding_model_arn must be the ARN of a Bedrock model",
        ),
        (
            lambda: _knowledge_base(parsing_model_arn="anthropic.claude-3-haiku-20240307-v1:0"),
            "GovernedKnowledgeBase: parsing_model_arn must be the ARN of a Bedrock model",
        ),
        (_answer_api, "AnswerApi: model_arn must be the ARN of a Bedrock model"),
        (_rag_evaluation, "RagEvaluation: model_arn must be the ARN of a Bedrock model"),
        (
            lambda: _model_access(application_profile_arns=[MODEL_ARN]),
            "ModelAccessPolicy: application_profile_arns must be the ARN of an application "
            "inference profile",
        ),
        (
            lambda: _persona_roles(PERSONA, unguarded_model_arns=[MODEL_ID]),
            "PersonaRoles: unguarded_model_arns must be the ARN of a Bedrock model",
        ),
        (
            lambda: _persona_roles(
                Persona(name="data-scientist", description="x", trusted_role_arns=(USER_ARN,))
            ),
            "PersonaRoles: the trusted_role_arns of persona 'data-scientist' must be the ARN of "
            "an IAM role",
        ),
        (
            lambda: _fine_tuning(release_role_arns=["genai-release"]),
            "FineTuningPipeline: release_role_arns must be the ARN of an IAM role",
        ),
        (
            lambda: _fine_tuning(release_event_bus_arn=ROLE_ARN),
            "FineTuningPipeline: release_event_bus_arn must be the ARN of an EventBridge event bus",
        ),
        (
            lambda: WorkforceAccess(
                new_stack(),
                "Workforce",
                instance_arn="ssoins-1234567890abcdef",
                permission_sets=[],
                assignments=[],
            ),
            "WorkforceAccess: instance_arn must be the ARN of an IAM Identity Center instance",
        ),
        (
            lambda: GroupAssignments(
                new_stack(),
                "Groups",
                instance_arn="ssoins-1234567890abcdef",
                permission_set_arns={},
                assignments=[],
            ),
            "GroupAssignments: instance_arn must be the ARN of an IAM Identity Center instance",
        ),
        (
            lambda: GroupAssignments(
                new_stack(),
                "Groups",
                instance_arn="arn:aws:sso:::instance/ssoins-1234567890abcdef",
                permission_set_arns={"data-scientist": "ps-0123456789abcdef"},
                assignments=[],
            ),
            "GroupAssignments: the permission set ARN of persona 'data-scientist' must be the ARN "
            "of an IAM Identity Center permission set",
        ),
        (
            lambda: PlatformKey(new_stack(), "Key", description="data", s3_reader_arns=[USER_ARN]),
            "PlatformKey: s3_reader_arns must be the ARN of an IAM role",
        ),
        (
            lambda: _bucket(metadata_reader_arns=[USER_ARN]),
            "GovernedBucket: metadata_reader_arns must be the ARN of an IAM role",
        ),
        (
            lambda: _bucket(denied_reader_arns=["alice"]),
            "GovernedBucket: denied_reader_arns must be the ARN of an IAM role",
        ),
        (
            lambda: _bucket(shared_prefixes={"reports/": [USER_ARN]}),
            "GovernedBucket: shared_prefixes must be the ARN of an IAM role",
        ),
    ],
)
def test_each_arn_prop_refuses_what_is_not_an_arn_of_its_kind(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        build()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            lambda: ApprovedModel(MODEL_ARN),
            f"ApprovedModel: model_id must be a Bedrock model ID such as 'amazon.nova-pro-v1:0', "
            f"not an ARN or a name (got '{MODEL_ARN}')",
        ),
        (
            lambda: ApprovedModel("Nova Pro"),
            "ApprovedModel: model_id must be a Bedrock model ID",
        ),
        (
            lambda: ApprovedModel("us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "ApprovedModel: 'us.anthropic.claude-3-5-sonnet-20240620-v1:0' is an inference "
            "profile's ID; allowed: model_id 'anthropic.claude-3-5-sonnet-20240620-v1:0' with "
            "profile_prefix 'us' and the profile's regions",
        ),
        (
            lambda: ApprovedModel("amazon.nova-pro-v1:0\n"),
            "ApprovedModel: model_id must be a Bedrock model ID",
        ),
        (
            lambda: ApprovedModel("amazon.nova-pro-v1:0", "eu"),
            "ApprovedModel: profile_regions must name every region the 'eu' profile routes "
            "amazon.nova-pro-v1:0 to",
        ),
    ],
)
def test_an_approved_model_is_named_by_its_model_id(
    model: Callable[[], ApprovedModel], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        model()


def test_a_role_arn_from_a_parameter_is_trusted_through_its_account_at_deploy_time() -> None:
    stack = new_stack()
    role_arn = CfnParameter(stack, "ReleaseRole").value_as_string
    PersonaRoles(
        stack,
        "People",
        prefix="acme",
        personas=[Persona(name="release", description="x", trusted_role_arns=(role_arn,))],
    )
    trust = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    [statement] = [
        s
        for role in trust.values()
        for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if s["Action"] == "sts:AssumeRole" and "ArnEquals" in s.get("Condition", {})
    ]
    assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == {"Ref": "ReleaseRole"}
    principal = json.dumps(statement["Principal"])
    assert '"Fn::Select": [4, {"Fn::Split": [":", {"Ref": "ReleaseRole"}]}]' in principal
