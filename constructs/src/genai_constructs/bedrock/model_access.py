"""The approved models (``ApprovedModel``) and the managed policy that lets roles invoke them
only with the guardrail (``ModelAccessPolicy``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_constructs.bedrock.guardrail import IGuardrail, guardrail_statements
from genai_constructs.compliance import acknowledge
from genai_constructs.validation import (
    APPLICATION_INFERENCE_PROFILE,
    check_arns,
    is_model_id,
    is_profile_id,
)

if TYPE_CHECKING:
    # Only a type here: the knowledge base package imports this one's fingerprint.
    from genai_constructs.knowledge_base.governed import IKnowledgeBase

# IAM actions behind InvokeModel, InvokeModelWithResponseStream, Converse and ConverseStream:
# the Converse APIs are authorized by the two invoke actions, there are no separate IAM actions.
INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


@dataclass(frozen=True)
class ApprovedModel:
    """A foundation model a role may invoke, directly or through a cross-region profile.

    :param model_id: e.g. ``amazon.nova-pro-v1:0``.
    :param profile_prefix: system cross-region inference profile prefix, e.g. ``eu``.
    :param profile_regions: every region the profile may route to.
    """

    model_id: str
    profile_prefix: str | None = None
    profile_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not Token.is_unresolved(self.model_id) and not is_model_id(self.model_id):
            raise ValueError(
                f"ApprovedModel: model_id must be a Bedrock model ID such as "
                f"'amazon.nova-pro-v1:0', not an ARN or a name (got '{self.model_id}')"
            )
        if not Token.is_unresolved(self.model_id) and is_profile_id(self.model_id):
            prefix, model = self.model_id.split(".", 1)
            raise ValueError(
                f"ApprovedModel: '{self.model_id}' is an inference profile's ID; allowed: "
                f"model_id '{model}' with profile_prefix '{prefix}' and the profile's regions"
            )
        if self.profile_prefix is not None and not self.profile_regions:
            raise ValueError(
                f"ApprovedModel: profile_regions must name every region the "
                f"'{self.profile_prefix}' profile routes {self.model_id} to"
            )

    @property
    def invocation_id(self) -> str:
        """The id callers pass to Bedrock: the profile id when there is one."""
        return f"{self.profile_prefix}.{self.model_id}" if self.profile_prefix else self.model_id

    def source_arn(self, stack: Stack) -> str:
        """What an application inference profile copies from."""
        if self.profile_prefix:
            return (
                f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:"
                f"inference-profile/{self.invocation_id}"
            )
        return self.foundation_model_arn(stack, stack.region)

    def foundation_model_arn(self, stack: Stack, region: str) -> str:
        return f"arn:{stack.partition}:bedrock:{region}::foundation-model/{self.model_id}"

    def resource_arns(self, stack: Stack) -> list[str]:
        """Every ARN an invocation is authorized against, including each routed region."""
        if not self.profile_prefix:
            return [self.foundation_model_arn(stack, stack.region)]
        return [self.source_arn(stack)] + [
            self.foundation_model_arn(stack, routed) for routed in self.profile_regions
        ]


class ModelAccessPolicy(Construct):
    """A managed policy: invoke the approved models only, and only with the guardrail.

    Allows the invoke actions on the approved models (foundation models, system inference
    profiles and each region they route to, the given application inference profiles) with
    ``bedrock:GuardrailIdentifier`` equal to the guardrail version; denies the invoke actions
    on every resource without it; allows applying that guardrail and using the given
    knowledge bases.

    :param models: the approved models, at least one.
    :param guardrail: the guardrail version every invocation must name.
    :param application_profile_arns: default none.
    :param knowledge_bases: default none; Retrieve on these, of this app or imported
        (``GovernedKnowledgeBase.from_knowledge_base_arn``). RetrieveAndGenerate has no
        resource type to limit it by; answers are generated with Converse and the guardrail.
    :param roles: roles the policy is attached to.
    :param through_profiles_only: default ``False``; the models only through the given
        application inference profiles (``bedrock:InferenceProfileArn``), never directly or
        through a system profile: every call is then counted under an application profile
        (its tokens, its budget, its cost).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        models: Sequence[ApprovedModel],
        guardrail: IGuardrail,
        application_profile_arns: Sequence[str] = (),
        knowledge_bases: Sequence[IKnowledgeBase] = (),
        roles: Sequence[iam.IRole] = (),
        through_profiles_only: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if not models:
            raise ValueError("ModelAccessPolicy: models must name at least one approved model")
        if through_profiles_only and not application_profile_arns:
            raise ValueError(
                "ModelAccessPolicy: through_profiles_only needs application_profile_arns, the "
                "profiles the models are reached through"
            )
        check_arns(
            "ModelAccessPolicy",
            "application_profile_arns",
            application_profile_arns,
            APPLICATION_INFERENCE_PROFILE,
        )

        stack = Stack.of(self)
        guardrail_identifier = guardrail.versioned_arn
        model_arns = sorted({arn for model in models for arn in model.resource_arns(stack)})
        with_guardrail = {"bedrock:GuardrailIdentifier": guardrail_identifier}
        allowed = (
            [
                iam.PolicyStatement(
                    sid="InvokeApprovedModelsWithGuardrail",
                    actions=list(INVOKE_ACTIONS),
                    resources=list(application_profile_arns),
                    conditions={"StringEquals": with_guardrail},
                ),
                iam.PolicyStatement(
                    sid="InvokeModelsThroughTheProfiles",
                    actions=list(INVOKE_ACTIONS),
                    resources=model_arns,
                    conditions={
                        "StringEquals": {
                            **with_guardrail,
                            "bedrock:InferenceProfileArn": list(application_profile_arns),
                        }
                    },
                ),
            ]
            if through_profiles_only
            else [
                iam.PolicyStatement(
                    sid="InvokeApprovedModelsWithGuardrail",
                    actions=list(INVOKE_ACTIONS),
                    resources=[*model_arns, *application_profile_arns],
                    conditions={"StringEquals": with_guardrail},
                )
            ]
        )
        statements = [
            *allowed,
            iam.PolicyStatement(
                sid="DenyInvokeWithoutGuardrail",
                effect=iam.Effect.DENY,
                actions=list(INVOKE_ACTIONS),
                resources=["*"],
                conditions={
                    "StringNotEquals": {"bedrock:GuardrailIdentifier": guardrail_identifier}
                },
            ),
            *guardrail_statements(guardrail, stack.region),
        ]
        if knowledge_bases:
            statements.append(
                iam.PolicyStatement(
                    sid="UseKnowledgeBases",
                    actions=["bedrock:Retrieve"],
                    resources=[kb.knowledge_base_arn for kb in knowledge_bases],
                )
            )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Invoke approved Bedrock models with the LOB guardrail only",
            statements=statements,
            roles=list(roles),
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Deny-only statement: any invoke without the LOB guardrail is refused on every "
            "model; it grants nothing.",
        )
