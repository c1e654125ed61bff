"""The answer API of a use case: a question answered from its knowledge bases, with citations.

A function URL with IAM auth invokes it (payload format 2.0). The caller POSTs a JSON object:
``question`` (required), ``knowledge_base`` (one of the use case's names; the first by default)
and, only when memory is on (``MEMORY_TURNS`` > 0), ``history``: the earlier turns the
application kept, oldest first, at most ``MEMORY_TURNS`` ``{"question", "answer"}``. The
platform stores no conversation. The knowledge base's Retrieve finds the passages and Converse
answers from them through the use case's application inference profile and guardrail
(``genai_constructs.handlers.retrieval``). The reply is JSON:

- 200 ``{"answer_id", "answer", "citations": [{"number", "text", "source", "score"}],
  "grounded", "guardrail_action", "knowledge_base"}``; the answer cites the passages as
  [number] and ``answer_id`` (the request's ID, in the function's logs) names it. When the
  guardrail intervenes, ``answer`` is its blocked message and ``citations`` is empty; when no
  passage is retrieved, the model is not asked and ``answer`` is null with a ``reason``;
- 4xx ``{"error"}`` for a request it refuses (413 when the question or body is too long, 429
  when Bedrock still throttles after the retries), 502 when Bedrock fails otherwise (logged).
  Lambda itself answers 429 while the use case's daily token budget is spent (the budget
  check sets the function's reserved concurrency to 0 until 00:00 UTC).

``POST <url>/feedback`` rates an answer: ``answer_id`` and ``rating`` (``up`` or ``down``)
required, ``comment`` (at most 2000 characters) and the ``question`` and ``answer`` optional
(bounded as above); each rating is kept as
``<FEEDBACK_PREFIX><yyyy>/<mm>/<dd>/<answer_id>-<time>.json`` in ``FEEDBACK_BUCKET`` (404 when
the use case collects none) and answered 200 ``{"recorded"}``.

When the use case needs a person's review (``REVIEW_PREFIX`` set), an answer the guardrail
stopped, one with no passage, and a negative rating are each left, with the question and
answer (a rating's as the application sent them), as
``<REVIEW_PREFIX><yyyy>/<mm>/<dd>/<answer_id>-flagged.json`` (a rating's ``-rated-<time>``) in
``FEEDBACK_BUCKET``, where the use case's reviewer role reads them.

The logs hold metadata only (lengths, turns, knowledge base, guardrail action, passage count),
never the question, the history or the answer.

Configuration (environment): the ``RagSettings`` variables (``KNOWLEDGE_BASES``, ``MODEL_ARN``,
``GUARDRAIL_ARN``, ``GUARDRAIL_VERSION``, ``NUMBER_OF_RESULTS``, ``MEMORY_TURNS`` (default 0),
``MAX_ANSWER_TOKENS`` (default 1024)) and ``MAX_QUESTION_CHARS``, which the stack derives from
the guardrail policy's input token limit; when ``METRIC_NAMESPACE`` and ``USE_CASE`` are set,
each request's outcome as embedded metrics (``Answers``, ``GuardrailInterventions``,
``EmptyRetrievals``, ``FailedAnswers``, ``AnswerMilliseconds``) for the answers' alarms.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.http import (
    RequestError,
    body_bytes,
    json_object,
    require_post,
    response,
)
from genai_constructs.handlers.metrics import embedded_metrics
from genai_constructs.handlers.retrieval import (
    BACKOFF_CAP_SECONDS,
    Answer,
    RagSettings,
    SettingsError,
    Turn,
    answer_question,
    is_throttling,
)

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

FIELDS = ("question", "knowledge_base")
MEMORY_FIELD = "history"
# An answer may run longer than a question: up to this many times its limit.
ANSWER_CHARS_PER_QUESTION_CHAR = 4
NO_PASSAGE = "no passage of the knowledge base matches the question"
# Feedback: POST <url>/feedback, rating one answer.
FEEDBACK_PATH = "/feedback"
FEEDBACK_FIELDS = ("answer_id", "rating", "comment", "question", "answer")
RATINGS = ("up", "down")
COMMENT_CHARS = 2000
ANSWER_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class Question:
    text: str
    knowledge_base: str
    history: list[Turn]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", "unknown")
    if event.get("rawPath") == FEEDBACK_PATH:
        return feedback(
            event, s3_client=boto3.client("s3"), env=os.environ, now=lambda: datetime.now(UTC)
        )
    return answer(
        event,
        agent_client=retrieval.agent_client(),
        runtime_client=retrieval.runtime_client(),
        env=os.environ,
        sleep=time.sleep,
        request_id=request_id,
        s3_client=boto3.client("s3") if os.environ.get("REVIEW_PREFIX") else None,
    )


def answer(
    event: Mapping[str, Any],
    *,
    agent_client: Any,
    runtime_client: Any,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    request_id: str,
    clock: Callable[[], float] = time.time,
    s3_client: Any = None,
) -> dict[str, Any]:
    started = clock()
    settings = RagSettings.from_environment(env)
    max_chars = max_question_chars(env)
    try:
        question = parse_request(event, settings, max_chars)
        reply = ask(agent_client, runtime_client, settings, question, sleep, request_id)
    except RequestError as refused:
        logger.info("refused: status=%d", refused.status)
        record_metrics(env, refused.status, None, started, clock())
        return response(refused.status, {"error": refused.reason}, refused.headers)
    ended = clock()
    record_metrics(env, 200, reply, started, ended)
    reason = flag(reply)
    if reason and s3_client is not None:
        queue_for_review(
            s3_client,
            env,
            {"answer_id": request_id, "reason": reason, "question": question.text, **reply},
            datetime.fromtimestamp(ended, UTC),
        )
    return response(200, reply)


def flag(reply: Mapping[str, Any]) -> str | None:
    """Why a person should review an answer: the guardrail stopped it, or nothing answered."""
    if reply["guardrail_action"] == "INTERVENED":
        return "the guardrail intervened"
    if reply.get("reason") == NO_PASSAGE:
        return NO_PASSAGE
    return None


def queue_for_review(
    s3_client: Any, env: Mapping[str, str], item: Mapping[str, Any], received: datetime
) -> None:
    """Leave ``item`` where the use case's reviewers work from (``REVIEW_PREFIX`` of
    ``FEEDBACK_BUCKET``), one object per answer and reason."""
    bucket, prefix = env.get("FEEDBACK_BUCKET"), env.get("REVIEW_PREFIX")
    if not bucket or not prefix:
        return
    kind = f"rated-{received:%H%M%S%f}" if "rating" in item else "flagged"
    try:
        s3_client.put_object(
            Bucket=bucket,
            Key=f"{prefix}{received:%Y/%m/%d}/{item['answer_id']}-{kind}.json",
            Body=json.dumps({**item, "received_at": received.isoformat()}).encode(),
            # No encryption header: the bucket's default (SSE-KMS with the LOB's data key).
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError):
        # The caller still gets its answer; the lost item raises the review alarm.
        logger.exception("could not queue an answer for review: %s", kind)
        publish(env, {"ReviewQueueFailures": 1}, received.timestamp())
        return
    logger.info("queued for review: %s", kind)


def publish(
    env: Mapping[str, str],
    values: Mapping[str, float],
    at_seconds: float,
    units: Mapping[str, str] | None = None,
) -> None:
    """``values`` as embedded metrics of the use case, when the function is monitored
    (``METRIC_NAMESPACE`` and ``USE_CASE`` set): what the alarms of the answers watch."""
    namespace, use_case = env.get("METRIC_NAMESPACE"), env.get("USE_CASE")
    if namespace and use_case:
        line = embedded_metrics(
            namespace, {"UseCase": use_case}, values, round(at_seconds * 1000), units
        )
        print(json.dumps(line))


def record_metrics(
    env: Mapping[str, str],
    status: int,
    reply: Mapping[str, Any] | None,
    started: float,
    ended: float,
) -> None:
    """The outcome of one request."""
    answered = reply if status == 200 else None
    values = {
        "Answers": int(answered is not None),
        "GuardrailInterventions": int(
            answered is not None and answered["guardrail_action"] == "INTERVENED"
        ),
        "EmptyRetrievals": int(answered is not None and answered.get("reason") == NO_PASSAGE),
        "FailedAnswers": int(status >= 500),
        "AnswerMilliseconds": round((ended - started) * 1000),
    }
    publish(env, values, ended, {"AnswerMilliseconds": "Milliseconds"})


def max_question_chars(env: Mapping[str, str]) -> int:
    text = env.get("MAX_QUESTION_CHARS", "")
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"MAX_QUESTION_CHARS must be a positive integer, not '{text}'")
    return int(text)


def parse_request(event: Mapping[str, Any], settings: RagSettings, max_chars: int) -> Question:
    require_post(event)
    fields = json_object(request_body(event, settings, max_chars))
    if MEMORY_FIELD in fields and not settings.memory_turns:
        raise RequestError(400, "conversation memory is off for this use case; omit 'history'")
    allowed = (*FIELDS, MEMORY_FIELD) if settings.memory_turns else FIELDS
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise RequestError(
            400, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(allowed)}"
        )
    return Question(
        text=question_text(fields, max_chars),
        knowledge_base=knowledge_base(fields, settings),
        history=history(fields, settings, max_chars),
    )


def request_body(event: Mapping[str, Any], settings: RagSettings, max_chars: int) -> bytes:
    """The body's bytes, refused with 413 before any parsing when it is larger than the
    longest question and history could make it (4 bytes a character, as a JSON escape of a
    non-ASCII character may take; plus room for the rest)."""
    # A turn is a question and an answer of up to ANSWER_CHARS_PER_QUESTION_CHAR questions.
    turn_chars = (1 + ANSWER_CHARS_PER_QUESTION_CHAR) * max_chars
    return body_bytes(event, 4 * (max_chars + settings.memory_turns * turn_chars) + 4096)


def question_text(fields: Mapping[str, Any], max_chars: int) -> str:
    value = fields.get("question")
    if not isinstance(value, str) or not value.strip():
        raise RequestError(400, "'question' is required: a non-empty string")
    text = value.strip()
    if len(text) > max_chars:
        raise RequestError(413, f"the question is {len(text)} characters; the limit is {max_chars}")
    return text


def knowledge_base(fields: Mapping[str, Any], settings: RagSettings) -> str:
    name = fields.get("knowledge_base", settings.default_knowledge_base)
    if not isinstance(name, str) or name not in settings.knowledge_bases:
        allowed = ", ".join(settings.knowledge_bases)
        raise RequestError(400, f"unknown knowledge base {name!r}; the names are {allowed}")
    return name


def history(fields: Mapping[str, Any], settings: RagSettings, max_chars: int) -> list[Turn]:
    """The earlier turns, oldest first, each question and answer stripped and bounded."""
    turns = fields.get(MEMORY_FIELD, [])
    limit = settings.memory_turns
    if not isinstance(turns, list):
        raise RequestError(
            400, f"'history' must be a list of up to {limit} {{question, answer}}, oldest first"
        )
    if len(turns) > limit:
        raise RequestError(400, f"'history' holds {len(turns)} turns; the limit is {limit}")
    bounds = {"question": max_chars, "answer": ANSWER_CHARS_PER_QUESTION_CHAR * max_chars}
    parsed: list[Turn] = []
    for number, turn in enumerate(turns):
        if not isinstance(turn, dict) or set(turn) != set(bounds):
            raise RequestError(
                400, f"history[{number}] must be an object of 'question' and 'answer' only"
            )
        for name, most in bounds.items():
            value = turn[name]
            if not isinstance(value, str) or not 1 <= len(value.strip()) <= most:
                raise RequestError(
                    400, f"history[{number}].{name} must be a string of 1 to {most} characters"
                )
        parsed.append(Turn(question=turn["question"].strip(), answer=turn["answer"].strip()))
    return parsed


def ask(
    agent_client: Any,
    runtime_client: Any,
    settings: RagSettings,
    question: Question,
    sleep: Callable[[float], None],
    request_id: str,
) -> dict[str, Any]:
    try:
        result = answer_question(
            agent_client,
            runtime_client,
            settings,
            question=question.text,
            knowledge_base_id=settings.knowledge_bases[question.knowledge_base],
            history=question.history,
            sleep=sleep,
        )
    except (ClientError, BotoCoreError) as error:
        raise refusal(error, request_id) from error
    reply = {"answer_id": request_id, **reply_body(result, question.knowledge_base)}
    logger.info(
        "answered: question_chars=%d history_turns=%d answer_chars=%d knowledge_base=%s "
        "guardrail_action=%s passages=%d",
        len(question.text),
        len(question.history),
        len(result.text or ""),
        question.knowledge_base,
        reply["guardrail_action"],
        len(result.citations),
    )
    return reply


def refusal(error: ClientError | BotoCoreError, request_id: str) -> RequestError:
    """What the caller is told of a failed call: Bedrock's reason only for an invalid request."""
    if isinstance(error, ClientError):
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            return RequestError(400, error.response["Error"].get("Message", "invalid request"))
        if is_throttling(error):
            retry_after = str(math.ceil(BACKOFF_CAP_SECONDS))
            return RequestError(
                429, "Bedrock is throttling; retry later", {"retry-after": retry_after}
            )
    logger.exception("Retrieve or Converse failed (request id %s)", request_id)
    return RequestError(
        502,
        f"the knowledge base could not answer; see the function's logs (request id {request_id})",
    )


def reply_body(result: Answer, knowledge_base: str) -> dict[str, Any]:
    if result.guardrail_intervened:
        reply: dict[str, Any] = {"answer": result.text, "citations": [], "grounded": False}
    elif not result.grounded:
        reply = {"answer": None, "citations": [], "grounded": False, "reason": NO_PASSAGE}
    else:
        reply = {"answer": result.text, "citations": result.citations, "grounded": True}
    reply["guardrail_action"] = "INTERVENED" if result.guardrail_intervened else "NONE"
    reply["knowledge_base"] = knowledge_base
    return reply


# --- feedback -----------------------------------------------------------------------------


def feedback(
    event: Mapping[str, Any],
    *,
    s3_client: Any,
    env: Mapping[str, str],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """A rating of one answer (by its ``answer_id``), kept in the LOB's artifacts zone for the
    LOB's review and evaluation sets; with the question and answer when the application sends
    them, so that the answer can become an evaluation item."""
    bucket, prefix = env.get("FEEDBACK_BUCKET"), env.get("FEEDBACK_PREFIX", "")
    if not bucket:
        return response(404, {"error": "this use case collects no feedback"})
    max_chars = max_question_chars(env)
    try:
        require_post(event)
        record = feedback_record(json_object(feedback_body(event, max_chars)), max_chars)
    except RequestError as refused:
        logger.info("feedback refused: status=%d", refused.status)
        return response(refused.status, {"error": refused.reason}, refused.headers)
    received = now()
    # Each rating its own object: a second rating of an answer never replaces the first.
    stamp = f"{received:%H%M%S%f}"
    key = f"{prefix}{received:%Y/%m/%d}/{record['answer_id']}-{stamp}.json"
    s3_client.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps({**record, "received_at": received.isoformat()}).encode(),
        # No encryption header: the bucket's default (SSE-KMS with the LOB's data key).
        # Naming aws:kms without a key would encrypt with the AWS-managed aws/s3 key instead.
        ContentType="application/json",
    )
    logger.info(
        "feedback: rating=%s comment_chars=%d with_question=%s",
        record["rating"],
        len(record.get("comment", "")),
        "question" in record,
    )
    publish(
        env,
        {"Ratings": 1, "NegativeRatings": int(record["rating"] == "down")},
        received.timestamp(),
    )
    if record["rating"] == "down":
        queue_for_review(s3_client, env, {**record, "reason": "a negative rating"}, received)
    return response(200, {"recorded": record["answer_id"]})


def feedback_body(event: Mapping[str, Any], max_chars: int) -> bytes:
    """The body's bytes, within what the longest question, answer and comment could make."""
    question_and_answer = (1 + ANSWER_CHARS_PER_QUESTION_CHAR) * max_chars
    return body_bytes(event, 4 * (question_and_answer + COMMENT_CHARS) + 4096)


def feedback_record(fields: Mapping[str, Any], max_chars: int) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FEEDBACK_FIELDS))
    if unknown:
        raise RequestError(
            400,
            f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FEEDBACK_FIELDS)}",
        )
    answer_id = fields.get("answer_id")
    if not isinstance(answer_id, str) or not ANSWER_ID.match(answer_id):
        raise RequestError(400, "'answer_id' is required: the answer_id of the answer rated")
    rating = fields.get("rating")
    if rating not in RATINGS:
        raise RequestError(400, f"'rating' is required: one of {', '.join(RATINGS)}")
    record: dict[str, Any] = {"answer_id": answer_id, "rating": rating}
    bounds = {
        "comment": COMMENT_CHARS,
        "question": max_chars,
        "answer": ANSWER_CHARS_PER_QUESTION_CHAR * max_chars,
    }
    for name, most in bounds.items():
        if name not in fields:
            continue
        value = fields[name]
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= most:
            raise RequestError(400, f"'{name}' must be a string of 1 to {most} characters")
        record[name] = value.strip()
    return record
