"""Retrieval-augmented generation against a use case's knowledge bases, shared by the answer
API (``answer``) and the offline RAG evaluation (``rag_evaluation``).

Both read the same configuration from the environment (``RagSettings``) and call Bedrock's
RetrieveAndGenerate through the use case's application inference profile and its guardrail
(``retrieve_and_generate``), with our own retries on throttling.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from botocore.config import Config
from botocore.exceptions import ClientError

THROTTLING_ERROR_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0

# The retries are ours, with botocore's off: its standard mode would not retry
# ServiceQuotaExceededException (Bedrock's answer when the on-demand token quota is spent for
# the minute), and stacking its attempts under ours would multiply the wait a caller sees. One
# budget of MAX_ATTEMPTS, spent here, also tells the answer API when to give up with a 429.
CLIENT_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})

INFERENCE_PROFILE_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile/[0-9a-zA-Z]+$"
)


class SettingsError(ValueError):
    """An environment variable the function needs is missing or malformed."""


@dataclass(frozen=True)
class RagSettings:
    knowledge_bases: dict[str, str]
    """Knowledge base name -> id, the first being the default."""
    model_arn: str
    guardrail_id: str
    guardrail_version: str
    number_of_results: int
    session_key_arn: str | None
    """KMS key for RetrieveAndGenerate's sessions; None when session memory is off."""

    @property
    def session_memory(self) -> bool:
        return self.session_key_arn is not None

    @property
    def default_knowledge_base(self) -> str:
        return next(iter(self.knowledge_bases))

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> RagSettings:
        model_arn = required(env, "MODEL_ARN")
        if not INFERENCE_PROFILE_ARN.match(model_arn):
            raise SettingsError(f"MODEL_ARN '{model_arn}' is not an application inference profile")
        return cls(
            knowledge_bases=knowledge_bases(required(env, "KNOWLEDGE_BASES")),
            model_arn=model_arn,
            guardrail_id=required(env, "GUARDRAIL_ID"),
            guardrail_version=required(env, "GUARDRAIL_VERSION"),
            number_of_results=bounded_int(env, "NUMBER_OF_RESULTS", 1, 100),
            session_key_arn=env.get("SESSION_KEY_ARN") or None,
        )


def required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


def bounded_int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    text = required(env, name)
    if not text.isdigit() or not low <= int(text) <= high:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, not '{text}'")
    return int(text)


def knowledge_bases(text: str) -> dict[str, str]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsError(f"KNOWLEDGE_BASES is not JSON: {error}") from None
    valid = isinstance(loaded, dict) and all(
        isinstance(value, str) and name and value for name, value in loaded.items()
    )
    if not valid or not loaded:
        raise SettingsError("KNOWLEDGE_BASES must be a JSON object of one or more name -> id")
    return dict(loaded)


class Citation(TypedDict):
    text: str
    source: str | None


@dataclass(frozen=True)
class Answer:
    text: str
    guardrail_intervened: bool
    session_id: str
    citations: list[Citation]
    """The retrieved references the answer cites, without repeats, in order."""

    @property
    def grounded(self) -> bool:
        return bool(self.citations)

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> Answer:
        citations: list[Citation] = []
        for citation in response.get("citations", []):
            for reference in citation.get("retrievedReferences", []):
                passage = Citation(
                    text=reference.get("content", {}).get("text", ""),
                    source=reference.get("location", {}).get("s3Location", {}).get("uri"),
                )
                if passage not in citations:
                    citations.append(passage)
        return cls(
            text=response["output"]["text"],
            guardrail_intervened=response.get("guardrailAction") == "INTERVENED",
            session_id=response["sessionId"],
            citations=citations,
        )


def is_throttling(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in THROTTLING_ERROR_CODES


def backoff_seconds(attempt: int) -> float:
    """Full jitter: a uniform wait up to the exponential ceiling of this (1-based) attempt."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)


def retrieve_and_generate(
    client: Any,
    settings: RagSettings,
    *,
    question: str,
    knowledge_base_id: str,
    session_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Answers ``question`` from the knowledge base, through the guardrail; raises the
    ``ClientError`` of the last attempt when Bedrock is still throttling after MAX_ATTEMPTS."""
    request = rag_request(settings, question, knowledge_base_id, session_id)
    for attempt in range(1, MAX_ATTEMPTS):
        try:
            return Answer.from_response(client.retrieve_and_generate(**request))
        except ClientError as error:
            if not is_throttling(error):
                raise
        sleep(backoff_seconds(attempt))
    return Answer.from_response(client.retrieve_and_generate(**request))


def rag_request(
    settings: RagSettings, question: str, knowledge_base_id: str, session_id: str | None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "input": {"text": question},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": knowledge_base_id,
                "modelArn": settings.model_arn,
                "retrievalConfiguration": {
                    "vectorSearchConfiguration": {"numberOfResults": settings.number_of_results}
                },
                "generationConfiguration": {
                    "guardrailConfiguration": {
                        "guardrailId": settings.guardrail_id,
                        "guardrailVersion": settings.guardrail_version,
                    }
                },
            },
        },
    }
    if session_id is not None:
        request["sessionId"] = session_id
    if settings.session_key_arn is not None:
        request["sessionConfiguration"] = {"kmsKeyArn": settings.session_key_arn}
    return request
