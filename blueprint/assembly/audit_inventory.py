"""The AI inventory: every AI system each environment runs (use cases, fine-tuned models,
GPU endpoints), who answers for it and how risky it is, read from the assembly's records; and
what changed in it against a baseline assembly."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from blueprint.assembly.reader import Assembly, AssemblyStack
from blueprint.model.inventory import AI_SYSTEM_METADATA, AiSystem, SystemKind
from blueprint.model.sections.genai import RiskTier

Json = dict[str, Any]
# What identifies a system across two assemblies.
KEY_FIELDS = ("placement", "kind", "name")
RISK_ORDER = [tier.value for tier in RiskTier]


def ai_inventory(assembly: Assembly) -> list[Json]:
    """One row per AI system of each stack, with the environment that runs it; a model or
    endpoint answers to the records of the LOB's use cases that call it (``used_by``)."""
    systems: list[tuple[AssemblyStack, AiSystem]] = [
        (stack, AiSystem.from_metadata(data))
        for stack in assembly.stacks
        for data in stack.recorded(AI_SYSTEM_METADATA)
    ]
    uses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for stack, system in systems:
        uses[(stack.identity.lob or "", system.key)].update(system.uses)
    rows = []
    for stack, system in systems:
        identity = stack.identity
        lob = identity.lob or ""
        row = {
            "placement": identity.placement,
            "lob": lob,
            "environment": identity.environment.value if identity.environment else "",
            "account": stack.account,
            "region": stack.region,
            **system.as_metadata(),
            "used_by": [],
        }
        if system.kind is not SystemKind.USE_CASE:
            users = [
                use
                for _, use in systems
                if use.kind is SystemKind.USE_CASE and _reaches(uses, lob, use.key, system.key)
            ]
            row.update(_answering_for(_unique(users)))
        rows.append(row)
    return sorted(rows, key=lambda row: tuple(row[k] for k in KEY_FIELDS))


def _reaches(uses: dict[tuple[str, str], set[str]], lob: str, start: str, goal: str) -> bool:
    """Whether ``start`` calls ``goal``, directly or through other systems of ``lob``."""
    seen, frontier = {start}, [start]
    while frontier:
        for used in uses[(lob, frontier.pop())] - seen:
            if used == goal:
                return True
            seen.add(used)
            frontier.append(used)
    return False


def _unique(users: list[AiSystem]) -> list[AiSystem]:
    """One of each use case (it is recorded once per environment)."""
    return list({use.name: use for use in users}.values())


def _answering_for(users: list[AiSystem]) -> Json:
    """The record fields a model or endpoint takes from the use cases it serves: every owner
    and contact, the highest risk tier, review if any of them is reviewed."""
    if not users:
        return {}
    tiers = [use.risk_tier for use in users if use.risk_tier]
    reviews = [use.human_review for use in users if use.human_review is not None]
    return {
        "used_by": sorted(use.name for use in users),
        "owner": ", ".join(sorted({use.owner for use in users if use.owner})),
        "escalation_contact": ", ".join(
            sorted({use.escalation_contact for use in users if use.escalation_contact})
        ),
        "risk_tier": max(tiers, key=RISK_ORDER.index) if tiers else "",
        "human_review": any(reviews) if reviews else None,
        "intended_use": f"serves {', '.join(sorted(use.name for use in users))}",
    }


def inventory_changes(before: list[Json], after: list[Json]) -> list[Json]:
    """Each system added, removed or changed (which fields) between two inventories."""

    def by_key(rows: list[Json]) -> dict[tuple[str, ...], Json]:
        return {tuple(row[k] for k in KEY_FIELDS): row for row in rows}

    old, new = by_key(before), by_key(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        fields: list[str] = []
        if key not in old:
            change = "added"
        elif key not in new:
            change = "removed"
        else:
            fields = sorted(f for f in new[key] if new[key][f] != old[key].get(f))
            if not fields:
                continue
            change = "changed"
        identity = dict(zip(KEY_FIELDS, key, strict=True))
        changes.append({**identity, "change": change, "fields": fields})
    return changes
