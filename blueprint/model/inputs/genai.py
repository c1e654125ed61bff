"""The GenAI stack's inputs: governed Bedrock access of one LOB environment."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.guardrail import GuardrailPolicy
from blueprint.model.inputs.agents import AgentsInputs, agents_inputs
from blueprint.model.inputs.shared import lob_environment
from blueprint.model.personas import ML_ENGINEER, Persona
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.catalog import BedrockModel
from blueprint.model.sections.genai import (
    Chunking,
    IngestionConfig,
    PromptConfig,
    RagConfig,
    TokenBudget,
    UseCaseRecord,
)
from genai_constructs.naming import parameter_path


@dataclass(frozen=True)
class KnowledgeBaseInputs:
    """A knowledge base: its source, how documents are split and parsed, when ingested."""

    name: str
    source_prefix: str
    embedding_model_id: str
    chunking: Chunking
    parsing_model_id: str | None
    ingestion: IngestionConfig


@dataclass(frozen=True)
class UseCaseInputs:
    """One application of the LOB: its model, its role, the knowledge bases it retrieves
    from in this environment, and how it answers from them (``rag``, with the key of its
    evaluation question set in the curated zone)."""

    name: str
    model: BedrockModel
    role: str
    knowledge_bases: tuple[str, ...]
    rag: RagConfig
    evaluation_questions_key: str
    endpoints: tuple[str, ...] = ()
    record: UseCaseRecord | None = None
    token_budget: TokenBudget | None = None


@dataclass(frozen=True)
class GuardedEndpointInputs:
    """A GPU endpoint of the environment's ML stack a use case calls, by the name that stack
    gives it (and its inference component when it scales to zero)."""

    name: str
    endpoint_name: str
    scales_to_zero: bool


@dataclass(frozen=True)
class GenAIInputs:
    """Governed Bedrock access of one LOB environment.

    :param invokers: the personas that may call models besides the application role (none
        in prod).
    :param parameter_path: where the environment publishes its IDs (SSM parameters).
    :param release_gate_account: the tooling account whose delivery pipeline runs the RAG
        evaluations before a release to prod (nonprod environments with a pipeline).
    :param reviewer_principal: the ml-engineer role of the environment, whose people review
        the flagged answers of use cases whose record asks for human review.
    :param account_settings: configure the account's model invocation logging (and, with
        ``enforce_guardrail``, its enforced guardrail): what Bedrock keeps once per account and
        region. False in a tenancy, whose central account's central placement owns them.
    """

    label: str
    prefix: str
    lob: str
    environment: EnvironmentName
    parameter_path: str
    guardrail_name: str
    guardrail: GuardrailPolicy
    enforce_guardrail: bool
    approved_models: tuple[BedrockModel, ...]
    use_cases: tuple[UseCaseInputs, ...]
    guarded_endpoints: tuple[GuardedEndpointInputs, ...]
    prompts: tuple[tuple[PromptConfig, BedrockModel], ...]
    knowledge_bases: tuple[KnowledgeBaseInputs, ...]
    invokers: tuple[Persona, ...]
    tags: dict[str, str]
    metric_namespace: str
    alert_emails: tuple[str, ...]
    unguarded_model_ids: tuple[str, ...]
    log_retention_days: int
    release_gate_account: str | None = None
    account_settings: bool = True
    # The LOB role whose people review the answers of use cases that need review.
    reviewer_principal: str | None = None
    # In a tenancy, the central account's invocation log group (its use cases' token counts
    # are read there); elsewhere the environment's own.
    central_invocation_log_group: str | None = None
    # The agents it runs and their tools (``blueprint.model.inputs.agents``).
    agents: AgentsInputs | None = None


def genai_inputs(plan: Plan, placement: Placement) -> GenAIInputs:
    lob, environment = lob_environment(placement)
    config = plan.config
    present = {kb.name for kb in plan.knowledge_bases(placement)}
    endpoints = {endpoint.name for endpoint in plan.gpu_endpoints(placement)}
    gated = environment is EnvironmentName.NONPROD and config.platform.pipeline is not None
    return GenAIInputs(
        label=placement.key,
        prefix=placement.prefix,
        lob=lob.name,
        environment=environment,
        parameter_path=parameter_path(lob.name, environment.value),
        guardrail_name=f"{plan.prefix}-{placement.key}",
        guardrail=plan.guardrail_policy(lob),
        enforce_guardrail=environment in config.guardrails.enforce_in and not placement.is_tenancy,
        account_settings=not placement.is_tenancy,
        approved_models=tuple(plan.approved_models(placement)),
        use_cases=tuple(
            UseCaseInputs(
                name=use.name,
                model=config.model(use.model),
                role=names.app_role_name(placement.prefix, use.name),
                knowledge_bases=tuple(kb for kb in use.knowledge_bases if kb in present),
                rag=use.rag,
                evaluation_questions_key=use.evaluation_questions_key,
                endpoints=tuple(e for e in use.endpoints if e in endpoints),
                record=use.record,
                token_budget=use.token_budget,
            )
            for use in lob.genai.use_cases
        ),
        guarded_endpoints=tuple(
            GuardedEndpointInputs(
                name=endpoint.name,
                endpoint_name=names.gpu_endpoint_name(lob.name, environment.value, endpoint.name),
                scales_to_zero=endpoint.min_instances == 0,
            )
            for endpoint in plan.gpu_endpoints(placement)
            if any(endpoint.name in use.endpoints for use in lob.genai.use_cases)
        ),
        prompts=tuple((prompt, config.model(prompt.model)) for prompt in lob.genai.prompts),
        knowledge_bases=tuple(
            KnowledgeBaseInputs(
                name=kb.name,
                source_prefix=kb.source_prefix,
                embedding_model_id=kb.embedding_model,
                chunking=kb.chunking,
                parsing_model_id=kb.parsing.model if kb.parsing else None,
                ingestion=kb.ingestion,
            )
            for kb in plan.knowledge_bases(placement)
        ),
        invokers=tuple(plan.model_invokers(placement)),
        tags=placement.tags,
        metric_namespace=names.metric_namespace(placement.key),
        alert_emails=tuple(plan.alert_emails(lob)),
        unguarded_model_ids=plan.unguarded_model_ids(),
        log_retention_days=placement.log_retention_days,
        release_gate_account=config.platform.tooling_account if gated else None,
        reviewer_principal=(
            plan.role_arn(placement, ML_ENGINEER) if ML_ENGINEER in placement.personas else None
        ),
        central_invocation_log_group=_central_log_group(plan, placement),
        agents=agents_inputs(plan, placement),
    )


def _central_log_group(plan: Plan, placement: Placement) -> str | None:
    central = plan.central_of(placement) if placement.is_tenancy else None
    return names.central_invocation_log_group(central.key) if central else None
