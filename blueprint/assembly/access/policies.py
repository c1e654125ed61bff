"""Policy statements, and whether one applies to a request.

A statement applies when its action, resource, principal (resource policies) and every
condition match. Each test is three-valued: a deploy-time name or a context key the request
does not settle makes it unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import cache, cached_property
from typing import Any

from blueprint.assembly.access.symbols import (
    Part,
    Symbol,
    Tri,
    arn_like,
    arn_start,
    equals,
    glob,
    text,
)

Json = dict[str, Any]
Context = Mapping[str, tuple[Symbol, ...]]

# Keys AWS sets on every request: a policy that tests one the request does not settle gets
# an unknown answer, never an assumed one.
ALWAYS_PRESENT = frozenset(
    key.lower()
    for key in (
        "aws:SourceIp",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:MultiFactorAuthPresent",
        "aws:TokenIssueTime",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalType",
        "aws:PrincipalIsAWSService",
        "aws:ViaAWSService",
        # Set for every principal and resource of an organization; the assembly does not
        # tell which organizational unit an account is in.
        "aws:PrincipalOrgPaths",
        "aws:ResourceOrgPaths",
    )
)


# In a request's context: its principal's session may carry tags the role does not (the role's
# trust lets someone tag sessions), so a principal tag it lacks is unknown, not absent. Its
# values are the keys a session may carry ("*": any).
SESSION_TAGS = "session-tags-unknown"

# What a principal-tag variable stands for when the principal has no such tag: no request value
# equals it (tag values cannot hold this character).
ABSENT = Symbol(("\x00absent",))

# A condition value that is one principal-tag policy variable, ``${aws:PrincipalTag/<key>}``:
# IAM compares with the request's principal tag of that key.
PRINCIPAL_TAG_VARIABLE = re.compile(r"^\$\{aws:PrincipalTag/([A-Za-z0-9_.:/=+@-]+)\}$")
# A policy variable within a condition value (``...user-profile/${sagemaker:DomainId}/...``):
# IAM puts the request's value of that key in its place.
VARIABLE = re.compile(r"\$\{([A-Za-z0-9_.:/=+@-]+)\}")


@dataclass(frozen=True)
class Origin:
    """Where a statement comes from: the kind of policy, its resource or file, its Sid."""

    kind: str
    where: str
    sid: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.where}" + (f" [{self.sid}]" if self.sid else "")


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a role of an account, or an AWS service acting for one."""

    account: str
    arn: Symbol
    service: str | None = None
    tags: tuple[tuple[str, Symbol], ...] = ()
    # The session's tags are known to be exactly ``tags`` (a person signed in, a session
    # reached through a chain): none unknown, whatever the role's trust lets callers pass.
    session_known: bool = False

    @property
    def is_service(self) -> bool:
        return self.service is not None


@dataclass(frozen=True)
class PrincipalRef:
    """One entry of a resource policy's ``Principal``: ``AWS``, ``Service`` or ``*``."""

    kind: str
    value: Symbol

    def matches(self, principal: Principal) -> tuple[Tri, bool]:
        """Whether it names ``principal``, and whether only by its account (which delegates
        to the account's own IAM policies)."""
        if self.kind == "*":
            return Tri.YES, False
        if self.kind == "Service":
            return Tri.of(principal.service == self.value.text), False
        if principal.is_service:
            return Tri.NO, False
        literal = self.value.text
        if literal == "*":
            return Tri.YES, False
        if literal is not None and (literal == principal.account or literal.endswith(":root")):
            account = literal.split(":")[4] if literal.startswith("arn:") else literal
            return Tri.of(account == principal.account), True
        if self.names_a_session():
            return self.session_of(principal), False
        return equals(self.value, principal.arn), False

    def names_a_session(self) -> bool:
        return ":assumed-role/" in (self.value.text or "")

    def session_of(self, principal: Principal) -> Tri:
        """Whether a session ARN names a session of ``principal``'s role: unknown at best,
        since the session's name is chosen when the role is assumed."""
        _, _, _, _, account, resource = (self.value.text or "::::::").split(":", 5)
        role_name = resource.split("/")[1] if resource.count("/") >= 2 else ""
        role = Symbol.of(f"arn:aws:iam::{account}:role/{role_name}")
        return Tri.NO if equals(role, principal.arn) is Tri.NO else Tri.UNKNOWN

    def bypasses_the_boundary(self, principal: Principal) -> Tri:
        """Whether it names ``principal`` so that a boundary's implicit deny does not cap a
        same-account resource policy: every principal (``*``) or the role's session (IAM
        caps a policy that names the role itself)."""
        if self.kind == "*" or self.value.text == "*":
            return Tri.YES
        return self.session_of(principal) if self.names_a_session() else Tri.NO


@dataclass(frozen=True)
class PrincipalIndex:
    """A statement's principals, indexed for the question of whether they name a principal:
    the accounts they name (``:root`` or bare), the literal ARNs by their account, the
    literal services, and the rest, read one by one. A bootstrap trust names every account
    of the organization; reading each for every candidate role grew with the LOBs' square."""

    refs: tuple[PrincipalRef, ...]
    accounts: frozenset[str]
    arns: Mapping[str, frozenset[str]]
    services: frozenset[str]
    rest: tuple[PrincipalRef, ...]

    @staticmethod
    def of(refs: tuple[PrincipalRef, ...]) -> PrincipalIndex:
        accounts: set[str] = set()
        arns: dict[str, set[str]] = {}
        services: set[str] = set()
        rest: list[PrincipalRef] = []
        for ref in refs:
            literal = ref.value.text
            if literal is None or literal == "*" or ref.kind == "*" or ref.names_a_session():
                rest.append(ref)
            elif ref.kind == "Service":
                services.add(literal)
            elif literal.startswith("arn:") and literal.count(":") < 5:
                rest.append(ref)
            elif literal.endswith(":root") or not literal.startswith("arn:"):
                accounts.add(literal.split(":")[4] if literal.startswith("arn:") else literal)
            else:
                arns.setdefault(literal.split(":")[4], set()).add(literal)
        return PrincipalIndex(
            refs,
            frozenset(accounts),
            {account: frozenset(found) for account, found in arns.items()},
            frozenset(services),
            tuple(rest),
        )

    def names(self, principal: Principal) -> Tri:
        """Whether any of the principals names ``principal`` (as ``PrincipalRef.matches``)."""
        found = Tri.any(ref.matches(principal)[0] for ref in self.rest)
        if found is Tri.YES:
            return found
        if principal.is_service:
            return found | Tri.of(principal.service in self.services)
        start = arn_start(principal.arn)
        if start is None or not start.startswith("arn:"):
            return Tri.any(ref.matches(principal)[0] for ref in self.refs)
        if principal.account in self.accounts:
            return Tri.YES
        return found | self._names_by_arn(principal, start)

    def names_directly(self, principal: Principal) -> bool:
        """Whether any of the principals names ``principal`` for certain other than by its
        account (as ``PrincipalRef.matches``: a yes that does not delegate)."""
        if any(ref.matches(principal) == (Tri.YES, False) for ref in self.rest):
            return True
        if principal.is_service:
            return principal.service in self.services
        start = arn_start(principal.arn)
        if start is None or not start.startswith("arn:"):
            return any(ref.matches(principal) == (Tri.YES, False) for ref in self.refs)
        return self._names_by_arn(principal, start) is Tri.YES

    def bypasses_the_boundary(self, principal: Principal) -> Tri:
        """As ``PrincipalRef.bypasses_the_boundary`` of any: only ``*`` and sessions may."""
        return Tri.any(ref.bypasses_the_boundary(principal) for ref in self.rest)

    def _names_by_arn(self, principal: Principal, start: str) -> Tri:
        found, literal = Tri.NO, principal.arn.text
        for arn in self.arns.get(start.split(":")[4], ()):
            if literal is None:
                found = found | equals(text(arn), principal.arn)
            elif arn == literal:
                return Tri.YES
        return found


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str
    values: tuple[Symbol, ...]


@dataclass(frozen=True)
class Statement:
    origin: Origin
    allow: bool
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[Symbol, ...] | None
    not_resources: bool
    principals: tuple[PrincipalRef, ...] | None
    not_principals: bool
    conditions: tuple[Condition, ...]
    # False when an action is not a literal (an ``Fn::If``, a ``Ref``): the statement may
    # name any action, so where its literal actions do not decide, it may apply.
    actions_known: bool = True

    def applies(self, action: str, resource: Symbol, principal: Principal, context: Context) -> Tri:
        found = self._action_answer(action)
        if found is Tri.NO:
            return Tri.NO
        # A conjunction: the first part that does not hold decides.
        found = found & self._resource(resource)
        if found is not Tri.NO:
            found = found & self._principal(principal)
        if found is not Tri.NO:
            found = found & self._conditions(context)
        return found

    def may_cover(self, action: str, resource: Symbol | None = None) -> bool:
        """Whether the statement may apply to ``action`` (on ``resource``, or on some
        resource) for some principal and context: ``applies`` is no wherever this is false."""
        if self._action_answer(action) is Tri.NO:
            return False
        return resource is None or self._resource(resource) is not Tri.NO

    def _action_answer(self, action: str) -> Tri:
        found = self._action_answers.get(action)
        if found is None:
            found = self._action(action)
            self._action_answers[action] = found
        return found

    @cached_property
    def _action_answers(self) -> dict[str, Tri]:
        """Whether the statement names an action, by action (asked for every request)."""
        return {}

    def _action(self, action: str) -> Tri:
        found = Tri.of(action_matches(self.actions, action.lower()))
        if self.not_actions:
            found = ~found
        if not self.actions_known and found is Tri.NO:
            found = Tri.UNKNOWN
        return found

    def by_account_only(self, principal: Principal) -> bool:
        """Whether this statement names the principal only through its account."""
        return self.principals is None or not self.principal_index.names_directly(principal)

    def _resource(self, resource: Symbol) -> Tri:
        if self.resources is None:
            return Tri.YES
        found = Tri.any(arn_like(pattern, resource) for pattern in self.resources)
        return ~found if self.not_resources else found

    def names(self, principal: Principal) -> Tri:
        """Whether the statement's ``Principal`` names ``principal`` (any, without one)."""
        return Tri.YES if self.principals is None else self.principal_index.names(principal)

    @cached_property
    def principal_index(self) -> PrincipalIndex:
        return PrincipalIndex.of(self.principals or ())

    def _principal(self, principal: Principal) -> Tri:
        if self.principals is None:
            return Tri.YES
        found = self.principal_index.names(principal)
        return ~found if self.not_principals else found

    def _conditions(self, context: Context) -> Tri:
        return Tri.all(condition_holds(c, context) for c in self.conditions)


@cache
def action_matches(patterns: tuple[str, ...], action: str) -> bool:
    """Whether ``action`` (lower case) matches any of ``patterns`` (IAM ignores case)."""
    return any(fnmatchcase(action, pattern.lower()) for pattern in patterns)


def condition_holds(condition: Condition, context: Context) -> Tri:
    """One condition against the request context, as IAM evaluates it."""
    operator = condition.operator
    quantifier = ""
    if ":" in operator:
        quantifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    key = condition.key.lower()
    present = context.get(key)
    if present is None and key.startswith("aws:principaltag/") and may_be_session_tag(key, context):
        # A session may carry tags of its own, which the templates cannot tell.
        return Tri.UNKNOWN
    values = _with_variables(condition.values, context)
    if values is None:
        return Tri.UNKNOWN
    condition = replace(condition, values=values)
    if operator == "Null":
        wanted = [v.text for v in condition.values]
        missing = present is None
        if present is None and key in ALWAYS_PRESENT:
            return Tri.UNKNOWN
        return Tri.any(Tri.of((w == "true") == missing) for w in wanted)
    if present is None:
        if key in ALWAYS_PRESENT:
            return Tri.UNKNOWN
        if if_exists or quantifier == "ForAllValues":
            return Tri.YES
        if quantifier == "ForAnyValue":
            return Tri.NO
        return Tri.of(_negated(operator))
    compare = _comparison(operator)
    if compare is None:
        return Tri.UNKNOWN
    negated = _negated(operator)

    def one(value: Symbol) -> Tri:
        matched = Tri.any(compare(pattern, value) for pattern in condition.values)
        return ~matched if negated else matched

    if quantifier == "ForAllValues":
        return Tri.all(one(value) for value in present)
    if quantifier == "ForAnyValue":
        return Tri.any(one(value) for value in present)
    return Tri.any(one(value) for value in present)


def may_be_session_tag(key: str, context: Context) -> bool:
    """Whether the principal tag ``key`` (``aws:principaltag/<k>``) may come from a session
    tag that the templates cannot tell."""
    keys = context.get(SESSION_TAGS)
    if keys is None:
        return False
    wanted = key.removeprefix("aws:principaltag/")
    return any(k.text in ("*", wanted) for k in keys)


def _with_variables(values: tuple[Symbol, ...], context: Context) -> tuple[Symbol, ...] | None:
    """``values`` with each policy variable replaced by the request's value of its key;
    ``None`` when one is unknown (a principal tag the request lacks, which a session may
    carry; a key of several or unknown values)."""
    resolved: list[Symbol] = []
    for value in values:
        variable = PRINCIPAL_TAG_VARIABLE.match(value.text or "")
        if variable is not None:
            key = f"aws:principaltag/{variable.group(1)}".lower()
            tag = context.get(key)
            if tag is None and not may_be_session_tag(key, context):
                # IAM: a variable whose key the request lacks matches nothing.
                resolved.append(ABSENT)
                continue
            if tag is None or any(t.unknown for t in tag):
                return None
            resolved += tag
            continue
        substituted = _substituted(value, context)
        if substituted is None:
            return None
        resolved.append(substituted)
    return tuple(resolved)


def _substituted(value: Symbol, context: Context) -> Symbol | None:
    """``value`` with each variable in its text replaced by the request's single value of
    that key: ABSENT (matches nothing) where the request lacks a key, ``None`` where the value
    is not known."""
    parts: list[Part | Symbol] = []
    for part in value.parts:
        if not isinstance(part, str) or "${" not in part:
            parts.append(part)
            continue
        position = 0
        for found in VARIABLE.finditer(part):
            parts.append(part[position : found.start()])
            key = found.group(1).lower()
            present = context.get(key)
            if present is None:
                if key.startswith("aws:principaltag/") and may_be_session_tag(key, context):
                    return None
                # A global key the evaluator does not derive may be present: unknown. A
                # service's key is the request's own, and the request does not carry it.
                if key.startswith("aws:") and not key.startswith("aws:principaltag/"):
                    return None
                return ABSENT
            if len(present) != 1 or present[0].unknown:
                return None
            parts.append(present[0])
            position = found.end()
        rest = part[position:]
        if "${" in rest or any(isinstance(p, str) and "${" in p for p in parts):
            # ${*}, ${?}, ${$} and ${key, 'default'}: forms the evaluator does not read.
            return None
        parts.append(rest)
    return Symbol.of(*parts)


def _negated(operator: str) -> bool:
    return "Not" in operator


def _comparison(operator: str) -> Any:
    base = operator.replace("Not", "")
    return {
        "StringEquals": lambda p, v: equals(p, v),
        "StringEqualsIgnoreCase": lambda p, v: equals(p, v, ignore_case=True),
        "StringLike": lambda p, v: glob(p, v),
        "ArnEquals": lambda p, v: arn_like(p, v, wildcards=False),
        "ArnLike": lambda p, v: arn_like(p, v),
        "Bool": lambda p, v: equals(_lower(p), _lower(v)),
        "NumericEquals": _numeric(lambda a, b: a == b),
        "NumericLessThan": _numeric(lambda a, b: a < b),
        "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
        "NumericGreaterThan": _numeric(lambda a, b: a > b),
        "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    }.get(base)


def _lower(symbol: Symbol) -> Symbol:
    literal = symbol.text
    return text(literal.lower()) if literal is not None else symbol


def _numeric(test: Any) -> Any:
    def compare(pattern: Symbol, value: Symbol) -> Tri:
        try:
            return Tri.of(test(float(value.text or "x"), float(pattern.text or "x")))
        except ValueError:
            return Tri.UNKNOWN

    return compare
