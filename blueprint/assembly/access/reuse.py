"""The catalog's answers kept in the assembly and given again while nothing they read changed.

An answer reads the world (roles, policies, resources, tags, assets, sign-in doors), what
runs as each role, the questions asked (each one's principal, request and labels), what the
evaluator is built with (the organization's ID and root, its accounts) and the code. The
record keeps one digest of all of them with the printed answers: a run whose digest is the
record's prints the record's answers without deciding a question. A change to any of them (a
role, a statement, an asset, a question) decides every question again; a change that reaches
none of them (a token budget, an alarm) reuses all. A record that is not whole is ignored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeGuard

from blueprint.assembly.access.catalog import (
    Query,
    catalog_queries,
    missing_steps,
    privilege_graph,
    run_catalog,
)
from blueprint.assembly.access.chains import PrivilegeGraph
from blueprint.assembly.access.doors import door_inputs, group_reach, reach_lines
from blueprint.assembly.access.evaluate import Evaluator, Request
from blueprint.assembly.access.parallel import workers_for
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.report import catalog_lines, outcome_json
from blueprint.assembly.access.world import World
from blueprint.assembly.iam_reference.questions import catalog_problems
from blueprint.assembly.iam_reference.reference import load_reference
from blueprint.assembly.records import write_whole
from blueprint.model.fingerprint import code_fingerprint
from blueprint.model.plan import Plan

RECORD = "access-record.json"
REQUEST_FIELDS = tuple(field.name for field in fields(Request))
CODE = (Path(__file__).parents[2], Path(__file__).parents[3] / "constructs" / "src")


@dataclass(frozen=True)
class Answers:
    """What one run printed: its standard output and error, and its exit status."""

    out: list[str]
    err: list[str]
    status: int


def catalog_answers(
    assembly: Path, world: World, plan: Plan, *, mode: str, fresh: bool = False
) -> tuple[Answers, bool]:
    """The catalog's and the sign-in doors' answers as printed in ``mode`` (``lines``,
    ``every-check`` or ``json``), and whether they are those recorded in ``assembly`` (while
    nothing they read changed, unless ``fresh``); decided answers are recorded."""
    graph = privilege_graph(world, plan)
    queries = catalog_queries(world, plan)
    key = digest(graph, plan, queries, mode)
    answers = None if fresh else recorded(assembly, key)
    if answers is not None:
        return answers, True
    wrong = catalog_problems(load_reference(), world, plan, queries=queries)
    workers = workers_for(len(queries))
    if workers > 1:
        # Each forked process would otherwise decide again the edges its chains reach.
        graph.decide_edges(workers)
    outcomes = run_catalog(world, plan, graph=graph, queries=queries, workers=workers)
    groups = group_reach(graph, plan, workers)
    if mode == "json":
        out, err = [json.dumps([outcome_json(o) for o in outcomes], indent=1)], wrong
    else:
        lines = catalog_lines(outcomes, every_check=mode == "every-check")
        out, err = [*wrong, *lines, *reach_lines(groups)], []
    doors_hold = all(not group.problems for group in groups)
    status = 0 if all(o.matches for o in outcomes) and not wrong and doors_hold else 1
    answers = Answers(out, err, status)
    record(assembly, key, answers)
    return answers, False


def digest(graph: PrivilegeGraph, plan: Plan, queries: list[Query], mode: str) -> str:
    """Everything the catalog's answers read, as one digest (``mode``: how they print)."""
    world = graph.world
    principals: dict[Principal, int] = {}
    questions = [_question(query, principals) for query in queries]
    return decision_digest(
        graph.evaluator,
        mode,
        graph.runners(),
        # Each principal once (a question names it by its place here): thousands of
        # questions ask as each, and writing it out for each was most of the digest.
        list(principals),
        questions,
        # Workflow steps that select nothing where their workflow is asked (each a failure).
        [(q.entry.id, q.placement, q.number) for q in missing_steps(world, plan, queries)],
        door_inputs(plan),
    )


def decision_digest(evaluator: Evaluator, *asked: Any) -> str:
    """One digest of what ``evaluator`` decides with (its world, the organization it is built
    with), the code, and ``asked``: whatever else the answers read (the questions)."""
    world = evaluator.world
    parts: list[Any] = [
        # What the evaluator is built with: aws:PrincipalOrgID, the root the policies bind.
        evaluator.organization_id,
        evaluator.root_id,
        sorted(evaluator.org_accounts),
        world.roles,
        dict(world.resource_policies),
        dict(world.collection_access),
        world.collection_names,
        world.bucket_keys,
        world.bucket_accounts,
        world.resource_tags,
        world.org_policies,
        world.management_account,
        [(key, asset.stack.name, asset.logical_id) for key, asset in world.assets.items()],
        world.sign_in_doors,
        *asked,
    ]
    found = hashlib.sha256(code_fingerprint(CODE).encode())
    for part in parts:
        # By repr: every part is dataclasses, tuples, lists and dicts built in the
        # assembly's order, strings and enums; no set, whose order would change by process.
        found.update(repr(part).encode())
    return found.hexdigest()


def _question(query: Query, principals: dict[Principal, int]) -> Any:
    """One question, its principals by their place in ``principals`` (added as met)."""
    actor, target, request = query.actor, query.target, query.request

    def place(principal: Principal) -> int:
        return principals.setdefault(principal, len(principals))

    return [
        query.entry.id,
        query.placement,
        query.number,
        [actor.label, place(actor.principal), actor.signs_in, dict(actor.context)],
        [target.label, target.arn, target.account, target.missing],
        [
            place(request.principal) if name == "principal" else getattr(request, name)
            for name in REQUEST_FIELDS
        ],
    ]


def recorded(assembly: Path, key: str) -> Answers | None:
    """The answers recorded under ``key`` in ``assembly``, if any."""
    record = kept(assembly / RECORD, key)
    if not isinstance(record, dict):
        return None
    out, err, status = record.get("out"), record.get("err"), record.get("status")
    if not (_lines(out) and _lines(err) and isinstance(status, int)):
        return None
    return Answers(out, err, status)


def _lines(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(line, str) for line in value)


def record(assembly: Path, key: str, answers: Answers) -> None:
    """Keep ``answers`` under ``key`` (an assembly that cannot be written keeps none)."""
    keep(assembly / RECORD, key, {"out": answers.out, "err": answers.err, "status": answers.status})


def kept(path: Path, key: str) -> Any:
    """What ``keep`` wrote to ``path`` under ``key`` (None: nothing, or another key)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    return record.get("kept")


def keep(path: Path, key: str, content: Any) -> None:
    """Write ``content`` to ``path`` under ``key``, whole or not at all (a directory that
    cannot be written keeps nothing)."""
    write_whole(path, {"key": key, "kept": content})
