"""The auditor toolkit, on a small organization: one LOB (claims) with one environment (prod)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.assembly.access import matrix
from blueprint.assembly.access.matrix import access_matrix
from blueprint.assembly.access.world import build_world
from blueprint.assembly.audit import access_changes, build_report, readable_json, write_audit
from blueprint.assembly.audit_inventory import ai_inventory, inventory_changes
from blueprint.assembly.audit_report import render_html
from blueprint.assembly.audit_tables import acknowledgment_group_table, summary_table, tables
from blueprint.assembly.cost import (
    by_resource_type,
    compare,
    comparison_table,
    cost_table,
    estimate_costs,
)
from blueprint.assembly.reader import AssemblyError, read_assembly
from blueprint.assembly.replacement import create_only_properties, resources_at_risk
from blueprint.cli import guard_replacements, main
from blueprint.model.inputs.compliance import check_settings
from blueprint.model.inventory import AI_SYSTEM_METADATA
from blueprint.model.loader import load_config
from blueprint.model.names import ASSET_METADATA
from blueprint.model.placing import plan_for
from blueprint.model.plan import Plan
from blueprint.model.prices import load_prices
from genai_constructs.checks import CheckSettings
from tests.conftest import EXAMPLE, REPO, Synthesized, marked, only_lobs, synthesize_org
from tests.docs import section

Json = dict[str, Any]
LOB, ENVIRONMENT = "claims", "prod"
CLAIMS_PROD = "666666666666"
DATA_STACK = f"{LOB}-{ENVIRONMENT}-data"


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = yaml.safe_load(EXAMPLE.read_text())
    lob = next(entry for entry in raw["lobs"] if entry["name"] == LOB)
    lob["environments"] = {ENVIRONMENT: lob["environments"][ENVIRONMENT]}
    # Prod alone trains nothing: its endpoint serves the open-weights model itself.
    lob["ml"].pop("fine_tuning")
    for endpoint in lob["ml"]["endpoints"]:
        endpoint["model"] = raw["catalog"]["open_weights"][0]["id"]
    # Its agent's image, from the account it keeps.
    for agent in lob["genai"]["agents"]:
        account = lob["environments"][ENVIRONMENT]["account"]
        agent["image"] = f"{account}.{agent['image'].split('.', 1)[1]}"
    only_lobs(raw, [lob])
    del raw["platform"]["hub"]  # one LOB environment and the platform accounts only
    raw["platform"]["acknowledgment_reviews"] = [
        {"rule": "AwsSolutions-IAM5", "owner": "security@example.com", "expires": "2027-06-30"},
        {"rule": "NIST.800.53.R5-", "owner": "grc@example.com", "expires": "2025-01-31"},
    ]
    path = tmp_path_factory.mktemp("org") / "org.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def assembly_dir(small_org: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    synthesize_org(load_config(small_org), outdir)
    return outdir


@pytest.fixture(scope="module")
def plan(small_org: Path) -> Plan:
    return plan_for(load_config(small_org))


@pytest.fixture(scope="module")
def settings(plan: Plan) -> CheckSettings:
    return check_settings(plan)


@pytest.fixture(scope="module")
def report(assembly_dir: Path, plan: Plan, settings: CheckSettings) -> Json:
    return build_report(assembly_dir, plan, settings)


def copy_assembly(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("asset.*", "audit"))
    return target


def edit_template(directory: Path, stack: str, edit: Any) -> None:
    path = directory / f"{stack}.template.json"
    template = json.loads(path.read_text())
    edit(template)
    path.write_text(json.dumps(template))


def stack_entry(report: Json, stack: str) -> Json:
    stacks = [s for a in report["inventory"]["accounts"] for s in a["stacks"]]
    return next(s for s in stacks if s["stack"] == stack)


def control(report: Json, name: str) -> Json:
    return next(c for c in report["controls"] if c["control"] == name)


def first_bucket(directory: Path) -> str:
    template = json.loads((directory / f"{DATA_STACK}.template.json").read_text())
    resources = template["Resources"]
    return next(k for k, r in resources.items() if r["Type"] == "AWS::S3::Bucket")


def test_inventory_counts_equal_the_templates(report: Json, assembly_dir: Path) -> None:
    assembly = read_assembly(assembly_dir)
    assert report["inventory"]["totals"]["stacks"] == len(assembly.stacks)
    for stack in assembly.stacks:
        counts = Counter(r["Type"] for r in stack.resources.values())
        entry = stack_entry(report, stack.name)
        assert entry["resources"] == len(stack.resources)
        assert entry["by_type"] == dict(counts)
    total = sum(len(s.resources) for s in assembly.stacks)
    assert report["inventory"]["totals"]["resources"] == total


def test_the_small_organization_passes_every_control(report: Json) -> None:
    assert report["compliance"]["cfn_lint"] == {
        "ran": True,
        "templates": report["inventory"]["totals"]["stacks"],
        "findings": [],
    }
    assert all(p["unacknowledged"] == 0 for p in report["compliance"]["nag_packs"])
    assert {c["control"]: c["missing"] for c in report["controls"]} == {
        c["control"]: 0 for c in report["controls"]
    }
    assert all(c["implemented"] > 0 for c in report["controls"])


def test_a_bucket_without_encryption_and_an_extra_resource_change_the_report(
    report: Json, assembly_dir: Path, plan: Plan, settings: CheckSettings, tmp_path: Path
) -> None:
    copy = copy_assembly(assembly_dir, tmp_path / "cdk.out")
    bucket = first_bucket(copy)

    def break_bucket(template: Json) -> None:
        del template["Resources"][bucket]["Properties"]["BucketEncryption"]
        template["Resources"]["ExtraTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {}}

    edit_template(copy, DATA_STACK, break_bucket)
    changed = build_report(copy, plan, settings, lint=False)

    at_rest = control(changed, "encryption at rest")
    assert at_rest["missing_resources"] == [f"{DATA_STACK}/{bucket}", f"{DATA_STACK}/ExtraTopic"]
    before, after = stack_entry(report, DATA_STACK), stack_entry(changed, DATA_STACK)
    assert after["resources"] == before["resources"] + 1
    assert after["by_type"]["AWS::SNS::Topic"] == before["by_type"].get("AWS::SNS::Topic", 0) + 1


def test_a_region_outside_the_allowed_list_breaks_residency(
    assembly_dir: Path, plan: Plan, settings: CheckSettings
) -> None:
    changed = build_report(
        assembly_dir, plan, replace(settings, allowed_regions=("eu-central-1",)), lint=False
    )
    assert changed["residency"]["outside_allowed"] == ["eu-west-1"]
    assert control(changed, "data residency")["implemented"] == 0


def test_who_can_do_what_comes_from_the_evaluator(
    report: Json, small_org: Path, assembly_dir: Path
) -> None:
    [environment] = report["access"]["environments"]
    assert environment["placement"] == f"{LOB}-{ENVIRONMENT}"
    cells = {
        row["principal"].split(":", 1)[-1]: dict(
            zip(environment["columns"], row["cells"], strict=True)
        )
        for row in environment["rows"]
    }
    assert {
        "example-corp-platform-admin",
        "example-corp-ml-engineer",
        "example-corp-auditor",
        "example-corp-app-claims-assistant",
        "example-corp-ingestion",
    } <= set(cells)
    # Every other role of the environment's stacks too: service and workload roles.
    assembly = read_assembly(assembly_dir)
    placement_roles = [
        (stack.name, logical_id)
        for stack in assembly.stacks
        if stack.identity.placement == environment["placement"]
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    assert len(environment["rows"]) == len(placement_roles)
    endpoint_roles = [c for name, c in cells.items() if "ExecutionRole" in name]
    assert endpoint_roles and all(c["key/data"] == "decrypt" for c in endpoint_roles)
    use_case = load_config(small_org).lobs[0].genai.use_cases[0]
    app = cells[f"example-corp-app-{use_case.name}"]
    # Through its use case's profile only: every call counts under the profile.
    assert app[f"profile/{use_case.name}"] == "invoke"
    assert app[f"model/{use_case.model}"] == "-"
    assert app["zone/curated"] == "-"
    assert cells["example-corp-ingestion"]["zone/training"] == "read, write"
    assert cells["example-corp-ingestion"]["key/data"] == "decrypt"
    for persona in ("platform-admin", "auditor", "ml-engineer"):
        assert set(cells[f"example-corp-{persona}"].values()) == {"-"}, persona


def test_the_summary_flags_unreviewed_and_expired_acknowledgments(report: Json) -> None:
    rows = dict(map(tuple, summary_table(report).rows))
    groups = report["acknowledgment_groups"]
    unreviewed = [g for g in groups if not g["owner"]]
    # The small organization reviews AwsSolutions-IAM5 and NIST (expired) only.
    assert unreviewed and rows["acknowledgment reasons without an owner and expiry"] == len(
        unreviewed
    )
    assert rows["acknowledgment reasons past their expiry"] == sum(g["expired"] for g in groups) > 0
    table = acknowledgment_group_table(report)
    assert any(row[3].startswith("UNREVIEWED") for row in table.rows)


def test_iam_summary_lists_the_boundary_of_every_role(report: Json, assembly_dir: Path) -> None:
    assembly = read_assembly(assembly_dir)
    roles = list(assembly.resources("AWS::IAM::Role"))
    assert len(report["iam"]["roles"]) == len(roles)
    # Break glass (its role and its alarm's publisher) is outside the boundary by design.
    unbounded = [r for r in report["iam"]["roles"] if not r["boundary"]]
    foundations = {stack.account for stack in assembly.stacks if stack.name.endswith("-foundation")}
    assert len(unbounded) == 2 * len(foundations)
    # One name whether the template refers to the boundary or gives its ARN.
    assert {r["boundary"] for r in report["iam"]["roles"] if r["boundary"]} == {
        "example-corp-permissions-boundary"
    }
    assert report["iam"]["wildcard_statements"]
    assert report["iam"]["unjustified_wildcards"] == 0


def test_html_holds_the_inline_diagram(report: Json, assembly_dir: Path, tmp_path: Path) -> None:
    out = write_audit(report, copy_assembly(assembly_dir, tmp_path / "cdk.out"))
    html = (out / "index.html").read_text()
    assert (
        "<svg" in html
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert f"{DATA_STACK}" in html
    assert json.loads((out / "audit.json").read_text())["inventory"] == report["inventory"]
    assert "| encryption at rest |" in (out / "audit.md").read_text()


def test_the_report_is_written_a_row_per_line_and_reads_back_whole(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    out = write_audit(report, copy_assembly(assembly_dir, tmp_path / "cdk.out"))
    text = (out / "audit.json").read_text()
    assert json.loads(text) == json.loads(json.dumps(report))
    rows = report["inventory"]
    assert rows and all(f"\n    {json.dumps(row)}" in text for row in rows)
    keys = {1: {None: [True], 2.5: {}}}
    assert json.loads(readable_json(keys)) == json.loads(json.dumps(keys))
    nested = {"a": {"b": {"c": [{"d": [1, 2]}], "e": {}}, "f": []}}
    assert readable_json(nested) == (
        '{\n  "a": {\n    "b": {\n      "c": [{"d": [1, 2]}],\n      "e": {}\n    },\n'
        '    "f": []\n  }\n}'
    )


def test_cost_comes_from_the_price_table(assembly_dir: Path, tmp_path: Path) -> None:
    assembly = read_assembly(assembly_dir)
    prices = load_prices()
    baseline = estimate_costs(assembly, prices)
    keys = sum(1 for _ in assembly.resources("AWS::KMS::Key"))
    prices["regions"]["eu-west-1"]["kms_key_month"]["price"] += 10
    dearer = estimate_costs(assembly, prices)
    assert dearer["total_monthly_usd"] == pytest.approx(baseline["total_monthly_usd"] + 10 * keys)


def test_cli_audit_and_cost(
    assembly_dir: Path, small_org: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_assembly(assembly_dir, tmp_path / "cdk.out")
    assert main(["audit", str(copy), "--org", str(small_org), "--no-lint"]) == 0
    assert {p.name for p in (copy / "audit").iterdir()} == {
        "index.html",
        "audit.md",
        "audit.json",
        "csv",
    }
    assert main(["cost", str(copy)]) == 0
    assert f"{LOB}-{ENVIRONMENT}" in capsys.readouterr().out


def test_replacement_guard_passes_an_unchanged_assembly(assembly_dir: Path, tmp_path: Path) -> None:
    candidate = copy_assembly(assembly_dir, tmp_path / "same")
    assert resources_at_risk(assembly_dir, candidate) == []
    assert guard_replacements(assembly_dir, candidate) == 0


def renamed_bucket(assembly_dir: Path, tmp_path: Path, *, retained: bool) -> tuple[Path, Path]:
    """A baseline whose first zone bucket is (or is not) retained, and a candidate that
    renames that bucket's logical ID."""
    baseline = copy_assembly(assembly_dir, tmp_path / "baseline")
    bucket = first_bucket(baseline)

    def retention(template: Json) -> None:
        if not retained:
            template["Resources"][bucket].pop("DeletionPolicy")

    def rename(template: Json) -> None:
        template["Resources"][f"{bucket}Renamed"] = template["Resources"].pop(bucket)

    edit_template(baseline, DATA_STACK, retention)
    candidate = copy_assembly(baseline, tmp_path / "renamed")
    edit_template(candidate, DATA_STACK, rename)
    return baseline, candidate


def test_replacement_guard_flags_a_renamed_bucket(assembly_dir: Path, tmp_path: Path) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    at_risk = resources_at_risk(baseline, candidate)
    assert [(r.stack, r.logical_id, r.reason) for r in at_risk] == [
        (DATA_STACK, first_bucket(baseline), "deleted (logical ID removed or renamed)")
    ]
    assert guard_replacements(baseline, candidate) == 3


def test_a_retained_resource_removed_is_orphaned_not_lost(
    assembly_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=True)
    assert resources_at_risk(baseline, candidate) == []
    assert guard_replacements(baseline, candidate) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"ORPHANED {CLAIMS_PROD}/{DATA_STACK}/{first_bucket(baseline)} ")
    assert "DeletionPolicy Retain: kept in the account with its data" in out[0]
    assert out[-1].endswith("; 1 orphaned (retained)")


def test_the_guard_reads_only_the_stacks_being_deployed(assembly_dir: Path, tmp_path: Path) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    assert guard_replacements(baseline, candidate, stacks=[f"{LOB}-{ENVIRONMENT}-security"]) == 0
    # cdk deploy deploys what a stack depends on: the genai stack brings the data stack.
    assert guard_replacements(baseline, candidate, stacks=[f"{LOB}-{ENVIRONMENT}-genai"]) == 3


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["claims-{prod,nonprod}-data"], "is not a pattern the guard reads as cdk does"),
        (["!claims-nonprod-*"], "is not a pattern the guard reads as cdk does"),
        (["claims-staging-*"], "matches no stack of"),
    ],
)
def test_a_stack_pattern_the_guard_cannot_honour_is_refused(
    assembly_dir: Path, tmp_path: Path, patterns: list[str], expected: str
) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    with pytest.raises(AssemblyError, match="^--stacks: .*" + re.escape(expected)):
        guard_replacements(baseline, candidate, stacks=patterns)


def test_a_reviewed_acceptance_lets_the_loss_through(
    assembly_dir: Path, tmp_path: Path, small_org: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    resource = f"{CLAIMS_PROD}/{DATA_STACK}/{first_bucket(baseline)}"
    accept = tmp_path / "accepted.yaml"
    accept.write_text(
        yaml.safe_dump([{"resource": resource, "reason": "CHG-1042: the raw zone is rebuilt"}])
    )
    argv = ["audit", str(candidate), "--org", str(small_org), "--no-lint"]
    argv += ["--baseline", str(baseline)]
    assert main([*argv, "--accept", str(accept)]) == 0
    assert f"ACCEPTED {resource} (AWS::S3::Bucket): deleted" in capsys.readouterr().out
    assert main(argv) == 3


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [{"resource": f"{CLAIMS_PROD}/{DATA_STACK}/Other", "reason": "a review long ago"}],
            f"accepts {CLAIMS_PROD}/{DATA_STACK}/Other, which this change does not delete or "
            "replace in the stacks checked; allowed: only resources the guard lists AT RISK",
        ),
        (
            [{"resource": f"{CLAIMS_PROD}/{DATA_STACK}/Other"}],
            "[0].reason: missing or shorter than 10 characters; allowed: what the review "
            "decided and why the data may go",
        ),
        ({"resource": "x"}, "not a list; allowed: a list of {resource: ACCOUNT/STACK/"),
    ],
)
def test_a_wrong_acceptance_file_exits_2_naming_the_entry(
    assembly_dir: Path,
    tmp_path: Path,
    small_org: Path,
    capsys: pytest.CaptureFixture[str],
    entries: object,
    expected: str,
) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    accept = tmp_path / "accepted.yaml"
    accept.write_text(yaml.safe_dump(entries))
    argv = ["audit", str(candidate), "--org", str(small_org), "--no-lint"]
    argv += ["--baseline", str(baseline), "--accept", str(accept)]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"blueprint audit: {accept}: {expected}")


def test_replacement_guard_flags_a_changed_create_only_property(
    assembly_dir: Path, tmp_path: Path
) -> None:
    candidate = copy_assembly(assembly_dir, tmp_path / "changed")
    security = f"{LOB}-{ENVIRONMENT}-security"

    flow_logs = marked(
        json.loads((assembly_dir / f"{security}.template.json").read_text()), "flow-logs/log-group"
    )

    def name_the_flow_log_group(template: Json) -> None:
        template["Resources"][flow_logs]["Properties"]["LogGroupName"] = "renamed"

    edit_template(candidate, security, name_the_flow_log_group)
    at_risk = resources_at_risk(assembly_dir, candidate)
    assert [(r.stack, r.logical_id, r.reason) for r in at_risk] == [
        (security, flow_logs, "replaced (create-only LogGroupName changed)")
    ]


def test_access_changes_name_who_gains_and_who_loses() -> None:
    def matrix(rows: dict[str, list[str]]) -> Json:
        environment = {"placement": "p", "columns": ["zone/raw", "key/data"]}
        environment["rows"] = [{"principal": k, "cells": v} for k, v in rows.items()]
        return {"environments": [environment]}

    before = matrix({"app": ["-", "-"], "writer": ["read, write", "decrypt"]})
    after = matrix({"app": ["read", "-"], "writer": ["read, write", "decrypt"], "new": ["-", "-"]})
    assert access_changes(before, after) == [
        {
            "placement": "p",
            "principal": "app",
            "resource": "zone/raw",
            "before": "-",
            "after": "read",
        }
    ]
    assert access_changes(after, before)[0]["after"] == "-"


def test_create_only_properties_come_from_the_cfn_lint_schemas() -> None:
    assert "/properties/BucketName" in create_only_properties("eu-west-1", "AWS::S3::Bucket")
    assert create_only_properties("eu-west-1", "AWS::Unknown::Type") == []


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def test_the_html_report_renders_in_a_real_browser(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "make test installs Debian's chromium for this test"
    page = write_audit(report, assembly_dir) / "index.html"
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, *profile, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<svg" in dom.stdout and "<rect" in dom.stdout
    assert "Platform audit" in dom.stdout
    assert "Uncaught" not in dom.stderr and ":CONSOLE" not in dom.stderr
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            *profile,
            f"--screenshot={screenshot}",
            "--window-size=1400,2000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert screenshot.stat().st_size > 10_000
    # At 1400 pixels the page does not scroll sideways (wide tables scroll in their own box).
    measured = tmp_path / "measured.html"
    measured.write_text(
        page.read_text().replace(
            "</body>",
            "<script>document.body.dataset.scrollWidth = "
            "document.documentElement.scrollWidth</script></body>",
        )
    )
    dom = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            *profile,
            "--window-size=1400,2000",
            "--dump-dom",
            measured.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    width = re.search(r'data-scroll-width="(\d+)"', dom.stdout)
    assert width is not None and int(width[1]) <= 1400, width


def test_the_contents_list_the_sections_in_the_order_they_render(report: Json) -> None:
    page = render_html(report)
    contents, body = page.split("</nav>", 1)
    listed = re.findall(r'<a href="#([^"]+)">', contents)
    rendered = re.findall(r'<h2 id="([^"]+)">', body)
    assert listed == rendered
    assert listed[1] == "architecture"


def test_every_stack_is_labelled_from_its_identity_not_its_name(report: Json) -> None:
    """Platform stacks carry no LOB; the oversight stacks belong to the governance account."""
    stacks = {s["stack"]: s for a in report["inventory"]["accounts"] for s in a["stacks"]}
    labels = {
        name: (s["placement"], s["kind"], s["layer"], s["lob"], s["lob_environment"])
        for name, s in stacks.items()
    }
    assert labels == {
        "organization-policies": ("management", "management", "organization", None, None),
        "organization-budgets-1": ("management", "management", "budgets", None, None),
        "organization-workforce": ("management", "management", "workforce", None, None),
        "platform-governance-security": (
            "platform-governance",
            "governance",
            "security",
            None,
            None,
        ),
        "platform-governance-foundation": (
            "platform-governance",
            "governance",
            "foundation",
            None,
            None,
        ),
        "platform-governance-audit": ("platform-governance", "governance", "audit", None, None),
        "platform-governance-oversight-1": (
            "platform-governance",
            "governance",
            "oversight",
            None,
            None,
        ),
        "platform-tooling-security": ("platform-tooling", "tooling", "security", None, None),
        "platform-tooling-foundation": ("platform-tooling", "tooling", "foundation", None, None),
        **{
            f"{LOB}-{ENVIRONMENT}-{layer}": (
                f"{LOB}-{ENVIRONMENT}",
                "lob-environment",
                layer,
                LOB,
                ENVIRONMENT,
            )
            for layer in ("security", "foundation", "data", "genai", "ml")
        },
    }
    assert report["residency"]["regions_by_lob"] == {LOB: ["eu-west-1"], "platform": ["eu-west-1"]}


def test_the_cost_section_says_where_each_regions_prices_came_from(report: Json) -> None:
    [eu_west] = [p for p in report["cost"]["prices"]["provenance"] if p["region"] == "eu-west-1"]
    assert eu_west["hand_typed"] > 0 and eu_west["from_offer_files"] == 0
    [table] = [t for t in tables(report) if t.title == "Idle monthly baseline (USD)"]
    assert "eu-west-1: " in table.note and "hand-typed and unverified" in table.note
    assert "blueprint prices" in table.note


def test_the_cost_table_has_one_row_per_placement(report: Json) -> None:
    rows = {row["placement"]: (row["kind"], row["lob"]) for row in report["cost"]["placements"]}
    assert rows == {
        "management": ("management", None),
        "platform-governance": ("governance", None),
        "platform-tooling": ("tooling", None),
        f"{LOB}-{ENVIRONMENT}": ("lob-environment", LOB),
    }


def test_an_assembly_without_identities_is_refused_by_the_audit(
    assembly_dir: Path, small_org: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_assembly(assembly_dir, tmp_path / "cdk.out")
    for metadata_file in copy.glob("*.metadata.json"):
        entries = json.loads(metadata_file.read_text())
        kept = {
            path: [e for e in items if e["type"] != "genai-platform:identity"]
            for path, items in entries.items()
        }
        metadata_file.write_text(json.dumps(kept))
    assert main(["cost", str(copy)]) == 2
    assert "carries no 'genai-platform:identity' metadata" in capsys.readouterr().err


def test_residual_risks_are_in_the_report_with_their_compensating_controls(report: Json) -> None:
    risks = {risk["id"]: risk for risk in report["residual_risks"]}
    assert {"detective-services", "build-dependencies", "break-glass"} <= set(risks)
    # The small organization's claims-prod serves a GPU endpoint.
    assert "endpoint-guardrail" in risks
    assert all(len(risk["compensating"]) > 80 for risk in risks.values())


def test_every_residual_risk_is_in_the_readme() -> None:
    """docs/auditors.md "Residual risks" lists every risk the audit report may list."""
    risks = section("### Residual risks")
    listed = yaml.safe_load((REPO / "blueprint/assembly/residual_risks.yaml").read_text())
    assert [r["id"] for r in listed if f"`{r['id']}`" not in risks] == []


def test_summary_counts_the_acknowledgments_the_audit_lists(
    report: Json, assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every acknowledgment, wildcard ones ([Action::...], [Resource::...]) included."""
    assert main(["summary", str(assembly_dir)]) == 0
    printed = capsys.readouterr().out
    compliance = report["compliance"]
    for pack in compliance["nag_packs"]:
        counts = f"0 unacknowledged finding(s), {len(pack['acknowledgments'])} acknowledged"
        assert f"{pack['pack']}: {counts}" in printed
    total = sum(len(pack["acknowledgments"]) for pack in compliance["nag_packs"])
    wildcards = sum(
        "[Action::" in a["rule"] or "[Resource::" in a["rule"]
        for pack in compliance["nag_packs"]
        for a in pack["acknowledgments"]
    )
    assert wildcards > 0
    assert (
        f"acknowledged findings: {total} of the packs, "
        f"{len(compliance['other_acknowledgments'])} cfn-lint ignores" in printed
    )


def framework_rows(report: Json, pack: str) -> dict[str, Json]:
    return {row["control"]: row for row in report["frameworks"][pack]["controls"]}


def test_each_framework_has_its_control_ids_from_the_nag_rules(report: Json) -> None:
    frameworks = report["frameworks"]
    assert set(frameworks) == {"NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"}
    logging = framework_rows(report, "HIPAA.Security")["164.312(b)"]
    assert {"HIPAA.Security-VPCFlowLogsEnabled", "HIPAA.Security-S3BucketLoggingEnabled"} <= set(
        logging["rules"]
    )
    assert "AU-2b" in framework_rows(report, "NIST.800.53.R5")
    inline = framework_rows(report, "NIST.800.53.R5")["AC-2(1)"]
    assert "NIST.800.53.R5-IAMNoInlinePolicy" in inline["rules"]
    assert inline["acknowledged"] >= 1 and inline["acknowledged_resources"] > 0
    for pack in frameworks:
        for row in frameworks[pack]["controls"]:
            states = row["passed"] + row["failed"] + row["acknowledged"] + row["not_applicable"]
            assert states == len(row["rules"])
            assert row["failed"] == 0 and row["failed_resources"] == 0  # a passing synthesis


def test_controls_only_the_platforms_rules_cover_are_in_the_framework_table(report: Json) -> None:
    nist = framework_rows(report, "NIST.800.53.R5")
    at_rest = nist["SC-28"]
    assert at_rest["rules"] == ["GenAIPlatform-EncryptionAtRest"]
    assert at_rest["passed"] == 1 and at_rest["resources"] > 0
    assert "GenAIPlatform-SignedRequestsOnly" in nist["IA-2"]["rules"]
    # The platform's rule and cdk-nag's meet in one row where they name the same control.
    assert {"GenAIPlatform-AuditLogging", "NIST.800.53.R5-VPCFlowLogsEnabled"} <= set(
        nist["AU-2b"]["rules"]
    )
    assert "164.312(d)" in framework_rows(report, "HIPAA.Security")


def test_rules_of_services_the_assembly_lacks_are_not_applicable_not_passed(
    report: Json,
) -> None:
    rules = {rule["rule"]: rule for rule in report["frameworks"]["NIST.800.53.R5"]["rules"]}
    for absent in (
        "RDSInstancePublicAccess",
        "RedshiftClusterPublicAccess",
        "DMSReplicationNotPublic",
    ):
        assert rules[f"NIST.800.53.R5-{absent}"]["state"] == "not_applicable"
        assert rules[f"NIST.800.53.R5-{absent}"]["resources"] == []
    assert rules["NIST.800.53.R5-S3BucketPublicReadProhibited"]["state"] == "passed"
    accounts = framework_rows(report, "NIST.800.53.R5")["AC-2(6)"]
    assert accounts["not_applicable"] >= 3 and accounts["passed"] >= 1


def test_the_resources_behind_each_control_are_listed(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    out = write_audit(report, copy_assembly(assembly_dir, tmp_path / "cdk.out"))
    with (out / "csv" / "framework-rules-and-their-resources.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    inline = {
        row["resource"]: row["state"]
        for row in rows
        if row["framework"] == "NIST.800.53.R5"
        and row["rule"] == "NIST.800.53.R5-IAMNoInlinePolicy"
    }
    names = {
        path: f"{stack.name}/{logical_id}"
        for stack in read_assembly(assembly_dir).stacks
        for path, logical_id in stack.logical_ids.items()
    }
    acknowledged = {
        names[entry["resource"]]
        for pack in report["compliance"]["nag_packs"]
        for entry in pack["acknowledgments"]
        if entry["rule"] == "NIST.800.53.R5-IAMNoInlinePolicy"
    }
    assert acknowledged and {inline[resource] for resource in acknowledged} == {"acknowledged"}
    assert "passed" in inline.values()
    assert all(
        "AC-2(1)" in row["controls"]
        for row in rows
        if row["rule"].endswith("NoInlinePolicy") and row["framework"] == "NIST.800.53.R5"
    )
    # Too long for the page: the page names the file and its row count.
    page = (out / "index.html").read_text()
    assert f"{len(rows)} rows (framework, rule, controls, resource, state)" in page


def test_a_resource_and_a_rule_count_once_in_a_control(report: Json, assembly_dir: Path) -> None:
    """cdk-nag names a resource by construct path and the platform's rules by STACK/LOGICAL_ID:
    one name each; a control a rule's text names twice lists the rule once."""
    named = {
        f"{stack.name}/{logical_id}"
        for stack, logical_id, _ in read_assembly(assembly_dir).resources()
    }
    for result in report["frameworks"].values():
        for rule in result["rules"]:
            assert {resource for resource, _ in rule["resources"]} <= named, rule["rule"]
            assert len(rule["controls"]) == len(set(rule["controls"])), rule["rule"]
        for row in result["controls"]:
            assert len(row["rules"]) == len(set(row["rules"])), row["control"]


def test_a_framework_row_fails_when_its_rule_has_an_unacknowledged_finding(
    report: Json, assembly_dir: Path
) -> None:
    from blueprint.assembly.frameworks import framework_results

    nag = {
        "packs": [
            {
                "pack": "HIPAA.Security",
                "unacknowledged": [
                    {"rule": "HIPAA.Security-VPCFlowLogsEnabled", "resources": ["x/Vpc/Resource"]}
                ],
            }
        ],
        "acknowledgments": [],
    }
    results = framework_results(nag, read_assembly(assembly_dir), report["controls"])
    logging = next(
        row for row in results["HIPAA.Security"]["controls"] if row["control"] == "164.312(b)"
    )
    assert logging["failed"] == 1 and logging["failed_resources"] == 1


def test_the_iam_table_says_what_each_role_may_do(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    allows = {role["role"]: role["allows"] for role in report["iam"]["roles"]}
    [knowledge_base] = [
        text for role, text in allows.items() if "KnowledgeBase" in role and "ServiceRole" in role
    ]
    assert (
        "bedrock: InvokeModel" in knowledge_base and "s3: GetObject, ListBucket" in knowledge_base
    )
    break_glass = {text for role, text in allows.items() if "BreakGlassRole" in role}
    assert break_glass == {"every action"}
    [admin] = {text for role, text in allows.items() if "/PersonasPlatformAdmin" in role}
    assert admin.startswith("every action but iam:*, organizations:*, account:*")
    out = write_audit(report, copy_assembly(assembly_dir, tmp_path / "cdk.out"))
    with (out / "csv" / "iam-roles-and-permissions-boundaries.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["its policies allow"] for row in rows} == set(allows.values())


def test_roles_are_listed_by_their_iam_names(report: Json) -> None:
    names = {role["name"] for role in report["iam"]["roles"]}
    assert "example-corp-ml-engineer" in names
    assert any(name.endswith("(named by CloudFormation)") for name in names)


def test_the_release_names_its_time_commit_and_tools(report: Json) -> None:
    release = report["release"]
    assert release["generated_at"].endswith("+00:00")
    assert len(release["commit"]) == 40 or release["commit"].startswith("unknown")
    assert release["tools"]["cdk-nag"] == "3.0.2"
    assert release["tools"]["aws-cdk (CLI)"] == "2.1148.1"


def test_acknowledgments_are_grouped_by_reason_with_owner_and_expiry(report: Json) -> None:
    groups = report["acknowledgment_groups"]
    assert sum(g["resources"] for g in groups) == len(report_acknowledgments(report))
    assert [g["resources"] for g in groups] == sorted(
        (g["resources"] for g in groups), reverse=True
    )
    wildcards = next(g for g in groups if g["rules"] == ["AwsSolutions-IAM5"])
    assert (wildcards["owner"], wildcards["expires"], wildcards["expired"]) == (
        "security@example.com",
        "2027-06-30",
        False,
    )
    inline = next(g for g in groups if "NIST.800.53.R5-IAMNoInlinePolicy" in g["rules"])
    assert inline["expired"] is True


def report_acknowledgments(report: Json) -> list[Json]:
    compliance = report["compliance"]
    return [a for p in compliance["nag_packs"] for a in p["acknowledgments"]] + compliance[
        "other_acknowledgments"
    ]


def test_every_table_is_exported_as_csv_and_listed_in_the_contents(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    from blueprint.assembly.audit_report import slug
    from blueprint.assembly.audit_tables import tables

    out = write_audit(report, copy_assembly(assembly_dir, tmp_path / "cdk.out"))
    html, markdown = (out / "index.html").read_text(), (out / "audit.md").read_text()
    for table in tables(report):
        with (out / "csv" / f"{slug(table.title)}.csv").open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == table.headers
        assert len(rows) == len(table.rows) + 1
        assert f'href="#{slug(table.title)}"' in html and f'id="{slug(table.title)}"' in html
        assert f"(#{slug(table.title)})" in markdown


def test_the_baseline_diff_is_part_of_the_report(
    assembly_dir: Path, small_org: Path, tmp_path: Path
) -> None:
    baseline, candidate = renamed_bucket(assembly_dir, tmp_path, retained=False)
    bucket = first_bucket(baseline)
    arguments = ["audit", str(candidate), "--org", str(small_org), "--no-lint"]
    assert main([*arguments, "--baseline", str(baseline)]) == 3
    written = json.loads((candidate / "audit" / "audit.json").read_text())
    assert written["baseline"]["at_risk"] == [
        {
            "stack": DATA_STACK,
            "logical_id": bucket,
            "type": "AWS::S3::Bucket",
            "reason": "deleted (logical ID removed or renamed)",
        }
    ]
    assert written["baseline"]["orphaned"] == []
    # The renamed bucket's policies no longer name it for certain: the writer's access to the
    # raw zone becomes unknown, and the table of changes says so.
    assert {
        "placement": f"{LOB}-{ENVIRONMENT}",
        "principal": f"{CLAIMS_PROD}:example-corp-ingestion",
        "resource": "zone/raw",
        "before": "read, write",
        "after": "read?, write?",
    } in written["baseline"]["access"]
    assert (
        "Stateful resources deleted or replaced against the baseline"
        in (candidate / "audit" / "index.html").read_text()
    )


def test_what_the_price_table_cannot_price_is_shown_not_guessed(
    assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another region's stacks and an instance type missing from the table: no KeyError, no
    eu-west-1 rate applied elsewhere, no zero added to the total."""
    assembly = read_assembly(assembly_dir)
    prices = load_prices()
    priced = estimate_costs(assembly, prices)
    del prices["regions"]["eu-west-1"]["sagemaker_host_hour:ml.g5.2xlarge"]
    missing_type = estimate_costs(assembly, prices)
    row = next(r for r in missing_type["placements"] if r["placement"] == f"{LOB}-{ENVIRONMENT}")
    assert [u["why"] for u in row["unpriced"]] == [
        "the price snapshot has no eu-west-1 price for sagemaker_host_hour:ml.g5.2xlarge"
    ]
    # The endpoint scales to zero: it added nothing priced, and adds nothing unpriced.
    assert missing_type["total_monthly_usd"] == priced["total_monthly_usd"]
    prices = load_prices()
    prices["regions"] = {"us-east-1": prices["regions"]["eu-west-1"]}
    elsewhere = estimate_costs(assembly, prices)
    assert elsewhere["total_monthly_usd"] == 0
    assert all(
        {u["why"].split(" price for ")[0] for u in r["lines"]}
        == {"the price snapshot has no eu-west-1"}
        for r in elsewhere["placements"]
        if r["lines"]
    )
    print(cost_table(elsewhere))
    printed = capsys.readouterr().out
    assert "not priced: " in printed
    # No number is printed for what was not priced, and the total says it is partial.
    lines = printed.splitlines()
    rows = {line.split()[0]: line for line in lines[1 : 1 + len(elsewhere["placements"])]}
    for row in elsewhere["placements"]:
        if row["unpriced"]:
            assert rows[row["placement"]].endswith(" not priced"), rows[row["placement"]]
    total = lines[1 + len(elsewhere["placements"])]
    assert total.startswith("total ") and total.endswith("0.00 (partial)"), total
    assert set(elsewhere["unpriced_placements"]) == {
        row["placement"] for row in elsewhere["placements"] if row["unpriced"]
    }


def placement_row(name: str, usd: float, priced: str = "all") -> Json:
    unpriced = [] if priced == "all" else [{"item": "x", "why": "y", "monthly_usd": None}]
    return {
        "placement": name,
        "kind": "lob-environment",
        "monthly_usd": usd,
        "unpriced": unpriced,
        "priced": priced,
    }


def cost_report(*rows: Json) -> Json:
    return {
        "placements": list(rows),
        "total_monthly_usd": round(sum(r["monthly_usd"] for r in rows), 2),
        "unpriced_placements": [r["placement"] for r in rows if r["priced"] != "all"],
        "prices": {"currency": "USD", "regenerate": "test", "provenance": []},
        "assumption": "none",
    }


def test_compare_shows_new_and_unpriced_placements_as_such() -> None:
    before = cost_report(placement_row("a", 10.0), placement_row("b", 0.0, "none"))
    after = cost_report(
        placement_row("a", 12.5),
        placement_row("b", 0.0, "none"),
        placement_row("c", 3.0),
    )
    rows = {row["placement"]: row for row in compare(after, before)}
    assert rows["a"]["change_usd"] == 2.5
    assert (rows["b"]["baseline"], rows["b"]["now"], rows["b"]["change_usd"]) == (
        "not priced",
        "not priced",
        None,
    )
    assert (rows["c"]["baseline"], rows["c"]["change_usd"]) == (None, None)
    table = comparison_table(list(rows.values())).splitlines()
    assert table[2].split()[-1] == "compared" and table[3].split()[-1] == "new"
    assert table[-2].split()[-1] == "+2.50"  # only what was compared on both sides
    assert table[-1].endswith("(2 not: new, removed or not fully priced)")


def test_long_placement_names_keep_the_cost_table_aligned() -> None:
    report = cost_report(
        placement_row("a-very-long-line-of-business-name-interactive", 1234.5),
        placement_row("b", 2.0, "partial"),
        placement_row("c", 0.0, "none"),
    )
    lines = cost_table(report).splitlines()[:5]
    assert len({len(line) for line in lines}) == 1, lines
    assert lines[2].endswith("2.00 + not priced") and lines[3].endswith(" not priced")


def test_cost_by_resource_type_adds_up_to_the_total(assembly_dir: Path) -> None:
    report = estimate_costs(read_assembly(assembly_dir), load_prices())
    kinds = by_resource_type(report)
    assert sum(kinds.values()) == pytest.approx(report["total_monthly_usd"])
    assert "AWS::EC2::VPCEndpoint" in kinds and "AWS::KMS::Key" in kinds
    assert list(kinds.values()) == sorted(kinds.values(), reverse=True)


def test_compare_shows_what_a_change_does_to_the_idle_cost(
    assembly_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = copy_assembly(assembly_dir, tmp_path / "fewer-keys")
    security = f"{LOB}-{ENVIRONMENT}-security"

    def drop_a_key(template: Json) -> None:
        keys = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
        del template["Resources"][keys[0]]

    edit_template(candidate, security, drop_a_key)
    prices = load_prices()
    rows = compare(
        estimate_costs(read_assembly(candidate), prices),
        estimate_costs(read_assembly(assembly_dir), prices),
    )
    changed = {row["placement"]: row["change_usd"] for row in rows if row["change_usd"]}
    assert changed == {
        f"{LOB}-{ENVIRONMENT}": -prices["regions"]["eu-west-1"]["kms_key_month"]["price"]
    }
    assert main(["cost", str(candidate), "--compare", str(assembly_dir), "--by-type"]) == 0
    printed = capsys.readouterr().out
    assert "total change, USD/month" in printed and "-1.00" in printed
    assert "by resource type, USD/month:" in printed


# --- the AI inventory -----------------------------------------------------------------------


def inventory_rows(directory: Path) -> list[dict[str, str]]:
    with (directory / "audit" / "csv" / "ai-inventory.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_the_ai_inventory_lists_each_system_with_the_record_it_answers_to(
    report: Json, assembly_dir: Path, tmp_path: Path
) -> None:
    copy = copy_assembly(assembly_dir, tmp_path / "cdk.out")
    write_audit(report, copy)
    rows = {(row["kind"], row["name"]): row for row in inventory_rows(copy)}
    assert set(rows) == {("use case", "claims-assistant"), ("GPU endpoint", "claims-summarizer")}
    use_case = rows[("use case", "claims-assistant")]
    assert (use_case["environment"], use_case["account"], use_case["model"]) == (
        f"{LOB}-{ENVIRONMENT}",
        CLAIMS_PROD,
        "amazon.nova-pro-v1:0",
    )
    assert (use_case["owner"], use_case["risk tier"], use_case["human review"]) == (
        "maria.lopez@example.com",
        "high",
        "yes",
    )
    assert use_case["lineage"] == "knowledge base policies (curated zone, policies/)"
    assert use_case["gates"].startswith(f"guardrail example-corp-{LOB}-{ENVIRONMENT} on every call")
    # The endpoint answers to the use case that calls it.
    endpoint = rows[("GPU endpoint", "claims-summarizer")]
    assert (endpoint["owner"], endpoint["risk tier"], endpoint["intended use"]) == (
        "maria.lopez@example.com",
        "high",
        "serves claims-assistant",
    )


def test_a_fine_tuned_model_answers_to_the_use_cases_that_reach_it_through_an_endpoint(
    example: Synthesized,
) -> None:
    systems = {
        (row["placement"], row["kind"], row["name"]): row
        for row in ai_inventory(read_assembly(example.outdir))
    }
    tuned = systems[("claims-nonprod", "fine-tuned model", "claims-summarizer")]
    assert (tuned["used_by"], tuned["risk_tier"], tuned["human_review"]) == (
        ["claims-assistant"],
        "high",
        True,
    )
    assert tuned["lineage"] == [
        "training zone, claims-summarizer/",
        "base weights mistral-7b-instruct",
        "bias probes: curated dataset claims-bias-probes",
    ]
    assert tuned["gates"] == [
        "ROUGE-L >= 0.35 on held-out data",
        "largest ROUGE-L gap between counterfactual groups <= 0.1",
        "approval in model package group claims-summarizer",
    ]
    served = systems[("claims-prod", "GPU endpoint", "claims-summarizer")]
    assert served["uses"] == ["fine-tuned model: claims-summarizer"]
    use_cases = {(p, name) for p, kind, name in systems if kind == "use case"}
    # The hub's use cases are its consuming LOBs'.
    assert {name for p, name in use_cases if p != "platform-hub"} == {
        "claims-assistant",
        "campaign-copy",
        "literature-review",
    }
    assert {name for p, name in use_cases if p == "platform-hub"} == {"claims", "research"}
    # The hub's use cases carry no record of their own (the consuming LOBs' records cover them).
    assert all(row["risk_tier"] for (p, _, _), row in systems.items() if p != "platform-hub")


def edit_systems(directory: Path, stack: str, edit: Any) -> None:
    """Apply ``edit`` to each AI-system record of ``stack``'s metadata file."""
    path = directory / f"{stack}.metadata.json"
    metadata = json.loads(path.read_text())
    for entries in metadata.values():
        for entry in entries:
            if entry.get("type") == AI_SYSTEM_METADATA:
                edit(entry["data"])
    path.write_text(json.dumps(metadata))


def test_the_baseline_shows_which_ai_systems_changed(
    assembly_dir: Path, plan: Plan, settings: CheckSettings, tmp_path: Path
) -> None:
    baseline = copy_assembly(assembly_dir, tmp_path / "baseline")

    def lower_risk(data: Json) -> None:
        if data["kind"] == "use case":
            data.update(risk_tier="limited", human_review=False)

    edit_systems(baseline, f"{LOB}-{ENVIRONMENT}-genai", lower_risk)
    report = build_report(assembly_dir, plan, settings, lint=False, baseline=baseline)
    assert report["baseline"]["ai_systems"] == [
        {
            "placement": f"{LOB}-{ENVIRONMENT}",
            "kind": "GPU endpoint",
            "name": "claims-summarizer",
            "change": "changed",
            "fields": ["human_review", "risk_tier"],
        },
        {
            "placement": f"{LOB}-{ENVIRONMENT}",
            "kind": "use case",
            "name": "claims-assistant",
            "change": "changed",
            "fields": ["human_review", "risk_tier"],
        },
    ]
    edit_systems(baseline, f"{LOB}-{ENVIRONMENT}-genai", lambda data: data.update(name="retired"))
    changes = inventory_changes(ai_inventory(read_assembly(baseline)), report["ai_inventory"])
    assert [(c["name"], c["change"]) for c in changes if c["kind"] == "use case"] == [
        ("claims-assistant", "added"),
        ("retired", "removed"),
    ]


def test_the_access_table_is_kept_until_what_it_reads_changes(
    report: Json, assembly_dir: Path, plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_assembly(assembly_dir, tmp_path / "cdk.out")
    kept = access_matrix(build_world(read_assembly(copy)), plan, remember=copy)
    assert kept == report["access"]

    def decided(*_: object) -> None:
        raise AssertionError("a kept table was decided again")

    monkeypatch.setattr(matrix, "in_processes", decided)
    assert access_matrix(build_world(read_assembly(copy)), plan, remember=copy) == kept

    [(stack, data_key)] = [
        (stack.name, logical_id)
        for stack in read_assembly(copy).stacks
        if stack.identity.placement == f"{LOB}-{ENVIRONMENT}"
        for logical_id, resource in stack.resources.items()
        if resource.get("Metadata", {}).get(ASSET_METADATA) == "key/data"
    ]
    edit_template(
        copy,
        stack,
        lambda template: template["Resources"][data_key]["Properties"]["KeyPolicy"][
            "Statement"
        ].append({"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}),
    )
    with pytest.raises(AssertionError, match="decided again"):
        access_matrix(build_world(read_assembly(copy)), plan, remember=copy)
    monkeypatch.undo()
    changed = access_matrix(build_world(read_assembly(copy)), plan, remember=copy)
    assert changed == access_matrix(build_world(read_assembly(copy)), plan)
    [environment] = changed["environments"]
    column = environment["columns"].index("key/data")
    assert {row["cells"][column] for row in environment["rows"]} == {"-"}
    assert "decrypt" in {row["cells"][column] for row in kept["environments"][0]["rows"]}
