"""ETL steps: stage one dataset from the raw zone, and publish it once its rules pass.

The LOB environment's ETL state machine calls this function twice per dataset.
``{"dataset": NAME, "step": "stage"}`` reads each object landed under ``datasets/NAME/`` of
the raw zone (CSV with a header row, or JSON Lines), keeps the dataset's columns in their
order, converts each value to its column's type and writes the rows as JSON Lines, one object
per raw object (its key with ``.jsonl`` added), under ``staging/datasets/NAME/`` of the curated
zone, which only the ETL's role reads and the dataset's staged Glue table names; a value that
is empty or does not convert is null, for the dataset's quality rules to see, and an object
that does not parse at all fails the run. Names Hive readers skip (a part starting with ``.``
or ``_``) are not staged. Once Glue Data Quality has passed every rule on the staged table,
``{"dataset": NAME, "step": "publish"}`` makes ``datasets/NAME/`` of the curated zone (the
dataset's table) exactly the staged objects, removing what is no longer landed, and empties
the staging prefix. Each object names the raw object and version it came from (its metadata).
A stage with nothing landed, and a publish with nothing staged (a retry after the staging was
emptied), fail rather than empty the dataset; a delete S3 refuses fails the step.

Each object is read whole: the function's memory bounds an object's size (larger volumes
belong in a Glue job in its place).

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import boto3

DATASETS_PREFIX = "datasets/"
STAGING_PREFIX = "staging/"
BIGINT_RANGE = range(-(2**63), 2**63)
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}


class UnreadableObjectError(ValueError):
    """A raw object that is not CSV with a header row or JSON Lines of objects."""


def _bigint(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int):
        number = _double(value)
        if number is None or not number.is_integer():
            return None
        value = int(number)
    return value if value in BIGINT_RANGE else None


def _string(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _double(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    return True if word in TRUE else False if word in FALSE else None


def _date(value: Any) -> str | None:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        return None


def _timestamp(value: Any) -> str | None:
    """Hive's timestamp text (``YYYY-MM-DD HH:MM:SS[.ffffff]``), in UTC when zoned."""
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "bigint": _bigint,
    "double": _double,
    "boolean": _boolean,
    "date": _date,
    "timestamp": _timestamp,
}


def convert(value: Any, column_type: str) -> Any:
    """``value`` as ``column_type`` (a Glue type), or None when empty or not convertible."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return CONVERSIONS[column_type](value)


def records(text: str, raw_format: str) -> Iterator[dict[str, Any]]:
    """The records of one raw object's text."""
    if raw_format == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise UnreadableObjectError("no header row")
        for row in reader:
            yield {key.strip(): value for key, value in row.items() if key is not None}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UnreadableObjectError(f"line {number} is not JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise UnreadableObjectError(f"line {number} is not a JSON object")
        yield record


def curate(text: str, raw_format: str, columns: list[tuple[str, str]]) -> tuple[str, int]:
    """The curated JSON Lines of one raw object, and how many rows it has."""
    lines = [
        json.dumps({name: convert(record.get(name), kind) for name, kind in columns})
        for record in records(text, raw_format)
    ]
    return "".join(f"{line}\n" for line in lines), len(lines)


def published_prefix(dataset: str) -> str:
    return f"{DATASETS_PREFIX}{dataset}/"


def staged_prefix(dataset: str) -> str:
    return f"{STAGING_PREFIX}{DATASETS_PREFIX}{dataset}/"


def hidden(relative_key: str) -> bool:
    """A name Hive, Spark and Glue readers skip (a part starting with ``.`` or ``_``)."""
    return any(part.startswith((".", "_")) for part in relative_key.split("/"))


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The object keys under ``prefix``, relative to it (folder markers left out)."""
    return [
        item["Key"][len(prefix) :]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")
    ]


class NothingToCurateError(ValueError):
    """Nothing landed to stage, or nothing staged to publish (a retried or repeated publish):
    publishing it would empty the dataset."""


def delete(s3: Any, bucket: str, prefix: str, relative_keys: list[str]) -> None:
    for start in range(0, len(relative_keys), 1000):
        batch = relative_keys[start : start + 1000]
        answer = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": f"{prefix}{key}"} for key in batch], "Quiet": True},
        )
        if answer.get("Errors"):
            failed = answer["Errors"][0]
            raise RuntimeError(
                f"{len(answer['Errors'])} object(s) of s3://{bucket}/{prefix} were not deleted, "
                f"e.g. {failed['Key']}: {failed.get('Code')} {failed.get('Message')}"
            )


def stage(s3: Any, dataset: str, spec: dict[str, Any], raw: str, curated: str) -> dict[str, Any]:
    """Curate every landed object of ``dataset`` into its staging prefix (emptied first)."""
    source_prefix, target_prefix = published_prefix(dataset), staged_prefix(dataset)
    delete(s3, curated, target_prefix, keys(s3, curated, target_prefix))
    columns = [(name, kind) for name, kind in spec["columns"]]
    objects = rows = 0
    for relative in keys(s3, raw, source_prefix):
        if hidden(relative):
            continue
        key = f"{source_prefix}{relative}"
        source = s3.get_object(Bucket=raw, Key=key)
        try:
            body, count = curate(source["Body"].read().decode("utf-8-sig"), spec["format"], columns)
        except (UnreadableObjectError, UnicodeDecodeError) as error:
            raise UnreadableObjectError(f"s3://{raw}/{key}: {error}") from None
        s3.put_object(
            Bucket=curated,
            Key=f"{target_prefix}{relative}.jsonl",
            Body=body.encode(),
            ContentType="application/x-ndjson",
            Metadata={
                "source-key": quote(key, safe="/"),
                "source-version": source.get("VersionId") or "null",
            },
        )
        objects += 1
        rows += count
    if not objects:
        raise NothingToCurateError(f"nothing landed under s3://{raw}/{source_prefix}")
    return {"dataset": dataset, "objects": objects, "rows": rows}


def publish(s3: Any, dataset: str, curated: str) -> dict[str, Any]:
    """Make the dataset's published prefix exactly its staged objects; empty the staging."""
    source_prefix, target_prefix = staged_prefix(dataset), published_prefix(dataset)
    staged = keys(s3, curated, source_prefix)
    if not staged:
        raise NothingToCurateError(f"nothing staged under s3://{curated}/{source_prefix}")
    for relative in staged:
        s3.copy_object(
            Bucket=curated,
            Key=f"{target_prefix}{relative}",
            CopySource={"Bucket": curated, "Key": f"{source_prefix}{relative}"},
            MetadataDirective="COPY",
        )
    stale = sorted(set(keys(s3, curated, target_prefix)) - set(staged))
    delete(s3, curated, target_prefix, stale)
    delete(s3, curated, source_prefix, staged)
    return {"dataset": dataset, "objects": len(staged), "removed": len(stale)}


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    datasets: dict[str, Any] = json.loads(os.environ["DATASETS"])
    dataset, step = event.get("dataset"), event.get("step", "stage")
    if dataset not in datasets:
        raise ValueError(f"unknown dataset {dataset!r}; allowed: {', '.join(sorted(datasets))}")
    if step not in ("stage", "publish"):
        raise ValueError(f"unknown step {step!r}; allowed: stage, publish")
    s3, curated = boto3.client("s3"), os.environ["CURATED_BUCKET"]
    if step == "publish":
        return publish(s3, dataset, curated)
    return stage(s3, dataset, datasets[dataset], os.environ["RAW_BUCKET"], curated)
