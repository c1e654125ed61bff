"""Policy statements checked against the reference: their actions, resources and condition
keys.

- Every action exists: a name the reference lists, a pattern that matches one of its
  service's, a known service prefix.
- Every resource could be of a type one of the statement's actions takes, and every action
  takes one of the statement's resources (a resource no action takes, or an action that
  applies to none of the resources, grants or denies nothing). An action without resource
  types applies only to ``"*"``. Statements with ``NotAction``, ``NotResource``, the action
  ``*`` or the resource ``"*"`` are not checked so.
- Every condition key is current (a deprecated key names its replacement), and is global or
  applies to one of the statement's actions or their resource types (with ``NotAction`` or
  the action ``*``: exists at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from blueprint.assembly.access.policies import Origin, Statement
from blueprint.assembly.access.resolve import Resolver
from blueprint.assembly.access.symbols import Symbol
from blueprint.assembly.iam_reference.arns import could_be
from blueprint.assembly.iam_reference.documents import policy_statements
from blueprint.assembly.iam_reference.reference import (
    REGENERATE,
    Action,
    NotInReference,
    Reference,
)
from blueprint.assembly.reader import Assembly

SHOWN = 6  # ARN formats or keys a message lists at most


@dataclass(frozen=True)
class Problem:
    origin: Origin
    message: str

    def __str__(self) -> str:
        sid = f" [{self.origin.sid}]" if self.origin.sid else ""
        return f"{self.origin.where}{sid} ({self.origin.kind} policy): {self.message}"


@dataclass(frozen=True)
class Written:
    """An action as the statement writes it, and the actions of the reference it names."""

    text: str
    actions: tuple[Action, ...]

    def takes(self, resource: Symbol) -> bool:
        return any(takes(action, resource) for action in self.actions)


def assembly_problems(reference: Reference, assembly: Assembly) -> tuple[int, list[Problem]]:
    """How many statements the assembly's policies hold, and the problems found in them."""
    statements = list(policy_statements(Resolver(assembly), assembly.stacks))
    return len(statements), [p for s in statements for p in statement_problems(reference, s)]


def statement_problems(reference: Reference, statement: Statement) -> list[Problem]:
    if statement.origin.sid == "unreadable":
        return [Problem(statement.origin, "the policy document cannot be read")]
    messages: list[str] = []
    if not statement.actions_known:
        messages.append("an action is not literal text (CloudFormation decides it)")
    written: list[Written] = []
    for text in statement.actions:
        if text == "*":
            continue
        try:
            written.append(Written(text, tuple(reference.actions(text))))
        except NotInReference as error:
            messages.append(str(error))
    every_action = "*" in statement.actions or statement.not_actions
    resources = statement.resources
    if resources is not None and not (
        every_action or statement.not_resources or any(r.text == "*" for r in resources)
    ):
        messages += resource_messages(written, resources)
    for condition in statement.conditions:
        if condition.operator == "Unreadable":
            messages.append("a condition block cannot be read")
        else:
            messages += key_messages(reference, condition.key, written, every_action=every_action)
    return [Problem(statement.origin, message) for message in dict.fromkeys(messages)]


def takes(action: Action, resource: Symbol) -> bool:
    """Whether ``action`` may apply to ``resource`` (one without resource types only to *)."""
    if resource.text == "*":
        return True
    return any(could_be(resource, t.arn) for t in action.resource_types)


def resource_messages(written: Sequence[Written], resources: Sequence[Symbol]) -> list[str]:
    dead = [w for w in written if not any(w.takes(r) for r in resources)]
    messages = [_not_taken(w, resources) for w in dead]
    if len(dead) < len(written):
        for resource in resources:
            if not any(w.takes(resource) for w in written):
                formats = _formats(a for w in written for a in w.actions)
                messages.append(
                    f"resource {resource} is of no type the statement's actions take "
                    f"({_listed(formats)})"
                )
    return messages


def takes_message(written: Written, resource: Symbol) -> str | None:
    """What is wrong when ``written`` does not take ``resource`` (None when it does)."""
    return None if written.takes(resource) else _not_taken(written, [resource])


def _not_taken(written: Written, resources: Sequence[Symbol]) -> str:
    formats = _formats(written.actions)
    if not formats:
        return (
            f"{written.text} has no resource-level permissions: it applies only to "
            f'Resource "*", not to {_listed(resources)}'
        )
    return f"{written.text} does not apply to {_listed(resources)}: it takes {_listed(formats)}"


def key_messages(
    reference: Reference, key: str, written: Sequence[Written], *, every_action: bool
) -> list[str]:
    replacement = reference.replacement(key)
    if replacement is not None:
        instead = f"use {replacement}" if replacement else "the reference names no replacement"
        return [f"condition key {key} is deprecated: {instead}"]
    actions = [a for w in written for a in w.actions]
    if reference.global_keys.find(key) is not None or any(
        a.condition_keys.find(key) is not None for a in actions
    ):
        return []
    if not reference.known_key(key):
        return [_unknown_key(reference, key)]
    if every_action or not actions:
        return []
    accepted = sorted(
        {
            name
            for a in actions
            for name in [*a.own_keys, *(k for t in a.resource_types for k in t.condition_keys)]
            if not name.lower().startswith("aws:")
        }
    )
    return [
        f"condition key {key} applies to none of the statement's actions "
        f"({', '.join(w.text for w in written)}); their keys: {_listed(accepted) or 'none'}"
    ]


def _unknown_key(reference: Reference, key: str) -> str:
    prefix = key.partition(":")[0]
    if prefix.lower() == "aws":
        return f"condition key {key} is no global condition key"
    if reference.service(prefix) is None and prefix.lower() in reference.all_services:
        return f"condition key {key}: service '{prefix}' is not in the IAM reference: {REGENERATE}"
    return f"condition key {key} is defined by no service"


def _formats(actions: Iterable[Action]) -> list[str]:
    return list(dict.fromkeys(t.arn for a in actions for t in a.resource_types))


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(item) for item in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
