"""Per framework control, what the synthesis found: the control IDs each rule of the NIST
800-53 R5, HIPAA Security and PCI DSS 3.2.1 packs names in its own text ("... - (Control IDs:
AU-2(b), AU-12(c))."), read from the installed cdk-nag package, set against the nag report's
findings and acknowledgments of that rule."""

from __future__ import annotations

import importlib.util
import re
import tarfile
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

Json = dict[str, Any]

PACK_SOURCES = {
    "NIST.800.53.R5": "package/lib/packs/nist-800-53-r5.js",
    "HIPAA.Security": "package/lib/packs/hipaa-security.js",
    "PCI.DSS.321": "package/lib/packs/pci-dss-321.js",
}
# One rule as a pack applies it: its text, then (a few lines on) the rule's function.
APPLIED_RULE = re.compile(
    r"info:\s*(?P<quote>['\"])(?P<info>(?:\\.|(?!(?P=quote)).)*)(?P=quote),.*?"
    r"rule:\s*\w+\.(?P<rule>\w+)",
    re.DOTALL,
)
CONTROL_IDS = re.compile(r"\(Control IDs?: (?P<ids>[^)]*(?:\([^)]*\)[^)]*)*)\)\.?\s*$")


def _cdk_nag_tarball() -> Path:
    """The package's JavaScript, found without importing it (which would start jsii)."""
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("cdk-nag is not installed")
    [location] = spec.submodule_search_locations
    [tarball] = (Path(location) / "_jsii").glob("cdk-nag@*.jsii.tgz")
    return tarball


def controls_of(info: str) -> list[str]:
    """The control IDs at the end of a rule's text."""
    found = CONTROL_IDS.search(info)
    if not found:
        return []
    return [part.strip() for part in found.group("ids").split(",") if part.strip()]


@cache
def rule_controls() -> dict[str, dict[str, list[str]]]:
    """Per pack, each rule's ID (``<pack>-<rule>``) and the control IDs it names."""
    mapping: dict[str, dict[str, list[str]]] = {}
    with tarfile.open(_cdk_nag_tarball()) as archive:
        for pack, member in PACK_SOURCES.items():
            source = archive.extractfile(member)
            text = source.read().decode() if source else ""
            mapping[pack] = {
                f"{pack}-{match.group('rule')}": controls_of(match.group("info"))
                for match in APPLIED_RULE.finditer(text)
            }
    return mapping


def framework_results(nag_report: Json) -> dict[str, list[Json]]:
    """Per framework pack, one row per control: its rules passed (no finding on any
    resource), failed (unacknowledged findings) and acknowledged (with the resources)."""
    failed = {
        finding["rule"]: len(finding.get("resources", []))
        for pack in nag_report.get("packs", [])
        for finding in pack.get("unacknowledged", [])
    }
    acknowledged: dict[str, int] = defaultdict(int)
    for entry in nag_report.get("acknowledgments", []):
        acknowledged[entry["rule"].split("[")[0]] += 1
    results: dict[str, list[Json]] = {}
    for pack, rules in rule_controls().items():
        by_control: dict[str, Json] = {}
        for rule, controls in rules.items():
            state = (
                "failed"
                if failed.get(rule)
                else ("acknowledged" if acknowledged.get(rule) else "passed")
            )
            for control in controls:
                row = by_control.setdefault(
                    control,
                    {
                        "control": control,
                        "passed": 0,
                        "failed": 0,
                        "acknowledged": 0,
                        "acknowledged_resources": 0,
                        "rules": [],
                    },
                )
                row[state] += 1
                row["acknowledged_resources"] += acknowledged.get(rule, 0)
                row["rules"].append(rule.removeprefix(f"{pack}-"))
        results[pack] = sorted(by_control.values(), key=lambda row: _control_key(row["control"]))
    return results


def _control_key(control: str) -> list[Any]:
    """AC-2(1) before AC-10; 164.308(a)(1) before 164.312(b)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", control)]
