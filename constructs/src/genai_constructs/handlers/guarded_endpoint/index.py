"""A self-hosted model behind the LOB's guardrail: what an application calls instead of the GPU
endpoint, so that a fine-tuned model is no path around the platform's content controls.

A function URL with IAM auth invokes it (payload format 2.0). The caller POSTs a JSON object:
``messages``, the conversation as the endpoint's messages API takes it (``{"role", "content"}``
with roles ``system``, ``user`` and ``assistant``, the last a user's), and optionally
``max_tokens`` (1 to ``MAX_TOKENS``, default ``MAX_TOKENS``) and ``temperature`` (0 to 1).

1. The guardrail checks every message, and the conversation joined (``ApplyGuardrail``, source
   ``INPUT``). When it blocks,
   the endpoint is never called and the reply is the guardrail's message; when it only masks
   (PII anonymized), the endpoint sees the masked messages.
2. The endpoint answers (``InvokeEndpoint``, the container's messages API).
3. The guardrail checks the answer (source ``OUTPUT``); when it intervenes, the caller gets its
   output (the blocked message, or the answer masked) instead.

The reply is JSON: 200 ``{"answer", "guardrail_action", "checked"}`` (``guardrail_action``
``NONE`` or ``INTERVENED``; ``checked`` ``input`` when the input was blocked, else ``output``);
4xx ``{"error"}`` for a request it refuses (413 when the body or the messages are too long, 429
when a service throttles, 503 while an endpoint that scales to zero starts the model), 502 when
the endpoint or Bedrock fail otherwise (logged).

The logs hold metadata only (lengths, counts, the guardrail's actions), never the messages or
the answer.

Configuration (environment): ``ENDPOINT_NAME``, ``INFERENCE_COMPONENT_NAME`` (when the model is
an inference component of the endpoint, which then needs it named), ``GUARDRAIL_ID`` (its ID or
ARN),
``GUARDRAIL_VERSION``, ``MAX_INPUT_CHARS`` (all messages together) and ``MAX_TOKENS``.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from genai_constructs.handlers.http import (
    RequestError,
    body_bytes,
    json_object,
    require_post,
    response,
)

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

ROLES = ("system", "user", "assistant")
FIELDS = ("messages", "max_tokens", "temperature")
THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"})
INTERVENED = "GUARDRAIL_INTERVENED"


class SettingsError(ValueError):
    """An environment variable the function needs is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    inference_component_name: str | None
    guardrail_id: str
    guardrail_version: str
    max_input_chars: int
    max_tokens: int

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        missing = [
            name
            for name in ("ENDPOINT_NAME", "GUARDRAIL_ID", "GUARDRAIL_VERSION")
            if not env.get(name)
        ]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        return cls(
            endpoint_name=env["ENDPOINT_NAME"],
            inference_component_name=env.get("INFERENCE_COMPONENT_NAME") or None,
            guardrail_id=env["GUARDRAIL_ID"],
            guardrail_version=env["GUARDRAIL_VERSION"],
            max_input_chars=_positive(env, "MAX_INPUT_CHARS"),
            max_tokens=_positive(env, "MAX_TOKENS"),
        )


def _positive(env: Mapping[str, str], name: str) -> int:
    text = env.get(name, "")
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"{name} must be a positive integer, not '{text}'")
    return int(text)


@dataclass(frozen=True)
class Request:
    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float | None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve(
        event,
        bedrock=boto3.client("bedrock-runtime", config=CLIENT_CONFIG),
        sagemaker=boto3.client("sagemaker-runtime", config=CLIENT_CONFIG),
        env=os.environ,
        request_id=getattr(context, "aws_request_id", "unknown"),
    )


def serve(
    event: Mapping[str, Any],
    *,
    bedrock: Any,
    sagemaker: Any,
    env: Mapping[str, str],
    request_id: str,
) -> dict[str, Any]:
    settings = Settings.from_environment(env)
    try:
        request = parse_request(event, settings)
        reply = guarded_answer(bedrock, sagemaker, settings, request, request_id)
    except RequestError as refused:
        logger.info("refused: status=%d", refused.status)
        return response(refused.status, {"error": refused.reason}, refused.headers)
    return response(200, reply)


# --- the request ------------------------------------------------------------------------------


def parse_request(event: Mapping[str, Any], settings: Settings) -> Request:
    require_post(event)
    fields = json_object(_body(event, settings))
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise RequestError(
            400, f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}"
        )
    return Request(
        messages=_messages(fields.get("messages"), settings.max_input_chars),
        max_tokens=_max_tokens(fields.get("max_tokens", settings.max_tokens), settings),
        temperature=_temperature(fields.get("temperature")),
    )


def _body(event: Mapping[str, Any], settings: Settings) -> bytes:
    """The body's bytes, refused with 413 before parsing when no valid request is that long
    (4 bytes a character, as a JSON escape may take, plus room for the rest)."""
    return body_bytes(event, 4 * settings.max_input_chars + 4096)


def _messages(value: Any, max_chars: int) -> list[dict[str, str]]:
    shape = "'messages' must be a non-empty list of {role, content}, the last a user's"
    if not isinstance(value, list) or not value:
        raise RequestError(400, shape)
    messages = []
    for number, message in enumerate(value):
        if (
            not isinstance(message, dict)
            or set(message) != {"role", "content"}
            or message["role"] not in ROLES
            or not isinstance(message["content"], str)
            or not message["content"].strip()
        ):
            raise RequestError(
                400,
                f"messages[{number}] must be {{role, content}} with role one of "
                f"{', '.join(ROLES)} and non-empty text",
            )
        messages.append({"role": message["role"], "content": message["content"]})
    if messages[-1]["role"] != "user":
        raise RequestError(400, shape)
    total = sum(len(m["content"]) for m in messages)
    if total > max_chars:
        raise RequestError(413, f"the messages are {total} characters; the limit is {max_chars}")
    return messages


def _max_tokens(value: Any, settings: Settings) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= settings.max_tokens
    ):
        raise RequestError(400, f"'max_tokens' must be an integer of 1 to {settings.max_tokens}")
    return int(value)


def _temperature(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise RequestError(400, "'temperature' must be a number of 0 to 1")
    return float(value)


# --- guardrail, endpoint, guardrail ----------------------------------------------------------


def guarded_answer(
    bedrock: Any, sagemaker: Any, settings: Settings, request: Request, request_id: str
) -> dict[str, Any]:
    try:
        checked = input_texts(request)
        checked_in = apply_guardrail(bedrock, settings, "INPUT", checked)
        if checked_in["action"] == INTERVENED:
            masked = masked_texts(checked_in, len(checked))
            if masked is None:
                log(request, input_action="BLOCKED")
                return {
                    "answer": guardrail_text(checked_in),
                    "guardrail_action": "INTERVENED",
                    "checked": "input",
                }
            # The masked messages (the joined conversation's output, last, is not sent).
            request = Request(
                [
                    {**m, "content": text}
                    for m, text in zip(
                        request.messages, masked[: len(request.messages)], strict=True
                    )
                ],
                request.max_tokens,
                request.temperature,
            )
        answer = invoke_endpoint(sagemaker, settings, request)
        checked_out = apply_guardrail(bedrock, settings, "OUTPUT", [answer])
    except (ClientError, BotoCoreError) as error:
        raise refusal(error, request_id) from error
    except ValueError as error:
        logger.error("unreadable answer of the endpoint (request id %s): %s", request_id, error)
        raise RequestError(
            502, f"the endpoint's answer is unreadable; see the function's logs ({request_id})"
        ) from error
    intervened = checked_out["action"] == INTERVENED
    log(
        request,
        input_action="MASKED" if checked_in["action"] == INTERVENED else "NONE",
        output_action="INTERVENED" if intervened else "NONE",
        answer_chars=len(answer),
    )
    return {
        "answer": guardrail_text(checked_out) if intervened else answer,
        "guardrail_action": "INTERVENED"
        if intervened or checked_in["action"] == INTERVENED
        else "NONE",
        "checked": "output",
    }


def input_texts(request: Request) -> list[str]:
    """What the guardrail checks of a request: each message, and with more than one the
    conversation joined, so that a word or a number split across messages is seen whole as
    the model sees it."""
    texts = [m["content"] for m in request.messages]
    if len(texts) > 1:
        texts.append("\n".join(f"{m['role']}: {m['content']}" for m in request.messages))
    return texts


def apply_guardrail(bedrock: Any, settings: Settings, source: str, texts: list[str]) -> Any:
    return bedrock.apply_guardrail(
        guardrailIdentifier=settings.guardrail_id,
        guardrailVersion=settings.guardrail_version,
        source=source,
        content=[{"text": {"text": text}} for text in texts],
    )


def blocked(node: Any) -> bool:
    """Whether any assessment of the guardrail blocked (not only masked) something."""
    if isinstance(node, dict):
        return node.get("action") == "BLOCKED" or any(blocked(v) for v in node.values())
    if isinstance(node, list):
        return any(blocked(v) for v in node)
    return False


def masked_texts(result: Any, count: int) -> list[str] | None:
    """The messages as the guardrail masked them, one output each; None when it blocked (or
    its outputs cannot be matched to the messages, which is treated as a block)."""
    outputs = [output.get("text", "") for output in result.get("outputs", [])]
    if blocked(result.get("assessments", [])) or len(outputs) != count:
        return None
    return outputs


def guardrail_text(result: Any) -> str:
    return "\n".join(output.get("text", "") for output in result.get("outputs", []))


def invoke_endpoint(sagemaker: Any, settings: Settings, request: Request) -> str:
    body: dict[str, Any] = {"messages": request.messages, "max_tokens": request.max_tokens}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    component = (
        {"InferenceComponentName": settings.inference_component_name}
        if settings.inference_component_name
        else {}
    )
    reply = sagemaker.invoke_endpoint(
        EndpointName=settings.endpoint_name,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps(body).encode(),
        **component,
    )
    try:
        content = json.loads(reply["Body"].read())["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"no choices[0].message.content ({type(error).__name__})") from error
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not text")
    return content


def refusal(error: ClientError | BotoCoreError, request_id: str) -> RequestError:
    """What the caller is told of a failed call: the service's reason only for an invalid
    request."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        if code == "ValidationException":
            return RequestError(400, error.response["Error"].get("Message", "invalid request"))
        if code in THROTTLED:
            return RequestError(429, "the model or the guardrail is throttling; retry later")
        message = str(error.response.get("Error", {}).get("Message", ""))
        if code == "ModelNotReadyException" or (
            code == "ValidationError" and "capacity" in message
        ):
            # An endpoint that scales to zero starts a copy of the model on this request.
            return RequestError(
                503,
                "the model is starting (it scales from zero); retry shortly",
                {"retry-after": "60"},
            )
    logger.exception("the endpoint or the guardrail failed (request id %s)", request_id)
    return RequestError(
        502, f"the model could not answer; see the function's logs (request id {request_id})"
    )


def log(request: Request, **fields: Any) -> None:
    described = " ".join(f"{name}={value}" for name, value in fields.items())
    logger.info(
        "served: messages=%d input_chars=%d %s",
        len(request.messages),
        sum(len(m["content"]) for m in request.messages),
        described,
    )
