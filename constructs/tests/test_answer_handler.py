"""The answer API of a use case: requests refused or answered from the knowledge base.

Bedrock's agent runtime (Retrieve) and runtime (Converse) are real boto3 clients wrapped in
Stubbers, and ``sleep`` is a fake that records the backoff: nothing reaches the network and
nothing waits. A call that nothing was queued for fails the Stubber, which the handler would
turn into a 502: the tests that expect no call assert another status.
"""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.answer import index

PROFILE = "arn:aws:bedrock:eu-west-1:555555555555:application-inference-profile/a1b2c3d4e5f6"
ENV = {
    "KNOWLEDGE_BASES": json.dumps({"policies": "KBPOLICIES1", "claims": "KBCLAIMS22"}),
    "MODEL_ARN": PROFILE,
    "GUARDRAIL_ARN": "arn:aws:bedrock:eu-west-1:555555555555:guardrail/gr7abc123def",
    "GUARDRAIL_VERSION": "3",
    "NUMBER_OF_RESULTS": "5",
    "MAX_QUESTION_CHARS": "200",
}
MEMORY = {**ENV, "MEMORY_TURNS": "2", "MAX_ANSWER_TOKENS": "512"}
QUESTION = "How long does a claim take to settle?"
HANDBOOK = "s3://curated-bucket/policies/handbook.pdf"
FAQ = "s3://curated-bucket/policies/faq.md"
SETTLED = "Claims are settled within thirty days."
REOPENED = "A claim may be reopened once."
GUARDRAIL = {
    "guardrailIdentifier": "arn:aws:bedrock:eu-west-1:555555555555:guardrail/gr7abc123def",
    "guardrailVersion": "3",
    "trace": "disabled",
}


def retrieve_params(question: str = QUESTION, knowledge_base_id: str = "KBPOLICIES1") -> Any:
    return {
        "knowledgeBaseId": knowledge_base_id,
        "retrievalQuery": {"text": question},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 5}},
    }


def retrieved(*passages: tuple[str, str, float]) -> dict[str, Any]:
    return {
        "retrievalResults": [
            {
                "content": {"type": "TEXT", "text": text},
                "location": {"type": "S3", "s3Location": {"uri": uri}},
                "score": score,
            }
            for text, uri, score in passages
        ]
    }


def final_message(
    passages: str, question: str = QUESTION, conversation: str | None = None
) -> dict[str, Any]:
    """What the guardrail reads: the conversation so far (guarded, unqualified), then what its
    contextual grounding check reads, sources and the query."""
    earlier = [{"guardContent": {"text": {"text": conversation}}}] if conversation else []
    return {
        "role": "user",
        "content": [
            *earlier,
            {"guardContent": {"text": {"text": passages, "qualifiers": ["grounding_source"]}}},
            {"guardContent": {"text": {"text": question, "qualifiers": ["query"]}}},
        ],
    }


def converse_params(*messages: dict[str, Any], max_tokens: int = 1024) -> dict[str, Any]:
    return {
        "modelId": PROFILE,
        "system": [{"text": retrieval.SYSTEM_PROMPT}],
        "messages": list(messages),
        "guardrailConfig": GUARDRAIL,
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0},
    }


def converse_response(text: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 120, "outputTokens": 12, "totalTokens": 132},
        "metrics": {"latencyMs": 420},
    }


def post(body: Any, **event: Any) -> dict[str, Any]:
    return {
        "requestContext": {"http": {"method": "POST"}},
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        **event,
    }


@dataclass
class Bedrock:
    agent: Any
    runtime: Any
    retrieve: Stubber
    converse: Stubber


@pytest.fixture
def bedrock() -> Iterator[Bedrock]:
    agent = boto3.client("bedrock-agent-runtime", region_name="eu-west-1")
    runtime = boto3.client("bedrock-runtime", region_name="eu-west-1")
    with Stubber(agent) as retrieve, Stubber(runtime) as converse:
        yield Bedrock(agent, runtime, retrieve, converse)
        retrieve.assert_no_pending_responses()
        converse.assert_no_pending_responses()


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def call(
    event: dict[str, Any], bedrock: Bedrock, env: dict[str, str] = ENV, sleep: Any = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    result = index.answer(
        event,
        agent_client=bedrock.agent,
        runtime_client=bedrock.runtime,
        env=env,
        sleep=sleep or FakeSleep(),
        request_id="req-42",
    )
    return result["statusCode"], result["headers"], json.loads(result["body"])


def test_an_answer_cites_the_numbered_passages_each_once_in_order(
    bedrock: Bedrock, caplog: pytest.LogCaptureFixture
) -> None:
    bedrock.retrieve.add_response(
        "retrieve",
        retrieved((SETTLED, HANDBOOK, 0.91), (REOPENED, FAQ, 0.74), (SETTLED, HANDBOOK, 0.62)),
        retrieve_params(),
    )
    bedrock.converse.add_response(
        "converse",
        converse_response("Within thirty days [1]."),
        converse_params(final_message(f"[1] {SETTLED}\n\n[2] {REOPENED}")),
    )
    with caplog.at_level(logging.INFO):
        status, headers, body = call(post({"question": f"  {QUESTION}\n"}), bedrock)
    assert (status, headers) == (200, {"content-type": "application/json"})
    assert body == {
        "answer_id": "req-42",
        "answer": "Within thirty days [1].",
        "citations": [
            {"number": 1, "text": SETTLED, "source": HANDBOOK, "score": 0.91},
            {"number": 2, "text": REOPENED, "source": FAQ, "score": 0.74},
        ],
        "grounded": True,
        "guardrail_action": "NONE",
        "knowledge_base": "policies",
    }
    assert f"question_chars={len(QUESTION)} history_turns=0" in caplog.text
    assert "passages=2" in caplog.text
    assert QUESTION not in caplog.text
    assert "thirty days" not in caplog.text


def test_a_named_knowledge_base_in_a_base64_body_is_the_one_asked(bedrock: Bedrock) -> None:
    bedrock.retrieve.add_response(
        "retrieve",
        retrieved(("Use form C-2.", FAQ, 0.8)),
        retrieve_params(knowledge_base_id="KBCLAIMS22"),
    )
    bedrock.converse.add_response("converse", converse_response("Form C-2 [1]."))
    encoded = base64.b64encode(
        json.dumps({"question": QUESTION, "knowledge_base": "claims"}).encode()
    )
    status, _, body = call(post(encoded.decode(), isBase64Encoded=True), bedrock)
    assert (status, body["knowledge_base"], body["answer"]) == (200, "claims", "Form C-2 [1].")


@pytest.mark.parametrize(
    ("code", "throttled_attempts", "expected_delays"),
    [
        ("ThrottlingException", 1, [0.5]),
        ("ServiceQuotaExceededException", 3, [0.5, 1.0, 2.0]),
    ],
)
def test_a_throttled_retrieve_is_retried_with_exponential_backoff(
    bedrock: Bedrock,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    throttled_attempts: int,
    expected_delays: list[float],
) -> None:
    # The jitter's upper bound, so the exponential ceilings themselves are seen.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    for _ in range(throttled_attempts):
        bedrock.retrieve.add_client_error("retrieve", code, http_status_code=429)
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_response("converse", converse_response("Within thirty days [1]."))
    sleep = FakeSleep()
    status, _, body = call(post({"question": QUESTION}), bedrock, sleep=sleep)
    assert (status, body["answer"]) == (200, "Within thirty days [1].")
    assert sleep.delays == expected_delays


def test_a_converse_still_throttled_after_four_attempts_is_a_429_with_retry_after(
    bedrock: Bedrock,
) -> None:
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    # The runtime's three retried codes, one attempt each, then the last.
    for code in ("ModelNotReadyException", "ServiceQuotaExceededException", "ThrottlingException"):
        bedrock.converse.add_client_error("converse", code, http_status_code=429)
    bedrock.converse.add_client_error("converse", "ThrottlingException", http_status_code=429)
    sleep = FakeSleep()
    status, headers, body = call(post({"question": QUESTION}), bedrock, sleep=sleep)
    assert status == 429
    assert headers["retry-after"] == "4"
    assert "throttling" in body["error"]
    # Full jitter: each wait is drawn from zero up to its attempt's ceiling, none after the last.
    assert len(sleep.delays) == retrieval.MAX_ATTEMPTS - 1
    for delay, ceiling in zip(sleep.delays, [0.5, 1.0, 2.0], strict=True):
        assert 0 <= delay <= ceiling


def test_a_blocked_answer_is_the_guardrail_message_without_citations(bedrock: Bedrock) -> None:
    blocked = "Sorry, this assistant cannot discuss that topic."
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_response("converse", converse_response(blocked, "guardrail_intervened"))
    status, _, body = call(post({"question": QUESTION}), bedrock)
    assert (status, body) == (
        200,
        {
            "answer_id": "req-42",
            "answer": blocked,
            "citations": [],
            "grounded": False,
            "guardrail_action": "INTERVENED",
            "knowledge_base": "policies",
        },
    )


@pytest.mark.parametrize(
    "results",
    [
        [],
        # A structured data source's row: no text to ground an answer on.
        [{"content": {"type": "ROW", "row": [{"columnName": "id", "type": "STRING"}]}}],
    ],
)
def test_without_a_retrieved_passage_the_model_is_not_asked(
    bedrock: Bedrock, results: list[dict[str, Any]]
) -> None:
    bedrock.retrieve.add_response("retrieve", {"retrievalResults": results}, retrieve_params())
    # Nothing is queued for Converse: a call would fail the Stubber (and be a 502).
    status, _, body = call(post({"question": QUESTION}), bedrock)
    assert (status, body) == (
        200,
        {
            "answer_id": "req-42",
            "answer": None,
            "citations": [],
            "grounded": False,
            "reason": "no passage of the knowledge base matches the question",
            "guardrail_action": "NONE",
            "knowledge_base": "policies",
        },
    )


def test_with_memory_the_earlier_turns_precede_the_question_in_order_and_are_guarded(
    bedrock: Bedrock,
) -> None:
    history = [
        {"question": "Is water damage covered?", "answer": "Yes, from burst pipes [1]."},
        {"question": " And mould? ", "answer": "Not unless it follows a covered event [2]."},
    ]
    bedrock.retrieve.add_response(
        "retrieve", retrieved((REOPENED, FAQ, 0.7)), retrieve_params("Can it be reopened?")
    )
    bedrock.converse.add_response(
        "converse",
        converse_response("Yes, once [1]."),
        converse_params(
            final_message(
                f"[1] {REOPENED}",
                "Can it be reopened?",
                "Conversation so far:\n"
                "Question: Is water damage covered?\nAnswer: Yes, from burst pipes [1].\n\n"
                "Question: And mould?\nAnswer: Not unless it follows a covered event [2].",
            ),
            max_tokens=512,
        ),
    )
    request = {"question": "Can it be reopened?", "history": history}
    status, _, body = call(post(request), bedrock, MEMORY)
    assert (status, body["answer"], body["citations"][0]["source"]) == (200, "Yes, once [1].", FAQ)


def test_with_memory_off_a_history_is_refused(bedrock: Bedrock) -> None:
    status, _, body = call(post({"question": QUESTION, "history": []}), bedrock)
    assert (status, body["error"]) == (
        400,
        "conversation memory is off for this use case; omit 'history'",
    )


TURN = {"question": "Is water damage covered?", "answer": "Yes [1]."}


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ([TURN] * 3, "'history' holds 3 turns; the limit is 2"),
        (TURN, "'history' must be a list of up to 2 {question, answer}, oldest first"),
        ([TURN, ["a", "b"]], "history[1] must be an object of 'question' and 'answer' only"),
        (
            [{"question": "Covered?"}],
            "history[0] must be an object of 'question' and 'answer' only",
        ),
        (
            [{**TURN, "at": "2026-01-01"}],
            "history[0] must be an object of 'question' and 'answer' only",
        ),
        (
            [TURN, {**TURN, "answer": "  "}],
            "history[1].answer must be a string of 1 to 800 characters",
        ),
        (
            [{**TURN, "question": "x" * 201}],
            "history[0].question must be a string of 1 to 200 characters",
        ),
        ([{**TURN, "answer": "y" * 801}], "history[0].answer must be a string of 1 to 800"),
        ([{**TURN, "question": 7}], "history[0].question must be a string"),
    ],
)
def test_a_malformed_history_is_refused_naming_the_turn(
    bedrock: Bedrock, history: Any, reason: str
) -> None:
    status, _, body = call(post({"question": QUESTION, "history": history}), bedrock, MEMORY)
    assert status == 400
    assert body["error"].startswith(reason)


def test_an_oversized_question_is_refused_without_calling_bedrock(bedrock: Bedrock) -> None:
    status, _, body = call(post({"question": "x" * 201}), bedrock)
    assert (status, body["error"]) == (413, "the question is 201 characters; the limit is 200")


@pytest.mark.parametrize(
    ("env", "limit"),
    [
        # 4 bytes a character of the question, plus 4096.
        (ENV, 4 * 200 + 4096),
        # And of two turns, each a question and an answer four times as long.
        (MEMORY, 4 * 200 * (1 + 5 * 2) + 4096),
    ],
)
def test_an_oversized_body_is_refused_before_it_is_parsed(
    bedrock: Bedrock, env: dict[str, str], limit: int
) -> None:
    # Not JSON either, but the size is seen first.
    status, _, body = call(post("{" * (limit + 1)), bedrock, env)
    assert (status, body["error"]) == (413, f"the body is {limit + 1} bytes; the limit is {limit}")


@pytest.mark.parametrize(
    ("event", "status", "reason"),
    [
        (
            post({"question": QUESTION, "session_id": "6f0e1c2a"}),
            400,
            "unknown field(s) session_id; the fields are question, knowledge_base",
        ),
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
    ],
)
def test_a_malformed_request_is_refused_with_its_reason(
    bedrock: Bedrock, event: dict[str, Any], status: int, reason: str
) -> None:
    refused, headers, body = call(event, bedrock)
    assert refused == status
    assert body["error"].startswith(reason)
    assert headers["content-type"] == "application/json"


def test_with_memory_on_the_fields_named_include_history(bedrock: Bedrock) -> None:
    status, _, body = call(post({"question": QUESTION, "session_id": "s"}), bedrock, MEMORY)
    assert (status, body["error"]) == (
        400,
        "unknown field(s) session_id; the fields are question, knowledge_base, history",
    )


@pytest.mark.parametrize("operation", ["retrieve", "converse"])
def test_bedrock_validation_errors_are_returned_to_the_caller(
    bedrock: Bedrock, operation: str
) -> None:
    message = "Malformed input request, please reformat your input and try again."
    if operation == "converse":
        bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    stub = bedrock.retrieve if operation == "retrieve" else bedrock.converse
    stub.add_client_error(operation, "ValidationException", message, http_status_code=400)
    status, _, body = call(post({"question": QUESTION}), bedrock)
    assert (status, body) == (400, {"error": message})


def test_other_bedrock_errors_are_a_502_that_points_to_the_logs(
    bedrock: Bedrock, caplog: pytest.LogCaptureFixture
) -> None:
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_client_error(
        "converse",
        "AccessDeniedException",
        "role answer-fn is not authorized to perform bedrock:InvokeModel on profile a1b2c3",
        http_status_code=403,
    )
    status, _, body = call(post({"question": QUESTION}), bedrock)
    assert status == 502
    assert body == {
        "error": "the knowledge base could not answer; see the function's logs (request id req-42)"
    }
    assert "AccessDeniedException" in caplog.text
    assert "req-42" in caplog.text


def test_the_lambda_entry_point_reads_the_environment_and_the_request_id(
    bedrock: Bedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retrieval, "agent_client", lambda: bedrock.agent)
    monkeypatch.setattr(retrieval, "runtime_client", lambda: bedrock.runtime)
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_client_error("converse", "InternalServerException")

    class Context:
        aws_request_id = "c0ffee00-1234"

    result = index.handler(post({"question": QUESTION}), Context())
    assert result["statusCode"] == 502
    assert "(request id c0ffee00-1234)" in json.loads(result["body"])["error"]


def test_memory_is_off_and_answers_are_1024_tokens_unless_configured() -> None:
    settings = retrieval.RagSettings.from_environment(ENV)
    assert (settings.memory_turns, settings.max_answer_tokens) == (0, 1024)
    settings = retrieval.RagSettings.from_environment(MEMORY)
    assert (settings.memory_turns, settings.max_answer_tokens) == (2, 512)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KNOWLEDGE_BASES": "{}"}, "KNOWLEDGE_BASES must be a JSON object of one or more"),
        ({"KNOWLEDGE_BASES": '["KBPOLICIES1"]'}, "KNOWLEDGE_BASES must be a JSON object"),
        ({"NUMBER_OF_RESULTS": "101"}, "NUMBER_OF_RESULTS must be an integer from 1 to 100"),
        ({"MEMORY_TURNS": "21"}, "MEMORY_TURNS must be an integer from 0 to 20, not '21'"),
        ({"MEMORY_TURNS": ""}, "environment variable MEMORY_TURNS is not set"),
        ({"MAX_ANSWER_TOKENS": "0"}, "MAX_ANSWER_TOKENS must be an integer from 1 to 8192"),
        ({"MAX_ANSWER_TOKENS": "8193"}, "MAX_ANSWER_TOKENS must be an integer from 1 to 8192"),
        ({"GUARDRAIL_ARN": ""}, "environment variable GUARDRAIL_ARN is not set"),
        (
            {"MODEL_ARN": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0"},
            "is not an application inference profile",
        ),
    ],
)
def test_a_misconfigured_function_names_the_variable(changes: dict[str, str], message: str) -> None:
    with pytest.raises(retrieval.SettingsError, match=message):
        retrieval.RagSettings.from_environment({**ENV, **changes})


# --- the answers' metrics ---------------------------------------------------------------------

MONITORED = {
    **ENV,
    "METRIC_NAMESPACE": "GenAIPlatform/claims-prod-genai/observed",
    "USE_CASE": "claims-assistant",
}


class Clock:
    """0.0 at the start of a request, 1.25 s at its end."""

    def __init__(self) -> None:
        self.readings = iter([1_800_000_000.0, 1_800_000_001.25])

    def __call__(self) -> float:
        return next(self.readings)


def metrics_of(
    event: dict[str, Any], bedrock: Bedrock, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    result = index.answer(
        event,
        agent_client=bedrock.agent,
        runtime_client=bedrock.runtime,
        env=MONITORED,
        sleep=FakeSleep(),
        request_id="req-42",
        clock=Clock(),
    )
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    [directive] = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "GenAIPlatform/claims-prod-genai/observed"
    assert directive["Dimensions"] == [["UseCase"]]
    assert record["_aws"]["Timestamp"] == 1_800_000_001_250
    names = [metric["Name"] for metric in directive["Metrics"]]
    return result["statusCode"], {
        "UseCase": record["UseCase"],
        **{name: record[name] for name in names},
    }


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("answered", {"Answers": 1, "GuardrailInterventions": 0, "EmptyRetrievals": 0}),
        ("blocked", {"Answers": 1, "GuardrailInterventions": 1, "EmptyRetrievals": 0}),
        ("no-passage", {"Answers": 1, "GuardrailInterventions": 0, "EmptyRetrievals": 1}),
    ],
)
def test_each_answer_is_counted_by_what_happened_to_it(
    bedrock: Bedrock, capsys: pytest.CaptureFixture[str], outcome: str, expected: dict[str, int]
) -> None:
    passages = [] if outcome == "no-passage" else [(SETTLED, HANDBOOK, 0.9)]
    bedrock.retrieve.add_response("retrieve", retrieved(*passages))
    if outcome != "no-passage":
        stop = "guardrail_intervened" if outcome == "blocked" else "end_turn"
        bedrock.converse.add_response("converse", converse_response("Thirty days [1].", stop))
    status, metrics = metrics_of(post({"question": QUESTION}), bedrock, capsys)
    assert status == 200
    assert metrics == {
        "UseCase": "claims-assistant",
        **expected,
        "FailedAnswers": 0,
        "AnswerMilliseconds": 1250,
    }


def test_a_failed_answer_is_counted_and_a_refused_request_is_no_answer(
    bedrock: Bedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    bedrock.retrieve.add_client_error("retrieve", "InternalServerException", "boom", 500)
    status, metrics = metrics_of(post({"question": QUESTION}), bedrock, capsys)
    assert (status, metrics["Answers"], metrics["FailedAnswers"]) == (502, 0, 1)
    status, metrics = metrics_of(post({"question": ""}), bedrock, capsys)
    assert (status, metrics["Answers"], metrics["FailedAnswers"]) == (400, 0, 0)


def test_an_unmonitored_function_prints_no_metrics(
    bedrock: Bedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    call(post({"question": ""}), bedrock)
    assert capsys.readouterr().out == ""


# --- feedback ---------------------------------------------------------------------------------

FEEDBACK = {
    **MONITORED,
    "FEEDBACK_BUCKET": "prod-artifacts",
    "FEEDBACK_PREFIX": "feedback/claims-assistant/",
}
RECEIVED = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket="prod-artifacts",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
        yield client


def rate(
    s3: Any, body: Any, env: dict[str, str] = FEEDBACK, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    event = {**post(body), "rawPath": "/feedback"}
    event["requestContext"] = {"http": {"method": method}}
    result = index.feedback(event, s3_client=s3, env=env, now=lambda: RECEIVED)
    return result["statusCode"], json.loads(result["body"])


def test_a_rating_is_kept_in_the_lobs_zone_with_what_makes_it_an_evaluation_item(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    status, body = rate(
        s3,
        {
            "answer_id": "0f8e-42",
            "rating": "down",
            "comment": " Wrong deadline. ",
            "question": QUESTION,
            "answer": "Within ninety days.",
        },
    )
    assert (status, body) == (200, {"recorded": "0f8e-42"})
    stored = s3.get_object(
        Bucket="prod-artifacts",
        Key="feedback/claims-assistant/2026/12/06/0f8e-42-093000000000.json",
    )
    assert json.loads(stored["Body"].read()) == {
        "answer_id": "0f8e-42",
        "rating": "down",
        "comment": "Wrong deadline.",
        "question": QUESTION,
        "answer": "Within ninety days.",
        "received_at": "2026-12-06T09:30:00+00:00",
    }
    record = json.loads(capsys.readouterr().out)
    assert (record["Ratings"], record["NegativeRatings"], record["UseCase"]) == (
        1,
        1,
        "claims-assistant",
    )


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"rating": "up"}, 400, "'answer_id' is required: the answer_id of the answer rated"),
        (
            {"answer_id": "../../escape", "rating": "up"},
            400,
            "'answer_id' is required: the answer_id of the answer rated",
        ),
        ({"answer_id": "a1", "rating": 5}, 400, "'rating' is required: one of up, down"),
        (
            {"answer_id": "a1", "rating": "up", "score": 5},
            400,
            "unknown field(s) score; the fields are answer_id, rating, comment, question, answer",
        ),
        (
            {"answer_id": "a1", "rating": "up", "question": "x" * 201},
            400,
            "'question' must be a string of 1 to 200 characters",
        ),
        (
            {"answer_id": "a1", "rating": "up", "comment": "x" * 2001},
            400,
            "'comment' must be a string of 1 to 2000 characters",
        ),
    ],
    ids=["no-id", "path-in-id", "rating", "unknown", "long-question", "long-comment"],
)
def test_a_malformed_rating_is_refused_and_nothing_is_kept(
    s3: Any, body: dict[str, Any], status: int, error: str
) -> None:
    assert rate(s3, body) == (status, {"error": error})
    assert s3.list_objects_v2(Bucket="prod-artifacts")["KeyCount"] == 0


def test_a_use_case_without_feedback_refuses_it(s3: Any) -> None:
    assert rate(s3, {"answer_id": "a1", "rating": "up"}, env=MONITORED) == (
        404,
        {"error": "this use case collects no feedback"},
    )
    assert rate(s3, {"answer_id": "a1", "rating": "up"}, method="GET")[0] == 405


# --- human review -----------------------------------------------------------------------------

REVIEWED = {**FEEDBACK, "REVIEW_PREFIX": "review/claims-assistant/"}


def answer_with_review(bedrock: Bedrock, s3: Any, env: dict[str, str]) -> int:
    result = index.answer(
        post({"question": QUESTION}),
        agent_client=bedrock.agent,
        runtime_client=bedrock.runtime,
        env=env,
        sleep=FakeSleep(),
        request_id="req-42",
        clock=Clock(),
        s3_client=s3,
    )
    return int(result["statusCode"])


def review_keys(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket="prod-artifacts", Prefix="review/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_an_answer_the_guardrail_stopped_waits_for_review_with_its_question(
    bedrock: Bedrock, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = "Sorry, this assistant cannot discuss that topic."
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_response("converse", converse_response(blocked, "guardrail_intervened"))
    assert answer_with_review(bedrock, s3, REVIEWED) == 200
    [key] = review_keys(s3)
    assert key == "review/claims-assistant/2027/01/15/req-42-flagged.json"
    item = json.loads(s3.get_object(Bucket="prod-artifacts", Key=key)["Body"].read())
    assert (item["reason"], item["question"], item["answer"]) == (
        "the guardrail intervened",
        QUESTION,
        blocked,
    )


def test_a_good_answer_and_an_unreviewed_use_case_leave_nothing_for_review(
    bedrock: Bedrock, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bedrock.retrieve.add_response("retrieve", retrieved((SETTLED, HANDBOOK, 0.9)))
    bedrock.converse.add_response("converse", converse_response("Thirty days [1]."))
    assert answer_with_review(bedrock, s3, REVIEWED) == 200
    bedrock.retrieve.add_response("retrieve", {"retrievalResults": []})
    assert answer_with_review(bedrock, s3, FEEDBACK) == 200
    assert review_keys(s3) == []


def test_a_negative_rating_waits_for_review_and_a_positive_one_does_not(s3: Any) -> None:
    assert rate(s3, {"answer_id": "a1", "rating": "up"}, env=REVIEWED)[0] == 200
    assert (
        rate(s3, {"answer_id": "a2", "rating": "down", "comment": "Wrong."}, env=REVIEWED)[0] == 200
    )
    [key] = review_keys(s3)
    assert key == "review/claims-assistant/2026/12/06/a2-rated-093000000000.json"
    item = json.loads(s3.get_object(Bucket="prod-artifacts", Key=key)["Body"].read())
    assert (item["rating"], item["comment"], item["reason"]) == (
        "down",
        "Wrong.",
        "a negative rating",
    )


def test_an_item_that_cannot_be_queued_still_answers_and_is_counted(
    bedrock: Bedrock, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    with Stubber(s3) as refused:
        refused.add_client_error("put_object", "AccessDenied", "no", 403)
        bedrock.retrieve.add_response("retrieve", {"retrievalResults": []})
        assert answer_with_review(bedrock, s3, REVIEWED) == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("ReviewQueueFailures") for line in lines] == [None, 1]
