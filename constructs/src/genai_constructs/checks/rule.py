"""What a platform rule is: a check of one resource of a synthesized template, and the
framework controls it implements.

Plain Python over template JSON: the pack runs the rules during synthesis, and the audit runs
the same rules over a cloud assembly to count what each control covers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

Json = dict[str, Any]


class Compliance(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not applicable"

    @classmethod
    def of(cls, ok: bool) -> Compliance:
        return cls.COMPLIANT if ok else cls.NON_COMPLIANT


@dataclass(frozen=True)
class Template:
    """One synthesized stack template and the region it deploys to."""

    name: str
    region: str
    body: Json

    @classmethod
    def read(cls, path: Path, region: str) -> Template:
        """A synthesized template file (``<stack>.template.json``)."""
        return cls(path.name.removesuffix(".template.json"), region, json.loads(path.read_text()))

    @property
    def resources(self) -> dict[str, Json]:
        return dict(self.body.get("Resources", {}))

    def of_type(self, *types: str) -> Iterator[Resource]:
        for logical_id, body in self.resources.items():
            if body.get("Type") in types:
                yield Resource(logical_id, body, self)

    def referencing(self, kind: str, prop: str, logical_id: str) -> list[Resource]:
        """The resources of type ``kind`` whose property ``prop`` refers to ``logical_id``."""
        return [r for r in self.of_type(kind) if references(r.properties.get(prop), logical_id)]


@dataclass(frozen=True)
class Resource:
    """One resource of a template, as a rule sees it."""

    logical_id: str
    body: Json
    template: Template

    @property
    def type(self) -> str:
        return str(self.body.get("Type", ""))

    @property
    def properties(self) -> Json:
        return dict(self.body.get("Properties", {}))


@dataclass(frozen=True)
class CheckSettings:
    """What the organization decided that some rules check against.

    :param allowed_regions: default any; regions stacks may deploy to.
    :param unguarded_model_ids: default none; Bedrock models that may be invoked without a
        guardrail (embedding models, which return vectors, not text).
    """

    allowed_regions: tuple[str, ...] = ()
    unguarded_model_ids: tuple[str, ...] = ()


Check = Callable[[Resource, CheckSettings], Compliance]


@dataclass(frozen=True)
class Rule:
    """One control of the platform as a cdk-nag rule.

    :param name: the rule ID's suffix, e.g. ``EncryptionAtRest``.
    :param control: the platform control it implements, as the audit names it.
    :param info: why a resource fails it.
    :param explanation: why the rule exists.
    :param controls: framework (cdk-nag pack name) -> the control IDs it implements.
    :param check: the check of one resource against the organization's settings.
    """

    name: str
    control: str
    info: str
    explanation: str
    controls: Mapping[str, tuple[str, ...]]
    check: Check = field(compare=False)


def references(value: Any, logical_id: str) -> bool:
    """Whether ``value`` is a ``Ref`` or ``Fn::GetAtt`` of ``logical_id``."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((function, argument),) = value.items()
    if function == "Ref":
        return bool(argument == logical_id)
    if function == "Fn::GetAtt":
        target = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
        return bool(target == logical_id)
    return False


def render(value: Any) -> str:
    """A CloudFormation value as cdk-nag prints it: joins concatenated, references as ``<Id>``
    or ``<Id.Attribute>``, imports by their export name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(render(part) for part in as_list(argument[1]))
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{'.'.join(as_list(argument))}>"
        if function == "Fn::ImportValue":
            return render(argument)
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> list[Json]:
    """The statements of a policy document."""
    return as_list(document.get("Statement", [])) if isinstance(document, dict) else []
