"""The platform's stacks: one module per layer; stacks compose constructs."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack, Tags

from blueprint.config import OrgConfig
from blueprint.plan import Placement, Plan, plan_for
from stacks.compliance import add_compliance_gates, synthesize
from stacks.foundation import FoundationStack
from stacks.security import SecurityStack


def build_platform(app: App, config: OrgConfig) -> Plan:
    """Add every stack of the organization to ``app`` and the compliance gates to the app."""
    plan = plan_for(config)
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
        for stack in (security, foundation):
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
