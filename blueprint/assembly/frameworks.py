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
from genai_constructs.nag_rules import nag_rules
from genai_constructs.naming import FRAMEWORK_PACKS

Json = dict[str, Any]
STATES = ("passed", "failed", "acknowledged", "not_applicable")
# A resource's states, least severe first: a control or rule takes its resources' worst.
SEVERITY = ("passed", "acknowledged", "failed")


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
    results: dict[str, Json] = {}
    for pack in FRAMEWORK_PACKS:
        found = [
            *_nag_outcomes(pack, nag_report, assembly),
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
                for resource, state in outcome.resources:
                    row["states"][resource] = _worse(row["states"].get(resource), state)
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


def _worse(current: str | None, new: str) -> str:
    return new if current is None else max(current, new, key=SEVERITY.index)


def _nag_outcomes(
    pack: str, nag_report: Json, assembly: Assembly
) -> Iterable[tuple[RuleOutcome, tuple[str, ...]]]:
    # A resource is named as the platform's rules name it, STACK/LOGICAL_ID; cdk-nag's
    # findings name it by construct path.
    names: dict[str, str] = {}
    by_type: dict[str, list[str]] = defaultdict(list)
    for stack in assembly.stacks:
        names |= {
            path: f"{stack.name}/{logical_id}" for path, logical_id in stack.logical_ids.items()
        }
    for stack, logical_id, resource in assembly.resources():
        by_type[str(resource.get("Type"))].append(f"{stack.name}/{logical_id}")
    failed = {
        finding["rule"]: {names.get(path, path) for path in finding.get("resources", [])}
        for report in nag_report.get("packs", [])
        if report.get("pack") == pack
        for finding in report.get("unacknowledged", [])
    }
    acknowledged: dict[str, set[str]] = defaultdict(set)
    for entry in nag_report.get("acknowledgments", []):
        resource = entry["resource"]
        acknowledged[entry["rule"].split("[")[0]].add(names.get(resource, resource))
    for rule in nag_rules().values():
        if rule.pack != pack:
            continue
        inspected = sorted(
            name for kind, named in by_type.items() if rule.inspects_type(kind) for name in named
        )
        bad, excused = failed.get(rule.rule_id, set()), acknowledged.get(rule.rule_id, set())
        resources = tuple(
            (name, "failed" if name in bad else "acknowledged" if name in excused else "passed")
            for name in sorted({*inspected, *bad, *excused})
        )
        yield RuleOutcome(rule.rule_id, _state(resources), resources), rule.controls


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
    return max((state for _, state in resources), key=SEVERITY.index, default="not_applicable")


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
