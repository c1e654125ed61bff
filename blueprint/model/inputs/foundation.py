"""The foundation stack's inputs: the network, persona roles and workload roles of one
account, and who may assume them across accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.assets import AssetKind, AssetName
from blueprint.model.endpoints import endpoint_azs, interface_endpoints
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import PlacementKind
from blueprint.model.inputs.agents import agent_role_names
from blueprint.model.personas import Job, Persona
from blueprint.model.plan import Placement, Plan
from blueprint.model.workforce import break_glass_placements


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
    asset: AssetName
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
    # The hub: its platform admins push the hub agents' images (no LOB's ML engineers there).
    hub_agent_images: bool = False


@dataclass(frozen=True)
class MetricsLinkInputs:
    """A link of the account's metrics to a governance sink: AWS's ``namespaces`` and every
    namespace starting with ``prefix`` (the platform's own: dashboards, observed answers, the
    use cases' token counts, which the chargeback reads)."""

    sink_arn: str
    namespaces: tuple[str, ...]
    prefix: str = names.METRIC_NAMESPACE_ROOT


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
        hub_agent_images=placement.kind is PlacementKind.HUB,
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
    # One prefix for every placement of the account: a filter takes 2,000 characters and five
    # operands, which a list of a central account's tenancies would outgrow.
    return MetricsLinkInputs(sink_arn=sink, namespaces=SHARED_METRIC_NAMESPACES)


# Services that run an LOB's applications, and its ETL jobs.
APPLICATION_SERVICES = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com")
AGENT_SERVICES = ("bedrock-agentcore.amazonaws.com",)
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
            asset=AssetName(AssetKind.APP_ROLE, use_case.name),
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
        asset=AssetName(AssetKind.INGESTION_ROLE, "ingestion"),
        description=f"ETL jobs of {placement.key}: the writer of its data zones",
        services=INGESTION_SERVICES,
        tags=(names.PIPELINE_TAG,),
        trusted_role_arns=trusts(names.ingestion_role_name("{prefix}")),
        assumes=becomes(names.ingestion_role_name("{prefix}")),
    )
    return (*applications, ingestion, *_agent_roles(plan, placement))


def _agent_roles(plan: Plan, placement: Placement) -> tuple[WorkloadRoleInputs, ...]:
    """One role per agent the placement runs, assumed by AgentCore's runtime only."""
    return tuple(
        WorkloadRoleInputs(
            name=role,
            asset=AssetName(AssetKind.AGENT_ROLE, agent),
            description=f"Runs the {agent} agent of {placement.key}",
            services=AGENT_SERVICES,
            tags=(names.AGENT_TAG, ("agent", agent)),
        )
        for agent, role in agent_role_names(plan, placement)
    )


def _hub_roles(plan: Plan, hub: Placement) -> tuple[WorkloadRoleInputs, ...]:
    """The hub's roles: one per consuming LOB, assumed by that LOB's applications only; the
    ingestion role, which reads the documents promoted from the LOBs' prod curated zones."""
    lobs = {lob.name: lob for lob in plan.config.lobs}
    assert hub.lob is not None
    consumers = tuple(
        WorkloadRoleInputs(
            name=names.app_role_name(hub.prefix, consumer.name),
            asset=AssetName(AssetKind.APP_ROLE, consumer.name),
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
        asset=AssetName(AssetKind.INGESTION_ROLE, "ingestion"),
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
    return (*consumers, ingestion, *_agent_roles(plan, hub))


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
