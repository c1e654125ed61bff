"""GenAI layer of one LOB environment: governed Bedrock access on the LOB's own data.

The central policy (catalog, guardrail) comes from the config; everything it produces lives
in the LOB's account: guardrail, model access policy, invocation logging, inference profiles
for cost attribution, prompts and knowledge bases.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from blueprint.model import names
from blueprint.model.config import BedrockModel, GuardrailPolicy
from blueprint.model.layers import GenAIInputs
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
from genai_constructs.knowledge_base import (
    GovernedKnowledgeBase,
)
from genai_constructs.naming import pascal
from stacks.alerts import subscribe
from stacks.assets import mark
from stacks.data import DataStack
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.security import INVOCATION_LOG_PREFIX, SecurityStack


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
        inputs: GenAIInputs,
        security: SecurityStack,
        foundation: FoundationStack,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(data)
        use_account_boundary(self, inputs.prefix)

        # Policy: the central guardrail, in this account.
        self.guardrail = GovernedGuardrail(
            self,
            "Guardrail",
            name=inputs.guardrail_name,
            spec=guardrail_spec(inputs.guardrail),
            encryption_key=security.data_key,
            enforce=inputs.enforce_guardrail,
            unenforced_model_ids=inputs.unguarded_model_ids,
        )
        # Catalog: what the LOB's applications run (profiles for cost, managed prompts).
        self.profiles = ApplicationInferenceProfiles(
            self,
            "UseCases",
            use_cases={use.name: approved_model(use.model) for use in inputs.use_cases},
            name_prefix=inputs.label,
            tags=inputs.tags,
        )
        self.prompts = self._prompt_catalog(inputs, security)
        # Retrieval: knowledge bases on the LOB's curated zone and its own vector stores.
        self.knowledge_bases = self._knowledge_bases(inputs, security, data)
        # Access: who may call which model, always with the guardrail.
        self._model_access(inputs, security)
        # Evidence: every invocation logged to the LOB's own stores, with alarms.
        log_group, archive = security.invocation_stores
        self.invocation_logging = ModelInvocationLogging(
            self,
            "InvocationLogging",
            log_group=log_group,
            bucket=archive,
            encryption_key=security.logs_key,
            vpc=foundation.network.vpc,
            key_prefix=INVOCATION_LOG_PREFIX,
            max_input_tokens=inputs.guardrail.max_input_tokens,
            function_log_retention=security.retention,
            metric_namespace=inputs.metric_namespace,
        )
        subscribe(self.invocation_logging.alarm_topic, inputs.alert_emails)
        self._mark_assets(inputs)

    def _prompt_catalog(self, inputs: GenAIInputs, security: SecurityStack) -> PromptCatalog:
        return PromptCatalog(
            self,
            "Prompts",
            prompts=[
                PromptSpec(
                    name=p.name,
                    model_id=approved_model(model).invocation_id,
                    template=p.template,
                    description=p.description,
                    temperature=p.temperature,
                    max_tokens=p.max_tokens,
                )
                for p, model in inputs.prompts
            ],
            encryption_key=security.data_key,
            name_prefix=inputs.label,
        )

    def _knowledge_bases(
        self, inputs: GenAIInputs, security: SecurityStack, data: DataStack
    ) -> dict[str, GovernedKnowledgeBase]:
        curated = data.import_zone(self, "curated")
        return {
            kb.name: GovernedKnowledgeBase(
                self,
                f"KnowledgeBase{pascal(kb.name)}",
                name=f"{inputs.label}-{kb.name}",
                source_bucket=curated,
                source_prefix=kb.source_prefix,
                data_key=security.data_key,
                vector_store=data.vector_stores[kb.name],
                embedding_model_arn=(
                    f"arn:{self.partition}:bedrock:{self.region}::foundation-model/"
                    f"{kb.embedding_model_id}"
                ),
            )
            for kb in inputs.knowledge_bases
        }

    def _model_access(self, inputs: GenAIInputs, security: SecurityStack) -> None:
        """Each application on its own policy (its profile, its knowledge bases); the personas
        that may call models here (none in prod) on one policy for the approved models."""
        common = {
            "guardrail_arn": self.guardrail.guardrail_arn,
            "guardrail_identifier": self.guardrail.versioned_arn,
            "guardrail_key_arn": security.data_key.key_arn,
        }
        self.application_access = {
            use.name: ModelAccessPolicy(
                self,
                f"UseCase{pascal(use.name)}Access",
                models=[approved_model(use.model)],
                application_profile_arns=[
                    self.profiles.profiles[use.name].attr_inference_profile_arn
                ],
                knowledge_base_arns=[
                    self.knowledge_bases[kb].knowledge_base_arn for kb in use.knowledge_bases
                ],
                roles=[iam.Role.from_role_name(self, f"App{pascal(use.name)}", use.role)],
                **common,
            )
            for use in inputs.use_cases
        }
        invokers: list[iam.IRole] = [
            iam.Role.from_role_name(
                self, f"Invoker{persona.name}", names.role_name(inputs.prefix, persona.value)
            )
            for persona in inputs.invokers
        ]
        if invokers:
            self.model_access = ModelAccessPolicy(
                self,
                "ModelAccess",
                models=[approved_model(m) for m in inputs.approved_models],
                application_profile_arns=self.profiles.arns,
                knowledge_base_arns=[kb.knowledge_base_arn for kb in self.knowledge_bases.values()],
                roles=invokers,
                **common,
            )

    def _mark_assets(self, inputs: GenAIInputs) -> None:
        mark(self.guardrail.guardrail, "guardrail/platform")
        mark(self.guardrail.version, "guardrail-version/platform")
        for name, profile in self.profiles.profiles.items():
            mark(profile, f"profile/{name}")
        for name, prompt in self.prompts.prompts.items():
            mark(prompt, f"prompt/{name}")
        for name, knowledge_base in self.knowledge_bases.items():
            mark(knowledge_base.knowledge_base, f"knowledge-base/{name}")
            mark(knowledge_base.role, f"knowledge-base-role/{name}")
        logging = self.invocation_logging
        mark(logging.dead_letters, "invocation-logs/dead-letters")
        mark(logging.function.role, "logging-role/invocation-logging")
        mark(logging.function.function, "logging-function/invocation-logging")
