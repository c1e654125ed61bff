"""Who each group of the identity source becomes: its sign-in roles (Identity Center's roles
of its permission sets, in the accounts it is assigned to) followed through every chain of
the privilege graph.

A group must become its persona in each account it is assigned to, and no other person's
role anywhere: no other persona, no other LOB's. A person's role is a persona role or the
break-glass role of an account. The break-glass group is an administrator by design: it
must reach the break-glass role of every account, and no other group may reach one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from blueprint.assembly.access.chains import Hop, PrivilegeGraph
from blueprint.assembly.access.parallel import in_processes
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, Tri
from blueprint.model.personas import PLATFORM_KINDS, persona_named
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.organization import Assignment
from blueprint.model.workforce import BREAK_GLASS, SignIn, sign_ins
from genai_constructs.naming import permission_set_name


@dataclass(frozen=True)
class PersonRole:
    """A role people sign in to: a persona's, or an account's break-glass role."""

    arn: str
    persona: str
    placement: Placement


@dataclass(frozen=True)
class GroupReach:
    """What one group becomes: the person roles it reaches (with the chain to each) and
    what is wrong (an assignment it cannot use, a role it must not reach)."""

    group: str
    persona: str
    assigned: tuple[str, ...]
    reached: dict[str, tuple[tuple[Hop, ...], Tri]]
    problems: tuple[str, ...]


def group_reach(graph: PrivilegeGraph, plan: Plan, workers: int = 1) -> list[GroupReach]:
    """Every group of ``organization.identity``, followed from its sign-in roles (by
    ``workers`` processes)."""
    identity = plan.config.organization.identity
    if identity is None:
        return []
    people = person_roles(plan)
    doors = {(d.role.account, d.permission_set): d.role for d in graph.world.sign_in_doors}
    by_group: dict[str, list[SignIn]] = {}
    for sign_in in sign_ins(plan):
        by_group.setdefault(sign_in.group, []).append(sign_in)
    starts = {
        door.arn: door
        for entries in by_group.values()
        for entry in entries
        if (door := doors.get((entry.account, permission_set_name(entry.persona)))) is not None
    }
    # Following every chain from each sign-in role is the work: each role on its own.
    reached = dict(
        zip(
            starts,
            in_processes(
                list(starts.values()),
                lambda door: _people_reached(graph, door, people),
                workers,
                lambda door: _text(door.arn),
            ),
            strict=True,
        )
    )
    return [
        _reach(
            plan,
            group,
            entries,
            doors,
            reached,
            people,
            [a for a in identity.assignments if a.group == group],
        )
        for group, entries in by_group.items()
    ]


def _people_reached(
    graph: PrivilegeGraph, door: Role, people: dict[str, PersonRole]
) -> list[tuple[str, tuple[Hop, ...], Tri]]:
    """The person roles ``door`` becomes, each with its chain, in the order chains find them."""
    return [
        (label, chain, certain)
        for arn, (chain, certain) in graph.chains(door).items()
        if (label := _text(arn)) in people
    ]


def door_inputs(plan: Plan) -> list[object]:
    """What ``group_reach`` reads of ``plan``: the identity section, each sign-in, each
    person role's persona and placement (its key, kind, LOB and environment) and whether
    oversight is central."""
    identity = plan.config.organization.identity
    people = [
        (arn, role.persona, place.key, place.kind, place.environment, place.lob and place.lob.name)
        for arn, role in person_roles(plan).items()
        for place in [role.placement]
    ]
    return [identity, sign_ins(plan), people, plan.central_oversight]


def person_roles(plan: Plan) -> dict[str, PersonRole]:
    """Every persona role and break-glass role of the plan, by ARN."""
    found = {
        plan.role_arn(p, persona): PersonRole(plan.role_arn(p, persona), persona.name, p)
        for p in plan.placements
        for persona in p.personas
    }
    for sign_in in sign_ins(plan):
        if sign_in.persona == BREAK_GLASS:
            found[sign_in.role_arn] = PersonRole(
                sign_in.role_arn, BREAK_GLASS, plan.placement(sign_in.placement)
            )
    return found


def _reach(
    plan: Plan,
    group: str,
    entries: list[SignIn],
    doors: dict[tuple[str, str], Role],
    door_reach: dict[Symbol, list[tuple[str, tuple[Hop, ...], Tri]]],
    people: dict[str, PersonRole],
    assignments: list[Assignment],
) -> GroupReach:
    persona = ", ".join(dict.fromkeys(entry.persona for entry in entries))
    problems: list[str] = []
    reached: dict[str, tuple[tuple[Hop, ...], Tri]] = {}
    for entry in entries:
        door = doors.get((entry.account, permission_set_name(entry.persona)))
        if door is None:
            problems.append(f"no sign-in role of {entry.persona} in {entry.account}")
            continue
        for label, chain, certain in door_reach[door.arn]:
            if label not in reached or len(chain) < len(reached[label][0]):
                reached[label] = (chain, certain)
    for entry in entries:
        _, certain = reached.get(entry.role_arn, ((), Tri.NO))
        if certain is not Tri.YES:
            problems.append(
                f"does not become {entry.persona} in {entry.placement} ({entry.role_arn}): "
                f"{'only possibly' if certain is Tri.UNKNOWN else 'no chain'}"
            )
    if all(entry.persona != BREAK_GLASS for entry in entries):
        allowed = {
            arn for assignment in assignments for arn in _may_become(plan, people, assignment)
        }
        problems += [
            f"reaches {people[arn].persona} in {people[arn].placement.key} ({arn}) through "
            + (" -> ".join(hop.describe() for hop in chain) or "its sign-in role")
            for arn, (chain, _) in sorted(reached.items())
            if arn not in allowed
        ]
    return GroupReach(group, persona, tuple(e.role_arn for e in entries), reached, tuple(problems))


def _may_become(plan: Plan, people: dict[str, PersonRole], assignment: Assignment) -> set[str]:
    """The person roles an assignment lets its group reach: its persona's roles in the LOBs
    it names (their tenancies included) and, with ``platform``, in the platform's accounts;
    a platform auditor also every auditor role (the central audit)."""
    persona = assignment.persona
    allowed = set()
    for arn, role in people.items():
        if role.persona != persona:
            continue
        lob, kind = role.placement.lob, role.placement.kind
        in_lob = (
            lob is not None
            and lob.name in assignment.lobs
            and kind not in PLATFORM_KINDS
            and (
                not assignment.environments or role.placement.environment in assignment.environments
            )
        )
        on_platform = assignment.platform and kind in PLATFORM_KINDS
        central_audit = (
            assignment.platform
            and persona_named(persona).centrally_audited
            and plan.central_oversight
        )
        if in_lob or on_platform or central_audit:
            allowed.add(arn)
    return allowed


def _text(arn: Symbol) -> str:
    return arn.text or str(arn)


def reach_lines(reaches: list[GroupReach]) -> Iterator[str]:
    for reach in reaches:
        accounts = len(reach.assigned)
        others = sorted(set(reach.reached) - set(reach.assigned))
        status = "; ".join(reach.problems) if reach.problems else "as assigned"
        yield (
            f"group {reach.group}: becomes {reach.persona} in {accounts} account(s), "
            f"{len(others)} more role(s) of people through chains: {status}"
        )
    total = sum(len(r.problems) for r in reaches)
    yield f"sign-in: {len(reaches)} group(s), {total} problem(s)"
