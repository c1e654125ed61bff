"""The answer API of a use case: a question answered from its knowledge bases, with citations.

A function URL with IAM auth invokes it (payload format 2.0). The caller POSTs a JSON object:
``question`` (required), ``knowledge_base`` (one of the use case's names; the first by default)
and ``session_id`` (only when session memory is on: the ``session_id`` of an earlier answer).
Bedrock's RetrieveAndGenerate answers through the use case's application inference profile and
guardrail (``genai_constructs.handlers.retrieval``). The reply is JSON:

- 200 ``{"answer", "citations": [{"text", "source"}], "grounded", "guardrail_action",
  "knowledge_base"}`` plus ``session_id`` when session memory is on. When the guardrail
  intervenes, ``answer`` is its blocked message and ``citations`` is empty; when no passage is
  retrieved, ``answer`` is null with a ``reason``: the model's ungrounded text is not returned;
- 4xx ``{"error"}`` for a request it refuses (413 when the question or body is too long, 429
  when Bedrock still throttles after the retries), 502 when Bedrock fails otherwise (logged).

The logs hold metadata only (lengths, knowledge base, guardrail action, citation count), never
the question or the answer.

Configuration (environment): the ``RagSettings`` variables (``KNOWLEDGE_BASES``, ``MODEL_ARN``,
``GUARDRAIL_ID``, ``GUARDRAIL_VERSION``, ``NUMBER_OF_RESULTS``, optional ``SESSION_KEY_ARN``) and
``MAX_QUESTION_CHARS``, which the stack derives from the guardrail policy's input token limit.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from genai_constructs.handlers.retrieval import (
    BACKOFF_CAP_SECONDS,
    CLIENT_CONFIG,
    Answer,
    RagSettings,
    SettingsError,
    is_throttling,
    retrieve_and_generate,
)

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

FIELDS = ("question", "knowledge_base", "session_id")
# RetrieveAndGenerate's own constraint on a session id.
SESSION_ID = re.compile(r"^[0-9a-zA-Z._:-]{2,100}$")
NO_PASSAGE = "no passage of the knowledge base matches the question"


class RequestError(Exception):
    """The request is refused with ``status`` and ``reason``."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})


@dataclass(frozen=True)
class Question:
    text: str
    knowledge_base: str
    session_id: str | None


@functools.cache
def _client() -> Any:
    return boto3.client("bedrock-agent-runtime", config=CLIENT_CONFIG)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return answer(
        event,
        client=_client(),
        env=os.environ,
        sleep=time.sleep,
        request_id=getattr(context, "aws_request_id", "unknown"),
    )


def answer(
    event: Mapping[str, Any],
    *,
    client: Any,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    request_id: str,
) -> dict[str, Any]:
    settings = RagSettings.from_environment(env)
    max_chars = max_question_chars(env)
    try:
        question = parse_request(event, settings, max_chars)
        reply = ask(client, settings, question, sleep, request_id)
    except RequestError as refused:
        logger.info("refused: status=%d", refused.status)
        return response(refused.status, {"error": refused.reason}, refused.headers)
    return response(200, reply)


def max_question_chars(env: Mapping[str, str]) -> int:
    text = env.get("MAX_QUESTION_CHARS", "")
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"MAX_QUESTION_CHARS must be a positive integer, not '{text}'")
    return int(text)


def parse_request(event: Mapping[str, Any], settings: RagSettings, max_chars: int) -> Question:
    method = event.get("requestContext", {}).get("http", {}).get("method")
    if method != "POST":
        raise RequestError(405, f"method {method} is not allowed; use POST", {"allow": "POST"})
    fields = json_object(request_body(event, max_chars))
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise RequestError(
            400, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}"
        )
    return Question(
        text=question_text(fields, max_chars),
        knowledge_base=knowledge_base(fields, settings),
        session_id=session_id(fields, settings),
    )


def request_body(event: Mapping[str, Any], max_chars: int) -> bytes:
    """The body's bytes, refused with 413 before any parsing when it is larger than the
    longest question could make it (4 UTF-8 bytes a character, plus room for the rest)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise RequestError(400, "the body is not valid base64") from None
    else:
        raw = body.encode()
    limit = 4 * max_chars + 4096
    if len(raw) > limit:
        raise RequestError(413, f"the body is {len(raw)} bytes; the limit is {limit}")
    return raw


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        fields = None
    if not isinstance(fields, dict):
        raise RequestError(400, "the body must be a JSON object")
    return fields


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


def session_id(fields: Mapping[str, Any], settings: RagSettings) -> str | None:
    value = fields.get("session_id")
    if value is None:
        return None
    if not settings.session_memory:
        raise RequestError(400, "session memory is off for this use case; omit 'session_id'")
    if not isinstance(value, str) or not SESSION_ID.match(value):
        raise RequestError(400, "'session_id' must be the session_id of an earlier answer")
    return value


def ask(
    client: Any,
    settings: RagSettings,
    question: Question,
    sleep: Callable[[float], None],
    request_id: str,
) -> dict[str, Any]:
    try:
        result = retrieve_and_generate(
            client,
            settings,
            question=question.text,
            knowledge_base_id=settings.knowledge_bases[question.knowledge_base],
            session_id=question.session_id,
            sleep=sleep,
        )
    except (ClientError, BotoCoreError) as error:
        raise refusal(error, request_id) from error
    reply = reply_body(result, question.knowledge_base, settings.session_memory)
    logger.info(
        "answered: question_chars=%d answer_chars=%d knowledge_base=%s guardrail_action=%s "
        "citations=%d",
        len(question.text),
        len(result.text),
        question.knowledge_base,
        reply["guardrail_action"],
        len(reply["citations"]),
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
    logger.exception("RetrieveAndGenerate failed (request id %s)", request_id)
    return RequestError(
        502,
        f"the knowledge base could not answer; see the function's logs (request id {request_id})",
    )


def reply_body(result: Answer, knowledge_base: str, session_memory: bool) -> dict[str, Any]:
    if result.guardrail_intervened:
        reply: dict[str, Any] = {"answer": result.text, "citations": [], "grounded": False}
    elif not result.grounded:
        reply = {"answer": None, "citations": [], "grounded": False, "reason": NO_PASSAGE}
    else:
        reply = {"answer": result.text, "citations": result.citations, "grounded": True}
    reply["guardrail_action"] = "INTERVENED" if result.guardrail_intervened else "NONE"
    reply["knowledge_base"] = knowledge_base
    if session_memory:
        reply["session_id"] = result.session_id
    return reply


def response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }
