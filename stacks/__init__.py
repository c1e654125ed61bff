"""The platform's stacks: one module per layer; stacks compose constructs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack, Tags
from aws_cdk import aws_kms as kms
from constructs import Construct

from blueprint.model import names
from blueprint.model.config import OrgConfig
from blueprint.model.identity import IDENTITY_METADATA, Layer, PlacementKind, StackIdentity
from blueprint.model.inputs.budgets import budget_inputs
from blueprint.model.inputs.compliance import check_settings
from blueprint.model.inputs.data import data_inputs
from blueprint.model.inputs.foundation import foundation_inputs
from blueprint.model.inputs.genai import genai_inputs
from blueprint.model.inputs.governance import oversight_inputs, sink_regions
from blueprint.model.inputs.ml import ml_inputs
from blueprint.model.inputs.organization import model_catalogs
from blueprint.model.inputs.security import security_inputs
from blueprint.model.personas import AUDITOR
from blueprint.model.placing import plan_for
from blueprint.model.plan import Placement, Plan
from blueprint.model.workforce import admin_account, sign_ins
from stacks import workforce
from stacks.budgets import LOBS_PER_BUDGET_STACK, LobBudgetsStack
from stacks.compliance import add_compliance_gates, synthesize
from stacks.data import DataStack
from stacks.foundation import FoundationStack
from stacks.genai import GenAIStack
from stacks.governance import (
    LOBS_PER_OVERSIGHT_STACK,
    GovernanceStack,
    LobOversightStack,
    MetricsSinkStack,
)
from stacks.ml import MLStack
from stacks.organization import OrganizationStack
from stacks.security import SecurityStack
from stacks.workforce import WorkforceAssignmentsStack, WorkforceStack

PLATFORM_TAGS = {
    "lob": "platform",
    "environment": "platform",
    "cost-center": "platform",
    "data-classification": "restricted",
    "managed-by": "genai-platform-blueprint",
}


def build_platform(
    app: App,
    config: OrgConfig,
    *,
    training_code: Path,
    lob_environments: bool | Collection[str] = True,
    platform: bool = True,
    plan: Plan | None = None,
) -> Plan:
    """Add every stack of the organization to ``app`` and the compliance gates to the app.

    ``lob_environments=False`` leaves out the LOB environments' stacks (a pipeline deploys
    them); a collection of LOB names builds only those LOBs' environments (with every platform
    stack sized for the whole organization). ``platform=False`` leaves out the platform's
    stacks but the governance placement's, which LOB stacks depend on (a worker of
    ``stacks/reuse.py``). ``plan`` is the organization's, when the caller has made it.
    """
    plan = plan or plan_for(config)
    foundations: dict[str, FoundationStack] = {}
    securities: dict[str, SecurityStack] = {}
    for placement in plan.placements:
        if placement.kind is PlacementKind.LOB_ENVIRONMENT:
            if not _selected(placement, lob_environments):
                continue
        elif not platform and placement.key != plan.governance.key:
            continue
        stacks = build_placement(app, plan, placement, foundations, training_code=training_code)
        securities[placement.key] = next(s for s in stacks if isinstance(s, SecurityStack))
    if not platform:
        add_compliance_gates(app, check_settings(plan))
        return plan
    _add_organization(app, plan)
    _add_workforce(app, plan)
    governance = plan.governance
    audit = GovernanceStack(
        app,
        governance.stack_name(Layer.AUDIT),
        org_name=plan.prefix,
        auditor_role=names.role_name(plan.prefix, AUDITOR.name),
        organization_id=config.organization.id,
        management_account=config.organization.management_account,
        trail_retention_days=config.platform.trail_retention_days,
        encryption_key=securities[governance.key].logs_key,
        access_log_bucket=securities[governance.key].access_log_bucket,
        audited_roles=audited_roles(plan),
        **_stack_props(governance, "organization trail, metrics sink, central audit"),
    )
    # The central audit policy attaches to the auditor role of the foundation stack.
    audit.add_stack_dependency(foundations[governance.key])
    label(audit, governance.identity(Layer.AUDIT), governance.tags)
    _add_metrics_sinks(app, plan)
    _add_lob_oversight(app, plan, audit, securities[governance.key].logs_key)
    _add_lob_budgets(app, plan)
    add_compliance_gates(app, check_settings(plan))
    return plan


def audited_roles(plan: Plan) -> list[str]:
    """The auditor roles of the member accounts that the central auditor may assume: none in
    the decentralized model."""
    if not plan.central_oversight:
        return []
    return sorted(
        {
            names.role_name(p.prefix, AUDITOR.name)
            for p in plan.placements
            if p.account != plan.governance.account
        }
    )


def _selected(placement: Placement, lob_environments: bool | Collection[str]) -> bool:
    if isinstance(lob_environments, bool):
        return lob_environments
    return placement.lob is not None and placement.lob.name in lob_environments


def _add_metrics_sinks(app: App, plan: Plan) -> None:
    """A governance sink in each other region with LOB environments."""
    governance = plan.governance
    for region in sink_regions(plan):
        stack = MetricsSinkStack(
            app,
            f"{governance.stack_name(Layer.METRICS_SINK)}-{region}",
            org_name=plan.prefix,
            organization_id=plan.config.organization.id,
            env=Environment(account=governance.account, region=region),
            description=f"GenAI platform: metrics sink of {region} for the LOB dashboards",
            termination_protection=governance.termination_protection,
        )
        label(stack, governance.identity(Layer.METRICS_SINK), governance.tags)


def _add_lob_oversight(app: App, plan: Plan, audit: GovernanceStack, logs_key: kms.IKey) -> None:
    """Dashboards and chargebacks, LOBS_PER_OVERSIGHT_STACK LOBs per stack, in config order (a
    new LOB lands in the last stack; existing ones stay where they are)."""
    governance = plan.governance
    lobs = oversight_inputs(plan)
    for first in range(0, len(lobs), LOBS_PER_OVERSIGHT_STACK):
        number = first // LOBS_PER_OVERSIGHT_STACK + 1
        stack = LobOversightStack(
            app,
            f"{governance.stack_name(Layer.OVERSIGHT)}-{number}",
            org_name=plan.prefix,
            lobs=lobs[first : first + LOBS_PER_OVERSIGHT_STACK],
            encryption_key=logs_key,
            account_prefix=governance.prefix,
            group=str(number),
            **_stack_props(governance, f"dashboards and chargebacks of LOB group {number}"),
        )
        # It imports the reports bucket the audit stack exports.
        stack.add_stack_dependency(audit)
        label(stack, governance.identity(Layer.OVERSIGHT), governance.tags)


def _add_lob_budgets(app: App, plan: Plan) -> None:
    """Budgets in the management account, LOBS_PER_BUDGET_STACK LOBs per stack, in config
    order."""
    organization = plan.config.organization
    lobs = budget_inputs(plan)
    identity = StackIdentity(
        placement="management", kind=PlacementKind.MANAGEMENT, layer=Layer.BUDGETS
    )
    for first in range(0, len(lobs), LOBS_PER_BUDGET_STACK):
        number = first // LOBS_PER_BUDGET_STACK + 1
        stack = LobBudgetsStack(
            app,
            f"{names.BUDGETS_STACK}-{number}",
            org_name=plan.prefix,
            lobs=lobs[first : first + LOBS_PER_BUDGET_STACK],
            env=Environment(
                account=organization.management_account, region=organization.home_region
            ),
            description=f"GenAI platform: monthly budgets of LOB group {number}",
            termination_protection=True,
        )
        label(stack, identity, PLATFORM_TAGS)


def build_placement(
    scope: Construct,
    plan: Plan,
    placement: Placement,
    foundations: dict[str, FoundationStack],
    *,
    training_code: Path,
) -> list[Stack]:
    """The stacks of one placement in ``scope`` (the app or a pipeline stage), labelled.

    The placement's foundation stack is recorded in ``foundations``. Stack names are the
    construct ids in a pipeline stage too, so a pipeline takes over stacks deployed directly.
    """
    security = SecurityStack(
        scope,
        placement.stack_name(Layer.SECURITY),
        inputs=security_inputs(plan, placement),
        **_layer_props(placement, Layer.SECURITY, "keys, access logs and flow-log store"),
    )
    foundation = FoundationStack(
        scope,
        placement.stack_name(Layer.FOUNDATION),
        inputs=foundation_inputs(plan, placement),
        security=security,
        **_layer_props(placement, Layer.FOUNDATION, "private network and persona roles"),
    )
    foundations[placement.key] = foundation
    layers: list[tuple[Layer, Stack]] = [(Layer.SECURITY, security), (Layer.FOUNDATION, foundation)]
    if placement.hosts(Layer.DATA):
        layers += _lob_layers(
            scope, plan, placement, foundations, security, foundation, training_code
        )
    for layer, stack in layers:
        label(stack, placement.identity(layer), placement.tags)
    return [stack for _, stack in layers]


def _lob_layers(
    scope: Construct,
    plan: Plan,
    placement: Placement,
    foundations: Mapping[str, FoundationStack],
    security: SecurityStack,
    foundation: FoundationStack,
    training_code: Path,
) -> list[tuple[Layer, Stack]]:
    """The data, GenAI and ML stacks of an LOB environment (the data stack alone in an LOB
    account whose GenAI runs in a tenancy of a central account; no ML stack in the hub)."""
    data = DataStack(
        scope,
        placement.stack_name(Layer.DATA),
        inputs=data_inputs(plan, placement),
        security=security,
        network=foundation.network,
        **_layer_props(placement, Layer.DATA, "governed data-lake zones and Glue catalog"),
    )
    # Data-scientist grants attach to a persona role the foundation stack creates; a bucket
    # policy may only name the central auditor once that role exists (in a pipeline stage the
    # governance foundation is deployed before, outside the stage).
    data.add_stack_dependency(foundation)
    auditor = foundations.get(plan.governance.key)
    if placement.lob and placement.lob.auditor_metadata_read and auditor:
        data.add_stack_dependency(auditor)
    if not placement.hosts(Layer.GENAI):
        return [(Layer.DATA, data)]
    genai = GenAIStack(
        scope,
        placement.stack_name(Layer.GENAI),
        inputs=genai_inputs(plan, placement),
        security=security,
        foundation=foundation,
        data=data,
        **_layer_props(placement, Layer.GENAI, "guardrail, model access, invocation logging, RAG"),
    )
    if not placement.hosts(Layer.ML):
        return [(Layer.DATA, data), (Layer.GENAI, genai)]
    ml = MLStack(
        scope,
        placement.stack_name(Layer.ML),
        inputs=ml_inputs(plan, placement, training_code),
        security=security,
        foundation=foundation,
        data=data,
        **_layer_props(placement, Layer.ML, "Studio, MLflow, fine-tuning pipelines, GPU endpoints"),
    )
    return [(Layer.DATA, data), (Layer.GENAI, genai), (Layer.ML, ml)]


def _add_organization(app: App, plan: Plan) -> None:
    """Organization policies in the management account (home region)."""
    config = plan.config
    organization = config.organization
    guardrail = config.platform.org_guardrail
    stack = OrganizationStack(
        app,
        names.ORGANIZATION_STACK,
        org_name=plan.prefix,
        allowed_regions=organization.allowed_regions,
        organization_root_id=organization.root_id,
        organization_id=organization.id,
        member_accounts=list(dict.fromkeys(p.account for p in plan.placements)),
        # Where workloads run: the LOB environments' accounts (or tenancies') and the hub's.
        workload_accounts=list(
            dict.fromkeys(
                p.account for p in [*plan.lob_environments(), *([plan.hub] if plan.hub else [])]
            )
        ),
        model_catalogs=model_catalogs(plan),
        lob_names=[lob.name for lob in config.lobs],
        protected_role_patterns=[names.platform_role_pattern(plan.prefix)],
        exempt_role_patterns=[
            names.cdk_role_pattern("cfn-exec"),
            "arn:*:iam::*:role/OrganizationAccountAccessRole",
        ],
        enforce_bedrock_guardrail=guardrail is not None,
        guardrail_arn=guardrail.arn if guardrail else None,
        guardrail_version=guardrail.version if guardrail else None,
        # GPU instances (g5, p4d, ...) have local NVMe storage and reject volume keys.
        sagemaker_require_volume_key=False,
        agent_identity_providers=organization.agent_identity_providers,
        env=Environment(account=organization.management_account, region=organization.home_region),
        description="GenAI platform organization: SCPs, RCP, AI opt-out, tag policy",
        termination_protection=True,
    )
    identity = StackIdentity(
        placement="management", kind=PlacementKind.MANAGEMENT, layer=Layer.ORGANIZATION
    )
    label(stack, identity, PLATFORM_TAGS)


def _add_workforce(app: App, plan: Plan) -> None:
    """Identity Center's permission sets and assignments, where the file declares them."""
    identity = plan.config.organization.identity
    if identity is None:
        return
    account = admin_account(plan)
    where = next((p for p in plan.placements if p.account == account), None)
    identity_of = StackIdentity(
        placement=where.key if where else "management",
        kind=where.kind if where else PlacementKind.MANAGEMENT,
        layer=Layer.WORKFORCE,
    )
    everyone = sign_ins(plan)
    chunks = workforce.assignments(everyone)
    env = Environment(account=account, region=plan.config.organization.home_region)
    first = WorkforceStack(
        app,
        names.WORKFORCE_STACK,
        instance_arn=identity.instance_arn,
        permission_sets=workforce.permission_sets(everyone),
        assignments=chunks[: workforce.ASSIGNMENTS_PER_STACK],
        session_hours=identity.session_hours,
        env=env,
        description="GenAI platform workforce: Identity Center permission sets and assignments",
        termination_protection=True,
    )
    label(first, identity_of, PLATFORM_TAGS)
    arns = {
        persona: permission_set.attr_permission_set_arn
        for persona, permission_set in first.access.permission_sets.items()
    }
    size = workforce.ASSIGNMENTS_PER_STACK
    for start in range(size, len(chunks), size):
        number = start // size + 1
        more = WorkforceAssignmentsStack(
            app,
            f"{names.WORKFORCE_STACK}-{number}",
            instance_arn=identity.instance_arn,
            permission_set_arns=arns,
            assignments=chunks[start : start + size],
            env=env,
            description=f"GenAI platform workforce: Identity Center assignments, part {number}",
            termination_protection=True,
        )
        more.add_dependency(first)
        label(more, identity_of, PLATFORM_TAGS)


def _lob_accounts(config: OrgConfig) -> dict[str, dict[str, str]]:
    return {
        lob.name: {name.value: env.account for name, env in lob.environments.items()}
        for lob in config.lobs
    }


def _stack_props(placement: Placement, what: str) -> dict[str, Any]:
    return {
        "env": Environment(account=placement.account, region=placement.region),
        "description": f"GenAI platform {placement.key}: {what}",
        "termination_protection": placement.termination_protection,
    }


def _layer_props(placement: Placement, layer: Layer, what: str) -> dict[str, Any]:
    """Props of a placement's stack; its name is its id, in a pipeline stage too."""
    return {"stack_name": placement.stack_name(layer), **_stack_props(placement, what)}


def label(stack: Stack, identity: StackIdentity, tags: Mapping[str, str]) -> None:
    """Tag ``stack`` and record its identity in the assembly, where the tools read it."""
    stack.node.add_metadata(IDENTITY_METADATA, identity.as_metadata())
    stack_tags = Tags.of(stack)
    for key, value in tags.items():
        stack_tags.add(key, value)


__all__ = ["build_placement", "build_platform", "label", "synthesize"]
