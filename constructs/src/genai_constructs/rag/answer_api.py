"""The answer API of a use case: questions answered from its knowledge bases with its
inference profile and guardrail, with citations.

``rag_environment`` is what every function that answers from knowledge bases is given
(the answer API's and the evaluation's, ``handlers/retrieval``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.bedrock.guardrail import IGuardrail
from genai_constructs.compliance import (
    acknowledge_role_policy,
    acknowledge_scoped_policy,
    nag_reference,
)
from genai_constructs.function import PlatformFunction, url_invoke_statements
from genai_constructs.grants import grant_statements
from genai_constructs.knowledge_base.governed import IKnowledgeBase
from genai_constructs.validation import BEDROCK_MODEL, check_arn, check_range, number_text

# Retrieve's bound on the query text.
MAX_QUESTION_CHARS = 20000


@dataclass(frozen=True)
class Feedback:
    """Where an answer API keeps the ratings of its answers: ``prefix`` (ending in ``/``) of
    ``bucket``, encrypted with ``data_key`` (the bucket's default key); with ``review_prefix``,
    also where it leaves the answers a person must review (stopped by the guardrail, without a
    passage, or rated down), which ``AnswerApi.add_reviewer`` reads."""

    bucket: s3.IBucket
    prefix: str
    data_key: kms.IKey
    review_prefix: str | None = None

    def __post_init__(self) -> None:
        check_prefix("Feedback", "prefix", self.prefix)
        if self.review_prefix is not None:
            check_prefix("Feedback", "review_prefix", self.review_prefix)

    @property
    def prefixes(self) -> list[str]:
        return [self.prefix, *([self.review_prefix] if self.review_prefix else [])]

    def key_through_s3(
        self, scope: Construct, sid: str | None, actions: list[str]
    ) -> iam.PolicyStatement:
        """``actions`` with the data key, only as S3 uses it for the bucket."""
        region = Stack.of(scope).region
        return iam.PolicyStatement(
            sid=sid,
            actions=actions,
            resources=[self.data_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        )


def check_prefix(owner: str, what: str, prefix: str) -> None:
    """A key prefix of the feedback's bucket: ends with '/', no leading '/', no '*'."""
    if Token.is_unresolved(prefix):
        return
    if not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
        raise ValueError(
            f"{owner}: {what} '{prefix}' must end with '/' and hold no leading '/' or '*'"
        )


@dataclass(frozen=True)
class AnswerThresholds:
    """When the answers of a use case alarm: percentages of the last hour's answers (once
    there are ``min_answers``), failed answers in five minutes, the p90 duration."""

    intervention_percent: float = 25
    empty_retrieval_percent: float = 25
    min_answers: int = 10
    failed_answers: int = 5
    latency_ms: int = 20000

    def __post_init__(self) -> None:
        check_range("AnswerThresholds", "intervention_percent", self.intervention_percent, 1, 100)
        check_range(
            "AnswerThresholds", "empty_retrieval_percent", self.empty_retrieval_percent, 1, 100
        )
        check_range("AnswerThresholds", "min_answers", self.min_answers, 1, 100000)
        check_range("AnswerThresholds", "failed_answers", self.failed_answers, 1, 100000)
        check_range("AnswerThresholds", "latency_ms", self.latency_ms, 100, 900000)


class AnswerApi(Construct):
    """The answer service of one use case: a function URL with IAM auth, in the VPC.

    It retrieves passages from the use case's knowledge bases and has the use case's
    inference profile answer from them with Converse and the guardrail (the passages as its
    grounding source), returning the answer with its numbered citations
    (``handlers/answer``). Not RetrieveAndGenerate: IAM cannot scope that action to a
    knowledge base, and the guardrail condition key the platform enforces is documented for
    Converse, not for it. Unsigned requests are refused by Lambda (``AWS_IAM``); a signed
    one needs ``lambda:InvokeFunctionUrl`` from ``grant_invoke``. Questions are limited to
    ``max_question_chars``.

    :param knowledge_bases: name to knowledge base; the first is the default.
    :param model_arn: the use case's application inference profile ARN.
    :param guardrail: the guardrail version every answer is generated with.
    :param max_question_chars: 1-20000.
    :param results: passages retrieved per question (1-100).
    :param memory_turns: default 0 (no memory); how many previous turns a request may carry
        (0-20). The application keeps the conversation; the platform stores none.
    :param concurrency: default 10; the function's reserved concurrency (bounds load and cost).
    :param role: default a new role; the role the function runs as.
    :param feedback: default none (``/feedback`` answers 404); where the ratings of the
        answers are kept.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_bases: Mapping[str, IKnowledgeBase],
        model_arn: str,
        guardrail: IGuardrail,
        max_question_chars: int,
        results: int,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
        memory_turns: int = 0,
        concurrency: int = 10,
        role: iam.IRole | None = None,
        feedback: Feedback | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_arn("AnswerApi", "model_arn", model_arn, BEDROCK_MODEL)
        if not knowledge_bases:
            raise ValueError("AnswerApi: knowledge_bases must name at least one knowledge base")
        check_range("AnswerApi", "max_question_chars", max_question_chars, 1, MAX_QUESTION_CHARS)
        check_range("AnswerApi", "results", results, 1, 100)
        check_range("AnswerApi", "memory_turns", memory_turns, 0, 20)
        environment = rag_environment(self, knowledge_bases, model_arn, guardrail, results)
        self.concurrency = concurrency
        self.function = PlatformFunction(
            self,
            "Function",
            description=f"Answer API: {', '.join(knowledge_bases)} behind the guardrail",
            handler="answer.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.seconds(60),
            environment={
                **environment,
                "MAX_QUESTION_CHARS": number_text(max_question_chars),
                "MEMORY_TURNS": number_text(memory_turns),
            },
            memory_size=512,
            reserved_concurrency=concurrency,
            role=role,
        )
        for knowledge_base in knowledge_bases.values():
            knowledge_base.grant_retrieve(self.function.role)
        self.feedback: Feedback | None = None
        findings = self._collect(feedback) if feedback is not None else []
        self.url = self.function.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
        self.url_text: str = self.url.url
        acknowledge_role_policy(
            self.function.role,
            "retrieve from this use case's knowledge bases, send to its dead-letter queue"
            + (", keep the ratings of its answers" if feedback is not None else ""),
            findings,
        )

    @property
    def role(self) -> iam.IRole:
        return self.function.role

    def _collect(self, feedback: Feedback) -> list[str]:
        """``POST <url>/feedback`` keeps each rating under the feedback prefix (and flagged
        answers under the review prefix); returns the wildcard findings those prefixes raise."""
        self.feedback = feedback
        function = self.function.function
        function.add_environment("FEEDBACK_BUCKET", feedback.bucket.bucket_name)
        function.add_environment("FEEDBACK_PREFIX", feedback.prefix)
        if feedback.review_prefix:
            function.add_environment("REVIEW_PREFIX", feedback.review_prefix)
        role = self.function.role
        kept = [feedback.bucket.arn_for_objects(f"{prefix}*") for prefix in feedback.prefixes]
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="KeepTheFeedback", actions=["s3:PutObject"], resources=kept)
        )
        role.add_to_principal_policy(
            feedback.key_through_s3(self, "EncryptTheFeedbackThroughS3", ["kms:GenerateDataKey"])
        )
        return [f"Resource::{nag_reference(self, arn)}" for arn in kept]

    def add_reviewer(self, construct_id: str, assumed_by: iam.IPrincipal) -> iam.Role:
        """A role that ``assumed_by`` becomes to work through the ratings and (with the
        feedback's ``review_prefix``) the answers waiting for review: it lists and reads those
        prefixes, and nothing else."""
        feedback = self.feedback
        if feedback is None:
            raise ValueError("AnswerApi.add_reviewer: the API keeps no feedback to review")
        role = iam.Role(
            self,
            construct_id,
            description="Reads the ratings of the answers and those waiting for a person's review",
            assumed_by=assumed_by,
        )
        bucket = feedback.bucket
        objects = [bucket.arn_for_objects(f"{prefix}*") for prefix in feedback.prefixes]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheReviewItems", actions=["s3:GetObject"], resources=objects
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListTheReviewItems",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in feedback.prefixes]}},
            )
        )
        role.add_to_policy(feedback.key_through_s3(self, "DecryptThroughS3", ["kms:Decrypt"]))
        acknowledge_scoped_policy(role, "reading the review and feedback prefixes of one use case")
        return role

    def monitor(
        self,
        *,
        use_case: str,
        namespace: str,
        topic: sns.ITopic,
        thresholds: AnswerThresholds | None = None,
    ) -> list[cloudwatch.Alarm]:
        """Have the function publish each request's outcome under ``namespace`` (dimension
        ``UseCase``) and alarm to ``topic`` on its guardrail intervention and empty retrieval
        rates (over an hour, once it has answered ``min_answers`` times), its failed answers
        and crashes, and the p90 duration of its invocations (over five minutes). A rate
        divides by the answers counted, capped by Lambda's own count of invocations, so that
        neither ratings and refused requests nor a made-up count of answers dilutes it."""
        limits = thresholds or AnswerThresholds()
        function = self.function.function
        function.add_environment("METRIC_NAMESPACE", namespace)
        function.add_environment("USE_CASE", use_case)

        def metric(name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map={"UseCase": use_case},
                statistic=statistic,
                period=period,
            )

        hour = Duration.hours(1)

        def rate(name: str) -> cloudwatch.MathExpression:
            # Of the answers counted, never more than Lambda's own count of invocations: ratings
            # and refused requests do not dilute a rate, nor does a made-up count of answers.
            answered = "MIN([answers, calls])"
            return cloudwatch.MathExpression(
                expression=(f"IF({answered} >= {limits.min_answers}, 100 * part / {answered}, 0)"),
                using_metrics={
                    "part": metric(name, "Sum", hour),
                    "answers": metric("Answers", "Sum", hour),
                    "calls": function.metric_invocations(statistic="Sum", period=hour),
                },
                period=hour,
            )

        five_minutes = Duration.minutes(5)
        watched = [
            (
                "InterventionRate",
                rate("GuardrailInterventions"),
                limits.intervention_percent,
                f"{use_case}: the guardrail stopped {limits.intervention_percent}% or more of "
                "the answers of the last hour",
            ),
            (
                "EmptyRetrievalRate",
                rate("EmptyRetrievals"),
                limits.empty_retrieval_percent,
                f"{use_case}: {limits.empty_retrieval_percent}% or more of the questions of the "
                "last hour found no passage",
            ),
            (
                "FailedAnswers",
                metric("FailedAnswers", "Sum", five_minutes),
                limits.failed_answers,
                f"{use_case}: {limits.failed_answers} or more answers failed in five minutes",
            ),
            (
                "SlowAnswers",
                function.metric_duration(statistic="p90", period=five_minutes),
                limits.latency_ms,
                f"{use_case}: the p90 answer took {limits.latency_ms} ms or more",
            ),
            (
                "CrashedAnswers",
                function.metric_errors(statistic="Sum", period=five_minutes),
                1,
                f"{use_case}: the answer function crashed or timed out",
            ),
        ]
        if self.feedback is not None and self.feedback.review_prefix:
            watched.append(
                (
                    "LostReviewItems",
                    metric("ReviewQueueFailures", "Sum", five_minutes),
                    1,
                    f"{use_case}: an answer that needs review could not be left for review",
                )
            )
        return [
            announced_alarm(
                self,
                f"{name}Alarm",
                description=description,
                metric=watched_metric,
                topic=topic,
                threshold=threshold,
            )
            for name, watched_metric, threshold, description in watched
        ]

    def invoke_statements(self) -> list[iam.PolicyStatement]:
        """What a caller needs (``url_invoke_statements``)."""
        return url_invoke_statements(
            self.function.function_arn,
            call_sid="CallTheAnswerApi",
            invoke_sid="InvokeTheAnswerFunction",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the API (``invoke_statements``)."""
        return grant_statements(grantee, self.invoke_statements())


def rag_environment(
    scope: Construct,
    knowledge_bases: Mapping[str, IKnowledgeBase],
    model_arn: str,
    guardrail: IGuardrail,
    results: int,
) -> dict[str, str]:
    """The environment of a function that answers from knowledge bases
    (``handlers/retrieval.RagSettings``)."""
    ids = Stack.of(scope).to_json_string(
        {name: kb.knowledge_base_id for name, kb in knowledge_bases.items()}
    )
    return {
        "KNOWLEDGE_BASES": ids,
        "MODEL_ARN": model_arn,
        "GUARDRAIL_ARN": guardrail.guardrail_arn,
        "GUARDRAIL_VERSION": guardrail.guardrail_version,
        "NUMBER_OF_RESULTS": number_text(results),
    }
