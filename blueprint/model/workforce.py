"""Who signs in where: the organization file's Identity Center assignments resolved against
the plan (docs/platform-engineers.md "Workforce identity").

A group of the identity source becomes a persona in the accounts its assignment selects: the
persona's permission set is assigned to the group in each of them, and the permission set
allows nothing but assuming that persona's role (the role's trust admits only that permission
set's sign-in role). The break-glass group gets the break-glass permission set in every
account of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.identity import PlacementKind
from blueprint.model.personas import PLATFORM_KINDS, persona_named
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.organization import Assignment, IdentityConfig

BREAK_GLASS = "break-glass"


@dataclass(frozen=True)
class SignIn:
    """One assignment in one account: ``group`` signs in there with the permission set of
    ``persona`` (``break-glass`` for the break-glass group) and becomes ``role_arn``."""

    group: str
    group_id: str
    persona: str
    account: str
    placement: str
    role_arn: str


def sign_ins(plan: Plan) -> list[SignIn]:
    """Every assignment of the organization file, per account (none without ``identity``)."""
    identity = plan.config.organization.identity
    if identity is None:
        return []
    found = [
        SignIn(
            group=assignment.group,
            group_id=identity.groups[assignment.group],
            persona=assignment.persona,
            account=placement.account,
            placement=placement.key,
            role_arn=plan.role_arn(placement, persona_named(assignment.persona)),
        )
        for assignment in identity.assignments
        for placement in selected(plan, assignment)
    ]
    return found + _break_glass(plan, identity)


def selected(plan: Plan, assignment: Assignment) -> list[Placement]:
    """The placements ``assignment`` makes its group the persona of: those it selects where
    the persona exists (a tenancy is entered from the LOB's own account, never directly)."""
    persona = persona_named(assignment.persona)
    chosen = []
    for placement in plan.placements:
        if persona not in placement.personas or placement.is_tenancy:
            continue
        lob, environment = placement.lob, placement.environment
        in_lob = (
            placement.kind is PlacementKind.LOB_ENVIRONMENT
            and lob is not None
            and lob.name in assignment.lobs
            and (not assignment.environments or environment in assignment.environments)
        )
        on_platform = assignment.platform and placement.kind in PLATFORM_KINDS
        if in_lob or on_platform:
            chosen.append(placement)
    return chosen


def _break_glass(plan: Plan, identity: IdentityConfig) -> list[SignIn]:
    if identity.break_glass is None:
        return []
    group = identity.break_glass.group
    return [
        SignIn(
            group=group,
            group_id=identity.groups[group],
            persona=BREAK_GLASS,
            account=placement.account,
            placement=placement.key,
            role_arn=names.role_arn(
                placement.account, names.role_name(placement.prefix, BREAK_GLASS)
            ),
        )
        for placement in break_glass_placements(plan)
    ]


def break_glass_placements(plan: Plan) -> list[Placement]:
    """The placement whose foundation holds each account's break-glass role: its first."""
    first: dict[str, Placement] = {}
    for placement in plan.placements:
        first.setdefault(placement.account, placement)
    return list(first.values())


def admin_account(plan: Plan) -> str:
    """Where permission sets and assignments are deployed: the delegated administrator of
    Identity Center if the file names one, else the management account."""
    organization = plan.config.organization
    identity = organization.identity
    return (identity.admin_account if identity else None) or organization.management_account
