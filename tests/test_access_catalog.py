"""`blueprint access`: the catalog of journeys and attacks on the example organization, what
happens when one policy changes, and the command line's answers to bad questions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from blueprint.assembly.access.catalog import (
    Entry,
    applies,
    catalog_queries,
    entry_queries,
    load_catalog,
    privilege_graph,
    run_catalog,
)
from blueprint.assembly.access.doors import group_reach
from blueprint.assembly.access.question import Questions
from blueprint.assembly.access.reuse import RECORD, digest
from blueprint.assembly.access.selection import Selection
from blueprint.assembly.access.selectors import CONTEXT, PRINCIPALS, RESOURCES
from blueprint.cli import main
from blueprint.model.assets import DESCRIPTIONS, AssetKind
from blueprint.model.config import OrgConfig
from blueprint.model.placing import plan_for
from tests.conftest import EXAMPLE, Synthesized
from tests.docs import documentation

Json = dict[str, Any]
CLAIMS_PROD_GENAI = "claims-prod-genai"


def test_every_journey_is_allowed_and_every_attack_denied(
    example: Synthesized, example_access: Questions
) -> None:
    outcomes = run_catalog(example_access.world, example.plan)
    mismatches = [
        (o.query.entry.id, o.query.placement, o.query.actor.label, o.decision.decision)
        for o in outcomes
        if not o.matches
    ]
    assert mismatches == []
    assert {o.decision.decision for o in outcomes} == {"allow", "deny"}
    asked = {o.query.entry.id for o in outcomes}
    assert asked == {e.id for e in load_catalog() if applies(e, example.plan)}, (
        "an entry that asks nothing"
    )
    placements = {o.query.placement for o in outcomes}
    assert placements == {p.key for p in example.plan.lob_environments()}


def test_the_catalog_covers_what_the_issue_requires() -> None:
    entries = {entry.id: entry for entry in load_catalog()}
    journeys = {e.principal for e in entries.values() if e.expect == "allow"}
    assert {"persona/data-scientist", "persona/ml-engineer", "ingestion", "app/*"} <= journeys
    assert "persona/auditor" in journeys
    attacks = [e for e in entries.values() if e.expect == "deny"]
    assert any(e.principal.startswith("other-lob/") for e in attacks)
    assert any(e.resource == "model/outside-catalog" for e in attacks)
    assert any(e.resource == "model/above-classification" for e in attacks)
    assert any(e.action == "kms:CreateGrant" for e in attacks)
    assert all(len(e.why) > 20 for e in entries.values())


def selector_entry(principal: str, resource: str) -> Json:
    return {
        "id": "probe",
        "expect": "deny",
        "environments": ["interactive"],
        "principal": principal,
        "action": "s3:GetObject",
        "resource": resource,
        "why": "A test of the selector registries.",
    }


@pytest.mark.parametrize(
    ("principal", "resource", "message"),
    [
        ("nobody/x", "zone/raw", "unknown principal selector kind 'nobody' in 'nobody/x'"),
        ("persona/auditor", "zones/raw", "unknown resource selector kind 'zones' in 'zones/raw'"),
        ("other-lob/persona", "zone/raw", "the principal selector 'persona' is none of the forms"),
        ("hub/apps/*", "zone/raw", "unknown principal selector kind 'apps' in 'apps/*'"),
        ("app/claims", "zone/raw", "'app/claims' is none of the forms of app: app/*"),
        ("persona/auditor", "model/cheapest", "none of the forms of model: model/approved | "),
        ("persona/auditor", "guardrail/own", "guardrail/own' is none of the forms of guardrail"),
    ],
    ids=["principal", "resource", "nested-bare", "nested", "argument", "literal", "own"],
)
def test_a_selector_of_no_registered_kind_or_form_is_refused(
    principal: str, resource: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Entry.model_validate(selector_entry(principal, resource))


def test_an_unknown_kind_is_refused_naming_every_known_kind() -> None:
    with pytest.raises(ValueError, match="unknown principal selector kind") as refused:
        PRINCIPALS.lookup("nobody")
    assert str(refused.value).endswith(f"known kinds: {', '.join(sorted(PRINCIPALS.kinds))}")
    assert "persona, pipeline, rag-evaluation" in str(refused.value)
    with pytest.raises(ValueError, match="known kinds: access-logs, agent, agent-gateway, "):
        RESOURCES.lookup("nothing/*")
    with pytest.raises(ValueError, match="registered twice"):
        PRINCIPALS.add("persona", ("<name>",), PRINCIPALS.kinds["persona"].resolve)


def test_every_kind_the_stacks_mark_is_a_documented_resource_selector(
    example_access: Questions,
) -> None:
    """The marks' kinds are one list, which the templates keep to: each kind selects what is
    marked so, and is described."""
    assert set(DESCRIPTIONS) == set(AssetKind)
    assert set(AssetKind) <= set(RESOURCES.kinds)
    marked = {kind for _, kind, _ in example_access.world.assets}
    assert marked == {kind.value for kind in AssetKind}


def test_another_lob_is_the_nearest_one_that_has_what_the_attack_names(
    example: Synthesized, example_access: Questions
) -> None:
    """Marketing, the first other LOB, has no knowledge base; research has. Claims's attacks
    from or on another LOB's knowledge base are asked of research's, not of nothing."""
    plan = example.plan
    selection = Selection(example_access.world, plan, plan.placement("claims-nonprod"))
    assert [other.placement.key for other in selection.other_lobs()] == [
        "marketing-nonprod",
        "research-nonprod",
    ]
    entries = {entry.id: entry for entry in load_catalog()}
    asked = {
        entry_id: {
            (query.actor.label.split("/")[0], query.target.label)
            for query in entry_queries(selection, entries[entry_id])
        }
        for entry_id in (
            "answer-api-cannot-retrieve-from-another-lob",
            "knowledge-base-cannot-read-another-lobs-documents",
            "ingestion-cannot-start-another-lobs-sync",
        )
    }
    assert asked == {
        "answer-api-cannot-retrieve-from-another-lob": {
            ("claims-nonprod-genai", "knowledge-base/studies")
        },
        "knowledge-base-cannot-read-another-lobs-documents": {
            ("claims-nonprod-genai", "kb-documents/studies")
        },
        "ingestion-cannot-start-another-lobs-sync": {
            ("claims-nonprod-genai", "knowledge-base/studies")
        },
    }
    vectors = entry_queries(
        Selection(example_access.world, plan, plan.placement("research-nonprod")),
        entries["another-lobs-knowledge-base-reads-the-vectors"],
    )
    assert {query.actor.label.split("/")[0] for query in vectors} == {"claims-nonprod-genai"}


def test_a_context_value_of_no_kind_is_its_literal_text() -> None:
    assert CONTEXT.problem("own-profile") is None
    assert CONTEXT.problem("key/data") is None
    for literal in ("Private", "sagemaker.amazonaws.com", "mlflow/", "guardrail/x"):
        assert CONTEXT.problem(literal) is not None


def copy_assembly(example: Synthesized, destination: Path) -> Path:
    """The example's manifest, templates and asset manifests (no asset contents)."""
    destination.mkdir()
    for path in example.outdir.glob("*.json"):
        if path.name != RECORD:
            shutil.copy(path, destination / path.name)
    return destination


def edit_template(assembly: Path, stack: str, change: Callable[[Json], None]) -> None:
    path = assembly / f"{stack}.template.json"
    template = json.loads(path.read_text())
    change(template)
    path.write_text(json.dumps(template))


def _use_case_policy(template: Json) -> Json:
    return next(
        resource["Properties"]["PolicyDocument"]
        for logical_id, resource in template["Resources"].items()
        if logical_id.startswith("UseCaseClaimsAssistantAccess")
    )


def drop_guardrail_conditions(template: Json) -> None:
    """The use case's policy without its guardrail conditions: its deny now covers every
    invoke, the application's own included."""
    for statement in _use_case_policy(template)["Statement"]:
        statement.pop("Condition", None)


def drop_guardrail_denies(template: Json) -> None:
    """Every deny of invokes without the guardrail gone (the use case's policy and the
    account's boundary), and the allow unconditional."""
    for resource in template["Resources"].values():
        document = resource.get("Properties", {}).get("PolicyDocument")
        if resource["Type"] != "AWS::IAM::ManagedPolicy" or document is None:
            continue
        document["Statement"] = [
            s
            for s in document["Statement"]
            if s.get("Sid")
            not in ("DenyInvokeWithoutGuardrail", "DenyModelInvocationWithoutGuardrail")
        ]
        for statement in document["Statement"]:
            if statement.get("Sid") == "InvokeApprovedModelsWithGuardrail":
                statement.pop("Condition")


@pytest.mark.parametrize(
    ("change", "stacks", "failing"),
    [
        (
            drop_guardrail_conditions,
            [CLAIMS_PROD_GENAI],
            "app-invokes-its-use-case-with-the-guardrail",
        ),
        (
            drop_guardrail_denies,
            [CLAIMS_PROD_GENAI, "claims-prod-foundation"],
            "invoke-without-the-guardrail",
        ),
    ],
    ids=["guardrail-condition-removed", "guardrail-denies-removed"],
)
def test_a_changed_policy_fails_the_catalog_naming_the_entry(
    example: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Json], None],
    stacks: list[str],
    failing: str,
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    for stack in stacks:
        edit_template(assembly, stack, change)
    status = main(["access", str(assembly), "--org", str(EXAMPLE)])
    out = capsys.readouterr().out
    assert status == 1
    mismatches = [line for line in out.splitlines() if line.startswith("MISMATCH")]
    assert mismatches
    assert all(" in claims-prod: " in line for line in mismatches)
    assert any(line.startswith(f"MISMATCH {failing} in claims-prod: ") for line in mismatches)
    [summary] = [line for line in out.splitlines() if line.startswith("access catalog: ")]
    assert summary.endswith(f"{len(mismatches)} mismatch(es), 0 unknown")


def test_the_catalog_passes_on_the_unchanged_copy_and_is_reused_until_what_it_read_changes(
    example: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    command = ["access", str(assembly), "--org", str(EXAMPLE)]
    assert main(command) == 0
    decided = capsys.readouterr()
    assert "every check as expected, 0 unknown" in decided.out
    assert decided.out.splitlines()[-1] == "sign-in: 10 group(s), 0 problem(s)"
    assert "printing them" not in decided.err

    # Another process, another hash seed: the same digest, the recorded answers.
    again = subprocess.run(
        [sys.executable, "-m", "blueprint.cli", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "7"},
        check=False,
    )
    assert again.returncode == 0
    assert again.stdout == decided.out
    assert f"nothing the answers in {assembly} read has changed" in again.stderr

    # An alarm's threshold is read by no answer; a policy is.
    edit_template(assembly, CLAIMS_PROD_GENAI, raise_alarm_thresholds)
    assert main(command) == 0
    assert "printing them" in capsys.readouterr().err
    edit_template(assembly, CLAIMS_PROD_GENAI, drop_guardrail_conditions)
    assert main(command) == 1
    changed = capsys.readouterr()
    assert "printing them" not in changed.err
    assert any(line.startswith("MISMATCH ") for line in changed.out.splitlines())

    assert main([*command, "--fresh"]) == 1
    assert "printing them" not in capsys.readouterr().err


def test_two_processes_answer_as_one(example: Synthesized, example_access: Questions) -> None:
    plan, world = example.plan, example_access.world
    queries = catalog_queries(world, plan)

    def answers(workers: int) -> tuple[list[object], list[object]]:
        graph = privilege_graph(world, plan)
        outcomes = run_catalog(world, plan, graph=graph, queries=queries, workers=workers)
        groups = group_reach(graph, plan, workers)
        return [(o.query, o.decision, o.chain) for o in outcomes], groups

    one, two = answers(1), answers(2)
    assert len(one[0]) == len(queries) and one[1]
    assert two == one


def test_the_digest_covers_the_sign_in_section_and_how_answers_print(
    example: Synthesized, example_access: Questions
) -> None:
    plan, world = example.plan, example_access.world
    graph = privilege_graph(world, plan)
    queries = catalog_queries(world, plan)
    base = digest(graph, plan, queries, "lines")
    assert digest(graph, plan, queries, "lines") == base
    assert digest(graph, plan, queries, "json") != base

    raw = yaml.safe_load(EXAMPLE.read_text())
    [assignment] = [
        a for a in raw["organization"]["identity"]["assignments"] if a.get("environments")
    ]
    assignment["environments"] = assignment["environments"][:1]
    config = OrgConfig.model_validate(raw)
    assert digest(graph, plan_for(config), queries, "lines") != base

    # The organization's ID decides aws:PrincipalOrgID and aws:ResourceOrgID conditions.
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["organization"]["id"] = "o-another0001"
    other = plan_for(OrgConfig.model_validate(raw))
    assert digest(privilege_graph(world, other), other, queries, "lines") != base


def raise_alarm_thresholds(template: Json) -> None:
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    for alarm in alarms:
        alarm["Properties"]["Threshold"] = alarm["Properties"].get("Threshold", 0) + 1


# --- one question ---------------------------------------------------------------------------


AUDITOR = ["--principal", "444444444444:example-corp-auditor", "--action", "s3:GetObject"]


def ask(example: Synthesized, *arguments: str) -> list[str]:
    return ["access", str(example.outdir), "--org", str(EXAMPLE), *arguments]


def test_one_question_answers_in_json(
    example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ask(
            example,
            "--principal",
            "444444444444:example-corp-data-scientist",
            "--action",
            "s3:GetObject",
            "--resource",
            f"claims-interactive-data/{example.marked('claims-interactive-data', 'zone/curated')}"
            "/sample.parquet",
            "--json",
        )
    )
    answer = json.loads(capsys.readouterr().out)
    assert status == 0
    assert answer["decision"] == "allow"
    assert any("DataScientist" in reason or "data" in reason for reason in answer["reasons"])


def test_a_role_cloudformation_names_is_asked_by_stack_and_logical_id(
    example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    role = next(
        logical_id
        for logical_id in example.template_json(CLAIMS_PROD_GENAI)["Resources"]
        if logical_id.startswith("KnowledgeBasePoliciesServiceRole")
        and not logical_id.startswith("KnowledgeBasePoliciesServiceRoleDefault")
    )
    status = main(
        ask(
            example,
            "--principal",
            f"{CLAIMS_PROD_GENAI}/{role}",
            "--action",
            "s3:GetObject",
            "--resource",
            f"claims-prod-data/{example.marked('claims-prod-data', 'zone/raw')}/x.pdf",
            "--json",
        )
    )
    assert status == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "deny"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--principal", "444444444444:nobody", "--action", "s3:GetObject", "--resource", "*"],
            "no role 'nobody' in account 444444444444; its named roles: ",
        ),
        (
            ["--principal", "example-corp-auditor", "--action", "s3:GetObject", "--resource", "*"],
            "'example-corp-auditor' is not a principal; allowed: ACCOUNT:ROLE_NAME",
        ),
        (
            [*AUDITOR[:3], "GetObject", "--resource", "*"],
            "'GetObject' is not an IAM action; allowed: service:Action",
        ),
        (
            [*AUDITOR, "--resource", "arn:aws:s3"],
            "'arn:aws:s3' is not an ARN; allowed: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
        ),
        (
            [*AUDITOR, "--resource", "arn:aws:s3:::not-in-the-assembly/x"],
            "no bucket 'not-in-the-assembly' in the assembly, so its account is unknown",
        ),
        (
            [*AUDITOR, "--resource", "claims-interactive-data/NoSuchResource"],
            "stack claims-interactive-data has no resource 'NoSuchResource'",
        ),
        (
            [*AUDITOR, "--resource", "*", "--context", "guardrail"],
            "'guardrail' is not a context entry; allowed: KEY=VALUE",
        ),
        (
            [
                *AUDITOR,
                "--resource",
                "*",
                "--context",
                "bedrock:GuardrailIdentifier={nowhere/Guardrail}",
            ],
            "no stack named 'nowhere'",
        ),
        (
            AUDITOR,
            "one question needs --principal, --action and --resource",
        ),
    ],
    ids=[
        "unknown-role",
        "malformed-principal",
        "malformed-action",
        "malformed-arn",
        "bucket-outside-the-assembly",
        "unknown-logical-id",
        "malformed-context",
        "context-naming-an-unknown-stack",
        "incomplete-question",
    ],
)
def test_bad_questions_exit_2_with_a_clear_message(
    example: Synthesized,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    status = main(ask(example, *arguments))
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.startswith("blueprint access: ")
    assert "Traceback" not in captured.err


def test_a_missing_assembly_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["access", str(tmp_path / "cdk.out"), "--org", str(EXAMPLE)])
    captured = capsys.readouterr()
    assert status == 2
    assert (
        captured.err
        == f"blueprint access: {tmp_path / 'cdk.out'}: no manifest.json; run `make synth` first\n"
    )


def test_every_entry_the_readme_cites_is_in_the_catalog() -> None:
    """The documentation (README.md and docs/: data ownership, personas, GenAI, the access
    catalog, the security model) cites catalog entries in brackets; each must exist, so a
    claim cannot outlive its proof."""
    text = documentation()
    cited = {
        name
        for bracket in re.findall(r"\[((?:`[a-z0-9-]+`,?\s*)+)\]", text)
        for name in re.findall(r"`([a-z0-9-]+)`", bracket)
    }
    known = {entry.id for entry in load_catalog()}
    assert len(cited) > 50
    assert sorted(cited - known) == []
