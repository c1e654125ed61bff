"""The review desk of a use case: a reviewer's decision on each rated answer and each answer
waiting for review, and the reviewed answers exported as evaluation questions.

A function URL with IAM auth invokes it (payload format 2.0); only the use case's reviewer
role may call it. Decisions go through the desk, never straight into the zone, so that each
names the reviewer who made it (the signed caller's ARN) and holds what was reviewed.

``POST <url>/decisions`` decides one item: ``item`` (the object's key: a rating,
``<FEEDBACK_PREFIX><yyyy>/<mm>/<dd>/<answer_id>-<time>.json``, or an answer waiting for review,
``<REVIEW_PREFIX>...-flagged.json`` or ``-rated-<time>.json``), ``decision`` (``approve``: the
answer is right; ``correct``: it is not, and ``reference_answer`` says what is; ``reject``: it
cannot become an evaluation question) and an optional ``note``. The desk reads the item (404
when there is none) and keeps the decision, with the item's question and answer, the reviewer
and the time, as ``<DECISIONS_PREFIX>feedback/...`` or ``<DECISIONS_PREFIX>review/...`` (the
item's key under its prefix): a later decision on the item replaces it (the zone's versioning
keeps the earlier one). Approving needs an item with a question and an answer, correcting one
with a question (409 otherwise: a rating may come without them).

``POST <url>/export`` reads the 1,000 most recent decisions and writes each question whose
latest decision approves or corrects its answer (a later rejection withdraws an approval of
the same question, compared without case or repeated spaces) as a line of the RAG evaluation's
question set (``{"question", "reference_answer"}``) to ``<CANDIDATES_PREFIX><UTC
timestamp>.jsonl``, at most 100 (the evaluation's limit; the latest decisions first), and
answers ``{"exported", "left_out", "key"}``. A decision records where its text came from: a
rating's question and answer are what the application sent. Adopting the candidates into the
release gate's question set is a separate step: the reviewers are the engineers whose releases
the set gates.

The logs hold counts and keys only, never a question, answer or note.

Configuration (environment): ``FEEDBACK_BUCKET`` (the artifacts zone), ``FEEDBACK_PREFIX``,
``REVIEW_PREFIX`` (only where a person reviews flagged answers), ``DECISIONS_PREFIX`` and
``CANDIDATES_PREFIX`` (each ending with '/').

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from genai_constructs.handlers.http import (
    RequestError,
    body_bytes,
    json_object,
    require_post,
    response,
)

logger = logging.getLogger()
logger.setLevel(logging.INFO)

DECISIONS = ("approve", "correct", "reject")
DECISION_FIELDS = ("item", "decision", "reference_answer", "note")
# An item's key under its prefix, as the answer API writes it: a rating, or an answer waiting
# for review (flagged, or rated down).
ITEMS = {
    "feedback": re.compile(r"^\d{4}/\d{2}/\d{2}/[A-Za-z0-9-]{1,64}-\d{12}\.json$"),
    "review": re.compile(r"^\d{4}/\d{2}/\d{2}/[A-Za-z0-9-]{1,64}-(flagged|rated-\d{12})\.json$"),
}
NOTE_CHARS = 2000
REFERENCE_CHARS = 20000
BODY_LIMIT = 4 * (REFERENCE_CHARS + NOTE_CHARS) + 4096
# The RAG evaluation reads at most this many questions.
MAX_QUESTIONS = 100
# An export reads at most this many decisions, the most recent.
MAX_DECISIONS_READ = 1000


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return route(event, s3_client=boto3.client("s3"), env=os.environ, now=lambda: datetime.now(UTC))


def route(
    event: Mapping[str, Any],
    *,
    s3_client: Any,
    env: Mapping[str, str],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    paths: dict[str, Callable[..., dict[str, Any]]] = {"/decisions": decide, "/export": export}
    path = event.get("rawPath", "/")
    if path not in paths:
        return response(404, {"error": f"no {path}; the paths are {', '.join(paths)}"})
    try:
        require_post(event)
        fields = json_object(body_bytes(event, BODY_LIMIT) or b"{}")
        return paths[path](event, fields, s3_client=s3_client, env=env, now=now)
    except RequestError as refused:
        logger.info("refused %s: status=%d", path, refused.status)
        return response(refused.status, {"error": refused.reason}, refused.headers)


def decide(
    event: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    s3_client: Any,
    env: Mapping[str, str],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    decision = decision_record(fields)
    bucket, item = env["FEEDBACK_BUCKET"], decision["item"]
    queue, name = queue_of(item, env)
    reviewed = read_item(s3_client, bucket, item)
    question, answer = text_of(reviewed, "question"), text_of(reviewed, "answer")
    if decision["decision"] == "approve" and not (question and answer):
        raise RequestError(
            409, "the item holds no question and answer to approve; correct or reject it"
        )
    if decision["decision"] == "correct" and not question:
        raise RequestError(409, "the item holds no question to correct the answer of; reject it")
    record = {
        **decision,
        "question": question,
        "answer": answer,
        # A rating's question and answer are what the application sent with it.
        "text_from": "the application's rating" if "rating" in reviewed else "the answer API",
        "decided_by": caller(event),
        "decided_at": now().isoformat(),
    }
    s3_client.put_object(
        Bucket=bucket,
        Key=f"{env['DECISIONS_PREFIX']}{queue}/{name}",
        Body=json.dumps(record).encode(),
        # No encryption header: the bucket's default (SSE-KMS with the LOB's data key).
        ContentType="application/json",
    )
    logger.info("decided %s: %s", item, decision["decision"])
    return response(200, {"decided": item, "decision": decision["decision"]})


def decision_record(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(DECISION_FIELDS))
    if unknown:
        raise RequestError(
            400,
            f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(DECISION_FIELDS)}",
        )
    item, decision = fields.get("item"), fields.get("decision")
    if not isinstance(item, str):
        raise RequestError(400, ITEM_REQUIRED)
    if decision not in DECISIONS:
        raise RequestError(400, f"'decision' is required: one of {', '.join(DECISIONS)}")
    record: dict[str, Any] = {"item": item, "decision": decision}
    reference = fields.get("reference_answer")
    if (decision == "correct") != (reference is not None):
        raise RequestError(400, "'reference_answer' is required to correct, and only then")
    for name, most, value in (
        ("reference_answer", REFERENCE_CHARS, reference),
        ("note", NOTE_CHARS, fields.get("note")),
    ):
        if value is None:
            continue
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= most:
            raise RequestError(400, f"'{name}' must be a string of 1 to {most} characters")
        record[name] = value.strip()
    return record


ITEM_REQUIRED = (
    "'item' is required: the key of a rating or of an answer waiting for review, as listed "
    "under the feedback or review prefix"
)


def queue_of(item: str, env: Mapping[str, str]) -> tuple[str, str]:
    """Which prefix ``item`` is under (``feedback`` or ``review``) and its key there."""
    prefixes = {"feedback": env["FEEDBACK_PREFIX"], "review": env.get("REVIEW_PREFIX")}
    for queue, prefix in prefixes.items():
        if prefix and item.startswith(prefix) and ITEMS[queue].fullmatch(item[len(prefix) :]):
            return queue, item[len(prefix) :]
    raise RequestError(400, ITEM_REQUIRED)


def read_item(s3_client: Any, bucket: str, key: str) -> dict[str, Any]:
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise RequestError(404, "no rating or answer waiting for review has that key") from None
        raise
    item = json.loads(body)
    return item if isinstance(item, dict) else {}


def text_of(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def caller(event: Mapping[str, Any]) -> str:
    """The signed caller (function URL IAM auth): the reviewer's role session."""
    identity = event.get("requestContext", {}).get("authorizer", {}).get("iam", {})
    return str(identity.get("userArn") or identity.get("callerId") or "unknown")


def export(
    event: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    s3_client: Any,
    env: Mapping[str, str],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    if fields:
        raise RequestError(400, f"unknown field(s) {', '.join(sorted(fields))}; export takes none")
    bucket = env["FEEDBACK_BUCKET"]
    questions = evaluation_questions(decisions(s3_client, bucket, env["DECISIONS_PREFIX"]))
    kept, left_out = questions[:MAX_QUESTIONS], len(questions[MAX_QUESTIONS:])
    if not kept:
        logger.info("export: no approved or corrected answer")
        return response(200, {"exported": 0, "left_out": 0, "key": None})
    key = f"{env['CANDIDATES_PREFIX']}{now():%Y%m%dT%H%M%SZ}.jsonl"
    s3_client.put_object(
        Bucket=bucket,
        Key=key,
        Body="".join(json.dumps(line) + "\n" for line in kept).encode(),
        ContentType="application/jsonl",
    )
    logger.info("export: %d question(s) to %s, %d left out", len(kept), key, left_out)
    return response(200, {"exported": len(kept), "left_out": left_out, "key": key})


def decisions(s3_client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The ``MAX_DECISIONS_READ`` most recently written decisions (the listing grows with
    them; what an export reads does not)."""
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    listed = [entry for page in pages for entry in page.get("Contents", [])]
    listed.sort(key=lambda entry: entry["LastModified"], reverse=True)
    for entry in listed[:MAX_DECISIONS_READ]:
        body = s3_client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        record = json.loads(body)
        if isinstance(record, dict):
            yield record


def evaluation_questions(records: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question's latest decision, when it approves or corrects the answer, as an
    evaluation question, the latest first: a later rejection withdraws an earlier approval of
    the same question (compared without case or repeated spaces)."""
    latest: dict[str, dict[str, Any]] = {}
    ordered = sorted(records, key=lambda r: str(r.get("decided_at", "")), reverse=True)
    for record in ordered:
        if isinstance(record.get("question"), str):
            latest.setdefault(" ".join(record["question"].casefold().split()), record)
    questions = []
    for record in latest.values():
        reference = record.get("reference_answer") or record.get("answer")
        if record.get("decision") in ("approve", "correct") and isinstance(reference, str):
            questions.append({"question": record["question"], "reference_answer": reference})
    return questions
