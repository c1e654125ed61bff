"""GenAI layer of one LOB environment: governed Bedrock access on the LOB's own data.

The central policy (catalog, guardrail) comes from the config; everything it produces lives
in the LOB's account: guardrail, model access policy, invocation logging, inference profiles
for cost attribution, prompts and knowledge bases.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.fields import EnvironmentName
from blueprint.model.guardrail import GuardrailPolicy, spec_values
from blueprint.model.inputs.genai import GenAIInputs, KnowledgeBaseInputs, UseCaseInputs
from blueprint.model.inventory import AI_SYSTEM_METADATA, AiSystem, SystemKind, system_key
from blueprint.model.sections.genai import (
    Chunking,
    FixedSizeChunking,
    HierarchicalChunking,
    SemanticChunking,
)
from genai_constructs.bedrock import (
    ApplicationInferenceProfiles,
    DeniedTopicSpec,
    GovernedGuardrail,
    GuardrailSpec,
    ModelAccessPolicy,
    PromptCatalog,
    PromptSpec,
)
from genai_constructs.compliance import acknowledge, acknowledge_role_policy, nag_reference
from genai_constructs.grants import grant
from genai_constructs.guarded_endpoint import MAX_INPUT_CHARS, GuardedEndpoint
from genai_constructs.invocation_logging import ModelInvocationLogging
from genai_constructs.knowledge_base import Chunking as DataSourceChunking
from genai_constructs.knowledge_base import GovernedKnowledgeBase
from genai_constructs.naming import (
    DELIVERY_TAG,
    evaluation_candidates_prefix,
    feedback_prefix,
    observed_metric_namespace,
    pascal,
    rag_evaluation_parameter,
    rag_reports_prefix,
    review_decisions_prefix,
    review_prefix,
)
from genai_constructs.rag import AnswerApi, KnowledgeBaseIngestion, RagEvaluation, ReviewDesk
from genai_constructs.rag.answer_api import Feedback
from genai_constructs.retention import log_retention
from genai_constructs.serving import GpuEndpoint
from stacks.agents import AgentsContext, BuiltAgents, build_agents
from stacks.alerts import subscribe
from stacks.assets import mark
from stacks.bedrock_models import approved_model
from stacks.data import DataStack
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.security import INVOCATION_LOG_PREFIX, SecurityStack
from stacks.token_usage import token_budgets, use_case_tokens


def guardrail_spec(policy: GuardrailPolicy) -> GuardrailSpec:
    return GuardrailSpec(**spec_values(policy, nested=DeniedTopicSpec))


def data_source_chunking(chunking: Chunking) -> DataSourceChunking:
    match chunking:
        case FixedSizeChunking():
            return DataSourceChunking.fixed_size(
                max_tokens=chunking.max_tokens, overlap_percent=chunking.overlap_percent
            )
        case HierarchicalChunking():
            return DataSourceChunking.hierarchical(
                parent_max_tokens=chunking.parent_max_tokens,
                child_max_tokens=chunking.child_max_tokens,
                overlap_tokens=chunking.overlap_tokens,
            )
        case SemanticChunking():
            return DataSourceChunking.semantic(
                max_tokens=chunking.max_tokens,
                buffer_size=chunking.buffer_size,
                breakpoint_percentile=chunking.breakpoint_percentile,
            )
    return DataSourceChunking.none()


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
        self.curated = data.import_zone(self, "curated")
        self.knowledge_bases = self._knowledge_bases(inputs, security, data)
        # Access: who may call which model, always with the guardrail.
        self.app_roles = {
            use.name: iam.Role.from_role_name(self, f"App{pascal(use.name)}", use.role)
            for use in inputs.use_cases
        }
        self._model_access(inputs)
        # Evidence: every invocation logged to the account's stores, with alarms (in a tenancy,
        # the central account's central placement configures them for every tenancy).
        self.invocation_logging: ModelInvocationLogging | None = None
        if inputs.account_settings:
            log_group, archive = security.invocation_stores
            self.invocation_logging = ModelInvocationLogging(
                self,
                "InvocationLogging",
                log_group=log_group,
                bucket=archive,
                encryption_key=security.logs_key,
                key_prefix=INVOCATION_LOG_PREFIX,
                max_input_tokens=inputs.guardrail.max_input_tokens,
                function_log_retention=security.retention,
                metric_namespace=inputs.metric_namespace,
            )
            self.alarm_topic: sns.ITopic = self.invocation_logging.alarm_topic
        else:
            self.alarm_topic = sns.Topic(
                self,
                "Alarms",
                master_key=security.logs_key,
                enforce_ssl=True,
                display_name="GenAI alarms",
            )
        subscribe(self.alarm_topic, inputs.alert_emails)
        # RAG: ingestion as documents land, an answer API and an evaluation per use case.
        self.ingestions = self._ingestions(inputs, security)
        self.answer_apis: dict[str, AnswerApi] = {}
        self.reviewers: dict[str, iam.Role] = {}
        self.review_desks: dict[str, ReviewDesk] = {}
        self.evaluations: dict[str, RagEvaluation] = {}
        rag_use_cases = [use for use in inputs.use_cases if use.knowledge_bases]
        if rag_use_cases:
            # Where the evaluations write their reports.
            artifacts = data.import_zone(self, "artifacts")
        for use in rag_use_cases:
            self._rag(inputs, use, security, foundation, artifacts)
        if inputs.release_gate_account and self.evaluations:
            self._release_gate(inputs)
        # Self-hosted models: each endpoint a use case calls, behind the guardrail.
        self.guarded_endpoints = self._guarded_endpoints(inputs, security, foundation)
        # Spend: each use case's tokens, and the daily budgets that stop an answer API.
        self.tokens = use_case_tokens(
            self,
            inputs,
            self.profiles,
            security.invocation_stores[0] if inputs.account_settings else None,
        )
        self.token_budgets = token_budgets(
            self,
            inputs,
            self.tokens,
            self.answer_apis,
            topic=self.alarm_topic,
            encryption_key=security.logs_key,
            log_retention=log_retention(inputs.log_retention_days),
        )
        # Agents: the tools gateway and its policy engine, each agent's runtime and memory.
        self.agents: BuiltAgents | None = None
        if inputs.agents is not None:
            self.agents = build_agents(
                self,
                inputs.agents,
                AgentsContext(
                    label=inputs.label,
                    prefix=inputs.prefix,
                    tags=inputs.tags,
                    guardrail=self.guardrail,
                    use_case_profiles={
                        name: profile.attr_inference_profile_arn
                        for name, profile in self.profiles.profiles.items()
                    },
                    knowledge_bases=self.knowledge_bases,
                    vpc=foundation.network.vpc,
                    data_key=security.data_key,
                    logs_key=security.logs_key,
                    log_retention=log_retention(inputs.log_retention_days),
                ),
            )
        # Contract: every ID an application needs, as SSM parameters and outputs.
        self._publish(inputs)
        self._mark_assets(inputs)
        # Inventory: each use case as an AI system, in the assembly's metadata for the audit.
        for use in inputs.use_cases:
            self.node.add_metadata(AI_SYSTEM_METADATA, use_case_system(inputs, use).as_metadata())

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
        return {
            kb.name: GovernedKnowledgeBase(
                self,
                f"KnowledgeBase{pascal(kb.name)}",
                name=f"{inputs.label}-{kb.name}",
                source_bucket=self.curated,
                source_prefix=kb.source_prefix,
                data_key=security.data_key,
                vector_store=data.vector_stores[kb.name],
                embedding_model_arn=self._foundation_model_arn(kb.embedding_model_id),
                chunking=data_source_chunking(kb.chunking),
                parsing_model_arn=(
                    self._foundation_model_arn(kb.parsing_model_id) if kb.parsing_model_id else None
                ),
            )
            for kb in inputs.knowledge_bases
        }

    def _foundation_model_arn(self, model_id: str) -> str:
        return f"arn:{self.partition}:bedrock:{self.region}::foundation-model/{model_id}"

    def _ingestions(
        self, inputs: GenAIInputs, security: SecurityStack
    ) -> dict[str, KnowledgeBaseIngestion]:
        return {kb.name: self._ingestion(inputs, kb, security) for kb in inputs.knowledge_bases}

    def _ingestion(
        self, inputs: GenAIInputs, kb: KnowledgeBaseInputs, security: SecurityStack
    ) -> KnowledgeBaseIngestion:
        schedule = kb.ingestion.schedule
        return KnowledgeBaseIngestion(
            self,
            f"KnowledgeBase{pascal(kb.name)}Ingestion",
            knowledge_base=self.knowledge_bases[kb.name],
            source_bucket=self.curated,
            source_prefix=kb.source_prefix,
            encryption_key=security.logs_key,
            metric_namespace=inputs.metric_namespace,
            alarm_topic=self.alarm_topic,
            log_retention=log_retention(inputs.log_retention_days),
            on_upload=kb.ingestion.on_upload,
            schedule=events.Schedule.expression(schedule) if schedule else None,
        )

    def _rag(
        self,
        inputs: GenAIInputs,
        use: UseCaseInputs,
        security: SecurityStack,
        foundation: FoundationStack,
        artifacts: s3.IBucket,
    ) -> None:
        """The use case's answer API (callable by its application role only) and its
        evaluation, both answering through its inference profile with the guardrail."""
        knowledge_bases = {kb: self.knowledge_bases[kb] for kb in use.knowledge_bases}
        common: dict[str, Any] = {
            "knowledge_bases": knowledge_bases,
            "model_arn": self.profiles.profiles[use.name].attr_inference_profile_arn,
            "guardrail": self.guardrail,
            "results": use.rag.results,
            "encryption_key": security.logs_key,
            "vpc": foundation.network.vpc,
            "log_retention": log_retention(inputs.log_retention_days),
        }
        access = self.application_access[use.name].policy
        # The LOB's ML engineers review the ratings of the answers and, where the use case's
        # record asks it, the flagged answers.
        reviewer = (
            iam.ArnPrincipal(inputs.reviewer_principal) if inputs.reviewer_principal else None
        )
        flagged_for_review = bool(use.record and use.record.human_review and reviewer)
        if use.rag.answer_api:
            api = AnswerApi(
                self,
                f"UseCase{pascal(use.name)}AnswerApi",
                max_question_chars=inputs.guardrail.max_question_chars,
                memory_turns=use.rag.memory_turns,
                feedback=Feedback(
                    bucket=artifacts,
                    prefix=feedback_prefix(use.name),
                    data_key=security.data_key,
                    review_prefix=review_prefix(use.name) if flagged_for_review else None,
                ),
                **common,
            )
            # It writes the ratings to the artifacts zone, which takes writes from pipeline
            # principals only.
            Tags.of(api.role).add(*names.PIPELINE_TAG)
            access.attach_to_role(api.role)
            if reviewer is not None:
                self.reviewers[use.name] = api.add_reviewer("Reviewer", reviewer)
                self._review_desk(use.name, api, common, inputs.parameter_path)
            api.monitor(
                use_case=use.name,
                namespace=observed_metric_namespace(inputs.metric_namespace),
                topic=self.alarm_topic,
            )
            self.answer_apis[use.name] = api
        evaluation = use.rag.evaluation
        rag_evaluation = RagEvaluation(
            self,
            f"UseCase{pascal(use.name)}Evaluation",
            use_case=use.name,
            questions_bucket=self.curated,
            questions_key=use.evaluation_questions_key,
            report_bucket=artifacts,
            report_prefix=rag_reports_prefix(use.name),
            thresholds={
                "faithfulness": evaluation.faithfulness,
                "answer_relevance": evaluation.answer_relevance,
                "context_precision": evaluation.context_precision,
            },
            metric_namespace=inputs.metric_namespace,
            data_key=security.data_key,
            **common,
        )
        # Operational zones take writes from pipeline principals only.
        Tags.of(rag_evaluation.role).add(*names.PIPELINE_TAG)
        access.attach_to_role(rag_evaluation.role)
        if inputs.environment is EnvironmentName.PROD and evaluation.schedule:
            rag_evaluation.run_on_schedule(
                events.Schedule.expression(evaluation.schedule), topic=self.alarm_topic
            )
        self.evaluations[use.name] = rag_evaluation

    def _release_gate(self, inputs: GenAIInputs) -> None:
        """The role the delivery pipeline assumes to run the evaluations before a release to
        prod: only roles of the tooling account tagged as the delivery workload."""
        assert inputs.release_gate_account is not None
        role = iam.Role(
            self,
            "RagReleaseGate",
            role_name=names.rag_gate_role_name(inputs.prefix),
            description="Runs this environment's RAG evaluations for the delivery pipeline",
            assumed_by=iam.AccountPrincipal(inputs.release_gate_account).with_conditions(
                {"StringEquals": {f"aws:PrincipalTag/{DELIVERY_TAG[0]}": DELIVERY_TAG[1]}}
            ),
        )
        for evaluation in self.evaluations.values():
            evaluation.grant_invoke(role)
        evaluations = f"{inputs.parameter_path.lstrip('/')}/rag-evaluations/*"
        parameters = self.format_arn(service="ssm", resource="parameter", resource_name=evaluations)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadThePublishedEvaluations",
                actions=["ssm:GetParameter"],
                resources=[parameters],
            )
        )
        acknowledge_role_policy(
            role,
            "invoke this environment's RAG evaluation functions, read their published ARNs",
            [f"Resource::{nag_reference(self, parameters)}"],
        )
        self.release_gate = role

    def _model_access(self, inputs: GenAIInputs) -> None:
        """Each application on its own policy (its profile, its knowledge bases); the personas
        that may call models here (none in prod) on one policy for the approved models."""
        common = {"guardrail": self.guardrail}
        self.application_access = {
            use.name: ModelAccessPolicy(
                self,
                f"UseCase{pascal(use.name)}Access",
                models=[approved_model(use.model)],
                application_profile_arns=[
                    self.profiles.profiles[use.name].attr_inference_profile_arn
                ],
                knowledge_bases=[self.knowledge_bases[kb] for kb in use.knowledge_bases],
                roles=[self.app_roles[use.name]],
                # Every call of the use case is counted under its profile (tokens, budget).
                through_profiles_only=True,
                **common,
            )
            for use in inputs.use_cases
        }
        invokers: list[iam.IRole] = [
            iam.Role.from_role_name(
                self, f"Invoker{pascal(persona.name)}", names.role_name(inputs.prefix, persona.name)
            )
            for persona in inputs.invokers
        ]
        if invokers:
            self.model_access = ModelAccessPolicy(
                self,
                "ModelAccess",
                # The models, not the use cases' profiles: people's calls count against no
                # use case's budget.
                models=[approved_model(m) for m in inputs.approved_models],
                knowledge_bases=list(self.knowledge_bases.values()),
                roles=invokers,
                **common,
            )

    def _guarded_endpoints(
        self, inputs: GenAIInputs, security: SecurityStack, foundation: FoundationStack
    ) -> dict[str, GuardedEndpoint]:
        """A guarded endpoint for each GPU endpoint a use case calls, by the name the ML stack
        gives it (no reference between the stacks): the only way the application reaches it
        (its role may not call the endpoint itself)."""
        return {
            entry.name: GuardedEndpoint(
                self,
                f"Guarded{pascal(entry.name)}",
                endpoint=GpuEndpoint.from_endpoint_name(
                    self,
                    f"Endpoint{pascal(entry.name)}",
                    entry.endpoint_name,
                    inference_component_name=(
                        entry.endpoint_name if entry.scales_to_zero else None
                    ),
                ),
                guardrail=self.guardrail,
                # A conversation, not a question: the prompt limit the invocation logs alarm
                # on, at about four characters a token.
                max_input_chars=min(4 * inputs.guardrail.max_input_tokens, MAX_INPUT_CHARS),
                encryption_key=security.logs_key,
                vpc=foundation.network.vpc,
                log_retention=log_retention(inputs.log_retention_days),
            )
            for entry in inputs.guarded_endpoints
        }

    def _review_desk(
        self, use_case: str, api: AnswerApi, common: dict[str, Any], parameter_path: str
    ) -> None:
        """Where the use case's reviewers record their decisions and export the reviewed
        answers as evaluation questions; the reviewer reads its published URL."""
        assert api.feedback is not None
        desk = ReviewDesk(
            self,
            f"UseCase{pascal(use_case)}ReviewDesk",
            feedback=api.feedback,
            decisions_prefix=review_decisions_prefix(use_case),
            candidates_prefix=evaluation_candidates_prefix(use_case),
            encryption_key=common["encryption_key"],
            vpc=common["vpc"],
            log_retention=common["log_retention"],
        )
        # It writes the artifacts zone, which takes writes from pipeline principals only.
        Tags.of(desk.role).add(*names.PIPELINE_TAG)
        reviewer = self.reviewers[use_case]
        desk.grant_invoke(reviewer)
        desk.grant_read_candidates(reviewer)
        url_parameter = f"{parameter_path}/{review_desk_url(use_case)}".lstrip("/")
        grant(
            reviewer,
            actions=["ssm:GetParameter"],
            resource_arns=[
                self.format_arn(service="ssm", resource="parameter", resource_name=url_parameter)
            ],
        )
        self.review_desks[use_case] = desk

    def _publish(self, inputs: GenAIInputs) -> None:
        """Each ID under ``/genai-platform/<lob>/<environment>/`` and as an output; the
        applications of the environment may read them."""
        values = {
            "guardrail/id": (self.guardrail.guardrail.attr_guardrail_id, "Guardrail ID"),
            "guardrail/version": (self.guardrail.version.attr_version, "Guardrail version"),
        }
        for name, profile in self.profiles.profiles.items():
            values[f"inference-profiles/{name}/arn"] = (
                profile.attr_inference_profile_arn,
                f"Application inference profile of {name}",
            )
        for name, knowledge_base in self.knowledge_bases.items():
            values[f"knowledge-bases/{name}/id"] = (
                knowledge_base.knowledge_base_id,
                f"Knowledge base {name}",
            )
            values[f"knowledge-bases/{name}/data-source-id"] = (
                knowledge_base.data_source_id,
                f"Data source of knowledge base {name}",
            )
        for name, api in self.answer_apis.items():
            values[f"answer-apis/{name}/url"] = (api.url_text, f"Answer API of {name}")
        for name, desk in self.review_desks.items():
            values[review_desk_url(name)] = (desk.url_text, f"Review desk of {name}")
        for name, guarded in self.guarded_endpoints.items():
            values[f"guarded-endpoints/{name}/url"] = (
                guarded.url_text,
                f"GPU endpoint {name} behind the guardrail",
            )
        for name, evaluation in self.evaluations.items():
            parameter = rag_evaluation_parameter(inputs.lob, inputs.environment.value, name)
            values[parameter.removeprefix(f"{inputs.parameter_path}/")] = (
                evaluation.function.function_arn,
                f"RAG evaluation of {name}",
            )
        if self.agents is not None:
            values.update(self.agents.published())
        for path, (value, description) in values.items():
            name = f"{inputs.parameter_path}/{path}"
            construct_id = pascal(path.replace("/", "-"))
            ssm.StringParameter(
                self,
                f"{construct_id}Parameter",
                parameter_name=name,
                string_value=value,
                description=description,
            )
            CfnOutput(self, construct_id, value=value, description=f"{description} ({name})")
        read_ids = iam.PolicyStatement(
            sid="ReadThePublishedIds",
            actions=["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            resources=[
                self.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=f"{inputs.parameter_path.lstrip('/')}/*",
                ),
                # GetParametersByPath is authorized on the path itself.
                self.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=inputs.parameter_path.lstrip("/"),
                ),
            ],
        )
        for use in inputs.use_cases:
            answer_api = self.answer_apis.get(use.name)
            guarded_calls = [
                statement
                for name in use.endpoints
                for statement in self.guarded_endpoints[name].invoke_statements(
                    f"TheGuarded{pascal(name)}Endpoint"
                )
            ]
            services = iam.ManagedPolicy(
                self,
                f"UseCase{pascal(use.name)}Services",
                description=f"What the {use.name} application calls besides models: the "
                "environment's published IDs, its answer API"
                + (", its endpoints behind the guardrail" if guarded_calls else ""),
                statements=[
                    read_ids,
                    *(answer_api.invoke_statements() if answer_api else []),
                    *guarded_calls,
                ],
                roles=[self.app_roles[use.name]],
            )
            acknowledge(
                services,
                f"AwsSolutions-IAM5[Resource::{nag_reference(self, read_ids.resources[0])}]",
                f"Reads the IDs this environment publishes under {inputs.parameter_path}/ "
                "(one parameter per knowledge base, profile and API: the path is the contract).",
            )

    def _mark_assets(self, inputs: GenAIInputs) -> None:
        mark(self.guardrail.guardrail, AssetKind.GUARDRAIL, "platform")
        mark(self.guardrail.version, AssetKind.GUARDRAIL_VERSION, "platform")
        for name, profile in self.profiles.profiles.items():
            mark(profile, AssetKind.PROFILE, name)
        for name, prompt in self.prompts.prompts.items():
            mark(prompt, AssetKind.PROMPT, name)
        for name, knowledge_base in self.knowledge_bases.items():
            mark(knowledge_base.knowledge_base, AssetKind.KNOWLEDGE_BASE, name)
            mark(knowledge_base.role, AssetKind.KNOWLEDGE_BASE_ROLE, name)
        for name, ingestion in self.ingestions.items():
            mark(ingestion.state_machine.role, AssetKind.INGESTION_STARTER_ROLE, name)
            mark(ingestion.dead_letters, AssetKind.INGESTION_DEAD_LETTERS, name)
        for name, api in self.answer_apis.items():
            mark(api.function.function, AssetKind.ANSWER_API, name)
            mark(api.role, AssetKind.ANSWER_API_ROLE, name)
        for name, reviewer in self.reviewers.items():
            mark(reviewer, AssetKind.REVIEWER_ROLE, name)
        for name, desk in self.review_desks.items():
            mark(desk.function.function, AssetKind.REVIEW_DESK, name)
            mark(desk.role, AssetKind.REVIEW_DESK_ROLE, name)
        for name, guarded in self.guarded_endpoints.items():
            mark(guarded.function.function, AssetKind.GUARDED_ENDPOINT, name)
            mark(guarded.role, AssetKind.GUARDED_ENDPOINT_ROLE, name)
        for name, evaluation in self.evaluations.items():
            mark(evaluation.function.function, AssetKind.RAG_EVALUATION, name)
            mark(evaluation.role, AssetKind.RAG_EVALUATION_ROLE, name)
        logging = self.invocation_logging
        if logging is not None:
            mark(logging.dead_letters, AssetKind.INVOCATION_LOGS, "dead-letters")
            mark(logging.function.role, AssetKind.LOGGING_ROLE, "invocation-logging")
            mark(logging.function.function, AssetKind.LOGGING_FUNCTION, "invocation-logging")


def review_desk_url(use_case: str) -> str:
    """Where a use case's review desk URL is published, under the environment's path."""
    return f"review-desks/{use_case}/url"


def use_case_system(inputs: GenAIInputs, use: UseCaseInputs) -> AiSystem:
    """``use`` as the AI inventory lists it: its model, what it retrieves from, what each
    answer and each release passes, and its record."""
    sources = {kb.name: kb.source_prefix for kb in inputs.knowledge_bases}
    evaluation = use.rag.evaluation
    gates = [f"guardrail {inputs.guardrail_name} on every call"]
    if use.knowledge_bases and use.rag.answer_api:
        gates.append(
            f"RAG evaluation: faithfulness >= {evaluation.faithfulness}, answer relevance >= "
            f"{evaluation.answer_relevance}, context precision >= {evaluation.context_precision}"
        )
    record = use.record
    return AiSystem(
        kind=SystemKind.USE_CASE,
        name=use.name,
        model=use.model.id,
        lineage=tuple(
            f"knowledge base {kb} (curated zone, {sources[kb]})" for kb in use.knowledge_bases
        ),
        gates=tuple(gates),
        uses=tuple(system_key(SystemKind.GPU_ENDPOINT, endpoint) for endpoint in use.endpoints),
        owner=record.owner if record else "",
        escalation_contact=record.escalation_contact if record else "",
        risk_tier=record.risk_tier.value if record else "",
        intended_use=record.intended_use if record else "",
        human_review=record.human_review if record else None,
    )
