"""The platform's stacks: one module per layer; stacks compose constructs."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack, Tags

from blueprint.config import OrgConfig
from blueprint.plan import Placement, PlacementKind, Plan, plan_for
from stacks.compliance import add_compliance_gates, synthesize
from stacks.data import DataStack
from stacks.foundation import FoundationStack
from stacks.genai import GenAIStack
from stacks.security import SecurityStack


def build_platform(app: App, config: OrgConfig) -> Plan:
    """Add every stack of the organization to ``app`` and the compliance gates to the app."""
    plan = plan_for(config)
    foundations: dict[str, FoundationStack] = {}
    for placement in plan.placements:
        security = SecurityStack(
            app,
            f"{placement.key}-security",
            placement=placement,
            **_stack_props(placement, "keys, access logs and flow-log store"),
        )
        foundation = FoundationStack(
            app,
            f"{placement.key}-foundation",
            plan=plan,
            placement=placement,
            security=security,
            **_stack_props(placement, "private network and persona roles"),
        )
        foundations[placement.key] = foundation
        stacks: list[Stack] = [security, foundation]
        if placement.kind is PlacementKind.LOB_ENVIRONMENT:
            data = DataStack(
                app,
                f"{placement.key}-data",
                plan=plan,
                placement=placement,
                security=security,
                **_stack_props(placement, "governed data-lake zones and Glue catalog"),
            )
            # Data-scientist grants attach to a persona role the foundation stack creates; a
            # bucket policy may only name the central auditor once that role exists.
            data.add_stack_dependency(foundation)
            if placement.lob and placement.lob.auditor_metadata_read:
                data.add_stack_dependency(foundations[plan.governance.key])
            genai = GenAIStack(
                app,
                f"{placement.key}-genai",
                plan=plan,
                placement=placement,
                security=security,
                foundation=foundation,
                data=data,
                **_stack_props(placement, "guardrail, model access, invocation logging, RAG"),
            )
            stacks += [data, genai]
        for stack in stacks:
            _tag(stack, placement)
    add_compliance_gates(app)
    return plan


def _stack_props(placement: Placement, what: str) -> dict[str, object]:
    return {
        "env": Environment(account=placement.account, region=placement.region),
        "description": f"GenAI platform {placement.key}: {what}",
        "termination_protection": placement.termination_protection,
    }


def _tag(stack: Stack, placement: Placement) -> None:
    for key, value in placement.tags.items():
        Tags.of(stack).add(key, value)


__all__ = ["build_platform", "synthesize"]
