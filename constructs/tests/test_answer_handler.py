"""The answer API of a use case: requests refused or answered from the knowledge base.

Bedrock's agent runtime is a real boto3 client wrapped in a Stubber and ``sleep`` is a fake
that records the backoff: nothing reaches the network and nothing waits.
"""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.answer import index

PROFILE = "arn:aws:bedrock:eu-west-1:555555555555:application-inference-profile/a1b2c3d4e5f6"
SESSION_KEY = "arn:aws:kms:eu-west-1:555555555555:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
ENV = {
    "KNOWLEDGE_BASES": json.dumps({"policies": "KBPOLICIES1", "claims": "KBCLAIMS22"}),
    "MODEL_ARN": PROFILE,
    "GUARDRAIL_ID": "gr7abc123def",
    "GUARDRAIL_VERSION": "3",
    "NUMBER_OF_RESULTS": "5",
    "MAX_QUESTION_CHARS": "200",
}
QUESTION = "How long does a claim take to settle?"
SESSION = "6f0e1c2a-0b9d-4e8f-a7c6-5d4e3f2a1b0c"
HANDBOOK = "s3://curated-bucket/policies/handbook.pdf"
FAQ = "s3://curated-bucket/policies/faq.md"


def request_params(
    question: str = QUESTION, knowledge_base_id: str = "KBPOLICIES1", **extra: Any
) -> dict[str, Any]:
    return {
        "input": {"text": question},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": knowledge_base_id,
                "modelArn": PROFILE,
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}},
                "generationConfiguration": {
                    "guardrailConfiguration": {
                        "guardrailId": "gr7abc123def",
                        "guardrailVersion": "3",
                    }
                },
            },
        },
        **extra,
    }


def reference(text: str, uri: str) -> dict[str, Any]:
    return {
        "content": {"type": "TEXT", "text": text},
        "location": {"type": "S3", "s3Location": {"uri": uri}},
    }


def bedrock_response(
    text: str, *references: dict[str, Any], guardrail_action: str = "NONE"
) -> dict[str, Any]:
    citations = [{"retrievedReferences": [ref]} for ref in references]
    return {
        "output": {"text": text},
        "citations": citations,
        "guardrailAction": guardrail_action,
        "sessionId": SESSION,
    }


def post(body: Any, **event: Any) -> dict[str, Any]:
    return {
        "requestContext": {"http": {"method": "POST"}},
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        **event,
    }


@pytest.fixture
def client() -> Any:
    return boto3.client("bedrock-agent-runtime", region_name="eu-west-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def call(
    event: dict[str, Any], client: Any, env: dict[str, str] = ENV, sleep: Any = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    result = index.answer(
        event, client=client, env=env, sleep=sleep or FakeSleep(), request_id="req-42"
    )
    return result["statusCode"], result["headers"], json.loads(result["body"])


def test_an_answer_cites_each_passage_once_in_order(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    settle = reference("Claims are settled within thirty days.", HANDBOOK)
    faq = reference("A claim may be reopened once.", FAQ)
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response("Within thirty days.", settle, faq, settle),
        request_params(),
    )
    with caplog.at_level(logging.INFO):
        status, headers, body = call(post({"question": f"  {QUESTION}\n"}), client)
    assert (status, headers) == (200, {"content-type": "application/json"})
    assert body == {
        "answer": "Within thirty days.",
        "citations": [
            {"text": "Claims are settled within thirty days.", "source": HANDBOOK},
            {"text": "A claim may be reopened once.", "source": FAQ},
        ],
        "grounded": True,
        "guardrail_action": "NONE",
        "knowledge_base": "policies",
    }
    assert f"question_chars={len(QUESTION)}" in caplog.text
    assert "citations=2" in caplog.text
    assert QUESTION not in caplog.text
    assert "Within thirty days" not in caplog.text


def test_a_named_knowledge_base_in_a_base64_body_is_the_one_asked(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response("Form C-2.", reference("Use form C-2.", FAQ)),
        request_params(knowledge_base_id="KBCLAIMS22"),
    )
    encoded = base64.b64encode(
        json.dumps({"question": QUESTION, "knowledge_base": "claims"}).encode()
    )
    status, _, body = call(post(encoded.decode(), isBase64Encoded=True), client)
    assert (status, body["knowledge_base"], body["answer"]) == (200, "claims", "Form C-2.")


@pytest.mark.parametrize(
    ("code", "throttled_attempts", "expected_delays"),
    [
        ("ThrottlingException", 1, [0.5]),
        ("ServiceQuotaExceededException", 3, [0.5, 1.0, 2.0]),
    ],
)
def test_throttling_is_retried_with_exponential_backoff(
    client: Any,
    stubber: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    throttled_attempts: int,
    expected_delays: list[float],
) -> None:
    # The jitter's upper bound, so the exponential ceilings themselves are seen.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    for _ in range(throttled_attempts):
        stubber.add_client_error("retrieve_and_generate", code, http_status_code=429)
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response("Within thirty days.", reference("Thirty days.", HANDBOOK)),
        request_params(),
    )
    sleep = FakeSleep()
    status, _, body = call(post({"question": QUESTION}), client, sleep=sleep)
    assert (status, body["answer"]) == (200, "Within thirty days.")
    assert sleep.delays == expected_delays


def test_throttling_after_four_attempts_is_a_429_with_retry_after(
    client: Any, stubber: Stubber
) -> None:
    for _ in range(retrieval.MAX_ATTEMPTS):
        stubber.add_client_error(
            "retrieve_and_generate", "ThrottlingException", http_status_code=429
        )
    sleep = FakeSleep()
    status, headers, body = call(post({"question": QUESTION}), client, sleep=sleep)
    assert status == 429
    assert headers["retry-after"] == "4"
    assert "throttling" in body["error"]
    # Full jitter: each wait is drawn from zero up to its attempt's ceiling, none after the last.
    assert len(sleep.delays) == 3
    for delay, ceiling in zip(sleep.delays, [0.5, 1.0, 2.0], strict=True):
        assert 0 <= delay <= ceiling


def test_a_blocked_answer_is_the_guardrail_message_without_citations(
    client: Any, stubber: Stubber
) -> None:
    blocked = "Sorry, this assistant cannot discuss that topic."
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response(
            blocked, reference("Claims data.", HANDBOOK), guardrail_action="INTERVENED"
        ),
    )
    status, _, body = call(post({"question": QUESTION}), client)
    assert status == 200
    assert body["guardrail_action"] == "INTERVENED"
    assert body["answer"] == blocked
    assert body["citations"] == []
    assert body["grounded"] is False


def test_without_a_retrieved_passage_the_model_text_is_withheld(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_response(
        "retrieve_and_generate", bedrock_response("Probably about a month, generally.")
    )
    status, _, body = call(post({"question": QUESTION}), client)
    assert (status, body["answer"], body["grounded"], body["citations"]) == (200, None, False, [])
    assert body["reason"] == "no passage of the knowledge base matches the question"


def test_an_oversized_question_is_refused_without_calling_bedrock(
    client: Any, stubber: Stubber
) -> None:
    status, _, body = call(post({"question": "x" * 201}), client)
    assert status == 413
    assert body["error"] == "the question is 201 characters; the limit is 200"


def test_an_oversized_body_is_refused_before_it_is_parsed(client: Any, stubber: Stubber) -> None:
    # 4 x 200 + 4096 bytes is the limit; this is not JSON either, but the size is seen first.
    status, _, body = call(post("{" * 4897), client)
    assert (status, body["error"]) == (413, "the body is 4897 bytes; the limit is 4896")


@pytest.mark.parametrize(
    ("event", "status", "reason"),
    [
        (post({"question": QUESTION, "temperature": 0}), 400, "unknown field(s) temperature"),
        (post({"knowledge_base": "policies"}), 400, "'question' is required"),
        (post({"question": "   "}), 400, "'question' is required"),
        (post({"question": ["a", "list"]}), 400, "'question' is required"),
        (post("question=hello"), 400, "the body must be a JSON object"),
        (post([QUESTION]), 400, "the body must be a JSON object"),
        (post("not base64!", isBase64Encoded=True), 400, "the body is not valid base64"),
        (
            post({"question": QUESTION}, requestContext={"http": {"method": "GET"}}),
            405,
            "method GET is not allowed",
        ),
        (
            post({"question": QUESTION, "knowledge_base": "hr"}),
            400,
            "unknown knowledge base 'hr'; the names are policies, claims",
        ),
        (
            post({"question": QUESTION, "session_id": SESSION}),
            400,
            "session memory is off for this use case",
        ),
    ],
)
def test_a_malformed_request_is_refused_with_its_reason(
    client: Any, stubber: Stubber, event: dict[str, Any], status: int, reason: str
) -> None:
    refused, headers, body = call(event, client)
    assert refused == status
    assert reason in body["error"]
    assert headers["content-type"] == "application/json"


def test_with_session_memory_the_session_is_encrypted_and_continued(
    client: Any, stubber: Stubber
) -> None:
    env = {**ENV, "SESSION_KEY_ARN": SESSION_KEY}
    encrypted = {"kmsKeyArn": SESSION_KEY}
    passage = reference("Claims are settled within thirty days.", HANDBOOK)
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response("Within thirty days.", passage),
        request_params(sessionConfiguration=encrypted),
    )
    stubber.add_response(
        "retrieve_and_generate",
        bedrock_response("Yes, once.", passage),
        request_params("Can it be reopened?", sessionId=SESSION, sessionConfiguration=encrypted),
    )
    _, _, first = call(post({"question": QUESTION}), client, env)
    assert first["session_id"] == SESSION
    question = {"question": "Can it be reopened?", "session_id": first["session_id"]}
    status, _, second = call(post(question), client, env)
    assert (status, second["answer"], second["session_id"]) == (200, "Yes, once.", SESSION)


def test_a_malformed_session_id_is_refused(client: Any, stubber: Stubber) -> None:
    env = {**ENV, "SESSION_KEY_ARN": SESSION_KEY}
    status, _, body = call(post({"question": QUESTION, "session_id": "x"}), client, env)
    assert (status, body["error"]) == (
        400,
        "'session_id' must be the session_id of an earlier answer",
    )


def test_bedrock_validation_errors_are_returned_to_the_caller(
    client: Any, stubber: Stubber
) -> None:
    stubber.add_client_error(
        "retrieve_and_generate",
        "ValidationException",
        "Session 6f0e1c2a has expired",
        http_status_code=400,
    )
    status, _, body = call(post({"question": QUESTION}), client)
    assert (status, body) == (400, {"error": "Session 6f0e1c2a has expired"})


def test_other_bedrock_errors_are_a_502_that_points_to_the_logs(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    stubber.add_client_error(
        "retrieve_and_generate",
        "AccessDeniedException",
        "role answer-fn is not authorized to perform bedrock:InvokeModel on profile a1b2c3",
        http_status_code=403,
    )
    status, _, body = call(post({"question": QUESTION}), client)
    assert status == 502
    assert body == {
        "error": "the knowledge base could not answer; see the function's logs (request id req-42)"
    }
    assert "AccessDeniedException" in caplog.text
    assert "req-42" in caplog.text


def test_the_lambda_entry_point_reads_the_environment_and_the_request_id(
    client: Any, stubber: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(index, "_client", lambda: client)
    stubber.add_client_error("retrieve_and_generate", "InternalServerException")

    class Context:
        aws_request_id = "c0ffee00-1234"

    result = index.handler(post({"question": QUESTION}), Context())
    assert result["statusCode"] == 502
    assert "(request id c0ffee00-1234)" in json.loads(result["body"])["error"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KNOWLEDGE_BASES": "{}"}, "KNOWLEDGE_BASES must be a JSON object of one or more"),
        ({"KNOWLEDGE_BASES": '["KBPOLICIES1"]'}, "KNOWLEDGE_BASES must be a JSON object"),
        ({"NUMBER_OF_RESULTS": "101"}, "NUMBER_OF_RESULTS must be an integer from 1 to 100"),
        ({"GUARDRAIL_ID": ""}, "environment variable GUARDRAIL_ID is not set"),
        (
            {"MODEL_ARN": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0"},
            "is not an application inference profile",
        ),
    ],
)
def test_a_misconfigured_function_names_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(retrieval.SettingsError, match=message):
        retrieval.RagSettings.from_environment({**ENV, **changes})
