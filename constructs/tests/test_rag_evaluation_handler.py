"""The offline RAG evaluation: question set in, scores against thresholds, report and metrics out.

S3 and Bedrock's agent runtime (Retrieve) and runtime (Converse) are real boto3 clients wrapped
in Stubbers: nothing reaches the network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.rag_evaluation import index

PROFILE = "arn:aws:bedrock:eu-west-1:555555555555:application-inference-profile/a1b2c3d4e5f6"
THRESHOLDS = {"faithfulness": 0.7, "answer_relevance": 0.6, "context_precision": 0.5}
ENV = {
    "KNOWLEDGE_BASES": json.dumps({"policies": "KBPOLICIES1", "claims": "KBCLAIMS22"}),
    "MODEL_ARN": PROFILE,
    "GUARDRAIL_ARN": "arn:aws:bedrock:eu-west-1:555555555555:guardrail/gr7abc123def",
    "GUARDRAIL_VERSION": "3",
    "NUMBER_OF_RESULTS": "4",
    "QUESTIONS_BUCKET": "curated-bucket",
    "QUESTIONS_KEY": "claims-assistant/evaluation/questions.jsonl",
    "REPORT_BUCKET": "artifacts-bucket",
    "REPORT_PREFIX": "evaluations/claims-assistant/",
    "THRESHOLDS": json.dumps(THRESHOLDS),
    "METRIC_NAMESPACE": "GenAI/RagEvaluation",
    "USE_CASE": "claims-assistant",
}
NOW = datetime(2026, 11, 27, 9, 30, 0, tzinfo=UTC)
REPORT_KEY = "evaluations/claims-assistant/20261127T093000Z.json"
HANDBOOK = "s3://curated-bucket/policies/handbook.pdf"
FAQ = "s3://curated-bucket/policies/faq.md"
SETTLED = "Claims are settled within thirty days of approval."
REOPENED = "A claim can be reopened once, within a year of closing."

SETTLE = {
    "question": "How long does a claim take to settle?",
    "reference_answer": "Claims are settled within thirty days.",
    "reference_sources": [HANDBOOK],
}
REOPEN = {
    "question": "Can a claim be reopened?",
    "reference_answer": "A claim can be reopened once, within a year.",
    "reference_sources": [FAQ],
}


def jsonl(*questions: dict[str, Any]) -> str:
    return "\n".join(json.dumps(question) for question in questions) + "\n"


@dataclass
class Clients:
    agent: Any
    runtime: Any
    s3: Any
    agent_stub: Stubber
    runtime_stub: Stubber
    s3_stub: Stubber
    written: dict[str, Any]
    """The report's put_object parameters, its body parsed."""


@pytest.fixture
def clients() -> Iterator[Clients]:
    agent = boto3.client("bedrock-agent-runtime", region_name="eu-west-1")
    runtime = boto3.client("bedrock-runtime", region_name="eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    written: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        written.update(params, Body=json.loads(params["Body"]))

    s3.meta.events.register("before-parameter-build.s3.PutObject", capture)
    with Stubber(agent) as agent_stub, Stubber(runtime) as runtime_stub, Stubber(s3) as s3_stub:
        yield Clients(agent, runtime, s3, agent_stub, runtime_stub, s3_stub, written)
        agent_stub.assert_no_pending_responses()
        runtime_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()


def question_set(clients: Clients, text: str) -> None:
    body = text.encode()
    clients.s3_stub.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body))},
        {"Bucket": "curated-bucket", "Key": "claims-assistant/evaluation/questions.jsonl"},
    )


def answers(
    clients: Clients,
    question: dict[str, Any],
    text: str | None,
    *passages: tuple[str, str],
    stop_reason: str = "end_turn",
) -> None:
    """``question`` retrieves ``passages`` from the first knowledge base, and the model answers
    ``text`` from them without history; no passage, no model call (``text`` None)."""
    clients.agent_stub.add_response(
        "retrieve",
        {
            "retrievalResults": [
                {
                    "content": {"text": passage},
                    "location": {"type": "S3", "s3Location": {"uri": uri}},
                }
                for passage, uri in passages
            ]
        },
        {
            "knowledgeBaseId": "KBPOLICIES1",
            "retrievalQuery": {"text": question["question"]},
            "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 4}},
        },
    )
    if text is None:
        return
    numbered = "\n\n".join(f"[{n}] {passage}" for n, (passage, _) in enumerate(passages, 1))
    clients.runtime_stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": stop_reason,
            "usage": {"inputTokens": 90, "outputTokens": 10, "totalTokens": 100},
            "metrics": {"latencyMs": 350},
        },
        {
            "modelId": PROFILE,
            "system": [{"text": retrieval.SYSTEM_PROMPT}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "guardContent": {
                                "text": {"text": numbered, "qualifiers": ["grounding_source"]}
                            }
                        },
                        {
                            "guardContent": {
                                "text": {"text": question["question"], "qualifiers": ["query"]}
                            }
                        },
                    ],
                }
            ],
            "guardrailConfig": {
                "guardrailIdentifier": ENV["GUARDRAIL_ARN"],
                "guardrailVersion": "3",
                "trace": "disabled",
            },
            "inferenceConfig": {"maxTokens": 1024, "temperature": 0},
        },
    )


def report_written(clients: Clients) -> None:
    """The report is written with the bucket's default encryption (its LOB key): no
    ServerSideEncryption parameter, which would pick the aws/s3 key."""
    clients.s3_stub.add_response(
        "put_object",
        {},
        {
            "Bucket": "artifacts-bucket",
            "Key": REPORT_KEY,
            "Body": ANY,
            "ContentType": "application/json",
        },
    )


def evaluate(clients: Clients, env: dict[str, str] = ENV) -> dict[str, Any]:
    def no_sleep(seconds: float) -> None:
        raise AssertionError("no throttling is stubbed, so nothing should wait")

    return index.evaluate(
        agent_client=clients.agent,
        runtime_client=clients.runtime,
        s3_client=clients.s3,
        env=env,
        sleep=no_sleep,
        now=lambda: NOW,
    )


def test_a_grounded_use_case_passes_and_its_report_and_metrics_are_written(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    question_set(clients, jsonl(SETTLE) + "\n" + jsonl(REOPEN))
    # The citation marks are not words of the answer: both answers are wholly faithful.
    answers(clients, SETTLE, "Claims are settled within thirty days [1].", (SETTLED, HANDBOOK))
    # Relevance: 3 of the reference's 5 content words, in order -> F1 0.75. Precision: 1 of 2.
    answers(
        clients, REOPEN, "A claim can be reopened once [1].", (REOPENED, FAQ), (SETTLED, HANDBOOK)
    )
    report_written(clients)
    result = evaluate(clients)
    scores = {"faithfulness": 1.0, "answer_relevance": 0.875, "context_precision": 0.75}
    assert result == {
        "passed": True,
        "scores": pytest.approx(scores),
        "thresholds": THRESHOLDS,
        "failed_metrics": [],
        "questions": 2,
        "report": f"s3://artifacts-bucket/{REPORT_KEY}",
    }
    assert set(clients.written) == {"Bucket", "Key", "Body", "ContentType"}
    report = clients.written["Body"]
    assert {key: report[key] for key in ("use_case", "knowledge_base", "questions", "passed")} == {
        "use_case": "claims-assistant",
        "knowledge_base": "policies",
        "questions": 2,
        "passed": True,
    }
    assert report["scores"] == pytest.approx(scores)
    assert (report["blocked_by_guardrail"], report["without_passages"]) == ([], [])
    assert [entry["line"] for entry in report["per_question"]] == [1, 3]
    assert report["per_question"][1]["sources"] == [FAQ, HANDBOOK]
    assert report["per_question"][1]["answer_relevance"] == pytest.approx(0.75)

    (line,) = capsys.readouterr().out.splitlines()
    emf = json.loads(line)
    assert emf["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "GenAI/RagEvaluation"
    assert directive["Dimensions"] == [["UseCase"]]
    names = [metric["Name"] for metric in directive["Metrics"]]
    assert names == [*scores, "RagEvaluationPassed"]
    assert emf["UseCase"] == "claims-assistant"
    assert emf["RagEvaluationPassed"] == 1
    assert emf["answer_relevance"] == pytest.approx(0.875)


def test_an_unfaithful_irrelevant_answer_fails_the_metrics_below_threshold(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    question_set(clients, jsonl(SETTLE, REOPEN))
    answers(clients, SETTLE, "Claims are settled within thirty days.", (SETTLED, HANDBOOK))
    # 1 of 5 content words (approval) in the passage; nothing in common with the reference;
    # the wrong source retrieved.
    answers(clients, REOPEN, "Reopening requires manager approval and a fee.", (SETTLED, HANDBOOK))
    report_written(clients)
    result = evaluate(clients)
    assert result["scores"] == pytest.approx(
        {"faithfulness": 0.6, "answer_relevance": 0.5, "context_precision": 0.5}
    )
    # context_precision is exactly at its threshold, which passes.
    assert result["failed_metrics"] == ["faithfulness", "answer_relevance"]
    assert result["passed"] is False
    assert clients.written["Body"]["failed_metrics"] == ["faithfulness", "answer_relevance"]
    assert json.loads(capsys.readouterr().out)["RagEvaluationPassed"] == 0


def test_without_reference_sources_context_precision_is_left_out(clients: Clients) -> None:
    unsourced = [{k: v for k, v in q.items() if k != "reference_sources"} for q in (SETTLE, REOPEN)]
    question_set(clients, jsonl(*unsourced))
    answers(clients, unsourced[0], "Claims are settled within thirty days.", (SETTLED, HANDBOOK))
    answers(
        clients, unsourced[1], "A claim can be reopened once.", (REOPENED, FAQ), (SETTLED, HANDBOOK)
    )
    report_written(clients)
    # This retrieval would miss the threshold (0.75 < 1.0), were it applied.
    strict = {**THRESHOLDS, "context_precision": 1.0}
    result = evaluate(clients, {**ENV, "THRESHOLDS": json.dumps(strict)})
    assert result["scores"] == pytest.approx({"faithfulness": 1.0, "answer_relevance": 0.875})
    assert (result["passed"], result["failed_metrics"]) == (True, [])
    assert "context_precision" not in clients.written["Body"]["per_question"][0]


def test_a_question_the_guardrail_blocked_scores_zero_and_is_listed(clients: Clients) -> None:
    question_set(clients, jsonl(SETTLE, REOPEN))
    answers(clients, SETTLE, "Claims are settled within thirty days.", (SETTLED, HANDBOOK))
    # Lexically, this message would score 2/3 faithful and share words with the reference.
    answers(
        clients,
        REOPEN,
        "A claim cannot be reopened.",
        (REOPENED, FAQ),
        stop_reason="guardrail_intervened",
    )
    report_written(clients)
    result = evaluate(clients)
    assert result["scores"]["faithfulness"] == pytest.approx(0.5)
    assert result["scores"]["answer_relevance"] == pytest.approx(0.5)
    assert result["failed_metrics"] == ["faithfulness", "answer_relevance"]
    assert clients.written["Body"]["blocked_by_guardrail"] == [1]
    blocked = clients.written["Body"]["per_question"][1]
    assert (blocked["guardrail_action"], blocked["faithfulness"]) == ("INTERVENED", 0.0)


def test_a_question_without_passages_scores_zero_without_asking_the_model(
    clients: Clients,
) -> None:
    question_set(clients, jsonl(SETTLE, REOPEN))
    answers(clients, SETTLE, "Claims are settled within thirty days.", (SETTLED, HANDBOOK))
    # Nothing is queued for Converse: a call would fail the Stubber, and the evaluation.
    answers(clients, REOPEN, None)
    report_written(clients)
    result = evaluate(clients)
    assert result["scores"] == pytest.approx(
        {"faithfulness": 0.5, "answer_relevance": 0.5, "context_precision": 0.5}
    )
    report = clients.written["Body"]
    assert (report["without_passages"], report["blocked_by_guardrail"]) == ([1], [])
    unanswered = report["per_question"][1]
    assert (unanswered["answer"], unanswered["sources"], unanswered["faithfulness"]) == (
        None,
        [],
        0.0,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (jsonl(SETTLE) + "\n{not json\n", r"line 3: not valid JSON"),
        ('["How long?"]\n', r"line 1: not a JSON object"),
        (
            jsonl(SETTLE, {"question": "Can a claim be reopened?"}),
            r"line 2: 'reference_answer' must be a non-empty string",
        ),
        (
            jsonl({**SETTLE, "reference_source": [HANDBOOK]}),
            r"line 1: unknown field\(s\) reference_source",
        ),
        (
            jsonl({**SETTLE, "reference_sources": ["policies/handbook.pdf"]}),
            r"line 1: 'reference_sources' must be a list of s3:// URIs",
        ),
        ("\n  \n", "the question set holds no question"),
        (jsonl(*[SETTLE] * 101), "the question set holds more than 100 questions"),
    ],
)
def test_a_malformed_question_set_fails_before_any_question_is_asked(
    clients: Clients, text: str, message: str
) -> None:
    question_set(clients, text)
    with pytest.raises(index.QuestionSetError, match=message):
        evaluate(clients)


def test_a_hundred_questions_with_blank_lines_after_are_accepted() -> None:
    questions = index.parse_questions("\n".join([json.dumps(SETTLE)] * 100 + ["", ""]))
    assert len(questions) == 100
    assert questions[0].reference_sources == frozenset({HANDBOOK})


def test_content_tokens_drop_case_punctuation_and_stop_words() -> None:
    tokens = index.content_tokens("The claim is NOT settled, and THE payout follows!")
    assert tokens == ["claim", "not", "settled", "payout", "follows"]


def test_answer_relevance_is_the_rouge_l_f1_of_the_longest_common_subsequence() -> None:
    # Common subsequence: settled, thirty, days (3); precision 3/4, recall 3/5.
    score = index.rouge_l("claim settled thirty days", "claims settled within thirty days")
    assert score == pytest.approx(2 * 0.75 * 0.6 / 1.35)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"REPORT_PREFIX": "evaluations/claims-assistant"}, "must end with '/'"),
        ({"THRESHOLDS": '{"faithfulness": 0.7}'}, "THRESHOLDS must be a JSON object"),
        ({"THRESHOLDS": json.dumps({**THRESHOLDS, "faithfulness": 1.5})}, "in \\[0, 1\\]"),
    ],
)
def test_a_misconfigured_evaluation_names_the_variable(
    changes: dict[str, str], message: str
) -> None:
    with pytest.raises(retrieval.SettingsError, match=message):
        index.EvaluationSettings.from_environment({**ENV, **changes})
