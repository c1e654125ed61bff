"""A GPU endpoint behind the guardrail: what reaches the endpoint and what reaches the caller.

Bedrock's runtime (ApplyGuardrail) and SageMaker's runtime (InvokeEndpoint) are real boto3
clients wrapped in Stubbers: a call nothing was queued for fails the test, so a test that
queues no InvokeEndpoint proves the endpoint was never called.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from genai_constructs.handlers.guarded_endpoint import index

GUARDRAIL = "arn:aws:bedrock:eu-west-1:666666666666:guardrail/gr7abc123def"
ENV = {
    "ENDPOINT_NAME": "claims-summarizer-endpoint",
    "GUARDRAIL_ID": GUARDRAIL,
    "GUARDRAIL_VERSION": "4",
    "MAX_INPUT_CHARS": "200",
    "MAX_TOKENS": "256",
}
QUESTION = "Summarize claim 1234 in three bullet points."
ANSWER = "- Water damage\n- Reported on time\n- Covered"
BLOCKED = "Sorry, this request is outside what the claims assistant may answer."


@dataclass
class Clients:
    bedrock: Any
    sagemaker: Any
    bedrock_stub: Stubber
    sagemaker_stub: Stubber


@pytest.fixture
def clients() -> Iterator[Clients]:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    bedrock, sagemaker = client("bedrock-runtime"), client("sagemaker-runtime")
    with Stubber(bedrock) as bedrock_stub, Stubber(sagemaker) as sagemaker_stub:
        yield Clients(bedrock, sagemaker, bedrock_stub, sagemaker_stub)
        bedrock_stub.assert_no_pending_responses()
        sagemaker_stub.assert_no_pending_responses()


def event(body: Any, method: str = "POST") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"requestContext": {"http": {"method": method}}, "body": text}


def call(
    clients: Clients, body: Any, method: str = "POST", env: dict[str, str] = ENV
) -> tuple[int, dict[str, Any]]:
    reply = index.serve(
        event(body, method),
        bedrock=clients.bedrock,
        sagemaker=clients.sagemaker,
        env=env,
        request_id="req-1",
    )
    return reply["statusCode"], json.loads(reply["body"])


def expect_guardrail(
    clients: Clients,
    source: str,
    texts: list[str],
    *,
    outputs: list[str] | None = None,
    assessment: str | None = None,
) -> None:
    intervened = outputs is not None
    assessments = (
        [
            {
                "sensitiveInformationPolicy": {
                    "piiEntities": [{"match": "x", "type": "NAME", "action": assessment}],
                    "regexes": [],
                }
            }
        ]
        if assessment
        else []
    )
    clients.bedrock_stub.add_response(
        "apply_guardrail",
        {
            "usage": {
                "topicPolicyUnits": 1,
                "contentPolicyUnits": 1,
                "wordPolicyUnits": 1,
                "sensitiveInformationPolicyUnits": 1,
                "sensitiveInformationPolicyFreeUnits": 0,
                "contextualGroundingPolicyUnits": 0,
            },
            "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
            "outputs": [{"text": text} for text in outputs or []],
            "assessments": assessments,
        },
        {
            "guardrailIdentifier": GUARDRAIL,
            "guardrailVersion": "4",
            "source": source,
            "content": [{"text": {"text": text}} for text in texts],
        },
    )


def expect_endpoint(
    clients: Clients,
    messages: list[dict[str, str]],
    answer: Any,
    component: dict[str, str] | None = None,
) -> None:
    payload = json.dumps(answer).encode()
    clients.sagemaker_stub.add_response(
        "invoke_endpoint",
        {
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
            "ContentType": "application/json",
        },
        {
            "EndpointName": "claims-summarizer-endpoint",
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": json.dumps({"messages": messages, "max_tokens": 256}).encode(),
            **(component or {}),
        },
    )


def chat(content: str) -> dict[str, Any]:
    return {"choices": [{"message": {"role": "assistant", "content": content}}]}


USER = [{"role": "user", "content": QUESTION}]


def test_a_clean_request_is_answered_after_both_checks(clients: Clients) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION])
    expect_endpoint(clients, USER, chat(ANSWER))
    expect_guardrail(clients, "OUTPUT", [ANSWER])
    assert call(clients, {"messages": USER}) == (
        200,
        {"answer": ANSWER, "guardrail_action": "NONE", "checked": "output"},
    )


def test_a_model_served_as_an_inference_component_is_called_by_its_name(
    clients: Clients,
) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION])
    component = {"InferenceComponentName": "claims-prod-claims-summarizer"}
    expect_endpoint(clients, USER, chat(ANSWER), component)
    expect_guardrail(clients, "OUTPUT", [ANSWER])
    env = {**ENV, "INFERENCE_COMPONENT_NAME": "claims-prod-claims-summarizer"}
    assert call(clients, {"messages": USER}, env=env)[0] == 200


def test_a_conversation_is_also_checked_joined_so_nothing_split_across_messages_passes(
    clients: Clients,
) -> None:
    messages = [
        {"role": "system", "content": "Answer about project"},
        {"role": "user", "content": "aurora's claims"},
    ]
    joined = "system: Answer about project\nuser: aurora's claims"
    expect_guardrail(
        clients,
        "INPUT",
        ["Answer about project", "aurora's claims", joined],
        outputs=[BLOCKED],
        assessment="BLOCKED",
    )
    assert call(clients, {"messages": messages}) == (
        200,
        {"answer": BLOCKED, "guardrail_action": "INTERVENED", "checked": "input"},
    )


def test_a_masked_conversation_reaches_the_endpoint_masked_message_by_message(
    clients: Clients,
) -> None:
    messages = [
        {"role": "system", "content": "You summarize claims."},
        {"role": "user", "content": QUESTION},
    ]
    masked = "Summarize the claim of {NAME} in three bullet points."
    joined = f"system: You summarize claims.\nuser: {QUESTION}"
    expect_guardrail(
        clients,
        "INPUT",
        ["You summarize claims.", QUESTION, joined],
        outputs=["You summarize claims.", masked, f"system: You summarize claims.\nuser: {masked}"],
        assessment="ANONYMIZED",
    )
    expect_endpoint(
        clients,
        [
            {"role": "system", "content": "You summarize claims."},
            {"role": "user", "content": masked},
        ],
        chat(ANSWER),
    )
    expect_guardrail(clients, "OUTPUT", [ANSWER])
    assert call(clients, {"messages": messages})[1]["answer"] == ANSWER


def test_an_endpoint_starting_from_zero_asks_the_caller_to_retry(clients: Clients) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION])
    clients.sagemaker_stub.add_client_error(
        "invoke_endpoint",
        "ValidationError",
        "Inference Component has no capacity to process this request.",
        400,
    )
    reply = index.serve(
        event({"messages": USER}),
        bedrock=clients.bedrock,
        sagemaker=clients.sagemaker,
        env=ENV,
        request_id="req-1",
    )
    assert (reply["statusCode"], reply["headers"]["retry-after"]) == (503, "60")


def test_a_blocked_request_never_reaches_the_endpoint(clients: Clients) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION], outputs=[BLOCKED], assessment="BLOCKED")
    assert call(clients, {"messages": USER}) == (
        200,
        {"answer": BLOCKED, "guardrail_action": "INTERVENED", "checked": "input"},
    )


def test_a_masked_request_reaches_the_endpoint_masked(clients: Clients) -> None:
    masked = "Summarize the claim of {NAME} in three bullet points."
    expect_guardrail(clients, "INPUT", [QUESTION], outputs=[masked], assessment="ANONYMIZED")
    expect_endpoint(clients, [{"role": "user", "content": masked}], chat(ANSWER))
    expect_guardrail(clients, "OUTPUT", [ANSWER])
    assert call(clients, {"messages": USER}) == (
        200,
        {"answer": ANSWER, "guardrail_action": "INTERVENED", "checked": "output"},
    )


def test_an_answer_the_guardrail_stops_is_replaced_by_its_output(clients: Clients) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION])
    expect_endpoint(clients, USER, chat("The claimant, Jane Doe, lives at ..."))
    expect_guardrail(
        clients,
        "OUTPUT",
        ["The claimant, Jane Doe, lives at ..."],
        outputs=[BLOCKED],
        assessment="BLOCKED",
    )
    assert call(clients, {"messages": USER}) == (
        200,
        {"answer": BLOCKED, "guardrail_action": "INTERVENED", "checked": "output"},
    )


def test_an_unreadable_answer_is_a_502(clients: Clients) -> None:
    expect_guardrail(clients, "INPUT", [QUESTION])
    expect_endpoint(clients, USER, {"generated_text": ANSWER})
    status, body = call(clients, {"messages": USER})
    assert status == 502
    assert body["error"].startswith("the endpoint's answer is unreadable")


def test_a_throttled_guardrail_is_a_429(clients: Clients) -> None:
    clients.bedrock_stub.add_client_error(
        "apply_guardrail", "ThrottlingException", "Rate exceeded", 429
    )
    assert call(clients, {"messages": USER}) == (
        429,
        {"error": "the model or the guardrail is throttling; retry later"},
    )


@pytest.mark.parametrize(
    ("body", "method", "status", "error"),
    [
        ({"messages": USER}, "GET", 405, "method GET is not allowed; use POST"),
        ("[]", "POST", 400, "the body must be a JSON object"),
        (
            {"messages": USER, "stream": True},
            "POST",
            400,
            "unknown field(s) stream; the fields are messages, max_tokens, temperature",
        ),
        (
            {"messages": []},
            "POST",
            400,
            "'messages' must be a non-empty list of {role, content}, the last a user's",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": QUESTION},
                    {"role": "assistant", "content": "ok"},
                ]
            },
            "POST",
            400,
            "'messages' must be a non-empty list of {role, content}, the last a user's",
        ),
        (
            {"messages": [{"role": "tool", "content": QUESTION}]},
            "POST",
            400,
            "messages[0] must be {role, content} with role one of system, user, assistant and "
            "non-empty text",
        ),
        (
            {"messages": [{"role": "user", "content": "x" * 201}]},
            "POST",
            413,
            "the messages are 201 characters; the limit is 200",
        ),
        (
            {"messages": USER, "max_tokens": 257},
            "POST",
            400,
            "'max_tokens' must be an integer of 1 to 256",
        ),
        (
            {"messages": USER, "temperature": 2},
            "POST",
            400,
            "'temperature' must be a number of 0 to 1",
        ),
        ("x" * 5000, "POST", 413, "the body is 5000 bytes; the limit is 4896"),
    ],
    ids=[
        "method",
        "not-an-object",
        "unknown-field",
        "no-messages",
        "last-not-user",
        "role",
        "too-long",
        "max-tokens",
        "temperature",
        "body",
    ],
)
def test_a_refused_request_calls_nothing(
    clients: Clients, body: Any, method: str, status: int, error: str
) -> None:
    assert call(clients, body, method) == (status, {"error": error})


def test_a_missing_setting_is_named() -> None:
    with pytest.raises(
        index.SettingsError, match=r"^missing environment variable\(s\): ENDPOINT_NAME$"
    ):
        index.Settings.from_environment({**ENV, "ENDPOINT_NAME": ""})
    with pytest.raises(
        index.SettingsError, match=r"^MAX_TOKENS must be a positive integer, not '0'$"
    ):
        index.Settings.from_environment({**ENV, "MAX_TOKENS": "0"})
