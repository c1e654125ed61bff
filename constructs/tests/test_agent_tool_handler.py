"""The agent tool ``search_knowledge_base``: calls refused, passages returned, Bedrock's
refusals retried or reported.

Bedrock's agent runtime is a real boto3 client wrapped in a Stubber, with every Retrieve call
it is asked for recorded, and ``sleep`` is a fake that records the backoff: nothing reaches
the network and nothing waits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.agent_tools import index
from genai_constructs.handlers.retrieval import SettingsError

ENV = {"KNOWLEDGE_BASE_ID": "KBPOLICIES1", "NUMBER_OF_RESULTS": "5"}
QUERY = "How long does a claim take to settle?"
HANDBOOK = "s3://curated-bucket/policies/handbook.pdf"
SETTLED = "Claims are settled within thirty days."
REOPENED = "A claim may be reopened once."
TOOL_NAME = "kb-tools___search_knowledge_base"


def retrieve_params(query: str = QUERY, count: int = 5) -> dict[str, Any]:
    return {
        "knowledgeBaseId": "KBPOLICIES1",
        "retrievalQuery": {"text": query},
        "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": count}},
    }


def retrieved(text: str = SETTLED) -> dict[str, Any]:
    return {
        "retrievalResults": [
            {
                "content": {"type": "TEXT", "text": text},
                "location": {"type": "S3", "s3Location": {"uri": HANDBOOK}},
                "score": 0.9,
            }
        ]
    }


def gateway_context(tool_name: str = TOOL_NAME) -> Any:
    """The Lambda context of a call through the gateway."""
    return SimpleNamespace(
        aws_request_id="req-42",
        client_context=SimpleNamespace(
            client=None, env=None, custom={"bedrockAgentCoreToolName": tool_name}
        ),
    )


@dataclass
class Bedrock:
    client: Any
    stub: Stubber
    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def bedrock() -> Iterator[Bedrock]:
    client = boto3.client(
        "bedrock-agent-runtime",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        bedrock = Bedrock(client, stub)
        client.meta.events.register(
            "before-parameter-build.bedrock-agent-runtime.Retrieve",
            lambda params, **_: bedrock.calls.append(params),
        )
        yield bedrock
        stub.assert_no_pending_responses()


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def call(
    event: Any,
    bedrock: Bedrock,
    context: Any = None,
    sleep: FakeSleep | None = None,
) -> dict[str, Any]:
    return index.search(
        event,
        gateway_context() if context is None else context,
        client=bedrock.client,
        env=ENV,
        sleep=sleep or FakeSleep(),
    )


def test_the_passages_are_returned_best_first_each_once(
    bedrock: Bedrock, caplog: pytest.LogCaptureFixture
) -> None:
    bedrock.stub.add_response(
        "retrieve",
        {
            "retrievalResults": [
                {
                    "content": {"type": "TEXT", "text": SETTLED},
                    "location": {"type": "S3", "s3Location": {"uri": HANDBOOK}},
                    "score": 0.91,
                },
                # A web or custom source: no S3 location, and no score.
                {"content": {"type": "TEXT", "text": REOPENED}},
                {
                    "content": {"type": "TEXT", "text": SETTLED},
                    "location": {"type": "S3", "s3Location": {"uri": HANDBOOK}},
                    "score": 0.62,
                },
                {"content": {"type": "ROW", "row": []}, "score": 0.5},
            ]
        },
        retrieve_params(),
    )
    with caplog.at_level(logging.INFO):
        result = call({"query": f"  {QUERY}\n"}, bedrock)
    assert result == {
        "passages": [
            {"text": SETTLED, "source": HANDBOOK, "score": 0.91},
            {"text": REOPENED, "source": None, "score": None},
        ]
    }
    assert f"query_chars={len(QUERY)} results=5 passages=2" in caplog.text
    assert QUERY not in caplog.text
    assert "thirty days" not in caplog.text


def test_no_matching_passage_is_an_empty_list(bedrock: Bedrock) -> None:
    bedrock.stub.add_response("retrieve", {"retrievalResults": []}, retrieve_params())
    assert call({"query": QUERY}, bedrock) == {"passages": []}


@pytest.mark.parametrize("event", [{"query": QUERY}, {"query": QUERY, "results": None}])
def test_without_results_the_environment_s_count_is_asked_for(
    bedrock: Bedrock, event: dict[str, Any]
) -> None:
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params(count=5))
    assert call(event, bedrock)["passages"][0]["text"] == SETTLED
    assert len(bedrock.calls) == 1


@pytest.mark.parametrize(("results", "count"), [(1, 1), (3, 3), (10, 10), (3.0, 3)])
def test_an_explicit_results_is_the_count_asked_for(
    bedrock: Bedrock, results: float, count: int
) -> None:
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params(count=count))
    assert call({"query": QUERY, "results": results}, bedrock)["passages"][0]["text"] == SETTLED
    assert bedrock.calls[0]["retrievalConfiguration"] == {
        "vectorSearchConfiguration": {"numberOfResults": count}
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([QUERY], "the tool's input must be a JSON object with 'query'"),
        ({}, "'query' is required: the text to search the knowledge base for"),
        (
            {"query": None, "results": 3},
            "'query' is required: the text to search the knowledge base for",
        ),
        ({"query": 42}, "'query' must be a string"),
        ({"query": ""}, "'query' is empty; give the text to search the knowledge base for"),
        ({"query": " \n\t"}, "'query' is empty; give the text to search the knowledge base for"),
        ({"query": "x" * 1001}, "'query' is 1001 characters; the limit is 1000"),
        ({"query": QUERY, "results": "5"}, "'results' must be an integer from 1 to 10"),
        ({"query": QUERY, "results": 2.5}, "'results' must be an integer from 1 to 10"),
        ({"query": QUERY, "results": True}, "'results' must be an integer from 1 to 10"),
        ({"query": QUERY, "results": 0}, "'results' is 0; it must be from 1 to 10"),
        ({"query": QUERY, "results": 11}, "'results' is 11; it must be from 1 to 10"),
    ],
    ids=[
        "not-an-object",
        "query-missing",
        "query-null",
        "query-not-a-string",
        "query-empty",
        "query-blank",
        "query-too-long",
        "results-a-string",
        "results-a-fraction",
        "results-a-boolean",
        "results-zero",
        "results-over-ten",
    ],
)
def test_bad_input_is_refused_without_calling_bedrock(
    bedrock: Bedrock, event: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert call(event, bedrock) == {"error": message}
    assert bedrock.calls == []
    assert f"refused: {message}" in caplog.text


def test_a_query_of_exactly_the_limit_is_searched(bedrock: Bedrock) -> None:
    query = "x" * 1000
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params(query=query))
    assert "passages" in call({"query": query}, bedrock)


@pytest.mark.parametrize(
    "context",
    [
        gateway_context(),
        gateway_context("another-target___search_knowledge_base"),
        # A direct invoke (the console's test) has no client context.
        SimpleNamespace(aws_request_id="req-42", client_context=None),
    ],
    ids=["through-the-gateway", "another-target-name", "no-client-context"],
)
def test_this_tool_s_calls_are_served(bedrock: Bedrock, context: Any) -> None:
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params())
    assert call({"query": QUERY}, bedrock, context)["passages"][0]["source"] == HANDBOOK


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            gateway_context("kb-tools___get_order"),
            "unknown tool 'kb-tools___get_order'; this function serves search_knowledge_base only",
        ),
        (
            gateway_context("search_knowledge_base"),
            "unknown tool 'search_knowledge_base'; this function serves search_knowledge_base only",
        ),
        (
            gateway_context("kb-tools___search_knowledge_base_v2"),
            "unknown tool 'kb-tools___search_knowledge_base_v2'; "
            "this function serves search_knowledge_base only",
        ),
        (
            SimpleNamespace(client_context=SimpleNamespace(custom={})),
            "unknown tool None; this function serves search_knowledge_base only",
        ),
        (
            SimpleNamespace(client_context=SimpleNamespace(custom=None)),
            "unknown tool None; this function serves search_knowledge_base only",
        ),
    ],
    ids=["other-tool", "no-target-prefix", "longer-name", "no-tool-name", "no-custom"],
)
def test_another_tool_s_call_is_refused_without_calling_bedrock(
    bedrock: Bedrock, context: Any, message: str
) -> None:
    assert call({"query": QUERY}, bedrock, context) == {"error": message}
    assert bedrock.calls == []


@pytest.mark.parametrize(
    ("codes", "expected_delays"),
    [
        (["ThrottlingException"], [0.5]),
        (
            ["ServiceQuotaExceededException", "ThrottlingException", "ThrottlingException"],
            [0.5, 1.0, 2.0],
        ),
    ],
)
def test_a_throttled_retrieve_is_retried_with_exponential_backoff(
    bedrock: Bedrock,
    monkeypatch: pytest.MonkeyPatch,
    codes: list[str],
    expected_delays: list[float],
) -> None:
    # The jitter's upper bound, so the exponential ceilings themselves are seen.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    for code in codes:
        bedrock.stub.add_client_error("retrieve", code, http_status_code=429)
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params())
    sleep = FakeSleep()
    result = call({"query": QUERY}, bedrock, sleep=sleep)
    assert result == {"passages": [{"text": SETTLED, "source": HANDBOOK, "score": 0.9}]}
    assert sleep.delays == expected_delays
    assert len(bedrock.calls) == len(codes) + 1


def test_the_jitter_waits_at_most_the_ceiling(
    bedrock: Bedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return low

    monkeypatch.setattr(random, "uniform", uniform)
    bedrock.stub.add_client_error("retrieve", "ThrottlingException", http_status_code=429)
    bedrock.stub.add_response("retrieve", retrieved(), retrieve_params())
    sleep = FakeSleep()
    assert "passages" in call({"query": QUERY}, bedrock, sleep=sleep)
    assert (bounds, sleep.delays) == ([(0, 0.5)], [0])


def test_a_retrieve_still_throttled_after_four_attempts_is_busy(
    bedrock: Bedrock, caplog: pytest.LogCaptureFixture
) -> None:
    for code in ("ThrottlingException", "ServiceQuotaExceededException") * 2:
        bedrock.stub.add_client_error("retrieve", code, http_status_code=429)
    sleep = FakeSleep()
    with caplog.at_level(logging.INFO):
        result = call({"query": QUERY}, bedrock, sleep=sleep)
    assert result == {"error": "the knowledge base is busy; try again"}
    assert len(bedrock.calls) == 4
    assert len(sleep.delays) == 3
    assert "still throttled after 4 attempts: ServiceQuotaExceededException" in caplog.text


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 403), ("ResourceNotFoundException", 404)],
)
def test_another_bedrock_error_is_logged_by_its_code_and_not_retried(
    bedrock: Bedrock, caplog: pytest.LogCaptureFixture, code: str, status: int
) -> None:
    bedrock.stub.add_client_error(
        "retrieve", code, f"cannot search for '{QUERY}'", http_status_code=status
    )
    sleep = FakeSleep()
    with caplog.at_level(logging.INFO):
        result = call({"query": QUERY}, bedrock, sleep=sleep)
    assert result == {"error": "the knowledge base could not be searched"}
    assert (len(bedrock.calls), sleep.delays) == (1, [])
    assert f"Retrieve failed: {code}" in caplog.text
    assert QUERY not in caplog.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KNOWLEDGE_BASE_ID": ""}, "environment variable KNOWLEDGE_BASE_ID is not set"),
        ({"NUMBER_OF_RESULTS": "11"}, "NUMBER_OF_RESULTS must be an integer from 1 to 10"),
        ({"NUMBER_OF_RESULTS": "0"}, "NUMBER_OF_RESULTS must be an integer from 1 to 10"),
    ],
)
def test_a_misconfigured_function_fails_loudly(
    bedrock: Bedrock, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        index.search(
            {"query": QUERY},
            gateway_context(),
            client=bedrock.client,
            env={**ENV, **changes},
            sleep=FakeSleep(),
        )
    assert bedrock.calls == []


def test_the_lambda_entry_point_reads_the_environment(
    bedrock: Bedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**ENV, "NUMBER_OF_RESULTS": "2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retrieval, "agent_client", lambda: bedrock.client)
    bedrock.stub.add_response("retrieve", retrieved(REOPENED), retrieve_params(count=2))
    result = index.handler({"query": QUERY}, gateway_context())
    assert result == {"passages": [{"text": REOPENED, "source": HANDBOOK, "score": 0.9}]}


def test_an_unreachable_bedrock_is_logged_by_the_error_s_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Unreachable:
        def retrieve(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://bedrock-agent-runtime")

    with caplog.at_level(logging.INFO):
        result = index.search(
            {"query": QUERY}, gateway_context(), client=Unreachable(), env=ENV, sleep=FakeSleep()
        )
    assert result == {"error": "the knowledge base could not be searched"}
    assert "Retrieve failed: EndpointConnectionError" in caplog.text
