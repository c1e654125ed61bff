"""The auditor toolkit: read a synthesized cloud assembly and describe what it deploys.

Every figure comes from the assembly (``manifest.json``, the templates, ``nag-report.json``)
and from the organization file; nothing is hard-coded. ``write_audit`` writes ``audit/``
inside the assembly: ``audit.json`` (the model), ``audit.md`` and ``index.html``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from blueprint.assembly.access.matrix import access_matrix
from blueprint.assembly.access.world import build_world
from blueprint.assembly.audit_controls import (
    acknowledgment_groups,
    compliance,
    control_matrix,
    residual_risks,
)
from blueprint.assembly.audit_iam import iam_summary
from blueprint.assembly.audit_inventory import ai_inventory, inventory_changes
from blueprint.assembly.audit_release import release_metadata
from blueprint.assembly.cost import estimate_costs
from blueprint.assembly.frameworks import framework_results
from blueprint.assembly.reader import Assembly, read_assembly
from blueprint.assembly.replacement import stateful_changes
from blueprint.model.plan import Plan
from blueprint.model.prices import load_prices
from genai_constructs.checks import CheckSettings

Json = dict[str, Any]
PLATFORM = "platform"


# --- inventory ---------------------------------------------------------------------------


def inventory(assembly: Assembly) -> Json:
    accounts: dict[str, Json] = defaultdict(lambda: {"regions": set(), "stacks": []})
    for stack in assembly.stacks:
        counts = Counter(r.get("Type", "?") for r in stack.resources.values())
        accounts[stack.account]["regions"].add(stack.region)
        accounts[stack.account]["stacks"].append(
            {
                "stack": stack.name,
                "environment": f"aws://{stack.account}/{stack.region}",
                "placement": stack.identity.placement,
                "kind": stack.identity.kind.value,
                "layer": stack.identity.layer.value,
                "lob": stack.identity.lob,
                "lob_environment": (
                    stack.identity.environment.value if stack.identity.environment else None
                ),
                "resources": sum(counts.values()),
                "by_type": dict(sorted(counts.items())),
            }
        )
    by_type = Counter(r.get("Type", "?") for _, _, r in assembly.resources())
    return {
        "accounts": [
            {
                "account": account,
                "regions": sorted(entry["regions"]),
                "resources": sum(s["resources"] for s in entry["stacks"]),
                "stacks": entry["stacks"],
            }
            for account, entry in sorted(accounts.items())
        ],
        "by_type": dict(by_type.most_common()),
        "totals": {
            "accounts": len(accounts),
            "stacks": len(assembly.stacks),
            "resources": sum(by_type.values()),
        },
    }


# --- residency ---------------------------------------------------------------------------


def residency(assembly: Assembly, allowed_regions: list[str]) -> Json:
    regions: dict[str, set[str]] = defaultdict(set)
    for stack in assembly.stacks:
        regions[stack.identity.lob or PLATFORM].add(stack.region)
    outside = sorted({s.region for s in assembly.stacks} - set(allowed_regions))
    return {
        "allowed_regions": sorted(allowed_regions),
        "regions_by_lob": {lob: sorted(r) for lob, r in sorted(regions.items())},
        "outside_allowed": outside,
    }


# --- the report --------------------------------------------------------------------------


def build_report(
    directory: Path,
    plan: Plan,
    settings: CheckSettings,
    prices_file: Path | None = None,
    lint: bool = True,
    baseline: Path | None = None,
    org_file: Path | None = None,
    assembly: Assembly | None = None,
    fresh: bool = False,
) -> Json:
    """The report of the assembly in ``directory`` of the organization ``plan``; ``settings``
    are what the platform pack checked during synthesis; ``baseline``, an earlier assembly
    whose stateful resources this one would delete or replace; ``org_file``, the organization
    file ``plan`` was read from (named, with its digest, in the release section); ``assembly``,
    the one in ``directory`` when the caller has read it. The access table's cells are kept
    in ``directory`` and given again while nothing they read changes, unless ``fresh``."""
    assembly = assembly or read_assembly(directory)
    allowed_regions = list(settings.allowed_regions)
    controls = control_matrix(assembly, settings)
    world = build_world(assembly)
    return {
        "assembly": str(directory),
        "release": release_metadata(org_file),
        "operating_model": operating_model(plan),
        "baseline": baseline_changes(baseline, directory, plan) if baseline else None,
        "frameworks": framework_results(assembly.nag_report, assembly, controls),
        "acknowledgment_groups": acknowledgment_groups(
            assembly.nag_report, plan.config.platform.acknowledgment_reviews
        ),
        "inventory": inventory(assembly),
        "ai_inventory": ai_inventory(assembly),
        "compliance": compliance(assembly, lint=lint),
        "controls": controls,
        "iam": iam_summary(assembly, world),
        "access": access_matrix(world, plan, remember=directory, fresh=fresh),
        "residual_risks": residual_risks(assembly),
        "residency": residency(assembly, allowed_regions),
        "cost": estimate_costs(assembly, load_prices(prices_file)),
    }


def operating_model(plan: Plan) -> Json:
    """The organization's operating model and where it puts each placement's layers."""
    return {
        "model": plan.operating_model.value,
        "placements": [
            {
                "placement": p.key,
                "account": p.account,
                "region": p.region,
                "lob": p.lob.name if p.lob else "platform",
                "layers": [layer.value for layer in p.layers],
                "tenancy_of": p.tenancy_of or "",
            }
            for p in plan.placements
        ],
    }


def baseline_changes(baseline: Path, candidate: Path, plan: Plan) -> Json:
    """The stateful resources of ``baseline`` that deploying ``candidate`` deletes or replaces
    (``at_risk``), the retained ones it orphans (kept in the account, no longer managed), and
    who gains or loses what in the access tables (``access``), and the AI systems added,
    removed or changed (``ai_systems``)."""
    changes = stateful_changes(baseline, candidate)
    before, after = read_assembly(baseline), read_assembly(candidate)

    def rows(orphaned: bool) -> list[Json]:
        return [
            {
                "stack": item.stack,
                "logical_id": item.logical_id,
                "type": item.resource_type,
                "reason": item.reason,
            }
            for item in changes
            if item.orphaned is orphaned
        ]

    return {
        "baseline": str(baseline),
        "at_risk": rows(False),
        "orphaned": rows(True),
        "access": access_changes(
            access_matrix(build_world(before), plan), access_matrix(build_world(after), plan)
        ),
        "ai_systems": inventory_changes(ai_inventory(before), ai_inventory(after)),
    }


def access_changes(before: Json, after: Json) -> list[Json]:
    """Each cell of the access tables that differs: who gained or lost what, per environment
    (a principal or column only one side has counts as "-" on the other)."""

    def cells(matrix: Json) -> dict[tuple[str, str, str], str]:
        return {
            (environment["placement"], row["principal"], column): cell
            for environment in matrix["environments"]
            for row in environment["rows"]
            for column, cell in zip(environment["columns"], row["cells"], strict=True)
        }

    old, new = cells(before), cells(after)
    return [
        {
            "placement": placement,
            "principal": principal,
            "resource": column,
            "before": old.get((placement, principal, column), "-"),
            "after": new.get((placement, principal, column), "-"),
        }
        for placement, principal, column in sorted(set(old) | set(new))
        if old.get((placement, principal, column), "-")
        != new.get((placement, principal, column), "-")
    ]


_encode = json.JSONEncoder().encode


def _key(key: Any) -> str:
    """A mapping's key as the standard library writes it (1, None, True become strings)."""
    return _encode(key) if isinstance(key, str) else _encode({key: 0})[1:-4]


def readable_json(value: Any, depth: int = 0) -> str:
    """JSON with a line for each key of the sections and their parts and for each row of their
    lists, every row on its own line (the standard library encodes a row in C; indenting every
    level is done in Python, 1.7 s for the 120 MB of a 100-LOB organization's report)."""
    inner = "  " * (depth + 1)
    if depth < 3 and isinstance(value, dict) and value:
        parts = [f"{inner}{_key(key)}: {readable_json(v, depth + 1)}" for key, v in value.items()]
    elif depth < 3 and isinstance(value, list) and value:
        parts = [inner + _encode(row) for row in value]
    else:
        return _encode(value)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + ",\n".join(parts) + "\n" + "  " * depth + closing


def write_audit(report: Json, directory: Path) -> Path:
    from blueprint.assembly.audit_report import render_html, render_markdown, write_csv
    from blueprint.assembly.audit_tables import tables

    out = directory / "audit"
    out.mkdir(parents=True, exist_ok=True)
    every = tables(report)
    write_csv(report, out / "csv", every)
    (out / "audit.json").write_text(readable_json(report) + "\n")
    (out / "audit.md").write_text(render_markdown(report, every))
    (out / "index.html").write_text(render_html(report, every))
    return out
