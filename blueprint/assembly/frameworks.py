"""Per framework control, what the synthesis found.

The rules behind a control are those of the framework's cdk-nag pack whose text names it
(``genai_constructs.nag_rules``) and the platform's own rules that declare it
(``genai_constructs.checks``). Each rule is decided over the assembly:

- *not applicable*: no resource of a type it inspects is in the assembly;
- *failed*: a resource has an unacknowledged finding;
- *acknowledged*: a resource's finding is acknowledged with a reason;
- *passed*: it inspects resources of the assembly and none has a finding.

The resources behind a control are those its rules inspect; a resource counts once per control,
in the worst state any of its rules gives it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from blueprint.assembly.reader import Assembly
from genai_constructs.nag_rules import NagRule, nag_rules
from genai_constructs.naming import FRAMEWORK_PACKS

Json = dict[str, Any]
STATES = ("passed", "failed", "acknowledged", "not_applicable")
# A resource's states, least severe first: a control or rule takes its resources' worst.
SEVERITY = ("passed", "acknowledged", "failed")
RANK = {state: rank for rank, state in enumerate(SEVERITY)}


@dataclass(frozen=True)
class RuleOutcome:
    """One rule over the assembly: its state and each resource it inspected, with that
    resource's state (``passed``, ``failed`` or ``acknowledged``)."""

    rule: str
    state: str
    resources: tuple[tuple[str, str], ...]


def framework_results(
    nag_report: Json, assembly: Assembly, platform_controls: Sequence[Json]
) -> dict[str, Json]:
    """Per framework pack: one row per control (its rules by state, the resources they
    inspected, how many of those are acknowledged or failed) and each rule's outcome with the
    resources it inspected."""
    resources = _Resources(assembly)
    results: dict[str, Json] = {}
    for pack in FRAMEWORK_PACKS:
        found = [
            *_nag_outcomes(pack, nag_report, resources),
            *_platform_outcomes(pack, platform_controls),
        ]
        by_control: dict[str, Json] = {}
        for outcome, controls in found:
            for control in controls:
                row = by_control.setdefault(
                    control,
                    {"control": control, **dict.fromkeys(STATES, 0), "rules": [], "states": {}},
                )
                row[outcome.state] += 1
                row["rules"].append(outcome.rule)
                states = row["states"]
                for resource, state in outcome.resources:
                    current = states.get(resource)
                    if current is None or RANK[state] > RANK[current]:
                        states[resource] = state
        results[pack] = {
            "controls": [_counted(row) for row in sorted(by_control.values(), key=_control_key)],
            "rules": [
                {
                    "rule": outcome.rule,
                    "state": outcome.state,
                    "controls": list(controls),
                    "resources": [list(pair) for pair in outcome.resources],
                }
                for outcome, controls in found
            ],
        }
    return results


def _counted(row: Json) -> Json:
    states: dict[str, str] = row.pop("states")
    return {
        **row,
        "resources": len(states),
        "acknowledged_resources": sum(state == "acknowledged" for state in states.values()),
        "failed_resources": sum(state == "failed" for state in states.values()),
    }


class _Resources:
    """The assembly's resources as the platform's rules name them (STACK/LOGICAL_ID), by
    construct path (as cdk-nag's findings name them) and by type; read once for every pack."""

    def __init__(self, assembly: Assembly) -> None:
        self.by_path: dict[str, str] = {}
        for stack in assembly.stacks:
            self.by_path |= {
                path: f"{stack.name}/{logical_id}" for path, logical_id in stack.logical_ids.items()
            }
        self.by_type: dict[str, list[str]] = defaultdict(list)
        for stack, logical_id, resource in assembly.resources():
            self.by_type[str(resource.get("Type"))].append(f"{stack.name}/{logical_id}")
        self._inspected: dict[frozenset[str], tuple[list[str], frozenset[str]]] = {}

    def name(self, path: str) -> str:
        return self.by_path.get(path, path)

    def inspected(self, rule: NagRule) -> tuple[list[str], frozenset[str]]:
        """The resources of the types ``rule`` inspects, sorted, and as a set (many rules
        inspect the same types)."""
        kinds = frozenset(kind for kind in self.by_type if rule.inspects_type(kind))
        if kinds not in self._inspected:
            named = sorted({name for kind in kinds for name in self.by_type[kind]})
            self._inspected[kinds] = named, frozenset(named)
        return self._inspected[kinds]


def _nag_outcomes(
    pack: str, nag_report: Json, resources: _Resources
) -> Iterable[tuple[RuleOutcome, tuple[str, ...]]]:
    failed = {
        finding["rule"]: {resources.name(path) for path in finding.get("resources", [])}
        for report in nag_report.get("packs", [])
        if report.get("pack") == pack
        for finding in report.get("unacknowledged", [])
    }
    acknowledged: dict[str, set[str]] = defaultdict(set)
    for entry in nag_report.get("acknowledgments", []):
        acknowledged[entry["rule"].split("[")[0]].add(resources.name(entry["resource"]))
    for rule in nag_rules().values():
        if rule.pack != pack:
            continue
        inspected, known = resources.inspected(rule)
        bad, excused = failed.get(rule.rule_id, set()), acknowledged.get(rule.rule_id, set())
        named = inspected if known.issuperset(bad | excused) else sorted(known | bad | excused)
        outcome = tuple(
            (name, "failed" if name in bad else "acknowledged" if name in excused else "passed")
            for name in named
        )
        yield RuleOutcome(rule.rule_id, _state(outcome), outcome), rule.controls


def _platform_outcomes(
    pack: str, platform_controls: Sequence[Json]
) -> Iterable[tuple[RuleOutcome, tuple[str, ...]]]:
    for control in platform_controls:
        ids = tuple(control["frameworks"].get(pack, ()))
        if not ids:
            continue
        resources = tuple(
            [(r, "passed") for r in control["implementing_resources"]]
            + [(r, "acknowledged") for r in control["acknowledged_resources"]]
            + [(r, "failed") for r in control["missing_resources"]]
        )
        yield RuleOutcome(control["rule"], _state(resources), resources), ids


def _state(resources: tuple[tuple[str, str], ...]) -> str:
    states = {state for _, state in resources}
    return max(states, key=RANK.__getitem__, default="not_applicable")


def framework_resource_rows(frameworks: dict[str, Json]) -> list[list[str]]:
    """One row per framework, rule and resource it inspected, with the resource's state."""
    return [
        [pack, rule["rule"], ", ".join(rule["controls"]), resource, state]
        for pack, result in frameworks.items()
        for rule in result["rules"]
        for resource, state in rule["resources"]
    ]


def _control_key(row: Json) -> list[Any]:
    """AC-2(1) before AC-10; 164.308(a)(1) before 164.312(b)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", row["control"])]
