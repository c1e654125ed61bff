"""The platform's stacks: one module per layer; stacks compose constructs."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aws_cdk import App, Environment, Stack, Tags
from constructs import Construct

from blueprint.model.config import OrgConfig
from blueprint.model.plan import Placement, PlacementKind, Plan, plan_for
from stacks.compliance import add_compliance_gates, synthesize
from stacks.data import DataStack
from stacks.foundation import FoundationStack
from stacks.genai import GenAIStack
from stacks.governance import LOBS_PER_OVERSIGHT_STACK, GovernanceStack, LobOversightStack
from stacks.ml import MLStack
from stacks.organization import OrganizationStack
from stacks.security import SecurityStack


def build_platform(
    app: App, config: OrgConfig, *, lob_environments: bool | Collection[str] = True
) -> Plan:
    """Add every stack of the organization to ``app`` and the compliance gates to the app.

    ``lob_environments=False`` leaves out the LOB environments' stacks (a pipeline deploys
    them); a collection of LOB names builds only those LOBs' environments (with every platform
    stack sized for the whole organization).
    """
    plan = plan_for(config)
    foundations: dict[str, FoundationStack] = {}
    securities: dict[str, SecurityStack] = {}
    for placement in plan.placements:
        if placement.kind is PlacementKind.LOB_ENVIRONMENT and not _selected(
            placement, lob_environments
        ):
            continue
        stacks = build_placement(app, plan, placement, foundations)
        securities[placement.key] = next(s for s in stacks if isinstance(s, SecurityStack))
    _add_organization(app, plan)
    governance = plan.governance
    audit = GovernanceStack(
        app,
        f"{governance.key}-audit",
        org_name=plan.prefix,
        organization_id=config.organization.id,
        management_account=config.organization.management_account,
        trail_retention_days=config.platform.trail_retention_days,
        encryption_key=securities[governance.key].logs_key,
        access_log_bucket=securities[governance.key].access_log_bucket,
        **_stack_props(governance, "organization trail, metrics sink, central audit"),
    )
    # The central audit policy attaches to the auditor role of the foundation stack.
    audit.add_stack_dependency(foundations[governance.key])
    _tag(audit, governance)
    _add_lob_oversight(app, plan)
    add_compliance_gates(app)
    return plan


def _selected(placement: Placement, lob_environments: bool | Collection[str]) -> bool:
    if isinstance(lob_environments, bool):
        return lob_environments
    return placement.lob is not None and placement.lob.name in lob_environments


def _add_lob_oversight(app: App, plan: Plan) -> None:
    """Budgets and dashboards, LOBS_PER_OVERSIGHT_STACK LOBs per stack, in config order (a new
    LOB lands in the last stack; existing ones stay where they are)."""
    config, governance = plan.config, plan.governance
    lobs, accounts = config.lobs, _lob_accounts(config)
    for first in range(0, len(lobs), LOBS_PER_OVERSIGHT_STACK):
        group = lobs[first : first + LOBS_PER_OVERSIGHT_STACK]
        number = first // LOBS_PER_OVERSIGHT_STACK + 1
        stack = LobOversightStack(
            app,
            f"{governance.key}-oversight-{number}",
            org_name=plan.prefix,
            lob_budgets={lob.name: lob.budget_usd_month for lob in group},
            alert_emails=config.platform.alert_emails,
            lob_accounts={lob.name: accounts[lob.name] for lob in group},
            lob_regions={lob.name: lob.environments.items()[0][1].region for lob in group},
            **_stack_props(governance, f"budgets and dashboards of LOB group {number}"),
        )
        _tag(stack, governance)


def build_placement(
    scope: Construct, plan: Plan, placement: Placement, foundations: dict[str, FoundationStack]
) -> list[Stack]:
    """The stacks of one placement in ``scope`` (the app or a pipeline stage), tagged.

    The placement's foundation stack is recorded in ``foundations``. Stack names are the
    construct ids in a pipeline stage too, so a pipeline takes over stacks deployed directly.
    """
    security = SecurityStack(
        scope,
        f"{placement.key}-security",
        placement=placement,
        **_layer_props(placement, "security", "keys, access logs and flow-log store"),
    )
    foundation = FoundationStack(
        scope,
        f"{placement.key}-foundation",
        plan=plan,
        placement=placement,
        security=security,
        **_layer_props(placement, "foundation", "private network and persona roles"),
    )
    foundations[placement.key] = foundation
    stacks: list[Stack] = [security, foundation]
    if placement.kind is PlacementKind.LOB_ENVIRONMENT:
        data = DataStack(
            scope,
            f"{placement.key}-data",
            plan=plan,
            placement=placement,
            security=security,
            **_layer_props(placement, "data", "governed data-lake zones and Glue catalog"),
        )
        # Data-scientist grants attach to a persona role the foundation stack creates; a
        # bucket policy may only name the central auditor once that role exists (in a pipeline
        # stage the governance foundation is deployed before, outside the stage).
        data.add_stack_dependency(foundation)
        auditor = foundations.get(plan.governance.key)
        if placement.lob and placement.lob.auditor_metadata_read and auditor:
            data.add_stack_dependency(auditor)
        genai = GenAIStack(
            scope,
            f"{placement.key}-genai",
            plan=plan,
            placement=placement,
            security=security,
            foundation=foundation,
            data=data,
            **_layer_props(placement, "genai", "guardrail, model access, invocation logging, RAG"),
        )
        ml = MLStack(
            scope,
            f"{placement.key}-ml",
            plan=plan,
            placement=placement,
            security=security,
            foundation=foundation,
            data=data,
            **_layer_props(placement, "ml", "Studio, MLflow, fine-tuning pipelines, GPU endpoints"),
        )
        stacks += [data, genai, ml]
    for stack in stacks:
        _tag(stack, placement)
    return stacks


def _add_organization(app: App, plan: Plan) -> None:
    """Organization policies in the management account (home region)."""
    config = plan.config
    organization = config.organization
    guardrail = config.platform.org_guardrail
    stack = OrganizationStack(
        app,
        "organization-policies",
        org_name=plan.prefix,
        allowed_regions=organization.allowed_regions,
        approved_model_ids=[model.id for model in config.catalog.bedrock],
        organization_root_id=organization.root_id,
        organization_id=organization.id,
        lob_accounts=_lob_accounts(config),
        platform_accounts={
            "governance": config.platform.governance_account,
            "tooling": config.platform.tooling_account,
        },
        protected_role_patterns=[f"arn:*:iam::*:role/{plan.prefix}-*"],
        exempt_role_patterns=[
            "arn:*:iam::*:role/cdk-*-cfn-exec-role-*",
            "arn:*:iam::*:role/OrganizationAccountAccessRole",
        ],
        enforce_bedrock_guardrail=guardrail is not None,
        guardrail_arn=guardrail.arn if guardrail else None,
        guardrail_version=guardrail.version if guardrail else None,
        # GPU instances (g5, p4d, ...) have local NVMe storage and reject volume keys.
        sagemaker_require_volume_key=False,
        env=Environment(account=organization.management_account, region=organization.home_region),
        description="GenAI platform organization: OUs, SCPs, RCP, AI opt-out, tag policy",
        termination_protection=True,
    )
    for key, value in {
        "lob": "platform",
        "environment": "platform",
        "cost-center": "platform",
        "data-classification": "restricted",
        "managed-by": "genai-platform-blueprint",
    }.items():
        Tags.of(stack).add(key, value)


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


def _layer_props(placement: Placement, layer: str, what: str) -> dict[str, Any]:
    """Props of a placement's stack; its name is its id, in a pipeline stage too."""
    return {"stack_name": f"{placement.key}-{layer}", **_stack_props(placement, what)}


def _tag(stack: Stack, placement: Placement) -> None:
    tags = Tags.of(stack)
    for key, value in placement.tags.items():
        tags.add(key, value)


__all__ = ["build_placement", "build_platform", "synthesize"]
