"""The audit report's tables: each section of the report data as rows and columns, in the
order the report shows them (``audit_report`` writes them as Markdown, HTML and CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blueprint.assembly.cost import amount, price_source, total_label
from blueprint.assembly.frameworks import framework_resource_rows
from blueprint.model.inventory import SystemKind

Json = dict[str, Any]


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""
    # Too long to read on a page: written to its CSV, named with its row count in the page.
    csv_only: bool = False


def summary_table(report: Json) -> Table:
    totals = report["inventory"]["totals"]
    lint = report["compliance"]["cfn_lint"]
    rows = [
        ["operating model", report["operating_model"]["model"]],
        ["accounts", totals["accounts"]],
        ["stacks", totals["stacks"]],
        ["resources", totals["resources"]],
        [
            "unacknowledged cdk-nag findings",
            sum(p["unacknowledged"] for p in report["compliance"]["nag_packs"]),
        ],
        ["cfn-lint findings", len(lint["findings"]) if lint["ran"] else "not run"],
        ["controls with missing resources", sum(1 for c in report["controls"] if c["missing"])],
        ["roles without permissions boundary", len(report["iam"]["roles_without_boundary"])],
        ["wildcard statements without acknowledgment", report["iam"]["unjustified_wildcards"]],
        [
            "acknowledgment reasons without an owner and expiry",
            sum(1 for g in report["acknowledgment_groups"] if not g["owner"]),
        ],
        [
            "acknowledgment reasons past their expiry",
            sum(1 for g in report["acknowledgment_groups"] if g["expired"]),
        ],
        [
            total_label(report["cost"], "idle baseline, USD/month"),
            report["cost"]["total_monthly_usd"],
        ],
    ]
    return Table("Summary", ["figure", "value"], rows, f"assembly: {report['assembly']}")


def inventory_tables(report: Json) -> list[Table]:
    stacks = [
        [
            a["account"],
            s["environment"].rsplit("/", 1)[1],
            s["stack"],
            s["placement"],
            s["layer"],
            s["lob"] or "",
            s["lob_environment"] or "",
            s["resources"],
            ", ".join(f"{t} {n}" for t, n in s["by_type"].items()),
        ]
        for a in report["inventory"]["accounts"]
        for s in a["stacks"]
    ]
    types = [[t, n] for t, n in report["inventory"]["by_type"].items()]
    return [
        Table(
            "Inventory by account and stack",
            [
                "account",
                "region",
                "stack",
                "placement",
                "layer",
                "LOB",
                "environment",
                "resources",
                "by type",
            ],
            stacks,
        ),
        Table("Resources by type", ["type", "count"], types),
    ]


def compliance_tables(report: Json) -> list[Table]:
    compliance = report["compliance"]
    packs = [
        [p["pack"], p["unacknowledged"], len(p["acknowledgments"])] for p in compliance["nag_packs"]
    ]
    acks = [
        [a["rule"], a["resource"], a["reason"]]
        for p in compliance["nag_packs"]
        for a in p["acknowledgments"]
    ]
    acks += [[a["rule"], a["resource"], a["reason"]] for a in compliance["other_acknowledgments"]]
    lint = compliance["cfn_lint"]
    findings = [[f["stack"], f["rule"], f["line"], f["message"]] for f in lint["findings"]]
    lint_note = f"{lint.get('templates', 0)} templates linted" if lint["ran"] else "not run"
    skips = [
        [s["check"], f"{s['stack']}/{s['resource']}", s["reason"]]
        for s in compliance["checkov_skips"]
    ]
    return [
        Table("cdk-nag packs", ["pack", "unacknowledged", "acknowledgments"], packs),
        Table("cfn-lint findings", ["stack", "rule", "line", "message"], findings, lint_note),
        Table(
            "Acknowledgments, one per resource",
            ["rule", "resource", "reason"],
            acks,
            "In full in csv/acknowledgments-one-per-resource.csv; grouped by reason above.",
        ),
        Table(
            "checkov skips",
            ["check", "resource", "reason"],
            skips,
            "checkov (the auditors' scanner) reports 0 failed checks; these are the skipped ones",
        ),
    ]


def operating_model_table(report: Json) -> Table:
    model = report["operating_model"]
    rows = [
        [
            p["placement"],
            p["lob"],
            p["account"],
            p["region"],
            ", ".join(p["layers"]),
            p["tenancy_of"],
        ]
        for p in model["placements"]
    ]
    return Table(
        "Operating model",
        ["placement", "LOB", "account", "region", "layers", "tenancy of"],
        rows,
        f"organization.operating_model: {model['model']} (docs/platform-engineers.md "
        '"Operating models"): the layers each account hosts',
    )


def release_table(report: Json) -> Table:
    release = report["release"]
    rows = [
        ["generated at (UTC)", release["generated_at"]],
        ["commit", release["commit"]],
        ["uncommitted changes", "YES" if release["uncommitted_changes"] else "none"],
        *(
            [
                ["organization file", organization["path"]],
                ["organization file SHA-256", organization["sha256"]],
                ["organization file under version control", organization["version_control"]],
            ]
            if (organization := release.get("organization_file"))
            else []
        ),
        *[[f"tool: {name}", version] for name, version in release["tools"].items()],
    ]
    return Table("Release", ["what", "value"], rows)


def baseline_table(report: Json) -> Table:
    changes = report["baseline"]
    rows = [
        [c["stack"], c["logical_id"], c["type"], c["reason"]]
        for c in [*changes["at_risk"], *changes.get("orphaned", [])]
    ]
    return Table(
        "Stateful resources deleted or replaced against the baseline",
        ["stack", "logical ID", "type", "reason"],
        rows,
        f"baseline: {changes['baseline']}; {len(rows)} at risk",
    )


def access_change_table(report: Json) -> Table:
    changes = report["baseline"].get("access", [])
    rows = [
        [c["placement"], c["principal"], c["resource"], c["before"], c["after"]] for c in changes
    ]
    return Table(
        "Who gains or loses access against the baseline",
        ["environment", "principal", "resource", "before", "after"],
        rows,
        "The who-can-do-what cells that differ, both sides decided by the access evaluator.",
    )


def ai_inventory_table(report: Json) -> Table:
    systems = report["ai_inventory"]
    rows = [
        [
            s["placement"],
            s["account"],
            s["kind"],
            s["name"],
            s["model"],
            s["owner"] or "NONE",
            s["escalation_contact"] or "NONE",
            s["risk_tier"] or "NONE",
            {True: "yes", False: "no", None: "NONE"}[s["human_review"]],
            s["intended_use"],
            "; ".join(s["lineage"]),
            "; ".join(s["gates"]),
        ]
        for s in systems
    ]
    use_cases = [s for s in systems if s["kind"] == SystemKind.USE_CASE.value]
    unrecorded = sum(1 for s in use_cases if not s["risk_tier"])
    return Table(
        "AI inventory",
        [
            "environment",
            "account",
            "kind",
            "name",
            "model",
            "owner",
            "escalation contact",
            "risk tier",
            "human review",
            "intended use",
            "lineage",
            "gates",
        ],
        rows,
        f"{len(systems)} AI systems, {len(use_cases)} of them use cases ({unrecorded} without a "
        "record: validate requires one in prod). Versions, approval states and evaluation "
        "scores of the fine-tuned models are in each model package group of the registry.",
    )


def ai_inventory_change_table(report: Json) -> Table:
    changes = report["baseline"].get("ai_systems", [])
    rows = [
        [c["placement"], c["kind"], c["name"], c["change"], ", ".join(c["fields"])] for c in changes
    ]
    return Table(
        "AI systems added, removed or changed against the baseline",
        ["environment", "kind", "name", "change", "fields"],
        rows,
    )


def framework_tables(report: Json) -> list[Table]:
    """Per framework, one row per control that its cdk-nag rules or the platform's rules name;
    then every rule's resources, in one table."""
    tables = [
        Table(
            f"{pack} controls",
            [
                "control",
                "rules passed",
                "rules failed",
                "rules acknowledged",
                "rules not applicable",
                "resources checked",
                "acknowledged resources",
                "failed resources",
                "rules",
            ],
            [
                [
                    row["control"],
                    row["passed"],
                    row["failed"],
                    row["acknowledged"],
                    row["not_applicable"],
                    row["resources"],
                    row["acknowledged_resources"],
                    row["failed_resources"],
                    ", ".join(row["rules"]),
                ]
                for row in result["controls"]
            ],
            "Control IDs as the pack's cdk-nag rules name them and as the platform's own rules "
            "(GenAIPlatform-*) declare them. A rule passes when it inspects resources of the "
            "assembly and none has a finding; it is not applicable when the assembly has no "
            "resource of a type it inspects. Each resource: framework-rules-and-their-resources.",
        )
        for pack, result in report["frameworks"].items()
    ]
    tables.append(
        Table(
            "Framework rules and their resources",
            ["framework", "rule", "controls", "resource", "state"],
            framework_resource_rows(report["frameworks"]),
            "Every resource each rule inspected: passed, acknowledged (with its reason in the "
            "acknowledgments) or failed.",
            csv_only=True,
        )
    )
    return tables


def acknowledgment_group_table(report: Json) -> Table:
    rows = [
        [
            group["reason"],
            ", ".join(group["rules"]),
            group["resources"],
            group["owner"] or "UNREVIEWED: no platform.acknowledgment_reviews entry",
            ("EXPIRED " if group["expired"] else "") + (group["expires"] or ""),
        ]
        for group in report["acknowledgment_groups"]
    ]
    return Table(
        "Acknowledgments by reason",
        ["reason", "rules", "resources", "owner", "expires"],
        rows,
        "Owner and expiry from platform.acknowledgment_reviews of the organization file.",
    )


def control_table(report: Json) -> Table:
    rows = [
        [
            c["control"],
            c["rule"],
            c["description"],
            "; ".join(f"{pack}: {', '.join(ids)}" for pack, ids in c["frameworks"].items()),
            c["implemented"],
            c["acknowledged"],
            c["missing"],
            ", ".join(c["missing_resources"]),
        ]
        for c in report["controls"]
    ]
    return Table(
        "Control matrix",
        [
            "control",
            "rule (gates synthesis)",
            "what it requires",
            "framework controls",
            "implemented",
            "acknowledged",
            "missing",
            "missing resources",
        ],
        rows,
        "Each control is a rule of the GenAIPlatform cdk-nag pack: a missing resource fails "
        "synthesis unless it is acknowledged with a reason.",
    )


def iam_tables(report: Json) -> list[Table]:
    iam = report["iam"]
    roles = [[r["name"], r["role"], r["boundary"] or "NONE", r["allows"]] for r in iam["roles"]]
    wildcards = [
        [
            w["policy"],
            w["sid"],
            ", ".join(w["wildcards"]),
            " / ".join(w["acknowledgment"]) or "NOT ACKNOWLEDGED: " + ", ".join(w["uncovered"]),
        ]
        for w in iam["wildcard_statements"]
    ]
    return [
        Table(
            "IAM roles and permissions boundaries",
            ["role name", "stack / logical ID", "boundary", "its policies allow"],
            roles,
            "What each role's own policies allow, by service; its boundary, its denies and the "
            "resources' policies may narrow it (the who-can-do-what tables decide with all).",
        ),
        Table(
            "Allow statements with wildcards",
            ["policy", "sid", "wildcards", "acknowledgment"],
            wildcards,
        ),
    ]


def access_tables(report: Json) -> list[Table]:
    """Who can do what, one table per LOB environment, decided by the access evaluator."""
    access = report["access"]
    return [
        Table(
            f"Who can do what: {environment['placement']}",
            ["principal", *environment["columns"]],
            [[row["principal"], *row["cells"]] for row in environment["rows"]],
            access["legend"],
        )
        for environment in access["environments"]
    ]


def residual_risk_table(report: Json) -> Table:
    rows = [[r["id"], r["risk"], r["why"], r["compensating"]] for r in report["residual_risks"]]
    return Table(
        "Residual risks",
        ["id", "risk", "why it stays", "compensating control"],
        rows,
        "What the blueprint does not close by itself (blueprint/assembly/residual_risks.yaml)",
    )


def residency_table(report: Json) -> Table:
    residency = report["residency"]
    allowed = set(residency["allowed_regions"])
    rows = [
        [lob, ", ".join(regions), "yes" if set(regions) <= allowed else "NO"]
        for lob, regions in residency["regions_by_lob"].items()
    ]
    note = f"allowed regions: {', '.join(residency['allowed_regions'])}"
    return Table("Data residency", ["LOB", "regions", "all allowed"], rows, note)


def cost_table(report: Json) -> Table:
    cost = report["cost"]
    rows = [
        [
            e["placement"],
            e["kind"],
            amount(e),
            "; ".join(
                f"{line['item']}: {line['monthly_usd']:,.2f}"
                if line["monthly_usd"] is not None
                else f"{line['item']}: NOT PRICED ({line['why']})"
                for line in e["lines"]
            ),
        ]
        for e in cost["placements"]
    ]
    rows.append([total_label(cost), "", f"{cost['total_monthly_usd']:,.2f}", ""])
    note = (
        "Prices: " + "; ".join(price_source(cost)) + f". Regenerate: "
        f"{cost['prices']['regenerate']}. Assumption: {cost['assumption']}"
    )
    return Table(
        "Idle monthly baseline (USD)", ["placement", "kind", "USD/month", "lines"], rows, note
    )


def tables(report: Json) -> list[Table]:
    packs, lint, acknowledgments, checkov = compliance_tables(report)
    return [
        summary_table(report),
        operating_model_table(report),
        release_table(report),
        *(
            [baseline_table(report), access_change_table(report), ai_inventory_change_table(report)]
            if report.get("baseline")
            else []
        ),
        ai_inventory_table(report),
        *inventory_tables(report),
        control_table(report),
        packs,
        *framework_tables(report),
        lint,
        acknowledgment_group_table(report),
        *iam_tables(report),
        *access_tables(report),
        residual_risk_table(report),
        residency_table(report),
        cost_table(report),
        checkov,
        acknowledgments,
    ]
