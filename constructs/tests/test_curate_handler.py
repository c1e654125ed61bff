"""The ETL's curation: a small raw file of each format curated into the JSON Lines the Glue
table reads (S3 is moto's: the objects are real)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genai_constructs.handlers.curate import index
from genai_constructs.naming import DATASETS_PREFIX

COLUMNS = [
    ("claim_id", "string"),
    ("amount", "double"),
    ("items", "bigint"),
    ("open", "boolean"),
    ("opened_on", "date"),
    ("updated_at", "timestamp"),
]
CSV = (
    "\ufeffclaim_id,amount,items,open,opened_on,updated_at,ignored\n"
    "C-1,120.50,3,yes,2026-11-02,2026-11-02T10:15:00+01:00,x\n"
    "C-2,,2.0,false,2026-13-01,not a time,y\n"
    ",-4,many,maybe,,2026-11-03 08:00:00,z\n"
)
SPEC = {"format": "csv", "columns": [list(column) for column in COLUMNS]}


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_csv_file_is_curated_into_typed_json_lines() -> None:
    body, count = index.curate(CSV.lstrip("\ufeff"), "csv", COLUMNS)
    assert count == 3
    assert lines(body) == [
        {
            "claim_id": "C-1",
            "amount": 120.5,
            "items": 3,
            "open": True,
            "opened_on": "2026-11-02",
            "updated_at": "2026-11-02 09:15:00",
        },
        # Empty or unconvertible values are null, for the quality rules to see.
        {
            "claim_id": "C-2",
            "amount": None,
            "items": 2,
            "open": False,
            "opened_on": None,
            "updated_at": None,
        },
        {
            "claim_id": None,
            "amount": -4.0,
            "items": None,
            "open": None,
            "opened_on": None,
            "updated_at": "2026-11-03 08:00:00",
        },
    ]


def test_json_lines_keep_the_columns_only_and_skip_blank_lines() -> None:
    text = '{"claim_id": "C-9", "amount": 7, "extra": 1}\n\n{"items": true, "open": 1}\n'
    body, count = index.curate(text, "jsonl", COLUMNS)
    assert count == 2
    first, second = lines(body)
    assert first == {**dict.fromkeys(dict(COLUMNS)), "claim_id": "C-9", "amount": 7.0}
    # A JSON boolean is no count; a JSON 1 is a true flag.
    assert second["items"] is None and second["open"] is True


@pytest.mark.parametrize(
    ("text", "raw_format", "message"),
    [
        ("", "csv", "no header row"),
        ('{"claim_id": "C-1"}\nnot json\n', "jsonl", "line 2 is not JSON"),
        ('["C-1"]\n', "jsonl", "line 1 is not a JSON object"),
    ],
)
def test_an_unreadable_object_is_refused(text: str, raw_format: str, message: str) -> None:
    with pytest.raises(index.UnreadableObjectError, match=message):
        index.curate(text, raw_format, COLUMNS)


def test_names_hive_readers_skip_are_not_staged() -> None:
    assert index.hidden("2026/_SUCCESS") and index.hidden(".part-1.csv")
    assert not index.hidden("2026/part_1.csv")
    assert index.staged_prefix("claims") == f"staging/{DATASETS_PREFIX}claims/"
    assert index.published_prefix("claims") == f"{DATASETS_PREFIX}claims/"


def test_values_beyond_a_bigint_and_nested_values_are_not_mangled() -> None:
    assert index.convert("1e308", "bigint") is None
    assert index.convert(2**63, "bigint") is None
    assert index.convert(-(2**63), "bigint") == -(2**63)
    assert index.convert({"a": 1}, "string") == '{"a": 1}'


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in ("raw-zone", "curated-zone"):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        client.put_bucket_versioning(
            Bucket="raw-zone", VersioningConfiguration={"Status": "Enabled"}
        )
        yield client


def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAW_BUCKET", "raw-zone")
    monkeypatch.setenv("CURATED_BUCKET", "curated-zone")
    monkeypatch.setenv("DATASETS", json.dumps({"claims": SPEC}))


def curated_keys(s3: Any) -> list[str]:
    return sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket="curated-zone").get("Contents", [])
    )


def test_staging_then_publishing_makes_the_table_exactly_what_landed(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch)
    landed = s3.put_object(
        Bucket="raw-zone", Key="datasets/claims/2026-11/réclamations.csv", Body=CSV.encode()
    )
    s3.put_object(Bucket="raw-zone", Key="datasets/claims/2026-11/part-1.json", Body=b"x")
    s3.put_object(Bucket="raw-zone", Key="datasets/claims/", Body=b"")
    s3.put_object(Bucket="raw-zone", Key="datasets/claims/_SUCCESS", Body=b"")
    s3.put_object(Bucket="raw-zone", Key="datasets/other/part-1.csv", Body=b"a\n1\n")
    s3.delete_object(Bucket="raw-zone", Key="datasets/claims/2026-11/part-1.json")
    # What a former run published, whose raw object is gone.
    s3.put_object(Bucket="curated-zone", Key="datasets/claims/old.csv.jsonl", Body=b"{}\n")

    staged = index.handler({"dataset": "claims", "step": "stage"}, None)

    assert staged == {"dataset": "claims", "objects": 1, "rows": 3}
    assert curated_keys(s3) == [
        "datasets/claims/old.csv.jsonl",
        "staging/datasets/claims/2026-11/réclamations.csv.jsonl",
    ]
    staged_object = s3.get_object(
        Bucket="curated-zone", Key="staging/datasets/claims/2026-11/réclamations.csv.jsonl"
    )
    assert staged_object["Metadata"] == {
        "source-key": "datasets/claims/2026-11/r%C3%A9clamations.csv",
        "source-version": landed["VersionId"],
    }

    published = index.handler({"dataset": "claims", "step": "publish"}, None)

    assert published == {"dataset": "claims", "objects": 1, "removed": 1}
    assert curated_keys(s3) == ["datasets/claims/2026-11/réclamations.csv.jsonl"]
    body = s3.get_object(
        Bucket="curated-zone", Key="datasets/claims/2026-11/réclamations.csv.jsonl"
    )
    assert body["Metadata"] == staged_object["Metadata"]
    assert [row["claim_id"] for row in lines(body["Body"].read().decode())] == ["C-1", "C-2", None]


def test_a_new_stage_replaces_what_a_failed_run_staged(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch)
    s3.put_object(Bucket="curated-zone", Key="staging/datasets/claims/gone.csv.jsonl", Body=b"")
    s3.put_object(Bucket="raw-zone", Key="datasets/claims/part-1.csv", Body=CSV.encode())
    index.handler({"dataset": "claims"}, None)
    assert curated_keys(s3) == ["staging/datasets/claims/part-1.csv.jsonl"]


def test_the_handler_names_the_object_it_cannot_read(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket="raw-zone", Key="datasets/claims/bad.csv", Body=b"\xff\xfe\x00")
    environment(monkeypatch)
    with pytest.raises(
        index.UnreadableObjectError, match=r"s3://raw-zone/datasets/claims/bad\.csv"
    ):
        index.handler({"dataset": "claims"}, None)
    assert "Contents" not in s3.list_objects_v2(Bucket="curated-zone")


def test_the_handler_refuses_a_dataset_or_step_it_does_not_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment(monkeypatch)
    with pytest.raises(ValueError, match="unknown dataset 'payroll'; allowed: claims"):
        index.handler({"dataset": "payroll"}, None)
    with pytest.raises(ValueError, match="unknown step 'load'; allowed: stage, publish"):
        index.handler({"dataset": "claims", "step": "load"}, None)


def test_nothing_landed_or_nothing_staged_fails_rather_than_empties_the_dataset(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(monkeypatch)
    s3.put_object(Bucket="curated-zone", Key="datasets/claims/part-1.csv.jsonl", Body=b"{}\n")
    with pytest.raises(index.NothingToCurateError, match="nothing landed under"):
        index.handler({"dataset": "claims", "step": "stage"}, None)
    # A publish retried after the staging was emptied.
    with pytest.raises(index.NothingToCurateError, match="nothing staged under"):
        index.handler({"dataset": "claims", "step": "publish"}, None)
    assert curated_keys(s3) == ["datasets/claims/part-1.csv.jsonl"]


class RefusingDeletes:
    """An S3 client whose deletes S3 refuses, object by object."""

    def delete_objects(self, **_: Any) -> dict[str, Any]:
        return {
            "Errors": [{"Key": "datasets/claims/a.jsonl", "Code": "AccessDenied", "Message": "no"}]
        }


def test_a_refused_delete_fails_the_step() -> None:
    with pytest.raises(
        RuntimeError,
        match=re.escape(
            "1 object(s) of s3://curated-zone/datasets/claims/ were not deleted, "
            "e.g. datasets/claims/a.jsonl: AccessDenied no"
        ),
    ):
        index.delete(RefusingDeletes(), "curated-zone", "datasets/claims/", ["a.jsonl"])
