"""Who can do what: for each LOB environment, every principal that works there against its
zones, its data key, the catalog's text models and its endpoints, decided by the evaluator.

The audit report prints it; the catalog proves the cells that matter, this shows them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from blueprint.assembly.access.evaluate import Evaluator, Request
from blueprint.assembly.access.selection import Actor, Selection, Target
from blueprint.assembly.access.selectors import actors, targets
from blueprint.assembly.access.symbols import Symbol
from blueprint.assembly.access.world import World
from blueprint.model.assets import AssetKind
from blueprint.model.personas import persona_names
from blueprint.model.plan import Placement, Plan

Json = dict[str, object]
GUARDRAIL_KEY = "bedrock:GuardrailIdentifier"
OTHER_PRINCIPALS = ("app/*", "ingestion", "other-lob/persona/data-scientist", "other-lob/app/*")


@dataclass(frozen=True)
class Column:
    """One resource and the verbs asked of it: (verb, action) pairs."""

    label: str
    target: Target
    verbs: tuple[tuple[str, str], ...]
    context: dict[str, tuple[Symbol, ...]]


def access_matrix(world: World, plan: Plan) -> Json:
    """Per LOB environment: the columns, and one row of cells per principal."""
    organization = plan.config.organization
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    environments = []
    for placement in plan.lob_environments():
        selection = Selection(world, plan, placement)
        selectors = [*(f"persona/{name}" for name in persona_names()), *OTHER_PRINCIPALS]
        asking = [actor for selector in selectors for actor in actors(selection, selector)]
        asking += _other_roles(world, placement, {actor.principal.arn for actor in asking})
        columns = list(_columns(selection, placement))
        rows = [
            {
                "principal": actor.label,
                "cells": [_cell(evaluator, actor, column) for column in columns],
            }
            for actor in asking
        ]
        environments.append(
            {"placement": placement.key, "columns": [c.label for c in columns], "rows": rows}
        )
    return {
        "legend": "read/write: objects of the zone; decrypt: the data key; invoke: the model "
        "with the environment's guardrail, or the endpoint; ?: unknown; -: nothing",
        "environments": environments,
    }


def _other_roles(world: World, placement: Placement, listed: set[Symbol]) -> list[Actor]:
    """Every other role of the placement's stacks (service and workload roles: knowledge
    bases, functions, pipelines, endpoints, monitors), so the table leaves no reader out."""
    stacks = {
        stack.name for stack in world.assembly.stacks if stack.identity.placement == placement.key
    }
    return [
        Actor(role.name.text or role.where, role.principal())
        for role in world.roles
        if role.where.split("/")[0] in stacks and role.arn not in listed
    ]


def _columns(selection: Selection, placement: Placement) -> Iterator[Column]:
    read_write = (("read", "s3:GetObject"), ("write", "s3:PutObject"))
    for zone in selection.world.assets_of(placement.key, AssetKind.ZONE):
        for target in targets(selection, f"object/{zone.name}"):
            yield Column(f"zone/{zone.name}", target, read_write, {})
    for target in targets(selection, "key/data"):
        yield Column("key/data", target, (("decrypt", "kms:Decrypt"),), {})
    guardrail = {GUARDRAIL_KEY: tuple(selection.guardrail_identifiers())}
    invoke = (("invoke", "bedrock:InvokeModel"),)
    for which in ("approved", "above-classification"):
        for target in targets(selection, f"model/{which}"):
            yield Column(target.label, target, invoke, guardrail)
    # Applications reach their model through their use case's profile only.
    for target in targets(selection, "profile/*"):
        yield Column(target.label, target, invoke, guardrail)
    for target in targets(selection, "endpoint/*"):
        yield Column(target.label, target, (("invoke", "sagemaker:InvokeEndpoint"),), {})


def _cell(evaluator: Evaluator, actor: Actor, column: Column) -> str:
    granted = []
    for verb, action in column.verbs:
        request = Request(
            actor.principal, action, column.target.arn, column.target.account, column.context
        )
        decision = evaluator.evaluate(request).decision
        if decision == "allow":
            granted.append(verb)
        elif decision == "unknown":
            granted.append(f"{verb}?")
    return ", ".join(granted) or "-"
