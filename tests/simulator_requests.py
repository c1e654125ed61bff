"""The catalog's single requests, as an independent IAM simulator reads them.

Each request the access evaluator decides for the catalog (a journey's or an attack's own
request, and the key request S3 makes for an object of an SSE-KMS bucket) is written with the
very policies the evaluator weighed: the role's identity policies and boundary, the SCPs and
RCPs, the resource's policy, and the request's condition keys. Deploy-time names (atoms)
become stable placeholder names, the same in every policy and request. A request that cannot
be written without guessing (a value CloudFormation decides that the evaluator itself cannot
resolve, a principal kind the simulator does not take) is left out and counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.access.catalog import Query
from blueprint.assembly.access.evaluate import Evaluator, Request
from blueprint.assembly.access.policies import Statement
from blueprint.assembly.access.symbols import UNKNOWN_ATOM, Atom, Symbol

Json = dict[str, Any]
SIMULATOR = Path(__file__).with_name("simulator")
NODE = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "node"


class Untranslatable(ValueError):
    """A request the simulator cannot be asked without guessing."""


@dataclass(frozen=True)
class Compared:
    query: Query
    request: Request
    ours: str
    theirs: str
    detail: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.query.entry.id, self.request.action)


# Keys the Service Authorization Reference lists as a service's policy variables, set for a
# session (SageMaker Studio's), not among any action's condition keys: the simulator drops them
# from a request's context, so their variables are put in the policies' text here instead.
SESSION_VARIABLES = frozenset({"sagemaker:domainid", "sagemaker:userprofilename"})


def simulator_request(evaluator: Evaluator, request: Request) -> Json:
    principal = request.principal
    if principal.is_service:
        raise Untranslatable("a service principal")
    role = evaluator.world.role_by_arn(principal.arn)
    if role is None:
        raise Untranslatable("a principal outside the assembly")
    sets = evaluator.policy_sets(request, role)
    name = render(role.name)
    context = evaluator.context_of(request)
    variables = {
        key: render(values[0])
        for key, values in context.items()
        if key in SESSION_VARIABLES and len(values) == 1
    }

    def document(statements: list[Statement]) -> Json:
        return policy_document(statements, variables)

    return {
        "principal": f"arn:aws:sts::{principal.account}:assumed-role/{name}/catalog",
        "action": request.action,
        "resource": render(request.resource),
        "resourceAccount": request.resource_account or principal.account,
        "context": {key: values_of(values) for key, values in context.items()},
        "identity": [document(sets["identity"])] if sets["identity"] else [],
        "boundary": [document(sets["boundary"])] if role.boundary is not None else None,
        "scps": [[document(sets["scp"])]] if sets["scp"] else [],
        "rcps": [[document(sets["rcp"])]] if sets["rcp"] else [],
        "resourcePolicy": document(sets["resource"]) if sets["resource"] else None,
    }


def policy_document(statements: list[Statement], variables: dict[str, str]) -> Json:
    return {
        "Version": "2012-10-17",
        "Statement": [statement_json(s, variables) for s in statements],
    }


def statement_json(statement: Statement, variables: dict[str, str]) -> Json:
    if statement.origin.sid == "unreadable" or not statement.actions_known:
        raise Untranslatable(f"a statement not read in full: {statement.origin}")
    written: Json = {
        "Sid": "".join(c for c in statement.origin.sid if c.isalnum()) or "S",
        "Effect": "Allow" if statement.allow else "Deny",
        ("NotAction" if statement.not_actions else "Action"): list(statement.actions),
    }
    if statement.resources is not None:
        key = "NotResource" if statement.not_resources else "Resource"
        written[key] = [render(r) for r in statement.resources]
    if statement.principals is not None:
        key = "NotPrincipal" if statement.not_principals else "Principal"
        written[key] = principals_json(statement)
    if statement.conditions:
        block: Json = {}
        for condition in statement.conditions:
            if condition.operator == "Unreadable":
                raise Untranslatable(f"a condition not read: {statement.origin}")
            block.setdefault(condition.operator, {})[condition.key] = [
                with_session_variables(render(v), variables) for v in condition.values
            ]
        written["Condition"] = block
    return written


def with_session_variables(value: str, variables: dict[str, str]) -> str:
    """``value`` with each of ``SESSION_VARIABLES`` the request carries put in its place."""
    return re.sub(
        r"\$\{([^}]+)\}",
        lambda found: variables.get(found.group(1).lower(), found.group(0)),
        value,
    )


def principals_json(statement: Statement) -> Any:
    grouped: dict[str, list[str]] = {}
    for ref in statement.principals or ():
        if ref.kind == "*":
            return "*"
        if ref.kind not in ("AWS", "Service"):
            raise Untranslatable(f"a {ref.kind} principal")
        grouped.setdefault(ref.kind, []).append(render(ref.value))
    return grouped


def values_of(values: tuple[Symbol, ...]) -> str | list[str]:
    rendered = [render(v) for v in values]
    return rendered[0] if len(rendered) == 1 else rendered


def render(symbol: Symbol) -> str:
    """Literal text as it is; each deploy-time name as a placeholder of its own."""
    pieces = []
    for part in symbol.parts:
        if isinstance(part, Atom):
            if part == UNKNOWN_ATOM:
                raise Untranslatable("a value the evaluator cannot resolve")
            pieces.append("gen" + hashlib.sha256(part.key.encode()).hexdigest()[:12])
        else:
            pieces.append(part)
    return "".join(pieces)


def simulate(requests: list[Json]) -> list[Json]:
    """Decide ``requests`` with the simulator (``make test`` installs it)."""
    if not (SIMULATOR / "node_modules").is_dir() or not NODE.is_file():
        raise FileNotFoundError(
            f"the IAM simulator is not installed in {SIMULATOR}/node_modules; run `make test` "
            "(it runs npm ci there)"
        )
    result = subprocess.run(
        [str(NODE), str(SIMULATOR / "simulate.mjs")],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    decisions: list[Json] = json.loads(result.stdout)
    return decisions


def compare(evaluator: Evaluator, queries: list[Query]) -> tuple[list[Compared], int]:
    """Every single request of ``queries`` decided by both; and how many were left out."""
    asked: list[tuple[Query, Request, str, Json]] = []
    left_out = 0
    for query in queries:
        for request in evaluator.steps(query.request):
            ours = evaluator.decide_step(request).decision
            if ours == "unknown":
                left_out += 1
                continue
            try:
                asked.append((query, request, ours, simulator_request(evaluator, request)))
            except Untranslatable:
                left_out += 1
    decisions = simulate([written for _, _, _, written in asked])
    compared = [
        Compared(
            query,
            request,
            ours,
            theirs["decision"],
            theirs.get("error") or theirs.get("result", ""),
        )
        for (query, request, ours, _), theirs in zip(asked, decisions, strict=True)
    ]
    return compared, left_out


# What each comparison counted, printed at the end of the test session (tests/conftest.py).
COUNTS: dict[str, tuple[int, int, int]] = {}


def known_disagreements() -> set[tuple[str, str]]:
    listed = yaml.safe_load((SIMULATOR / "known-disagreements.yaml").read_text()) or []
    return {(entry["entry"], entry["action"]) for entry in listed}


def unexplained(label: str, compared: list[Compared], left_out: int) -> list[str]:
    """The disagreements not in the reviewed list, one line each; the counts are kept for
    the session's summary."""
    disagreeing = [c for c in compared if c.ours != c.theirs]
    COUNTS[label] = (len(compared), len(disagreeing), left_out)
    known = known_disagreements()
    lines = [
        f"{c.query.entry.id} in {c.query.placement}: {c.query.actor.label} {c.request.action} "
        f"{c.request.resource}: evaluator {c.ours}, simulator {c.theirs} ({c.detail})"
        for c in disagreeing
        if c.key not in known
    ]
    return lines
