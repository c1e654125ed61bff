"""GenAI layer of one LOB environment: governed Bedrock access on the LOB's own data.

The central policy (catalog, guardrail) comes from the config; everything it produces lives
in the LOB's account: guardrail, model access policy, invocation logging, inference profiles
for cost attribution, prompts and knowledge bases.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from blueprint.model.config import BedrockModel, GuardrailPolicy
from blueprint.model.plan import Placement, Plan
from genai_constructs.bedrock import (
    ApplicationInferenceProfiles,
    ApprovedModel,
    DeniedTopicSpec,
    GovernedGuardrail,
    GuardrailSpec,
    ModelAccessPolicy,
    PromptCatalog,
    PromptSpec,
)
from genai_constructs.invocation_logging import ModelInvocationLogging
from genai_constructs.knowledge_base import GovernedKnowledgeBase, OpenSearchVectorStore
from stacks.data import DataStack, collection_name
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.security import INVOCATION_LOG_PREFIX, SecurityStack

# Principal tag of the roles that applications run as (not humans, not pipelines).
APPLICATION_TAG = ("genai-platform:workload", "application")


def guardrail_spec(policy: GuardrailPolicy) -> GuardrailSpec:
    return GuardrailSpec(
        content_filters={
            k.value.upper(): v.value.upper() for k, v in policy.content_filters.items()
        },
        pii_entities={entity: action.value.upper() for entity, action in policy.pii.items()},
        denied_topics=tuple(
            DeniedTopicSpec(t.name, t.definition, tuple(t.examples)) for t in policy.denied_topics
        ),
        words=tuple(policy.word_filters),
        profanity_filter=policy.profanity_filter,
        grounding_threshold=policy.grounding_threshold,
        relevance_threshold=policy.relevance_threshold,
        blocked_input_message=policy.blocked_input_message,
        blocked_output_message=policy.blocked_output_message,
    )


def approved_model(model: BedrockModel) -> ApprovedModel:
    profile = model.inference_profile
    return ApprovedModel(
        model_id=model.id,
        profile_prefix=profile.prefix if profile else None,
        profile_regions=tuple(profile.regions) if profile else (),
    )


class GenAIStack(Stack):
    """Guardrail, model access, invocation logging, inference profiles, prompts and RAG."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        placement: Placement,
        security: SecurityStack,
        foundation: FoundationStack,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(data)
        lob = placement.lob
        if lob is None or placement.environment is None:
            raise ValueError(f"GenAIStack: {placement.key} is not an LOB environment")
        config = plan.config
        use_account_boundary(self, plan.prefix)

        self.guardrail = GovernedGuardrail(
            self,
            "Guardrail",
            name=f"{plan.prefix}-{placement.key}",
            spec=guardrail_spec(config.guardrails),
            encryption_key=security.data_key,
            enforce=placement.environment in config.guardrails.enforce_in,
        )
        self.profiles = ApplicationInferenceProfiles(
            self,
            "UseCases",
            use_cases={
                use_case.name: approved_model(config.model(use_case.model))
                for use_case in lob.genai.use_cases
            },
            name_prefix=placement.key,
            tags=placement.tags,
        )
        self.prompts = PromptCatalog(
            self,
            "Prompts",
            prompts=[
                PromptSpec(
                    name=p.name,
                    model_id=approved_model(config.model(p.model)).invocation_id,
                    template=p.template,
                    description=p.description,
                    temperature=p.temperature,
                    max_tokens=p.max_tokens,
                )
                for p in lob.genai.prompts
            ],
            encryption_key=security.data_key,
            name_prefix=placement.key,
        )
        curated = data.import_zone(self, "curated")
        self.knowledge_bases = {
            kb.name: GovernedKnowledgeBase(
                self,
                f"KnowledgeBase{''.join(part.capitalize() for part in kb.name.split('-'))}",
                name=f"{placement.key}-{kb.name}",
                source_bucket=curated,
                source_prefix=kb.source_prefix,
                data_key=security.data_key,
                vector_store=data.vector_stores[kb.name],
                embedding_model_arn=(
                    f"arn:{self.partition}:bedrock:{self.region}::foundation-model/"
                    f"{kb.embedding_model}"
                ),
                collection_name=(
                    collection_name(placement, kb)
                    if isinstance(data.vector_stores[kb.name], OpenSearchVectorStore)
                    else None
                ),
            )
            for kb in plan.knowledge_bases(placement)
        }

        self.application_role = iam.Role(
            self,
            "ApplicationRole",
            description=f"Runs the GenAI applications of {placement.key}",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("lambda.amazonaws.com"),
                iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            ),
        )
        Tags.of(self.application_role).add(*APPLICATION_TAG)
        invokers: list[iam.IRole] = [self.application_role] + [
            iam.Role.from_role_name(
                self, f"Invoker{persona.name}", f"{plan.prefix}-{persona.value}"
            )
            for persona in plan.model_invokers(placement)
        ]
        self.model_access = ModelAccessPolicy(
            self,
            "ModelAccess",
            models=[approved_model(m) for m in plan.approved_models(placement)],
            guardrail_arn=self.guardrail.guardrail_arn,
            guardrail_identifier=self.guardrail.versioned_arn,
            guardrail_key_arn=security.data_key.key_arn,
            application_profile_arns=self.profiles.arns,
            knowledge_base_arns=[kb.knowledge_base_arn for kb in self.knowledge_bases.values()],
            roles=invokers,
        )
        self.invocation_logging = ModelInvocationLogging(
            self,
            "InvocationLogging",
            log_group=security.invocation_log_group,
            bucket=security.invocation_log_bucket,
            encryption_key=security.logs_key,
            vpc=foundation.network.vpc,
            key_prefix=INVOCATION_LOG_PREFIX,
            max_input_tokens=config.guardrails.max_input_tokens,
            function_log_retention=security.retention,
        )
