"""The organization file's JSON Schema and reference: generated from the model, kept in step
with it, accepting what validate accepts and refusing what validate refuses wherever one value
alone decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from blueprint.cli import main
from blueprint.model.schema import (
    REFERENCE_FILE,
    SCHEMA_FILE,
    organization_schema,
    reference_rows,
    reference_text,
    schema_text,
)
from tests.conftest import EXAMPLE, REPO
from tests.test_config import edited, example_data, problems

DOCS = REPO / "docs"


def schema_errors(data: dict[str, Any]) -> list[str]:
    """What the schema finds in ``data``, as an editor would read the file (dates as text)."""
    validator = jsonschema.Draft202012Validator(organization_schema())
    document = json.loads(json.dumps(data, default=str))
    return [error.message for error in validator.iter_errors(document)]


def test_the_checked_in_schema_and_reference_are_what_the_model_generates() -> None:
    """`make schema` regenerates them; this fails until it has run after a model change."""
    assert (DOCS / SCHEMA_FILE).read_text() == schema_text()
    assert (DOCS / REFERENCE_FILE).read_text() == reference_text()


def test_the_command_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"written {tmp_path / SCHEMA_FILE}",
        f"written {tmp_path / REFERENCE_FILE}",
    ]
    assert (tmp_path / SCHEMA_FILE).read_text() == schema_text()


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(organization_schema())


def test_the_example_points_editors_at_the_schema_and_satisfies_it() -> None:
    first_line = EXAMPLE.read_text().splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema=../docs/{SCHEMA_FILE}"
    assert (EXAMPLE.parent / first_line.split("=", 1)[1]).resolve() == DOCS / SCHEMA_FILE
    assert schema_errors(example_data()) == []


def test_every_key_of_the_reference_says_what_it_means() -> None:
    rows = reference_rows(organization_schema())
    assert [row.path for row in rows if not row.meaning] == []
    paths = {row.path for row in rows}
    assert {
        "organization.management_account",
        "lobs[].environments.prod.extra_endpoints",
        "lobs[].genai.knowledge_bases[].chunking[strategy: hierarchical].child_max_tokens",
        "lobs[].ml.studio.users[].user_name",
    } <= paths


def test_a_key_of_the_model_is_a_row_of_the_reference() -> None:
    """Each field of the model, by its description, appears in the reference."""
    text = reference_text()
    row = next(r for r in reference_rows(organization_schema()) if r.path == "lobs[].cost_center")
    assert row.takes == "text (1-64 characters)"
    assert row.meaning == "Tagged on every resource as cost-center."
    assert f"| `lobs[].cost_center` | {row.takes} |  | {row.meaning} |" in text


def test_a_user_named_alone_or_without_a_user_name_is_accepted_as_validate_accepts_it() -> None:
    data = edited(
        ("lobs", 0, "ml", "studio", "users"),
        ["alice", {"name": "bob"}, {"name": "carol", "user_name": "carol@example.com"}],
    )
    assert schema_errors(data) == []


LOB = ("lobs", 0)
KB = (*LOB, "genai", "knowledge_bases", 0)
TUNING = (*LOB, "ml", "fine_tuning", 0)
RECORD = (*LOB, "genai", "use_cases", 0, "record")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("organization", "management_account"), 111111111111),
        (("organization", "home_region"), "eu-west1"),
        (("organization", "operating_model"), "federal"),
        ((*LOB, "name"), "Claims"),
        ((*LOB, "cost_centre"), "x"),
        ((*LOB, "data_classification"), "secret"),
        ((*LOB, "budget_usd_month"), 0),
        ((*LOB, "environments", "staging"), {}),
        ((*LOB, "environments", "prod", "extra_endpoints"), ["S3"]),
        ((*LOB, "environments", "prod", "vpc_cidr"), "10.0.0.0/8"),
        ((*LOB, "environments", "prod", "endpoint_azs"), 2),
        (("guardrails", "pii", "SOCIAL_SECURITY"), "block"),
        (("guardrails", "content_filters", "hate"), "extreme"),
        (("guardrails", "content_filters", "spam"), "high"),
        (("guardrails", "max_question_chars"), 20001),
        (("catalog", "open_weights", 0, "training_instance"), "ml.m5.large"),
        ((*KB, "chunking"), {"strategy": "paragraph"}),
        ((*KB, "chunking"), {"strategy": "fixed-size", "max_tokens": 10}),
        ((*KB, "vector_store"), "pinecone"),
        ((*TUNING, "method"), "full"),
        ((*TUNING, "epochs"), 0),
        ((*TUNING, "max_runtime_hours"), 500),
        ((*TUNING, "rouge_l_threshold"), 2),
        ((*TUNING, "name"), "Bad Name!"),
        ((*TUNING, "target_modules"), ["lm_head"]),
        ((*TUNING, "retrain_schedule"), "every monday"),
        ((*LOB, "data", "datasets", 0, "quality_rules"), ["CustomSql 'select 1'"]),
        ((*LOB, "ml", "studio", "users"), ["Alice"]),
        ((*LOB, "ml", "studio", "idle_minutes"), 5),
        (
            ("organization", "identity", "groups", "bad group!"),
            "9a6702d4-1011-70c3-5b7e-1f2a3b4c5d99",
        ),
        (("platform", "acknowledgment_reviews"), [{"rule": "AwsSolutions-IAM5", "owner": "x"}]),
        (("organization", "allowed_regions"), ["eu-west-1", "eu-west-1"]),
        (("platform", "azs"), ["eu-west-1a", "eu-west-1a"]),
        (("platform", "alert_emails"), ["team@example.com", "team@example.com"]),
        ((*LOB, "environments", "prod", "extra_endpoints"), ["Logs", "Logs"]),
        ((*RECORD, "risk_tier"), "unacceptable"),
        ((*RECORD, "owner"), "maria"),
        ((*RECORD, "intended_use"), "chat"),
        ((*RECORD, "human_review"), "sometimes"),
    ],
)
def test_what_one_value_decides_the_schema_refuses_as_validate_does(
    path: tuple[str | int, ...], value: object, tmp_path: Path
) -> None:
    data = edited(path, value)
    assert problems(data, tmp_path) != []
    assert schema_errors(data) != []


def test_a_missing_key_is_refused_by_both(tmp_path: Path) -> None:
    data = example_data()
    del data["lobs"][0]["cost_center"]
    assert problems(data, tmp_path) != []
    assert schema_errors(data) == ["'cost_center' is a required property"]


def test_rules_across_the_file_are_validates_alone(tmp_path: Path) -> None:
    """A region outside allowed_regions is one value the schema cannot judge alone; the
    reference says validate checks it."""
    data = edited((*LOB, "environments", "prod", "region"), "us-east-1")
    assert problems(data, tmp_path) != []
    assert schema_errors(data) == []
    row = next(
        r
        for r in reference_rows(organization_schema())
        if r.path == "lobs[].environments.prod.region"
    )
    assert "allowed_regions" in row.meaning
