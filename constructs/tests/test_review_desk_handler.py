"""The review desk: a reviewer's decisions on the answers waiting for review, and the reviewed
answers exported as evaluation questions the RAG evaluation reads.

S3 is moto's; the exported lines are read back with the evaluation's own parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from genai_constructs.handlers.rag_evaluation import index as evaluation
from genai_constructs.handlers.review_desk import index

BUCKET = "prod-artifacts"
ENV = {
    "FEEDBACK_BUCKET": BUCKET,
    "FEEDBACK_PREFIX": "feedback/claims-assistant/",
    "REVIEW_PREFIX": "review/claims-assistant/",
    "DECISIONS_PREFIX": "review-decisions/claims-assistant/",
    "CANDIDATES_PREFIX": "evaluation-candidates/claims-assistant/",
}
REVIEWER = "arn:aws:sts::666666666666:assumed-role/example-corp-claims-assistant-reviewer/alice"
DECIDED = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
FLAGGED = "review/claims-assistant/2026/12/06/a1-flagged.json"
RATED = "review/claims-assistant/2026/12/06/b2-rated-093000000000.json"
BARE_RATING = "review/claims-assistant/2026/12/06/c3-rated-093100000000.json"
# A positive rating: ratings are kept whether or not a person reviews flagged answers.
RATING = "feedback/claims-assistant/2026/12/06/d4-094500000000.json"
SOURCE = "s3://prod-curated/policies/water.pdf"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        for item, body in (
            (
                FLAGGED,
                {
                    "answer_id": "a1",
                    "reason": "the guardrail intervened",
                    "question": "Is a burst pipe covered?",
                    "answer": "Yes, sudden water damage is covered [1].",
                    "citations": [{"number": 1, "text": "...", "source": SOURCE}],
                },
            ),
            (
                RATED,
                {
                    "answer_id": "b2",
                    "rating": "down",
                    "question": "How long do I have to file?",
                    "answer": "Ninety days.",
                },
            ),
            (BARE_RATING, {"answer_id": "c3", "rating": "down", "reason": "a negative rating"}),
            (
                RATING,
                {
                    "answer_id": "d4",
                    "rating": "up",
                    "question": "Is hail damage to a roof covered?",
                    "answer": "Yes, storm damage is covered.",
                },
            ),
        ):
            client.put_object(Bucket=BUCKET, Key=item, Body=json.dumps(body))
        yield client


def call(
    s3: Any, path: str, body: Any = None, when: datetime = DECIDED, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    event = {
        "rawPath": path,
        "requestContext": {
            "http": {"method": method},
            "authorizer": {"iam": {"userArn": REVIEWER}},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
    result = index.route(event, s3_client=s3, env=ENV, now=lambda: when)
    return result["statusCode"], json.loads(result["body"])


def stored(s3: Any, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_a_decision_names_its_reviewer_and_holds_what_was_reviewed(s3: Any) -> None:
    status, body = call(s3, "/decisions", {"item": FLAGGED, "decision": "approve", "note": " ok "})
    assert (status, body) == (200, {"decided": FLAGGED, "decision": "approve"})
    decision = "review-decisions/claims-assistant/review/2026/12/06/a1-flagged.json"
    assert stored(s3, decision) == {
        "item": FLAGGED,
        "decision": "approve",
        "note": "ok",
        "question": "Is a burst pipe covered?",
        "answer": "Yes, sudden water damage is covered [1].",
        "text_from": "the answer API",
        "decided_by": REVIEWER,
        "decided_at": "2026-12-06T10:00:00+00:00",
    }


def test_a_later_decision_on_an_item_replaces_the_earlier(s3: Any) -> None:
    call(s3, "/decisions", {"item": RATED, "decision": "reject"})
    later = DECIDED + timedelta(minutes=5)
    call(
        s3,
        "/decisions",
        {"item": RATED, "decision": "correct", "reference_answer": "30 days."},
        later,
    )
    record = stored(
        s3, "review-decisions/claims-assistant/review/2026/12/06/b2-rated-093000000000.json"
    )
    assert (record["decision"], record["reference_answer"]) == ("correct", "30 days.")


def test_the_export_writes_the_reviewed_answers_as_evaluation_questions(s3: Any) -> None:
    call(s3, "/decisions", {"item": FLAGGED, "decision": "approve"})
    call(
        s3,
        "/decisions",
        {"item": RATED, "decision": "correct", "reference_answer": "Within thirty days."},
    )
    call(s3, "/decisions", {"item": BARE_RATING, "decision": "reject"})
    call(s3, "/decisions", {"item": RATING, "decision": "approve"})
    status, body = call(s3, "/export", {}, DECIDED + timedelta(hours=1))
    key = "evaluation-candidates/claims-assistant/20261206T110000Z.jsonl"
    assert (status, body) == (200, {"exported": 3, "left_out": 0, "key": key})
    text = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    # The evaluation reads the export as it reads its question set.
    questions = evaluation.parse_questions(text)
    assert {(q.text, q.reference_answer) for q in questions} == {
        ("Is a burst pipe covered?", "Yes, sudden water damage is covered [1]."),
        ("How long do I have to file?", "Within thirty days."),
        ("Is hail damage to a roof covered?", "Yes, storm damage is covered."),
    }


def test_the_export_keeps_the_evaluations_limit_latest_decisions_first(s3: Any) -> None:
    for number in range(index.MAX_QUESTIONS + 3):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"review-decisions/claims-assistant/review/2026/12/06/q{number}-flagged.json",
            Body=json.dumps(
                {
                    "decision": "correct",
                    "question": f"question {number}?",
                    "reference_answer": "answer",
                    "decided_at": (DECIDED + timedelta(seconds=number)).isoformat(),
                }
            ),
        )
    status, body = call(s3, "/export")
    assert (status, body["exported"], body["left_out"]) == (200, index.MAX_QUESTIONS, 3)
    lines = s3.get_object(Bucket=BUCKET, Key=body["key"])["Body"].read().decode().splitlines()
    assert json.loads(lines[0])["question"] == f"question {index.MAX_QUESTIONS + 2}?"
    assert "question 0?" not in "".join(lines)


def test_nothing_to_export_writes_nothing(s3: Any) -> None:
    call(s3, "/decisions", {"item": BARE_RATING, "decision": "reject"})
    assert call(s3, "/export") == (200, {"exported": 0, "left_out": 0, "key": None})
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="evaluation-candidates/")
    assert listed["KeyCount"] == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        (
            "/decisions",
            {"item": "review/claims-assistant/../../feedback/x.json", "decision": "approve"},
            400,
            "'item' is required: the key of a rating or of an answer waiting for review",
        ),
        (
            "/decisions",
            {"item": "review/other-use-case/2026/12/06/a1-flagged.json", "decision": "reject"},
            400,
            "'item' is required: the key of a rating or of an answer waiting for review",
        ),
        (
            "/decisions",
            {"item": "feedback/claims-assistant/2026/12/06/a1-flagged.json", "decision": "reject"},
            400,
            "'item' is required: the key of a rating or of an answer waiting for review",
        ),
        ("/decisions", {"item": FLAGGED, "decision": "maybe"}, 400, "'decision' is required"),
        (
            "/decisions",
            {"item": FLAGGED, "decision": "approve", "reference_answer": "x"},
            400,
            "'reference_answer' is required to correct, and only then",
        ),
        (
            "/decisions",
            {"item": FLAGGED, "decision": "correct"},
            400,
            "'reference_answer' is required to correct, and only then",
        ),
        (
            "/decisions",
            {"item": FLAGGED, "decision": "reject", "note": "x" * 2001},
            400,
            "'note' must be a string of 1 to 2000 characters",
        ),
        (
            "/decisions",
            {"item": FLAGGED, "decision": "reject", "by": "bob"},
            400,
            "unknown field(s) by; the fields are item, decision, reference_answer, note",
        ),
        (
            "/decisions",
            {"item": "review/claims-assistant/2026/12/06/zz-flagged.json", "decision": "reject"},
            404,
            "no rating or answer waiting for review has that key",
        ),
        (
            "/decisions",
            {"item": BARE_RATING, "decision": "approve"},
            409,
            "the item holds no question and answer to approve; correct or reject it",
        ),
        (
            "/decisions",
            {"item": BARE_RATING, "decision": "correct", "reference_answer": "x"},
            409,
            "the item holds no question to correct the answer of; reject it",
        ),
        ("/decisions", [1], 400, "the body must be a JSON object"),
        ("/export", {"since": "2026-12-01"}, 400, "unknown field(s) since; export takes none"),
        ("/items", {}, 404, "no /items; the paths are /decisions, /export"),
    ],
    ids=[
        "path-in-item",
        "other-use-case",
        "review-name-under-feedback",
        "decision",
        "reference-on-approve",
        "correct-without-reference",
        "long-note",
        "unknown",
        "no-item",
        "approve-bare-rating",
        "correct-bare-rating",
        "not-object",
        "export-fields",
        "unknown-path",
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_kept(
    s3: Any, path: str, body: Any, status: int, error: str
) -> None:
    answered, reply = call(s3, path, body)
    assert answered == status
    assert reply["error"].startswith(error), reply
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="review-decisions/")["KeyCount"] == 0


def test_only_post_is_answered(s3: Any) -> None:
    assert call(s3, "/export", method="GET") == (
        405,
        {"error": "method GET is not allowed; use POST"},
    )


def test_without_human_review_the_desk_decides_on_ratings_only(s3: Any) -> None:
    unreviewed = {k: v for k, v in ENV.items() if k != "REVIEW_PREFIX"}
    for item, status in ((RATING, 200), (FLAGGED, 400)):
        event = {
            "rawPath": "/decisions",
            "requestContext": {"http": {"method": "POST"}},
            "body": json.dumps({"item": item, "decision": "approve"}),
        }
        result = index.route(event, s3_client=s3, env=unreviewed, now=lambda: DECIDED)
        assert result["statusCode"] == status, result


def test_a_later_rejection_withdraws_an_earlier_approval_of_the_question(s3: Any) -> None:
    """A rated-down answer is both a rating and a review item: the latest decision on its
    question is the one that counts."""
    rating = "feedback/claims-assistant/2026/12/06/b2-093000000000.json"
    s3.put_object(
        Bucket=BUCKET,
        Key=rating,
        Body=json.dumps({"answer_id": "b2", "rating": "down", **stored(s3, RATED)}),
    )
    call(s3, "/decisions", {"item": rating, "decision": "approve"})
    call(s3, "/decisions", {"item": RATED, "decision": "reject"}, DECIDED + timedelta(hours=1))
    decision = stored(
        s3, "review-decisions/claims-assistant/feedback/2026/12/06/b2-093000000000.json"
    )
    assert decision["text_from"] == "the application's rating"
    assert call(s3, "/export")[1]["exported"] == 0


def test_an_item_key_with_a_trailing_newline_is_refused(s3: Any) -> None:
    status, reply = call(s3, "/decisions", {"item": f"{RATING}\n", "decision": "reject"})
    assert (status, reply["error"]) == (400, index.ITEM_REQUIRED)


def test_a_rejection_withdraws_the_same_question_however_it_is_spaced_or_cased() -> None:
    questions = index.evaluation_questions(
        iter(
            [
                {"decision": "approve", "question": "What is X?", "answer": "x", "decided_at": "1"},
                {"decision": "reject", "question": " what  is x? ", "decided_at": "2"},
            ]
        )
    )
    assert questions == []
