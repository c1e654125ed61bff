"""What the plan hands each stack of a placement: narrow, typed inputs.

Stacks receive these and never the plan or the organization file, so that what a stack
depends on shows in its signature, and every placement decision (which personas, which
models, which knowledge bases, which environment gets Studio, pipelines or endpoints) is
taken here, from the config, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blueprint.model import names
from blueprint.model.config import (
    BedrockModel,
    Chunking,
    DataClassification,
    DatasetConfig,
    EndpointConfig,
    FineTuningConfig,
    IngestionConfig,
    LobConfig,
    OpenWeightsModel,
    PromptConfig,
    RagConfig,
    VectorStoreKind,
)
from blueprint.model.endpoints import endpoint_azs, interface_endpoints
from blueprint.model.fields import EnvironmentName
from blueprint.model.guardrail import GuardrailPolicy
from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.personas import AUDITOR, DATA_ENGINEER, DATA_SCIENTIST, Job, Persona
from blueprint.model.plan import Placement, Plan, promoted_models
from blueprint.model.workforce import break_glass_placements
from genai_constructs.checks import CheckSettings
from genai_constructs.gpu_memory import GPU_INSTANCES
from genai_constructs.naming import merged_models_prefix, parameter_path


@dataclass(frozen=True)
class SecurityInputs:
    """Keys and log stores of one account.

    :param label: the placement key, named in key descriptions.
    :param retain: keep keys and log stores when the stack is deleted.
    :param invocation_log_stores: add the stores of Bedrock model invocation logs (LOB
        environments).
    :param s3_reader_arns: roles of other accounts that may decrypt the objects the data
        stack shares with them (prod's release role, in the LOB's nonprod registry).
    :param event_delivery: EventBridge may encrypt with the logs key (it queues the
        knowledge bases' ingestion requests).
    :param invocation_log_group_name: a fixed name for the invocation log group (a central
        account's, which the tenancies' roles are denied by name).
    """

    label: str
    retain: bool
    log_retention_days: int
    noncurrent_version_days: int
    invocation_log_stores: bool
    s3_reader_arns: tuple[str, ...] = ()
    event_delivery: bool = False
    invocation_log_group_name: str | None = None


@dataclass(frozen=True)
class PersonaInputs:
    """A persona role of an account, who may assume it, and what the plan adds to its job.

    :param jobs: the persona's job policies that apply here (pipelines outside prod only;
        model approvals in a tenancy only where it has model package groups).
    :param kept_from_lob_data: explicitly denied reading or writing LOB data, decrypting it
        and calling models (the platform team and auditors in LOB accounts).
    :param assumes: roles of other accounts the persona may become (its counterpart in the
        LOB's tenancy of a central account).
    :param studio_users: the Studio user profiles the persona opens (the data scientist where
        Studio runs): those of the organization file, no other.
    """

    persona: Persona
    trusted_accounts: tuple[str, ...]
    service_principals: tuple[str, ...] = ()
    trusted_role_arns: tuple[str, ...] = ()
    jobs: tuple[Job, ...] = ()
    kept_from_lob_data: bool = False
    assumes: tuple[str, ...] = ()
    studio_users: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkloadRoleInputs:
    """A role a workload runs as, not a human: a use case's application, or the ingestion
    role that ETL jobs write data with.

    :param asset: how the platform names it (``app-role/<use case>``, ``ingestion-role/...``).
    :param services: the AWS services that run the workload and may assume the role.
    :param tags: principal tags; bucket policies and access decisions read them.
    :param trusted_role_arns: roles of other accounts that may assume it (the same workload's
        role in the LOB's own account, for a tenancy's role).
    :param assumes: roles of other accounts it may assume (its counterpart in the LOB's
        tenancy; its LOB's role in the hub).
    :param remote_reads: prefixes of other accounts' buckets it reads (the hub's ingestion
        role: the documents of the knowledge bases promoted from LOBs).
    """

    name: str
    asset: str
    description: str
    services: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    trusted_role_arns: tuple[str, ...] = ()
    assumes: tuple[str, ...] = ()
    remote_reads: tuple[RemotePrefix, ...] = ()


@dataclass(frozen=True)
class RemotePrefix:
    """Objects under ``prefix`` in the buckets of another account, decrypted through S3."""

    account: str
    region: str
    prefix: str


# What the delivery pipelines of the tooling account use besides the platform's services.
DELIVERY_SERVICES = ("codebuild", "codepipeline", "codeconnections", "codestar-connections")


@dataclass(frozen=True)
class FoundationInputs:
    """The network and persona roles of one account.

    :param extra_boundary_services: services the account's boundary allows besides the
        platform's (the delivery pipelines' in the tooling account).
    :param metrics_link: where the account shares its metrics with the governance account's
        dashboards (LOB environments, once the region's sink is in the organization file).
    :param interface_endpoints: the VPC's interface endpoints (``blueprint.model.endpoints``);
        ``endpoint_azs`` the zones they are in.
    :param tenant: in a tenancy of a central account, the LOB: its roles are fenced off the
        SageMaker resources tagged with another LOB, and ``tenant_model_groups`` are the only
        model package groups they reach (and its ML engineer approves in).
    :param account_invocation_logs: the ARNs of the account's invocation log groups when other
        placements keep them (a tenancy's central account, one per region): the platform
        team and auditors are denied reading them.
    :param break_glass_alerts: where the account's break-glass role is (the first placement
        of each account), who hears that it was assumed; ``None`` elsewhere.
    """

    prefix: str
    organization_id: str
    vpc_cidr: str
    azs: tuple[str, ...]
    personas: tuple[PersonaInputs, ...]
    unguarded_model_ids: tuple[str, ...]
    extra_boundary_services: tuple[str, ...] = ()
    workload_roles: tuple[WorkloadRoleInputs, ...] = ()
    metrics_link: MetricsLinkInputs | None = None
    interface_endpoints: tuple[str, ...] = ()
    endpoint_azs: tuple[str, ...] = ()
    tenant: str | None = None
    tenant_model_groups: tuple[str, ...] = ()
    account_invocation_logs: tuple[str, ...] = ()
    break_glass_alerts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MetricsLinkInputs:
    """A link of the account's metrics (only ``namespaces``) to a governance sink."""

    sink_arn: str
    namespaces: tuple[str, ...]


@dataclass(frozen=True)
class VectorStoreInputs:
    """The LOB-owned vector store of one knowledge base (kept in the data stack)."""

    knowledge_base: str
    kind: VectorStoreKind
    dimensions: int
    collection_name: str
    standby_replicas: bool


@dataclass(frozen=True)
class DataInputs:
    """The data lake of one LOB environment.

    :param pipeline_writes_only: only pipeline-tagged principals write objects (operational
        environments).
    :param data_scientist_arn: the persona that reads curated and training data (interactive
        environments only).
    :param metadata_reader_arns: roles of other accounts that may list objects and read bucket
        settings (the central auditor when the LOB allows it).
    :param ingestion_role: the name of the role ETL jobs write the zones with.
    :param shared_artifacts: prefixes of the artifacts zone that roles of other accounts may
        read (each promoted pipeline's merged models, to prod's release role).
    :param shared_curated: prefixes of the curated zone that roles of other accounts may read
        (the documents of knowledge bases promoted to the hub, to its ingestion role).
    :param prefix: the organization's name prefix (the account's boundary is named after it).
    :param tenancy: the zones are a tenancy's in a central account: only principals tagged
        with the LOB may list, read or write them.
    :param datasets: what the environment's ETL curates (none in a tenancy: the LOB's data
        lands in its own account); ``etl_schedule`` when it also runs unasked.
    :param data_engineer_arn: the persona that lands raw data (where people may write) and
        reads the raw and curated zones, where the environment has an ETL.
    :param alert_emails: who hears the ETL's alarms; ``metric_namespace`` where its quality
        scores go.
    """

    prefix: str
    lob: str
    environment: EnvironmentName
    pipeline_writes_only: bool
    noncurrent_version_days: int
    raw_object_lock_days: int | None
    data_scientist_arn: str | None
    metadata_reader_arns: tuple[str, ...]
    vector_stores: tuple[VectorStoreInputs, ...]
    ingestion_role: str
    shared_artifacts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shared_curated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    event_zones: tuple[str, ...] = ()
    tenancy: bool = False
    datasets: tuple[DatasetConfig, ...] = ()
    etl_schedule: str | None = None
    data_engineer_arn: str | None = None
    alert_emails: tuple[str, ...] = ()
    metric_namespace: str = ""

    @property
    def glue_database_name(self) -> str:
        return f"{self.lob}_{self.environment.value}_curated".replace("-", "_")


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


@dataclass(frozen=True)
class GenAIInputs:
    """Governed Bedrock access of one LOB environment.

    :param invokers: the personas that may call models besides the application role (none
        in prod).
    :param parameter_path: where the environment publishes its IDs (SSM parameters).
    :param release_gate_account: the tooling account whose delivery pipeline runs the RAG
        evaluations before a release to prod (nonprod environments with a pipeline).
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


@dataclass(frozen=True)
class StudioInputs:
    domain_name: str
    execution_role: str
    users: tuple[str, ...]
    idle_minutes: int
    mlflow: bool = True
    owners: tuple[tuple[str, str], ...] = ()
    shared_spaces: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FineTuningInputs:
    """A pipeline; ``job_tags`` the tags of its jobs (the LOB's, in a tenancy: the fence of
    the account's other tenancies reads them)."""

    tuning: FineTuningConfig
    base_model: OpenWeightsModel
    job_tags: tuple[tuple[str, str], ...] = ()

    @property
    def gpus(self) -> int:
        return GPU_INSTANCES[self.base_model.training_instance].gpus


@dataclass(frozen=True)
class ReleaseInputs:
    """The release of approved fine-tuned models to this environment's endpoints.

    :param role_name: the release function's role.
    :param bus_name: the event bus the registry forwards approvals to (prod).
    :param registry_account: the LOB's nonprod account, where the pipelines register models;
        a release from another account waits for this account's own approval.
    :param models: the fine-tuning pipelines whose models this environment's endpoints serve.
    """

    role_name: str
    bus_name: str
    registry_account: str
    models: tuple[str, ...]


@dataclass(frozen=True)
class EndpointInputs:
    """A GPU endpoint and the application roles (by name) whose use cases call it."""

    endpoint: EndpointConfig
    serving_instance: str
    consumers: tuple[str, ...] = ()
    fine_tuned: bool = False


@dataclass(frozen=True)
class MLInputs:
    """Studio (interactive), fine-tuning pipelines (nonprod), GPU endpoints (operational).

    :param release_roles: roles of other accounts that may read the registered models (the
        release role of the LOB's prod account).
    :param release_event_bus: where approvals are forwarded (prod's default event bus).
    :param release: the release of approved models to this environment's endpoints.
    :param training_code: directory of the fine-tuning recipe the pipelines upload.
    :param parameter_path: where the environment publishes its IDs (its endpoints' names).
    :param recipe_repository: where the recipe image of its fine-tuning pipelines is built.
    """

    prefix: str
    studio: StudioInputs | None
    fine_tuning: tuple[FineTuningInputs, ...]
    release_roles: tuple[str, ...]
    release_event_bus: str | None
    release: ReleaseInputs | None
    endpoints: tuple[EndpointInputs, ...]
    monitor_endpoints: bool
    training_code: Path
    alert_emails: tuple[str, ...]
    parameter_path: str
    recipe_repository: str | None = None


@dataclass(frozen=True)
class WatchedEnvironment:
    environment: EnvironmentName
    account: str
    metric_namespace: str


@dataclass(frozen=True)
class LobOversightInputs:
    """What the governance account watches of one LOB: its metrics."""

    name: str
    region: str
    environments: tuple[WatchedEnvironment, ...]


@dataclass(frozen=True)
class LobBudgetInputs:
    """One LOB's monthly budget over the spend of its accounts, and who hears about it."""

    name: str
    budget_usd_month: int
    accounts: tuple[str, ...]
    alert_emails: tuple[str, ...]
    tenancy_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelCatalogScope:
    """The Bedrock models a group of accounts may invoke: those approved for its data.

    :param name: the group, the data classification of its accounts.
    """

    name: str
    model_ids: tuple[str, ...]
    accounts: tuple[str, ...]


def model_catalogs(plan: Plan) -> tuple[ModelCatalogScope, ...]:
    """One scope per data classification in use: its accounts and the catalog models (text and
    embedding) approved for it. Platform accounts hold restricted data; a central account
    hosting several LOBs' tenancies gets the scope of its least sensitive one (each tenancy's
    own policies narrow it to its LOB's classification)."""
    classification_of: dict[str, DataClassification] = {}
    for placement in plan.placements:
        known = classification_of.get(placement.account)
        if known is None or placement.classification.rank < known.rank:
            classification_of[placement.account] = placement.classification
    scopes = []
    for classification in DataClassification:
        accounts = tuple(a for a, c in classification_of.items() if c is classification)
        if accounts:
            models = tuple(
                m.id
                for m in plan.config.catalog.bedrock
                if m.max_classification.rank >= classification.rank
            )
            scopes.append(ModelCatalogScope(classification.value, models, accounts))
    return tuple(scopes)


def security_inputs(plan: Plan, placement: Placement) -> SecurityInputs:
    lob_environment = placement.lob is not None
    return SecurityInputs(
        label=placement.key,
        retain=placement.retain_stateful,
        log_retention_days=placement.log_retention_days,
        noncurrent_version_days=placement.protection.noncurrent_version_days,
        invocation_log_stores=placement.hosts(Layer.GENAI)
        and lob_environment
        and not placement.is_tenancy,
        s3_reader_arns=(
            tuple(
                sorted(
                    {
                        arn
                        for shares in (
                            _shared_artifacts(plan, placement),
                            _shared_curated(plan, placement),
                        )
                        for arns in shares.values()
                        for arn in arns
                    }
                )
            )
            if lob_environment
            else ()
        ),
        event_delivery=bool(plan.knowledge_bases(placement)) if lob_environment else False,
        invocation_log_group_name=(
            names.central_invocation_log_group(placement.key)
            if placement.kind is PlacementKind.CENTRAL
            else None
        ),
    )


def _prod_release_role(plan: Plan, lob: LobConfig) -> str | None:
    """Prod's release role, when prod serves a model the LOB's nonprod pipelines train."""
    prod = plan.workspace(lob, EnvironmentName.PROD)
    nonprod = plan.workspace(lob, EnvironmentName.NONPROD)
    if prod is None or nonprod is None or not promoted_models(lob):
        return None
    return names.role_arn(prod.account, names.release_role_name(prod.prefix))


def _shared_artifacts(plan: Plan, placement: Placement) -> dict[str, tuple[str, ...]]:
    """Nonprod shares each promoted pipeline's merged models with prod's release role."""
    lob, environment = _lob_environment(placement)
    reader = _prod_release_role(plan, lob)
    if (
        environment is not EnvironmentName.NONPROD
        or reader is None
        or not placement.hosts(Layer.ML)
    ):
        return {}
    return {merged_models_prefix(model): (reader,) for model in promoted_models(lob)}


def _shared_curated(plan: Plan, placement: Placement) -> dict[str, tuple[str, ...]]:
    """An LOB's prod shares the documents of its promoted knowledge bases with the hub's
    ingestion role."""
    hub, lob = plan.hub, placement.lob
    if hub is None or lob is None or placement.kind is not PlacementKind.LOB_ENVIRONMENT:
        return {}
    if placement.environment is not EnvironmentName.PROD:
        return {}
    reader = names.role_arn(hub.account, names.ingestion_role_name(hub.prefix))
    return {kb.source_prefix: (reader,) for kb in plan.promoted_knowledge_bases(lob)}


def foundation_inputs(plan: Plan, placement: Placement) -> FoundationInputs:
    return FoundationInputs(
        prefix=placement.prefix,
        organization_id=plan.config.organization.id,
        vpc_cidr=placement.vpc_cidr,
        azs=placement.azs,
        personas=tuple(
            PersonaInputs(
                persona=persona,
                trusted_accounts=(
                    () if _enters_from_lob_account(placement, persona) else (placement.account,)
                ),
                trusted_role_arns=_trusted_roles(plan, placement, persona),
                assumes=tuple(
                    plan.role_arn(tenancy, persona)
                    for tenancy in _tenancy_of(plan, placement)
                    if persona.works_for_lob
                ),
                service_principals=persona.trusted_services,
                jobs=tuple(job for job in persona.jobs if _job_applies(plan, placement, job)),
                kept_from_lob_data=persona.kept_from_lob_data and placement.lob is not None,
                studio_users=(
                    tuple(user.name for user in placement.lob.ml.studio.users)
                    if Job.STUDIO in persona.jobs
                    and placement.lob is not None
                    and plan.hosts_studio(placement)
                    else ()
                ),
            )
            for persona in placement.personas
        ),
        unguarded_model_ids=plan.unguarded_model_ids(),
        extra_boundary_services=(
            (DELIVERY_SERVICES if placement.kind is PlacementKind.TOOLING else ())
            # The recipe image's build, where fine-tuning pipelines run (the persona guard
            # still denies people starting or changing builds).
            + (("codebuild",) if plan.fine_tuning(placement) else ())
        ),
        workload_roles=_workload_roles(plan, placement),
        metrics_link=_metrics_link(plan, placement),
        interface_endpoints=interface_endpoints(plan, placement),
        endpoint_azs=endpoint_azs(placement),
        tenant=placement.lob.name if placement.is_tenancy and placement.lob else None,
        tenant_model_groups=_model_groups(plan, placement) if placement.is_tenancy else (),
        account_invocation_logs=_central_invocation_logs(plan, placement),
        break_glass_alerts=(
            tuple(plan.config.platform.alert_emails)
            if placement in break_glass_placements(plan)
            else None
        ),
    )


def _central_invocation_logs(plan: Plan, placement: Placement) -> tuple[str, ...]:
    """The invocation log groups of a central account, in every region, that another
    placement of it keeps: for a tenancy, all; for a central placement, the other regions'."""
    if not placement.is_tenancy and placement.kind is not PlacementKind.CENTRAL:
        return ()
    return tuple(
        f"arn:{names.PARTITION}:logs:{central.region}:{central.account}:log-group:"
        + names.central_invocation_log_group(central.key)
        for central in plan.placements
        if central.kind is PlacementKind.CENTRAL
        and central.account == placement.account
        and central != placement
    )


# AWS namespaces the LOB dashboards read besides the platform's own.
SHARED_METRIC_NAMESPACES = ("AWS/Bedrock", "AWS/SageMaker")


def _metrics_link(plan: Plan, placement: Placement) -> MetricsLinkInputs | None:
    """An account links to a sink once: the central placement of a central account, else its
    LOB placement, links the namespaces of every placement of the account and region."""
    sink = plan.config.platform.metrics_sinks.get(placement.region)
    if sink is None or not plan.central_oversight:
        return None
    sharing = [
        p
        for p in plan.placements
        if p.kind in (PlacementKind.CENTRAL, PlacementKind.LOB_ENVIRONMENT)
        and (p.account, p.region) == (placement.account, placement.region)
    ]
    if not sharing or sharing[0] != placement:
        return None
    return MetricsLinkInputs(
        sink_arn=sink,
        namespaces=(
            *SHARED_METRIC_NAMESPACES,
            *(names.metric_namespace(p.key) for p in sharing),
        ),
    )


# AWS namespaces the LOB dashboards read besides the platform's own.
def sink_regions(plan: Plan) -> list[str]:
    """Regions with LOB environments, other than the governance account's own (whose sink is
    the governance stack's)."""
    home = plan.governance.region
    if not plan.central_oversight:
        return []
    return sorted({p.region for p in plan.lob_environments()} - {home})


# Services that run an LOB's applications, and its ETL jobs.
APPLICATION_SERVICES = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com")
INGESTION_SERVICES = (
    "glue.amazonaws.com",
    "lambda.amazonaws.com",
    "states.amazonaws.com",
    "ecs-tasks.amazonaws.com",
)


def _workload_roles(plan: Plan, placement: Placement) -> tuple[WorkloadRoleInputs, ...]:
    """One role per use case, and the ingestion role (LOB environments only). Between an LOB
    account and its tenancy, each role may become its counterpart in the tenancy; an LOB's
    applications may become its role in the hub."""
    lob = placement.lob
    if lob is None:
        return ()
    if placement.kind is PlacementKind.HUB:
        return _hub_roles(plan, placement)
    tenancies = _tenancy_of(plan, placement)
    home = [_lob_account_of(plan, placement)] if placement.is_tenancy else []
    hub_role = plan.hub_consumer(lob)

    def becomes(name: str) -> tuple[str, ...]:
        """The role ``name`` (given a prefix) in the tenancy."""
        return tuple(names.role_arn(t.account, name.format(prefix=t.prefix)) for t in tenancies)

    def trusts(name: str) -> tuple[str, ...]:
        """The role ``name`` in the LOB's own account, for a tenancy's role."""
        return tuple(names.role_arn(h.account, name.format(prefix=h.prefix)) for h in home)

    applications = tuple(
        WorkloadRoleInputs(
            name=names.app_role_name(placement.prefix, use_case.name),
            asset=f"app-role/{use_case.name}",
            description=f"Runs the {use_case.name} application of {placement.key}",
            services=APPLICATION_SERVICES,
            tags=(names.APPLICATION_TAG, ("use-case", use_case.name)),
            trusted_role_arns=trusts(names.app_role_name("{prefix}", use_case.name)),
            assumes=becomes(names.app_role_name("{prefix}", use_case.name))
            + ((hub_role,) if hub_role else ()),
        )
        for use_case in lob.genai.use_cases
    )
    ingestion = WorkloadRoleInputs(
        name=names.ingestion_role_name(placement.prefix),
        asset="ingestion-role/ingestion",
        description=f"ETL jobs of {placement.key}: the writer of its data zones",
        services=INGESTION_SERVICES,
        tags=(names.PIPELINE_TAG,),
        trusted_role_arns=trusts(names.ingestion_role_name("{prefix}")),
        assumes=becomes(names.ingestion_role_name("{prefix}")),
    )
    return (*applications, ingestion)


def _hub_roles(plan: Plan, hub: Placement) -> tuple[WorkloadRoleInputs, ...]:
    """The hub's roles: one per consuming LOB, assumed by that LOB's applications only; the
    ingestion role, which reads the documents promoted from the LOBs' prod curated zones."""
    lobs = {lob.name: lob for lob in plan.config.lobs}
    assert hub.lob is not None
    consumers = tuple(
        WorkloadRoleInputs(
            name=names.app_role_name(hub.prefix, consumer.name),
            asset=f"app-role/{consumer.name}",
            description=f"The {consumer.name} LOB's use of the hub's shared assets",
            services=APPLICATION_SERVICES,
            tags=(names.APPLICATION_TAG, ("use-case", consumer.name)),
            trusted_role_arns=tuple(
                names.role_arn(workspace.account, names.app_role_name(workspace.prefix, use.name))
                for name, _ in lobs[consumer.name].environments.items()
                for workspace in [plan.workspace(lobs[consumer.name], name)]
                if workspace is not None
                for use in lobs[consumer.name].genai.use_cases
            ),
        )
        for consumer in hub.lob.genai.use_cases
    )
    ingestion = WorkloadRoleInputs(
        name=names.ingestion_role_name(hub.prefix),
        asset="ingestion-role/ingestion",
        description="ETL jobs of the hub: copy promoted documents, write the hub's zones",
        services=INGESTION_SERVICES,
        tags=(names.PIPELINE_TAG,),
        remote_reads=tuple(
            RemotePrefix(prod.account, prod.region, kb.source_prefix)
            for lob in plan.config.lobs
            for prod in [plan.workspace(lob, EnvironmentName.PROD)]
            if prod is not None
            for kb in plan.promoted_knowledge_bases(lob)
        ),
    )
    return (*consumers, ingestion)


def _job_applies(plan: Plan, placement: Placement, job: Job) -> bool:
    """Pipelines are never started by hand in prod; in a tenancy, models are approved only in
    its own model package groups (if it has any)."""
    if job is Job.PIPELINES:
        return placement.environment is not EnvironmentName.PROD
    if job is Job.MODEL_APPROVALS:
        return not placement.is_tenancy or bool(_model_groups(plan, placement))
    return True


def _model_groups(plan: Plan, placement: Placement) -> tuple[str, ...]:
    """The model package groups of a placement: its pipelines' (nonprod), its releases'."""
    return tuple(t.name for t in plan.fine_tuning(placement)) + plan.released_models(placement)


def _enters_from_lob_account(placement: Placement, persona: Persona) -> bool:
    """The LOB's own people enter its tenancy from the LOB's account, never from the central
    account (where other LOBs' roles live)."""
    return placement.is_tenancy and persona.works_for_lob


def _trusted_roles(plan: Plan, placement: Placement, persona: Persona) -> tuple[str, ...]:
    """Personas are assumed from their own account; the auditor also by the central auditor
    of the governance account (that one role, not the whole account), unless the model is
    decentralized; in a tenancy the LOB's people come from the LOB's own account (that
    persona's role there)."""
    governance = plan.governance
    if _enters_from_lob_account(placement, persona):
        return (plan.role_arn(_lob_account_of(plan, placement), persona),)
    if (
        persona.centrally_audited
        and placement.account != governance.account
        and plan.central_oversight
    ):
        return (plan.role_arn(governance, persona),)
    return ()


def _lob_account_of(plan: Plan, tenancy: Placement) -> Placement:
    assert tenancy.tenancy_of is not None
    return plan.placement(tenancy.tenancy_of)


def _tenancy_of(plan: Plan, placement: Placement) -> list[Placement]:
    """The tenancy of an LOB environment whose GenAI runs in a central account."""
    return [plan.placement(placement.tenancy)] if placement.tenancy else []


def data_inputs(plan: Plan, placement: Placement) -> DataInputs:
    lob, environment = _lob_environment(placement)
    knowledge_bases = plan.knowledge_bases(placement)
    datasets = () if placement.is_tenancy else tuple(lob.data.datasets)
    return DataInputs(
        prefix=placement.prefix,
        lob=lob.name,
        environment=environment,
        pipeline_writes_only=environment.operational,
        noncurrent_version_days=placement.protection.noncurrent_version_days,
        raw_object_lock_days=placement.protection.raw_object_lock_days,
        data_scientist_arn=(
            None if environment.operational else plan.role_arn(placement, DATA_SCIENTIST)
        ),
        metadata_reader_arns=(
            (plan.role_arn(plan.governance, AUDITOR),)
            if lob.auditor_metadata_read and plan.central_oversight
            else ()
        ),
        vector_stores=tuple(
            VectorStoreInputs(
                knowledge_base=kb.name,
                kind=kb.vector_store,
                dimensions=plan.config.model(kb.embedding_model).dimensions,
                collection_name=names.collection_name(placement.key, kb.name),
                standby_replicas=environment is EnvironmentName.PROD,
            )
            for kb in knowledge_bases
        ),
        ingestion_role=names.ingestion_role_name(placement.prefix),
        shared_artifacts=_shared_artifacts(plan, placement),
        shared_curated=_shared_curated(plan, placement),
        tenancy=placement.is_tenancy,
        event_zones=("curated",) if any(kb.ingestion.on_upload for kb in knowledge_bases) else (),
        datasets=datasets,
        etl_schedule=lob.data.etl_schedule if datasets else None,
        data_engineer_arn=plan.role_arn(placement, DATA_ENGINEER) if datasets else None,
        alert_emails=tuple(plan.alert_emails(lob)),
        metric_namespace=names.metric_namespace(placement.key),
    )


def genai_inputs(plan: Plan, placement: Placement) -> GenAIInputs:
    lob, environment = _lob_environment(placement)
    config = plan.config
    present = {kb.name for kb in plan.knowledge_bases(placement)}
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
            )
            for use in lob.genai.use_cases
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
    )


def ml_inputs(plan: Plan, placement: Placement, training_code: Path) -> MLInputs:
    lob, environment = _lob_environment(placement)
    config = plan.config
    prod = plan.workspace(lob, EnvironmentName.PROD)
    nonprod = plan.workspace(lob, EnvironmentName.NONPROD)
    tuned = {tuning.name: tuning.base_model for tuning in lob.ml.fine_tuning}
    prod_release = _prod_release_role(plan, lob)
    is_registry = environment is EnvironmentName.NONPROD
    promoted = promoted_models(lob)
    released = plan.released_models(placement)
    return MLInputs(
        prefix=placement.prefix,
        studio=(
            StudioInputs(
                domain_name=placement.key,
                execution_role=names.role_name(placement.prefix, DATA_SCIENTIST.name),
                users=tuple(user.name for user in lob.ml.studio.users),
                owners=tuple((user.name, user.user_name) for user in lob.ml.studio.users),
                idle_minutes=lob.ml.studio.idle_minutes,
                mlflow=lob.ml.studio.mlflow,
                shared_spaces=tuple(
                    (space.name, space.owner) for space in lob.ml.studio.shared_spaces
                ),
            )
            if plan.hosts_studio(placement)
            else None
        ),
        fine_tuning=tuple(
            FineTuningInputs(
                tuning,
                config.open_weights(tuning.base_model),
                job_tags=(("lob", lob.name),) if placement.is_tenancy else (),
            )
            for tuning in plan.fine_tuning(placement)
        ),
        release_roles=(prod_release,) if is_registry and prod_release else (),
        release_event_bus=(
            names.event_bus_arn(prod.account, prod.region, names.release_bus_name(prod.prefix))
            if is_registry and prod_release and prod
            else None
        ),
        release=(
            ReleaseInputs(
                role_name=names.release_role_name(placement.prefix),
                bus_name=names.release_bus_name(placement.prefix),
                registry_account=nonprod.account,
                models=released,
            )
            if nonprod and released
            else None
        ),
        endpoints=tuple(
            EndpointInputs(
                endpoint,
                config.open_weights(tuned.get(endpoint.model, endpoint.model)).serving_instance,
                consumers=tuple(
                    names.app_role_name(placement.prefix, use.name)
                    for use in lob.genai.use_cases
                    if endpoint.name in use.endpoints
                ),
                fine_tuned=endpoint.model in promoted,
            )
            for endpoint in plan.gpu_endpoints(placement)
        ),
        monitor_endpoints=environment is EnvironmentName.PROD,
        training_code=training_code,
        alert_emails=tuple(plan.alert_emails(lob)),
        parameter_path=parameter_path(lob.name, environment.value),
        recipe_repository=(
            names.recipe_repository_name(lob.name) if plan.fine_tuning(placement) else None
        ),
    )


def check_settings(plan: Plan) -> CheckSettings:
    """What the platform's compliance pack checks against: the organization's regions and the
    models it lets callers invoke without a guardrail (the embedding models)."""
    return CheckSettings(
        allowed_regions=tuple(plan.config.organization.allowed_regions),
        unguarded_model_ids=plan.unguarded_model_ids(),
    )


def oversight_inputs(plan: Plan) -> list[LobOversightInputs]:
    """Every LOB in config order (none in the decentralized model); its metrics are read in
    the region of its first environment's workspace (its own account, or its tenancy)."""
    if not plan.central_oversight:
        return []
    watched = []
    for lob in plan.config.lobs:
        workspaces = [
            workspace
            for name, _ in lob.environments.items()
            for workspace in [plan.workspace(lob, name)]
            if workspace is not None and workspace.environment is not None
        ]
        watched.append(
            LobOversightInputs(
                name=lob.name,
                region=workspaces[0].region,
                environments=tuple(
                    WatchedEnvironment(
                        environment=w.environment,
                        account=w.account,
                        metric_namespace=names.metric_namespace(w.key),
                    )
                    for w in workspaces
                    if w.environment is not None
                ),
            )
        )
    return watched


def _lob_environment(placement: Placement) -> tuple[LobConfig, EnvironmentName]:
    if placement.lob is None or placement.environment is None:
        raise ValueError(f"{placement.key} is not an LOB environment")
    return placement.lob, placement.environment


def budget_inputs(plan: Plan) -> list[LobBudgetInputs]:
    """Every LOB in config order, with the accounts of all its environments."""
    return [
        LobBudgetInputs(
            name=lob.name,
            budget_usd_month=lob.budget_usd_month,
            accounts=tuple(env.account for _, env in lob.environments.items()),
            alert_emails=tuple(plan.alert_emails(lob)),
            tenancy_accounts=tuple(
                p.account for p in plan.lob_environments() if p.lob == lob and p.is_tenancy
            ),
        )
        for lob in plan.config.lobs
    ]
