"""Workflows of the access catalog: a person's day as a sequence of requests (theirs and the
services' acting for them), which holds only where every step is asked and allowed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from blueprint.assembly.access.catalog import Entry, load_catalog, run_catalog
from blueprint.assembly.access.question import Questions
from blueprint.assembly.access.report import catalog_lines, outcome_json
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from tests.conftest import EXAMPLE, Synthesized
from tests.test_access_catalog import copy_assembly, edit_template

Json = dict[str, Any]
DAY = "data-scientist-day"
TRACKING = "data-scientist-tracks-experiments"
SERVERLESS_TRACKING = "data-scientist-tracks-experiments-serverless"
ENDPOINT = "application-finds-and-calls-its-endpoint"


def workflow(entry_id: str) -> Entry:
    [entry] = [entry for entry in load_catalog() if entry.id == entry_id]
    return entry


def outcomes_of(example: Synthesized, assembly: Path, *entries: Entry) -> list[Any]:
    questions = Questions(read_assembly(assembly), example.plan.config.organization)
    return run_catalog(questions.world, example.plan, list(entries))


def test_the_data_scientists_day_holds_step_by_step(example: Synthesized) -> None:
    day, tracking = workflow(DAY), workflow(TRACKING)
    serverless = workflow(SERVERLESS_TRACKING)
    found = outcomes_of(example, example.outdir, day, tracking, serverless)
    assert found and all(o.matches for o in found), mismatches(found)
    steps = {(o.query.entry.id, o.query.placement, o.query.number) for o in found}
    # Asked where the LOB has Studio users: claims and research; tracking where MLflow runs,
    # an MLflow App in claims, a tracking server in research.
    assert steps == {
        *(
            (DAY, placement, n)
            for placement in ("claims-interactive", "research-interactive")
            for n in range(1, len(day.steps) + 1)
        ),
        *(
            (SERVERLESS_TRACKING, "claims-interactive", n)
            for n in range(1, len(serverless.steps) + 1)
        ),
        *((TRACKING, "research-interactive", n) for n in range(1, len(tracking.steps) + 1)),
    }
    [own_space] = [
        o
        for o in found
        if o.query.placement == "claims-interactive"
        and o.query.step.action == "sagemaker:CreateSpace"
    ]
    assert own_space.query.actor.label.endswith("in Studio for alice")
    assert any("[OwnPrivateSpaces]" in reason for reason in own_space.decision.reasons)


def mismatches(found: list[Any]) -> list[Any]:
    """What failed, step by step, for the assertion's message."""
    return [
        (o.query.entry.id, o.query.number, o.query.placement, o.decision.reasons)
        for o in found
        if not o.matches
    ]


def drop_statement(sid: str, policy: str = "DataScientistWork") -> Callable[[Json], None]:
    """A persona's job policy (the data scientist's by default) without statement ``sid``."""

    def change(template: Json) -> None:
        for logical_id, resource in template["Resources"].items():
            if logical_id.startswith(policy):
                document = resource["Properties"]["PolicyDocument"]
                document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]

    return change


def unpublish_the_endpoint(template: Json) -> None:
    """The GenAI stack without the parameter that publishes its guarded endpoint's URL."""
    resources = template["Resources"]
    for logical_id in [
        k for k in resources if k.startswith("GuardedEndpointsClaimsSummarizerUrlParameter")
    ]:
        del resources[logical_id]


def no_base_weight_writes(template: Json) -> None:
    """The import role's policy without its puts under the base prefix."""
    for logical_id, resource in template["Resources"].items():
        if logical_id.startswith("ImportMistral7bInstructRoleDefaultPolicy"):
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [
                s for s in document["Statement"] if "s3:PutObject" not in s["Action"]
            ]


def deny_every_artifact(template: Json) -> None:
    """The artifacts zone's deny of the data scientist's reads without its workspaces."""
    for logical_id, resource in template["Resources"].items():
        if logical_id.startswith("ZonesArtifactsBucketPolicy"):
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "DenyNamedReaders":
                    bucket = statement.pop("NotResource")[0]["Fn::Join"][1][0]
                    statement["Resource"] = {"Fn::Join": ["", [bucket, "/*"]]}


@pytest.mark.parametrize(
    ("stack", "change", "failing"),
    [
        (
            "claims-interactive-foundation",
            drop_statement("OwnPrivateSpaces"),
            [f"{DAY} step 2 in claims-interactive"],
        ),
        (
            "claims-interactive-foundation",
            drop_statement("JobNetworkInterfaces"),
            [f"{DAY} step 10 in claims-interactive"],
        ),
        (
            "claims-interactive-data",
            deny_every_artifact,
            [
                f"{DAY} step 14 in claims-interactive",
                f"{SERVERLESS_TRACKING} step 5 in claims-interactive",
            ],
        ),
        (
            "claims-nonprod-genai",
            unpublish_the_endpoint,
            [f"{ENDPOINT} step 1 in claims-nonprod"],
        ),
        (
            "claims-nonprod-foundation",
            drop_statement("BuildTheRecipeImage", "PipelineOperations"),
            ["ml-engineer-day step 1 in claims-nonprod"],
        ),
        (
            "claims-nonprod-ml",
            no_base_weight_writes,
            ["ml-engineer-day step 10 in claims-nonprod"],
        ),
    ],
    ids=[
        "no-private-spaces",
        "no-job-network",
        "no-experiments-workspace",
        "no-endpoint-name",
        "no-recipe-build",
        "no-base-weights",
    ],
)
def test_a_workflow_fails_at_the_step_a_template_no_longer_allows(
    example: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stack: str,
    change: Callable[[Json], None],
    failing: list[str],
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    edit_template(assembly, stack, change)
    status = main(["access", str(assembly), "--org", str(EXAMPLE)])
    out = capsys.readouterr().out
    assert status == 1
    mismatches = [line for line in out.splitlines() if line.startswith("MISMATCH")]
    assert [line.split(": ")[0] for line in mismatches] == [
        f"MISMATCH {step}" for step in failing
    ], mismatches
    if failing[0].startswith(ENDPOINT):
        assert (
            "no template of claims-nonprod publishes "
            "/genai-platform/claims/nonprod/guarded-endpoints/claims-summarizer/url" in out
        )
    [summary] = [line for line in out.splitlines() if line.startswith("access catalog: ")]
    assert "workflows of" in summary and f", {len(failing)} failed)" in summary


def test_a_step_that_selects_nothing_fails_the_workflow(example: Synthesized) -> None:
    entry = Entry.model_validate(
        {
            "id": "open-the-shared-spaces",
            "expect": "allow",
            "environments": ["interactive"],
            "needs": ["studio-users"],
            "steps": [
                {
                    "principal": "studio/own",
                    "action": "sagemaker:CreateApp",
                    "resource": "app/shared-space",
                    "context": {"sagemaker:SpaceSharingType": "Shared"},
                },
            ],
            "why": "Research declares no shared space: its users have none to open.",
        }
    )
    found = {o.query.placement: o for o in outcomes_of(example, example.outdir, entry)}
    assert found["claims-interactive"].matches
    research = found["research-interactive"]
    assert not research.matches
    assert research.decision.reasons == (
        "step 1 selects no principal or resource here: the workflow cannot be done",
    )
    lines = list(catalog_lines(list(found.values())))
    assert lines[0].startswith(
        "MISMATCH open-the-shared-spaces step 1 in research-interactive: studio/own (none here)"
    )
    assert lines[-1].endswith(
        "(0 journeys, 0 attacks, 2 workflows of 2 steps, 1 failed) in 2 LOB environments: "
        "1 mismatch(es), 0 unknown"
    )


def test_an_application_finds_every_id_it_needs(example: Synthesized) -> None:
    entries = [e for e in load_catalog() if e.id.startswith("application-finds-")]
    found = outcomes_of(example, example.outdir, *entries)
    assert found and all(o.matches for o in found)
    read = {
        (o.query.placement, o.query.target.label)
        for o in found
        if o.query.step.action == "ssm:GetParameter" and o.query.placement.startswith("claims")
    }
    assert read >= {
        ("claims-nonprod", "published-id/guarded-endpoints/claims-summarizer/url"),
        ("claims-prod", "published-id/guarded-endpoints/claims-summarizer/url"),
        ("claims-prod", "published-id/answer-apis/claims-assistant/url"),
        ("claims-prod", "published-id/knowledge-bases/policies/id"),
        ("claims-prod", "published-id/inference-profiles/claims-assistant/arn"),
        ("claims-interactive", "published-id/guardrail/version"),
    }


def test_the_json_answer_numbers_each_step(example: Synthesized) -> None:
    found = outcomes_of(example, example.outdir, workflow(TRACKING))
    answers = [outcome_json(o) for o in found]
    assert [a["step"] for a in answers] == list(range(1, len(workflow(TRACKING).steps) + 1))
    assert json.loads(json.dumps(answers))[3]["action"] == "s3:PutObject"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {
                "expect": "deny",
                "steps": [{"principal": "a", "action": "s3:GetObject", "resource": "zone/raw"}],
            },
            "a workflow is a journey: expect allow",
        ),
        (
            {
                "expect": "allow",
                "principal": "a",
                "steps": [{"principal": "a", "action": "s3:GetObject", "resource": "zone/raw"}],
            },
            "a workflow lists its requests under steps only",
        ),
        (
            {"expect": "allow", "principal": "a", "action": "s3:GetObject"},
            "an entry names principal, action and resource, or steps",
        ),
    ],
    ids=["workflow-expecting-deny", "workflow-with-a-principal", "incomplete-entry"],
)
def test_malformed_entries_are_refused(raw: Json, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Entry.model_validate(
            {"id": "x", "environments": ["interactive"], "why": "a test of validation", **raw}
        )


ENGINEER_DAY = "data-engineer-day"
ENGINEER_RUNS = "data-engineer-runs-the-etl"


def test_the_data_engineers_day_holds_step_by_step(example: Synthesized) -> None:
    day, runs = workflow(ENGINEER_DAY), workflow(ENGINEER_RUNS)
    found = outcomes_of(example, example.outdir, day, runs)
    assert found and all(o.matches for o in found), mismatches(found)
    # Asked where an LOB curates datasets: claims, in each of its environments.
    assert {(o.query.entry.id, o.query.placement, o.query.number) for o in found} == {
        *((ENGINEER_DAY, "claims-interactive", n) for n in range(1, len(day.steps) + 1)),
        *(
            (ENGINEER_RUNS, placement, n)
            for placement in ("claims-nonprod", "claims-prod")
            for n in range(1, len(runs.steps) + 1)
        ),
    }
    # Each dataset's quality run (claims, claims-bias-probes) runs as the ingestion role.
    run_as_role = [
        o
        for o in found
        if o.query.placement == "claims-interactive"
        and o.query.step.action == "glue:StartDataQualityRulesetEvaluationRun"
    ]
    assert {o.query.target.label for o in run_as_role} == {
        "quality-ruleset/claims",
        "quality-ruleset/claims-bias-probes",
    }
    assert all(o.query.actor.label.endswith(":example-corp-ingestion") for o in run_as_role)


def without_the_etl(template: Json) -> None:
    """The data stack as it was before the ETL: no state machine, function, table, ruleset."""
    resources = template["Resources"]
    for logical_id in [k for k in resources if k.startswith("Etl")]:
        del resources[logical_id]


@pytest.mark.parametrize(
    ("stack", "change", "failing"),
    [
        (
            "claims-interactive-foundation",
            drop_statement("RunTheEtl", "DataEngineering"),
            [f"{ENGINEER_DAY} step 2 in claims-interactive"],
        ),
        (
            "claims-nonprod-data",
            drop_statement("RunQualityRulesAsItself", "IngestionPolicy"),
            [f"{ENGINEER_RUNS} step 11 in claims-nonprod"],
        ),
        (
            "claims-prod-foundation",
            drop_statement("ReadDataQualityResults", "DataEngineering"),
            [f"{ENGINEER_RUNS} step 26 in claims-prod"],
        ),
    ],
    ids=["no-etl-start", "no-quality-run-role", "no-quality-results"],
)
def test_a_data_engineer_workflow_fails_at_the_step_a_template_no_longer_allows(
    example: Synthesized,
    tmp_path: Path,
    stack: str,
    change: Callable[[Json], None],
    failing: list[str],
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    edit_template(assembly, stack, change)
    found = outcomes_of(example, assembly, workflow(ENGINEER_DAY), workflow(ENGINEER_RUNS))
    # A step asked of each dataset fails once per dataset.
    assert {
        f"{o.query.entry.id} step {o.query.number} in {o.query.placement}"
        for o in found
        if not o.matches
    } == set(failing)


def test_without_the_etl_the_data_engineers_day_cannot_be_done(
    example: Synthesized, tmp_path: Path
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    edit_template(assembly, "claims-interactive-data", without_the_etl)
    found = outcomes_of(example, assembly, workflow(ENGINEER_DAY))
    failed = {o.query.number: o.decision.reasons for o in found if not o.matches}
    assert 2 in failed and failed[2] == (
        "step 2 selects no principal or resource here: the workflow cannot be done",
    )
