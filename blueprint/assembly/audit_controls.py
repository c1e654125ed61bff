"""The audit report's compliance sections: the nag packs and their acknowledgments, cfn-lint,
checkov's skips, the control matrix of the platform pack, the acknowledgments grouped by
reason and the residual risks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.reader import Assembly
from blueprint.model.sections.platform import AcknowledgmentReview
from genai_constructs.checks import (
    RULES,
    CheckSettings,
    Compliance,
    Result,
    Template,
    evaluate,
    rule_id,
)

Json = dict[str, Any]


def acknowledgments_by_pack(nag_report: Json) -> tuple[dict[str, list[Json]], list[Json]]:
    """The nag report's acknowledgments of each pack's rules, and the others (cfn-lint
    ignores, acknowledged annotations)."""
    acknowledgments = list(nag_report.get("acknowledgments", []))
    names = [pack["pack"] for pack in nag_report.get("packs", [])]
    by_pack = {
        name: [a for a in acknowledgments if a["rule"].startswith(f"{name}-")] for name in names
    }
    prefixes = tuple(f"{name}-" for name in names)
    return by_pack, [a for a in acknowledgments if not a["rule"].startswith(prefixes)]


def compliance(assembly: Assembly, lint: bool = True) -> Json:
    by_pack, other = acknowledgments_by_pack(assembly.nag_report)
    packs = [
        {
            "pack": pack["pack"],
            "unacknowledged": len(pack.get("unacknowledged", [])),
            "findings": pack.get("unacknowledged", []),
            "acknowledgments": by_pack[pack["pack"]],
        }
        for pack in assembly.nag_report.get("packs", [])
    ]
    return {
        "nag_packs": packs,
        "other_acknowledgments": other,
        "cfn_lint": cfn_lint(assembly) if lint else {"ran": False, "findings": []},
        "checkov_skips": checkov_skips(assembly),
    }


def checkov_skips(assembly: Assembly) -> list[Json]:
    """Each checkov check skipped on a resource, with its reason (``Metadata: checkov``)."""
    return [
        {
            "stack": stack.name,
            "resource": logical_id,
            "check": skip["id"],
            "reason": skip["comment"],
        }
        for stack, logical_id, resource in assembly.resources()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def cfn_lint(assembly: Assembly) -> Json:
    """cfn-lint over every template, in the stack's own region (reusing `blueprint lint`'s
    result while the templates are unchanged)."""
    from blueprint.assembly.lint import cached_lint, lint_assembly

    result = cached_lint(assembly.directory, assembly) or lint_assembly(
        assembly.directory, assembly=assembly
    )
    return {key: result[key] for key in ("ran", "templates", "findings")}


def control_matrix(assembly: Assembly, settings: CheckSettings) -> list[Json]:
    """Each control of the platform pack (the rules that gate synthesis) over the assembly:
    the resources that implement it, those acknowledged, those missing."""
    templates = [Template(stack.name, stack.region, stack.template) for stack in assembly.stacks]
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for result in evaluate(templates, settings):
        by_rule[result.rule.name].append(result)
    rows = []
    for rule in RULES:
        results = by_rule[rule.name]

        def where(result: Result) -> str:
            return f"{result.template.name}/{result.logical_id}"

        implemented = [where(r) for r in results if r.compliance is Compliance.COMPLIANT]
        acknowledged = [
            where(r)
            for r in results
            if r.compliance is Compliance.NON_COMPLIANT and r.acknowledgment is not None
        ]
        missing = [where(r) for r in results if r.violation]
        rows.append(
            {
                "control": rule.control,
                "rule": rule_id(rule),
                "description": rule.explanation,
                "frameworks": {pack: list(ids) for pack, ids in rule.controls.items()},
                "implemented": len(implemented),
                "acknowledged": len(acknowledged),
                "missing": len(missing),
                "implementing_resources": implemented,
                "acknowledged_resources": acknowledged,
                "missing_resources": missing,
            }
        )
    return rows


def acknowledgment_groups(nag_report: Json, reviews: Sequence[AcknowledgmentReview]) -> list[Json]:
    """The acknowledgments grouped by reason (one reason covers many resources), largest
    first, each with the owner and expiry of the first review whose rule prefix matches."""
    groups: dict[str, Json] = {}
    for entry in nag_report.get("acknowledgments", []):
        group = groups.setdefault(
            entry["reason"], {"reason": entry["reason"], "rules": set(), "resources": 0}
        )
        group["rules"].add(entry["rule"].split("[")[0])
        group["resources"] += 1
    today = datetime.now(UTC).date()
    rows = []
    for group in groups.values():
        rules = sorted(group["rules"])
        review = next((r for r in reviews if any(rule.startswith(r.rule) for rule in rules)), None)
        rows.append(
            {
                "reason": group["reason"],
                "rules": rules,
                "resources": group["resources"],
                "owner": review.owner if review else None,
                "expires": review.expires.isoformat() if review else None,
                "expired": bool(review and review.expires < today),
            }
        )
    return sorted(rows, key=lambda row: (-row["resources"], row["reason"]))


RESIDUAL_RISKS = Path(__file__).with_name("residual_risks.yaml")


def residual_risks(assembly: Assembly, path: Path = RESIDUAL_RISKS) -> list[Json]:
    """The known risks the blueprint leaves open, with their compensating controls: those
    whose resource type the assembly deploys, and those that always apply."""
    deployed = {resource.get("Type") for _, _, resource in assembly.resources()}
    return [
        {key: entry[key] for key in ("id", "risk", "why", "compensating")}
        for entry in yaml.safe_load(path.read_text())
        if entry.get("when") is None or entry["when"] in deployed
    ]
