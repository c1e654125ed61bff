"""The offline evaluation of a use case's answers, the gate of its release."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.bedrock.guardrail import IGuardrail
from genai_constructs.compliance import acknowledge_role_policy, nag_reference
from genai_constructs.function import PlatformFunction
from genai_constructs.grants import grant
from genai_constructs.knowledge_base.governed import IKnowledgeBase
from genai_constructs.rag.answer_api import rag_environment
from genai_constructs.validation import BEDROCK_MODEL, check_arn


class RagEvaluation(Construct):
    """The offline evaluation of a use case's answers (``handlers/rag_evaluation``).

    It answers each question of a JSON Lines set in the source bucket as the answer API
    would (Retrieve, then Converse with the guardrail), scores faithfulness, answer relevance
    and context precision (lexical measures, no judge model), writes a report to the report
    bucket, publishes the scores and returns whether each meets its threshold. A release
    pipeline invokes it and stops on a failure.

    :param questions_bucket: the bucket of the question set; ``questions_key`` its key.
    :param report_bucket: where reports go, under ``report_prefix``.
    :param thresholds: ``faithfulness``, ``answer_relevance``, ``context_precision`` in [0, 1].
    :param data_key: the key of both buckets (used through S3 only).
    :param encryption_key: encrypts the function's logs, environment and dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        use_case: str,
        knowledge_bases: Mapping[str, IKnowledgeBase],
        model_arn: str,
        guardrail: IGuardrail,
        results: int,
        questions_bucket: s3.IBucket,
        questions_key: str,
        report_bucket: s3.IBucket,
        report_prefix: str,
        thresholds: Mapping[str, float],
        metric_namespace: str,
        data_key: kms.IKey,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.use_case, self.metric_namespace = use_case, metric_namespace
        check_arn("RagEvaluation", "model_arn", model_arn, BEDROCK_MODEL)
        expected = {"faithfulness", "answer_relevance", "context_precision"}
        if set(thresholds) != expected or not all(
            Token.is_unresolved(v) or 0 <= v <= 1 for v in thresholds.values()
        ):
            raise ValueError(
                f"RagEvaluation: thresholds must give {', '.join(sorted(expected))}, each in "
                f"[0, 1] (got {dict(thresholds)})"
            )
        environment = rag_environment(self, knowledge_bases, model_arn, guardrail, results)
        self.function = PlatformFunction(
            self,
            "Function",
            description=f"RAG evaluation of {use_case} (the release gate)",
            handler="rag_evaluation.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.minutes(15),
            environment={
                **environment,
                "QUESTIONS_BUCKET": questions_bucket.bucket_name,
                "QUESTIONS_KEY": questions_key,
                "REPORT_BUCKET": report_bucket.bucket_name,
                "REPORT_PREFIX": report_prefix,
                "THRESHOLDS": Stack.of(self).to_json_string(dict(sorted(thresholds.items()))),
                "METRIC_NAMESPACE": metric_namespace,
                "USE_CASE": use_case,
            },
            memory_size=512,
            reserved_concurrency=1,
        )
        role = self.function.role
        for knowledge_base in knowledge_bases.values():
            knowledge_base.grant_retrieve(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheQuestionSet",
                actions=["s3:GetObject"],
                resources=[questions_bucket.arn_for_objects(questions_key)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteTheReports",
                actions=["s3:PutObject"],
                resources=[report_bucket.arn_for_objects(f"{report_prefix}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseTheDataKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}
                },
            )
        )
        reports = nag_reference(self, report_bucket.arn_for_objects(f"{report_prefix}*"))
        acknowledge_role_policy(
            role,
            f"read the question set {questions_key}, write reports under {report_prefix}, "
            "retrieve from this use case's knowledge bases",
            [f"Resource::{reports}"],
        )

    @property
    def role(self) -> iam.IRole:
        return self.function.role

    def run_on_schedule(
        self, schedule: events.Schedule, *, topic: sns.ITopic
    ) -> list[cloudwatch.Alarm]:
        """Also run the evaluation on ``schedule`` (the live knowledge bases and model, between
        releases) and alarm to ``topic`` when a run scores under a threshold or fails."""
        function = self.function.function
        # L1 with its own permission: the L2 target names the permission after the rule's
        # construct path, which differs between a pipeline's stage and a direct deployment.
        rule = events.CfnRule(
            self,
            "Schedule",
            description=f"Evaluates the answers of {self.use_case} between releases",
            schedule_expression=schedule.expression_string,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    arn=function.function_arn,
                    id="Evaluation",
                    retry_policy=events.CfnRule.RetryPolicyProperty(maximum_retry_attempts=2),
                )
            ],
        )
        function.add_permission(
            "InvokedBySchedule",
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            source_arn=rule.attr_arn,
        )
        passed = cloudwatch.Metric(
            namespace=self.metric_namespace,
            metric_name="RagEvaluationPassed",
            dimensions_map={"UseCase": self.use_case},
            statistic="Minimum",
            period=Duration.days(1),
        )
        return [
            announced_alarm(
                self,
                "ScoreAlarm",
                description=f"{self.use_case}: an evaluation of its answers scored under a "
                "threshold (the report is in the artifacts zone)",
                metric=cloudwatch.MathExpression(
                    expression="1 - passed",
                    using_metrics={"passed": passed},
                    period=Duration.days(1),
                ),
                topic=topic,
            ),
            announced_alarm(
                self,
                "RunAlarm",
                description=f"{self.use_case}: an evaluation of its answers failed to run",
                metric=self.function.function.metric_errors(period=Duration.days(1)),
                topic=topic,
            ),
        ]

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run the evaluation (a release pipeline's gate)."""
        return grant(
            grantee=grantee,
            actions=["lambda:InvokeFunction"],
            resource_arns=[self.function.function_arn],
        )
