"""The roles whose trust may name a principal, found without reading every role's trust.

Following chains asks, for each role reached, which roles it may assume; at a hundred LOBs
there are tens of thousands of roles, and reading every trust for every role reached grows
with their square. Each trust's principals are indexed by what they name (a role's ARN, an
account, a service); a principal's candidates are the roles indexed under its ARN, its
account or its service, and those whose trust names it in a way no index holds (every
principal, a pattern, a session, an unknown). A role whose name the CDK generates is known by
its account only: the roles whose trust names an ARN of that account are its candidates too.
A trust that names such a role (an ARN with a deploy-time name) is indexed by the ARN's
account: it may name only principals whose ARN starts with that account's. The caller still
decides each candidate in full.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from blueprint.assembly.access.policies import Principal, PrincipalRef
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import arn_start

Key = tuple[str, str]


class TrustIndex:
    """``roles`` by what their trusts' allow statements for ``sts:AssumeRole`` name."""

    def __init__(self, roles: Sequence[Role]) -> None:
        self._roles = list(roles)
        self._position = {id(role): number for number, role in enumerate(roles)}
        self._named: dict[Key, list[Role]] = defaultdict(list)
        self._anyone: list[Role] = []
        for role in roles:
            keys = _keys(role)
            if keys is None:
                self._anyone.append(role)
            for key in keys or ():
                self._named[key].append(role)
                by_account = _arn_account(key)
                if by_account is not None:
                    self._named[by_account].append(role)

    def candidates(
        self, principal: Principal, *, delegates: Callable[[Role], bool] = lambda role: True
    ) -> list[Role]:
        """The roles whose trust may name ``principal``, in the order they were given (all of
        them for a principal whose ARN is not known exactly). Those whose trust names it only
        by its account only where ``delegates`` (whether the principal's identity policies
        may allow assuming the role): such a trust leaves the decision to those policies."""
        keys: list[Key] = []
        if principal.arn.text is not None:
            keys.append(("arn", principal.arn.text))
        elif principal.arn.unknown:
            return list(self._roles)
        else:
            # A role whose name the CDK generates: only an ARN of its own account may name it.
            keys.append(("arn-of-account", principal.account))
        if principal.service is not None:
            keys.append(("service", principal.service))
        else:
            start = arn_start(principal.arn)
            if start is None:
                return list(self._roles)
            keys.append(("deploy-time-arn-of-account", start.split(":")[4]))
        found = {id(role): role for role in self._anyone}
        for key in keys:
            found.update((id(role), role) for role in self._named.get(key, ()))
        found.update(
            (id(role), role)
            for role in self._named.get(("account", principal.account), ())
            if id(role) not in found and delegates(role)
        )
        return sorted(found.values(), key=lambda role: self._position[id(role)])


def _keys(role: Role) -> set[Key] | None:
    """What the role's trust names, or None when it may name a principal no key finds."""
    keys: set[Key] = set()
    for statement in role.trust:
        if not statement.allow or not statement.may_cover("sts:AssumeRole"):
            continue
        if statement.principals is None:
            return None
        for ref in statement.principals:
            key = _key(ref)
            if key is None:
                return None
            keys.add(key)
    return keys


def _key(ref: PrincipalRef) -> Key | None:
    literal = ref.value.text
    if ref.kind == "AWS" and literal is None:
        # Literal text up to the account: another account's principal differs in it.
        start = arn_start(ref.value)
        return None if start is None else ("deploy-time-arn-of-account", start.split(":")[4])
    if ref.kind == "*" or literal is None or literal == "*" or ref.names_a_session():
        return None
    if ref.kind == "Service":
        return ("service", literal)
    if literal.endswith(":root"):
        return ("account", literal.split(":")[4])
    if not literal.startswith("arn:"):
        return ("account", literal)
    return ("arn", literal)


def _arn_account(key: Key) -> Key | None:
    """The account an ARN key names a principal of, as a key of its own."""
    kind, value = key
    if kind != "arn" or value.count(":") < 5 or not value.split(":")[4]:
        return None
    return ("arn-of-account", value.split(":")[4])
