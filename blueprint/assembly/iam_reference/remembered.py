"""The IAM reference check of an assembly, its problems kept per account and region.

A statement reads its own template and the exports of the stacks of its account and region
(``Fn::ImportValue``), nothing else. So the problems of the stacks of one account and region
hold while those stacks (their names and templates), the reference and the code are the same:
they are kept in ``iam-reference.json`` and given again, and after a change to one LOB only
that LOB's accounts are checked again.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from blueprint.assembly.access.resolve import Resolver
from blueprint.assembly.iam_reference.check import statement_problems
from blueprint.assembly.iam_reference.documents import policy_statements
from blueprint.assembly.iam_reference.reference import Reference
from blueprint.assembly.reader import Assembly, AssemblyStack
from blueprint.assembly.records import write_whole
from blueprint.model.fingerprint import code_fingerprint

RECORD = "iam-reference.json"
CODE = (Path(__file__).parents[2], Path(__file__).parents[3] / "constructs" / "src")

Json = dict[str, Any]


def checked(
    reference: Reference, assembly: Assembly, *, fresh: bool = False
) -> tuple[int, list[str]]:
    """How many statements the assembly's policies hold and their problems, in the stacks'
    order, as ``assembly_problems`` finds them; the groups of stacks unchanged since the last
    check of the same directory are not read again, unless ``fresh``."""
    checker = hashlib.sha256(f"{reference.label}\n{code_fingerprint(CODE)}".encode()).hexdigest()
    kept = {} if fresh else _kept(assembly.directory, checker)
    groups: dict[tuple[str, str], list[AssemblyStack]] = defaultdict(list)
    for stack in assembly.stacks:
        groups[(stack.account, stack.region)].append(stack)
    resolver = Resolver(assembly)
    found: dict[str, Json] = {}
    for (account, region), stacks in groups.items():
        key = _group_key(account, region, stacks)
        # A group kept without one of its stacks (a damaged record) is checked again.
        if set(kept.get(key, {})) != {stack.name for stack in stacks}:
            kept[key] = {
                stack.name: _stack_problems(reference, resolver, stack) for stack in stacks
            }
        found[key] = kept[key]
    by_stack = {name: entry for group in found.values() for name, entry in group.items()}
    _keep(assembly.directory, checker, found)
    statements = sum(by_stack[stack.name]["statements"] for stack in assembly.stacks)
    problems = [p for stack in assembly.stacks for p in by_stack[stack.name]["problems"]]
    return statements, problems


def _stack_problems(reference: Reference, resolver: Resolver, stack: AssemblyStack) -> Json:
    statements = list(policy_statements(resolver, [stack]))
    return {
        "statements": len(statements),
        "problems": [str(p) for s in statements for p in statement_problems(reference, s)],
    }


def _group_key(account: str, region: str, stacks: list[AssemblyStack]) -> str:
    digest = hashlib.sha256(f"{account}\n{region}\n".encode())
    for stack in stacks:
        digest.update(f"{stack.name}\n".encode())
        digest.update(hashlib.sha256(stack.template_path.read_bytes()).digest())
    return digest.hexdigest()


def _kept(directory: Path, checker: str) -> dict[str, Json]:
    try:
        record = json.loads((directory / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("checker") != checker:
        return {}
    groups = record.get("groups")
    if not isinstance(groups, dict):
        return {}
    return {key: group for key, group in groups.items() if _whole(group)}


def _whole(group: object) -> bool:
    """A group as ``_stack_problems`` writes it (a damaged one is checked again)."""
    return isinstance(group, dict) and all(
        isinstance(entry, dict)
        and isinstance(entry.get("statements"), int)
        and isinstance(entry.get("problems"), list)
        and all(isinstance(problem, str) for problem in entry["problems"])
        for entry in group.values()
    )


def _keep(directory: Path, checker: str, groups: dict[str, Json]) -> None:
    write_whole(directory / RECORD, {"checker": checker, "groups": groups})
