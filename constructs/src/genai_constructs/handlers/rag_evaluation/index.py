"""Offline RAG evaluation of a use case: does it pass its thresholds?

A delivery pipeline's gate invokes it before promotion to prod, and a failing score blocks the
promotion. It asks each question of the use case's question set (JSON Lines in the LOB's
curated zone: ``{"question", "reference_answer", "reference_sources": [s3 URIs] (optional)}``,
at most 100, blank lines skipped) of the first knowledge base, without history, as the answer
API would: Retrieve for the passages, then Converse through the use case's inference profile
and guardrail (``genai_constructs.handlers.retrieval``).

The metrics are lexical proxies, with no judge model: they count words, so a correct paraphrase
scores lower than a copy. Words are lower-cased, with common English stop words removed
(``content_tokens``):

- ``faithfulness``: the share of the answer's words found in the passages the model was given
  (all those retrieved);
- ``answer_relevance``: ROUGE-L F1 (longest common subsequence of words) between the answer
  and the reference answer;
- ``context_precision``: the share of the retrieved passages whose source is one of the
  question's ``reference_sources`` (0 when none is retrieved), averaged over the questions that
  list sources. Without any question listing sources, the metric is left out and its threshold
  not applied.

A question whose answer the guardrail blocked scores 0 for faithfulness and relevance and is
listed in ``blocked_by_guardrail``; one without any passage (the model is not asked) scores 0
for both and is listed in ``without_passages``. Each score is the mean over the questions; a
score below its threshold fails the evaluation.

The report (JSON) goes to ``REPORT_BUCKET``/``REPORT_PREFIX``<UTC timestamp>.json, encrypted by
the bucket's default key; the scores and ``RagEvaluationPassed`` (0 or 1) go to CloudWatch as
one embedded-metric-format line (namespace ``METRIC_NAMESPACE``, dimension ``UseCase``). The
function returns ``{"passed", "scores", "thresholds", "failed_metrics", "questions",
"report"}``; a malformed question set or a Bedrock error fails the invocation.

Configuration (environment): the ``RagSettings`` variables (``KNOWLEDGE_BASES``, ``MODEL_ARN``,
``GUARDRAIL_ARN``, ``GUARDRAIL_VERSION``, ``NUMBER_OF_RESULTS``, ``MAX_ANSWER_TOKENS`` (default
1024)), ``QUESTIONS_BUCKET``, ``QUESTIONS_KEY``, ``REPORT_BUCKET``, ``REPORT_PREFIX`` (ends
with '/'), ``THRESHOLDS`` (JSON ``{"faithfulness", "answer_relevance", "context_precision"}``),
``METRIC_NAMESPACE`` and ``USE_CASE``.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

import boto3

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.metrics import embedded_metrics
from genai_constructs.handlers.retrieval import (
    Answer,
    RagSettings,
    SettingsError,
    answer_question,
    required,
)

# About 4.5 s a question: 100 fit the function's 15 minutes with room for retries.
MAX_QUESTIONS = 100
METRICS = ("faithfulness", "answer_relevance", "context_precision")
QUESTION_FIELDS = frozenset({"question", "reference_answer", "reference_sources"})
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "do", "does", "for",
    "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "may", "of",
    "on", "or", "our", "should", "so", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which",
    "who", "will", "with", "would", "you", "your",
})
# fmt: on
WORD = re.compile(r"[^\W_]+")
# The model cites passages as [1] or [2][3]: marks, not words of the answer.
CITATION_MARK = re.compile(r"\[\d+\]")


class QuestionSetError(ValueError):
    """The question set cannot be evaluated as it is."""


@dataclass(frozen=True)
class Question:
    line: int
    text: str
    reference_answer: str
    reference_sources: frozenset[str]


@dataclass(frozen=True)
class EvaluationSettings:
    rag: RagSettings
    questions_bucket: str
    questions_key: str
    report_bucket: str
    report_prefix: str
    thresholds: dict[str, float]
    metric_namespace: str
    use_case: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> EvaluationSettings:
        report_prefix = required(env, "REPORT_PREFIX")
        if not report_prefix.endswith("/"):
            raise SettingsError(f"REPORT_PREFIX '{report_prefix}' must end with '/'")
        return cls(
            rag=RagSettings.from_environment(env),
            questions_bucket=required(env, "QUESTIONS_BUCKET"),
            questions_key=required(env, "QUESTIONS_KEY"),
            report_bucket=required(env, "REPORT_BUCKET"),
            report_prefix=report_prefix,
            thresholds=thresholds(required(env, "THRESHOLDS")),
            metric_namespace=required(env, "METRIC_NAMESPACE"),
            use_case=required(env, "USE_CASE"),
        )


def thresholds(text: str) -> dict[str, float]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        loaded = None
    valid = (
        isinstance(loaded, dict)
        and set(loaded) == set(METRICS)
        and all(is_number(value) and 0 <= value <= 1 for value in loaded.values())
    )
    if not valid:
        raise SettingsError(f"THRESHOLDS must be a JSON object of {', '.join(METRICS)} in [0, 1]")
    return {name: float(loaded[name]) for name in METRICS}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@functools.cache
def _s3_client() -> Any:
    return boto3.client("s3")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The gate's event is not read: the use case's environment says what to evaluate."""
    return evaluate(
        agent_client=retrieval.agent_client(),
        runtime_client=retrieval.runtime_client(),
        s3_client=_s3_client(),
        env=os.environ,
        sleep=time.sleep,
        now=lambda: datetime.now(UTC),
    )


def evaluate(
    *,
    agent_client: Any,
    runtime_client: Any,
    s3_client: Any,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
) -> dict[str, Any]:
    settings = EvaluationSettings.from_environment(env)
    body = s3_client.get_object(Bucket=settings.questions_bucket, Key=settings.questions_key)
    questions = parse_questions(body["Body"].read().decode("utf-8"))
    name = settings.rag.default_knowledge_base
    results = [
        score_question(
            question,
            answer_question(
                agent_client,
                runtime_client,
                settings.rag,
                question=question.text,
                knowledge_base_id=settings.rag.knowledge_bases[name],
                sleep=sleep,
            ),
        )
        for question in questions
    ]
    report = build_report(settings, name, results)
    evaluated_at = now()
    key = f"{settings.report_prefix}{evaluated_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    s3_client.put_object(
        Bucket=settings.report_bucket,
        Key=key,
        Body=json.dumps(report, indent=2).encode(),
        ContentType="application/json",
    )
    print(json.dumps(evaluation_metrics(settings, report, evaluated_at)))
    return {
        "passed": report["passed"],
        "scores": report["scores"],
        "thresholds": report["thresholds"],
        "failed_metrics": report["failed_metrics"],
        "questions": report["questions"],
        "report": f"s3://{settings.report_bucket}/{key}",
    }


def parse_questions(text: str) -> list[Question]:
    questions: list[Question] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(questions) == MAX_QUESTIONS:
            raise QuestionSetError(f"the question set holds more than {MAX_QUESTIONS} questions")
        questions.append(parse_line(number, line))
    if not questions:
        raise QuestionSetError("the question set holds no question")
    return questions


def parse_line(number: int, line: str) -> Question:
    def invalid(reason: str) -> QuestionSetError:
        return QuestionSetError(f"question set line {number}: {reason}")

    try:
        fields = json.loads(line)
    except json.JSONDecodeError as error:
        raise invalid(f"not valid JSON ({error.msg})") from None
    if not isinstance(fields, dict):
        raise invalid("not a JSON object")
    unknown = sorted(set(fields) - QUESTION_FIELDS)
    if unknown:
        raise invalid(f"unknown field(s) {', '.join(unknown)}")
    for field in ("question", "reference_answer"):
        if not isinstance(fields.get(field), str) or not fields[field].strip():
            raise invalid(f"'{field}' must be a non-empty string")
    sources = fields.get("reference_sources", [])
    if not isinstance(sources, list) or not all(
        isinstance(source, str) and source.startswith("s3://") for source in sources
    ):
        raise invalid("'reference_sources' must be a list of s3:// URIs")
    return Question(
        line=number,
        text=fields["question"].strip(),
        reference_answer=fields["reference_answer"],
        reference_sources=frozenset(sources),
    )


def content_tokens(text: str) -> list[str]:
    return [word for word in WORD.findall(text.lower()) if word not in STOP_WORDS]


def answer_words(answer: Answer) -> str:
    """The answer's text without its citation marks."""
    return CITATION_MARK.sub(" ", answer.text or "")


def faithfulness(answer: Answer) -> float:
    words = content_tokens(answer_words(answer))
    passages = {word for cited in answer.citations for word in content_tokens(cited["text"])}
    if not words or not passages:
        return 0.0
    return sum(word in passages for word in words) / len(words)


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over content tokens."""
    ours, theirs = content_tokens(candidate), content_tokens(reference)
    common = longest_common_subsequence(ours, theirs)
    if not common:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def longest_common_subsequence(first: list[str], second: list[str]) -> int:
    previous = [0] * (len(second) + 1)
    for word in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(
                previous[index] + 1 if word == other else max(previous[index + 1], current[-1])
            )
        previous = current
    return previous[-1]


def context_precision(answer: Answer, sources: frozenset[str]) -> float:
    if not answer.citations:
        return 0.0
    return sum(cited["source"] in sources for cited in answer.citations) / len(answer.citations)


def score_question(question: Question, answer: Answer) -> dict[str, Any]:
    """Scores 0 for faithfulness and relevance when the guardrail blocked the answer or no
    passage was retrieved (``answer.text`` is None: the model was not asked)."""
    scored = answer.text is not None and not answer.guardrail_intervened
    result: dict[str, Any] = {
        "line": question.line,
        "question": question.text,
        "answer": answer.text,
        "guardrail_action": "INTERVENED" if answer.guardrail_intervened else "NONE",
        "sources": [cited["source"] for cited in answer.citations],
        "faithfulness": faithfulness(answer) if scored else 0.0,
        "answer_relevance": (
            rouge_l(answer_words(answer), question.reference_answer) if scored else 0.0
        ),
    }
    if question.reference_sources:
        result["context_precision"] = context_precision(answer, question.reference_sources)
    return result


def build_report(
    settings: EvaluationSettings, knowledge_base: str, results: list[dict[str, Any]]
) -> dict[str, Any]:
    scores = {
        metric: fmean(values)
        for metric in METRICS
        if (values := [result[metric] for result in results if metric in result])
    }
    failed = [metric for metric, score in scores.items() if score < settings.thresholds[metric]]
    return {
        "use_case": settings.use_case,
        "knowledge_base": knowledge_base,
        "questions": len(results),
        "scores": scores,
        "thresholds": settings.thresholds,
        "passed": not failed,
        "failed_metrics": failed,
        "blocked_by_guardrail": [
            index for index, result in enumerate(results) if result["guardrail_action"] != "NONE"
        ],
        "without_passages": [
            index for index, result in enumerate(results) if not result["sources"]
        ],
        "per_question": results,
    }


def evaluation_metrics(
    settings: EvaluationSettings, report: dict[str, Any], evaluated_at: datetime
) -> dict[str, Any]:
    """The scores and whether the gate passed, as embedded metrics of the use case."""
    values = {**report["scores"], "RagEvaluationPassed": int(report["passed"])}
    return embedded_metrics(
        settings.metric_namespace,
        {"UseCase": settings.use_case},
        values,
        int(evaluated_at.timestamp() * 1000),
    )
