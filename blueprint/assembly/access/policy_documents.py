"""Policy documents read into statements: a template's (its values resolved to symbols) or
a literal one (an AWS managed policy, the bootstrap template)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blueprint.assembly.access.policies import (
    Condition,
    Json,
    Origin,
    PrincipalRef,
    Statement,
)
from blueprint.assembly.access.symbols import UNKNOWN, Symbol, text


def statements_of(document: Any, origin: Origin, resolve: Any) -> list[Statement]:
    """The statements of a policy document; ``resolve`` turns a template value into a list
    of symbols (template values) or is the identity on literal documents (AWS managed)."""
    if not isinstance(document, dict):
        return [_unreadable(origin)]
    raw = document.get("Statement", [])
    parsed = []
    for index, statement in enumerate(raw if isinstance(raw, list) else [raw]):
        if not isinstance(statement, dict):
            parsed.append(_unreadable(origin))
            continue
        sid = _sid(statement.get("Sid"), index)
        parsed.append(_statement(statement, Origin(origin.kind, origin.where, sid), resolve))
    return parsed


def _sid(sid: Any, index: int) -> str:
    if isinstance(sid, str) and sid:
        return sid
    if isinstance(sid, Symbol) and sid.text:
        return sid.text
    return f"#{index}"


def _statement(raw: Json, origin: Origin, resolve: Any) -> Statement:
    actions = [_literal(a) for a in _flat(resolve(raw.get("Action", raw.get("NotAction", []))))]
    resources = raw.get("Resource", raw.get("NotResource"))
    principal = raw.get("Principal", raw.get("NotPrincipal"))
    effect = _literal(resolve(raw.get("Effect", "")))
    if effect not in ("Allow", "Deny"):
        return _unreadable(origin)
    return Statement(
        origin=origin,
        allow=effect == "Allow",
        actions=tuple(a for a in actions if a is not None),
        actions_known=None not in actions,
        not_actions="NotAction" in raw,
        resources=None if resources is None else tuple(_flat(resolve(resources))),
        not_resources="NotResource" in raw,
        principals=None if principal is None else tuple(_principals(principal, resolve)),
        not_principals="NotPrincipal" in raw,
        conditions=tuple(_conditions(raw.get("Condition", {}), resolve)),
    )


def _principals(principal: Any, resolve: Any) -> list[PrincipalRef]:
    if principal == "*" or (isinstance(principal, Symbol) and principal.text == "*"):
        return [PrincipalRef("*", text("*"))]
    if not isinstance(principal, dict):
        return [PrincipalRef("AWS", UNKNOWN)]
    refs = []
    for kind, values in principal.items():
        for value in _flat(resolve(values)):
            refs.append(PrincipalRef(kind if kind in ("AWS", "Service") else "Other", value))
    return refs


def _conditions(block: Any, resolve: Any) -> list[Condition]:
    if not isinstance(block, dict):
        return [Condition("Unreadable", "", ())]
    found = []
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            found.append(Condition("Unreadable", "", ()))
            continue
        for key, values in tests.items():
            found.append(Condition(operator, key, tuple(_condition_values(resolve(values)))))
    return found


def _flat(value: Any) -> list[Symbol]:
    if isinstance(value, Symbol):
        return [UNKNOWN if "${" in (value.text or "") else value]
    if isinstance(value, str):
        # IAM policy variables (${aws:username}, ...) are not modelled.
        return [UNKNOWN if "${" in value else text(value)]
    if isinstance(value, Sequence):
        return [item for element in value for item in _flat(element)]
    return [UNKNOWN]


def _condition_values(value: Any) -> list[Symbol]:
    """Condition values; one with policy variables is kept as written, for evaluation."""
    items = value if isinstance(value, list | tuple) else [value]
    kept = []
    for item in items:
        if isinstance(item, str) and "${" in item:
            kept.append(text(item))
        elif isinstance(item, Symbol) and any(
            isinstance(part, str) and "${" in part for part in item.parts
        ):
            kept.append(item)
        else:
            kept += _flat(item)
    return kept


def _literal(value: Any) -> str | None:
    flat = _flat(value)
    return flat[0].text if len(flat) == 1 else None


def _unreadable(origin: Origin) -> Statement:
    """A statement that cannot be read: it may apply to anything, as allow or deny."""
    return Statement(
        origin=Origin(origin.kind, origin.where, "unreadable"),
        allow=False,
        actions=("*",),
        not_actions=False,
        resources=(UNKNOWN,),
        not_resources=False,
        principals=None,
        not_principals=False,
        conditions=(),
    )
