"""Who can do what: for each LOB environment, every principal that works there against its
zones, its data key, the catalog's text models and its endpoints, decided by the evaluator.

The audit report prints it; the catalog proves the cells that matter, this shows them all.
The cells are kept in the assembly (``access-matrix.json``) and given again while nothing
they read changed, as the catalog's answers are (``reuse.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from blueprint.assembly.access.evaluate import Evaluator, Request
from blueprint.assembly.access.parallel import in_processes, workers_for
from blueprint.assembly.access.reuse import decision_digest, keep, kept
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.selection import Actor, Selection, Target
from blueprint.assembly.access.selectors import actors, targets
from blueprint.assembly.access.symbols import Symbol
from blueprint.assembly.access.world import World
from blueprint.model.assets import AssetKind
from blueprint.model.personas import persona_names
from blueprint.model.plan import Placement, Plan

Json = dict[str, object]
GUARDRAIL_KEY = "bedrock:GuardrailIdentifier"
RECORD = "access-matrix.json"
OTHER_PRINCIPALS = ("app/*", "ingestion", "other-lob/persona/data-scientist", "other-lob/app/*")


@dataclass(frozen=True)
class Column:
    """One resource and the verbs asked of it: (verb, action) pairs."""

    label: str
    target: Target
    verbs: tuple[tuple[str, str], ...]
    context: dict[str, tuple[Symbol, ...]]


@dataclass(frozen=True)
class Table:
    """One LOB environment's table: who is asked (rows) about what (columns)."""

    placement: str
    actors: tuple[Actor, ...]
    columns: tuple[Column, ...]


def access_matrix(
    world: World, plan: Plan, *, remember: Path | None = None, fresh: bool = False
) -> Json:
    """Per LOB environment: the columns, and one row of cells per principal. With
    ``remember`` (a directory), the cells are kept there and given again while nothing they
    read (the world, the rows' principals, the columns' requests, the code) changed, unless
    ``fresh``."""
    organization = plan.config.organization
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    by_stack = _roles_by_stack(world)
    tables = [_table(world, plan, placement, by_stack) for placement in plan.lob_environments()]
    key = ""
    if remember is not None:
        key = decision_digest(
            evaluator,
            [(t.placement, [(a.label, a.principal) for a in t.actors], t.columns) for t in tables],
        )
        cells = None if fresh else kept(remember / RECORD, key)
        if _cells_of(cells, tables):
            return _matrix(tables, cells)
    cells = in_processes(
        tables,
        lambda table: [[_cell(evaluator, a, c) for c in table.columns] for a in table.actors],
        workers_for(sum(len(t.actors) * len(t.columns) for t in tables)),
        lambda table: table.placement,
    )
    if remember is not None:
        keep(remember / RECORD, key, cells)
    return _matrix(tables, cells)


def _table(
    world: World, plan: Plan, placement: Placement, by_stack: dict[str, list[Role]]
) -> Table:
    selection = Selection(world, plan, placement)
    selectors = [*(f"persona/{name}" for name in persona_names()), *OTHER_PRINCIPALS]
    asking = [actor for selector in selectors for actor in actors(selection, selector)]
    asking += _other_roles(world, placement, {actor.principal.arn for actor in asking}, by_stack)
    return Table(placement.key, tuple(asking), tuple(_columns(selection, placement)))


def _cells_of(cells: object, tables: list[Table]) -> TypeGuard[list[list[list[str]]]]:
    """Whether ``cells`` (as kept) is a cell for each row and column of ``tables``."""
    return (
        isinstance(cells, list)
        and len(cells) == len(tables)
        and all(
            isinstance(rows, list)
            and len(rows) == len(table.actors)
            and all(
                isinstance(row, list)
                and len(row) == len(table.columns)
                and all(isinstance(cell, str) for cell in row)
                for row in rows
            )
            for rows, table in zip(cells, tables, strict=False)
        )
    )


def _matrix(tables: list[Table], cells: list[list[list[str]]]) -> Json:
    environments = [
        {
            "placement": table.placement,
            "columns": [column.label for column in table.columns],
            "rows": [
                {"principal": actor.label, "cells": row}
                for actor, row in zip(table.actors, rows, strict=True)
            ],
        }
        for table, rows in zip(tables, cells, strict=True)
    ]
    return {
        "legend": "read/write: objects of the zone; decrypt: the data key; invoke: the model "
        "with the environment's guardrail, or the endpoint; ?: unknown; -: nothing",
        "environments": environments,
    }


def _other_roles(
    world: World, placement: Placement, listed: set[Symbol], by_stack: dict[str, list[Role]]
) -> list[Actor]:
    """Every other role of the placement's stacks (service and workload roles: knowledge
    bases, functions, pipelines, endpoints, monitors), so the table leaves no reader out;
    ``by_stack``: the world's roles by the stack they are in, in the world's order."""
    return [
        Actor(role.name.text or role.where, role.principal())
        for stack in world.stacks_of(placement.key)
        for role in by_stack.get(stack.name, ())
        if role.arn not in listed
    ]


def _roles_by_stack(world: World) -> dict[str, list[Role]]:
    found: dict[str, list[Role]] = defaultdict(list)
    for role in world.roles:
        found[role.where.split("/")[0]].append(role)
    return found


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
        # Most cells are of principals with nothing there: no statement may allow them,
        # which the evaluator denies without deciding each in full.
        if not evaluator.may_allow(request):
            continue
        decision = evaluator.evaluate(request).decision
        if decision == "allow":
            granted.append(verb)
        elif decision == "unknown":
            granted.append(f"{verb}?")
    return ", ".join(granted) or "-"
