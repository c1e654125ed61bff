"""The RAG constructs: chunking and parsing of a data source, ingestion, the answer API and the
evaluation, each with the validation of its props."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import CfnParameter, Duration, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from conftest import assert_grants_attached, new_stack
from genai_constructs.bedrock import GovernedGuardrail
from genai_constructs.knowledge_base import Chunking, GovernedKnowledgeBase, S3VectorStore
from genai_constructs.rag import AnswerApi, KnowledgeBaseIngestion, RagEvaluation, ReviewDesk
from genai_constructs.rag.answer_api import AnswerThresholds, Feedback

EMBEDDING = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"
PARSER = "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
PROFILE = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/p1"
RETENTION = logs.RetentionDays.ONE_YEAR


class Parts:
    """A stack with a key, a source bucket, a VPC and one knowledge base."""

    def __init__(self, **knowledge_base: object) -> None:
        self.stack = stack = new_stack()
        self.key = kms.Key(stack, "Key", enable_key_rotation=True)
        self.bucket = s3.Bucket.from_bucket_name(stack, "Source", "curated")
        self.reports = s3.Bucket.from_bucket_name(stack, "Reports", "artifacts")
        self.vpc = ec2.Vpc(
            stack,
            "Vpc",
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        self.topic = sns.Topic(stack, "Alarms")
        self.knowledge_base = GovernedKnowledgeBase(
            stack,
            "Policies",
            name="policies",
            source_bucket=self.bucket,
            source_prefix="policies/",
            data_key=self.key,
            vector_store=S3VectorStore(stack, "Vectors", encryption_key=self.key, dimensions=1024),
            embedding_model_arn=EMBEDDING,
            **knowledge_base,  # type: ignore[arg-type]
        )

    def template(self) -> Template:
        return Template.from_stack(self.stack)

    def ingestion(self, **props: object) -> KnowledgeBaseIngestion:
        return KnowledgeBaseIngestion(
            self.stack,
            "Ingestion",
            knowledge_base=self.knowledge_base,
            source_bucket=self.bucket,
            source_prefix="policies/",
            encryption_key=self.key,
            metric_namespace="GenAI/lob",
            alarm_topic=self.topic,
            log_retention=RETENTION,
            **props,  # type: ignore[arg-type]
        )

    def answer_api(self, **props: object) -> AnswerApi:
        settings: dict[str, object] = {
            "knowledge_bases": {"policies": self.knowledge_base},
            "model_arn": PROFILE,
            "guardrail": GovernedGuardrail.from_guardrail_attributes(
                self.stack,
                f"Guardrail{len(self.stack.node.children)}",
                guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr1",
                version="1",
            ),
            "max_question_chars": 4000,
            "results": 5,
            "encryption_key": self.key,
            "vpc": self.vpc,
            "log_retention": RETENTION,
            **props,
        }
        return AnswerApi(self.stack, "Answers", **settings)  # type: ignore[arg-type]


# --- chunking and parsing -------------------------------------------------------------------


def test_a_data_source_chunks_as_told_and_parses_with_the_named_model() -> None:
    parts = Parts(
        chunking=Chunking.semantic(max_tokens=500, buffer_size=1, breakpoint_percentile=80),
        parsing_model_arn=PARSER,
    )
    template = parts.template()
    template.has_resource_properties(
        "AWS::Bedrock::DataSource",
        {
            "VectorIngestionConfiguration": {
                "ChunkingConfiguration": {
                    "ChunkingStrategy": "SEMANTIC",
                    "SemanticChunkingConfiguration": {
                        "MaxTokens": 500,
                        "BufferSize": 1,
                        "BreakpointPercentileThreshold": 80,
                    },
                },
                "ParsingConfiguration": {
                    "ParsingStrategy": "BEDROCK_FOUNDATION_MODEL",
                    "BedrockFoundationModelConfiguration": {"ModelArn": PARSER},
                },
            }
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Sid": "ParseWithTheCatalogModel", "Resource": PARSER})]
                )
            }
        },
    )


def test_the_default_chunking_is_bedrocks_made_explicit() -> None:
    Parts().template().has_resource_properties(
        "AWS::Bedrock::DataSource",
        {
            "VectorIngestionConfiguration": {
                "ChunkingConfiguration": {
                    "ChunkingStrategy": "FIXED_SIZE",
                    "FixedSizeChunkingConfiguration": {"MaxTokens": 300, "OverlapPercentage": 20},
                }
            }
        },
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Chunking.fixed_size(max_tokens=0), "max_tokens must be 1-8192 (got 0)"),
        (lambda: Chunking.fixed_size(overlap_percent=100), "overlap_percent must be 1-99"),
        (
            lambda: Chunking.hierarchical(parent_max_tokens=200, child_max_tokens=300),
            "overlap_tokens < child_max_tokens < parent_max_tokens is required",
        ),
        (lambda: Chunking.semantic(buffer_size=2), "buffer_size must be 0-1 (got 2)"),
        (
            lambda: Chunking.semantic(breakpoint_percentile=49),
            "breakpoint_percentile must be 50-99",
        ),
    ],
)
def test_chunking_refuses_what_bedrock_would(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_chunking_leaves_unresolved_values_to_the_deploy() -> None:
    size = CfnParameter(Stack(), "Size", type="Number").value_as_number
    assert Token.is_unresolved(size)
    # Neither the parent's range nor the order of the sizes can be checked before deploy.
    chunking = Chunking.hierarchical(parent_max_tokens=size, child_max_tokens=300)
    assert chunking.strategy == "HIERARCHICAL"
    with pytest.raises(ValueError, match="child_max_tokens must be 1-8192"):
        Chunking.hierarchical(parent_max_tokens=size, child_max_tokens=9000)


# --- ingestion ------------------------------------------------------------------------------


def test_ingestion_needs_a_trigger() -> None:
    with pytest.raises(ValueError, match="on_upload is False and there is no schedule"):
        Parts().ingestion(on_upload=False)


def test_scheduled_ingestion_only_has_no_upload_rule() -> None:
    parts = Parts()
    ingestion = parts.ingestion(on_upload=False, schedule=events.Schedule.rate(Duration.days(1)))
    assert ingestion.upload_rule is None
    template = parts.template()
    template.resource_count_is("AWS::Events::Rule", 1)
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(1 day)"})
    # Both queues admit EventBridge for this rule only.
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowTheIngestionRules",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": [Match.any_value()]}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_the_state_machine_may_start_only_its_knowledge_bases_jobs() -> None:
    parts = Parts()
    ingestion = parts.ingestion()
    template = parts.template()
    role = parts.stack.get_logical_id(
        ingestion.state_machine.role.node.default_child  # type: ignore[arg-type]
    )
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    )
    [policy] = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    starts = [s for s in statements if "bedrock:StartIngestionJob" in str(s["Action"])]
    knowledge_base = parts.stack.get_logical_id(parts.knowledge_base.knowledge_base)
    assert [s["Resource"] for s in starts] == [{"Fn::GetAtt": [knowledge_base, "KnowledgeBaseArn"]}]
    metrics = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "GenAI/lob"}}


# --- the answer API -------------------------------------------------------------------------


def test_the_answer_api_is_a_signed_function_url() -> None:
    parts = Parts()
    api = parts.answer_api()
    role = iam.Role(parts.stack, "App", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    grant = api.grant_invoke(role)
    assert grant.success
    template = parts.template()
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM"})
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "lambda:InvokeFunctionUrl",
                                "Condition": {
                                    "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}
                                },
                            }
                        ),
                        Match.object_like({"Action": "lambda:InvokeFunction"}),
                    ]
                )
            },
        },
    )
    assert_grants_attached(template, parts.stack, role)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"knowledge_bases": {}}, "knowledge_bases must name at least one knowledge base"),
        ({"max_question_chars": 20001}, "max_question_chars must be 1-20000 \\(got 20001\\)"),
        ({"results": 0}, "results must be 1-100 \\(got 0\\)"),
    ],
)
def test_the_answer_api_refuses_bad_props(props: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Parts().answer_api(**props)


# --- the evaluation -------------------------------------------------------------------------


def test_the_evaluation_needs_every_threshold_in_range() -> None:
    parts = Parts()
    with pytest.raises(
        ValueError, match="thresholds must give answer_relevance, context_precision"
    ):
        RagEvaluation(
            parts.stack,
            "Evaluation",
            use_case="assistant",
            knowledge_bases={"policies": parts.knowledge_base},
            model_arn=PROFILE,
            guardrail=GovernedGuardrail.from_guardrail_attributes(
                parts.stack,
                "Central",
                guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr1",
                version="1",
            ),
            results=5,
            questions_bucket=parts.bucket,
            questions_key="evaluation/assistant/questions.jsonl",
            report_bucket=parts.reports,
            report_prefix="rag-evaluations/assistant/",
            thresholds={"faithfulness": 1.5},
            metric_namespace="GenAI/lob",
            data_key=parts.key,
            encryption_key=parts.key,
            vpc=parts.vpc,
            log_retention=RETENTION,
        )


def evaluation(parts: Parts, **props: object) -> RagEvaluation:
    settings: dict[str, object] = {
        "use_case": "assistant",
        "knowledge_bases": {"policies": parts.knowledge_base},
        "model_arn": PROFILE,
        "guardrail": GovernedGuardrail.from_guardrail_attributes(
            parts.stack,
            "Central",
            guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr1",
            version="1",
        ),
        "results": 5,
        "questions_bucket": parts.bucket,
        "questions_key": "evaluation/assistant/questions.jsonl",
        "report_bucket": parts.reports,
        "report_prefix": "rag-evaluations/assistant/",
        "thresholds": {"faithfulness": 0.7, "answer_relevance": 0.3, "context_precision": 0.5},
        "metric_namespace": "GenAI/lob",
        "data_key": parts.key,
        "encryption_key": parts.key,
        "vpc": parts.vpc,
        "log_retention": RETENTION,
        **props,
    }
    return RagEvaluation(parts.stack, "Evaluation", **settings)  # type: ignore[arg-type]


def alarms_by_metric(template: Template) -> dict[str, dict[str, object]]:
    """Each alarm's properties, by the metric (or the first metric of its expression) it
    watches."""
    found = {}
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = props.get("Metrics") or []
        name = props.get("MetricName") or next(
            m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m
        )
        found[name] = props
    return found


def test_the_answers_publish_their_outcome_and_alarm_on_its_rates() -> None:
    parts = Parts()
    api = parts.answer_api()
    alarms = api.monitor(
        use_case="assistant",
        namespace="GenAI/lob/observed",
        topic=parts.topic,
        thresholds=AnswerThresholds(intervention_percent=30, min_answers=20),
    )
    assert len(alarms) == 5
    template = parts.template()
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "genai_constructs.handlers.answer.index.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"METRIC_NAMESPACE": "GenAI/lob/observed", "USE_CASE": "assistant"}
                )
            },
        },
    )
    watched = alarms_by_metric(template)
    assert set(watched) == {
        "GuardrailInterventions",
        "EmptyRetrievals",
        "FailedAnswers",
        "Duration",
        "Errors",
    }
    rate = watched["GuardrailInterventions"]
    assert rate["Threshold"] == 30
    [expression] = [m["Expression"] for m in rate["Metrics"] if "Expression" in m]  # type: ignore[union-attr]
    assert expression == ("IF(MIN([answers, calls]) >= 20, 100 * part / MIN([answers, calls]), 0)")
    # The answers counted, capped by Lambda's own count: a forged count cannot dilute the rate.
    [calls] = [m for m in rate["Metrics"] if m["Id"] == "calls"]  # type: ignore[union-attr]
    assert calls["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"
    assert calls["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    assert watched["Duration"]["ExtendedStatistic"] == "p90"
    assert watched["Duration"]["Namespace"] == "AWS/Lambda"
    for alarm in watched.values():
        assert alarm["AlarmActions"] == [
            {"Ref": parts.stack.get_logical_id(parts.topic.node.default_child)}
        ]  # type: ignore[arg-type]


def test_the_answer_api_keeps_ratings_under_its_prefix_only() -> None:
    parts = Parts()
    parts.answer_api(
        feedback=Feedback(bucket=parts.reports, prefix="feedback/assistant/", data_key=parts.key)
    )
    template = parts.template()
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "genai_constructs.handlers.answer.index.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"FEEDBACK_BUCKET": "artifacts", "FEEDBACK_PREFIX": "feedback/assistant/"}
                )
            },
        },
    )
    statements = {
        statement.get("Sid"): statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    kept = statements["KeepTheFeedback"]
    assert kept["Action"] == "s3:PutObject"
    assert kept["Resource"] == "arn:aws:s3:::artifacts/feedback/assistant/*"
    assert statements["EncryptTheFeedbackThroughS3"]["Action"] == "kms:GenerateDataKey"


def test_a_reviewer_reads_the_review_and_feedback_prefixes_and_nothing_else() -> None:
    parts = Parts()
    api = parts.answer_api(
        feedback=Feedback(
            bucket=parts.reports,
            prefix="feedback/assistant/",
            data_key=parts.key,
            review_prefix="review/assistant/",
        )
    )
    engineer = iam.ArnPrincipal("arn:aws:iam::123456789012:role/corp-ml-engineer")
    reviewer = api.add_reviewer("Reviewer", engineer)
    template = parts.template()
    role_id = parts.stack.get_logical_id(reviewer.node.default_child)  # type: ignore[arg-type]
    trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:role/corp-ml-engineer"
    }
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    by_sid = {statement["Sid"]: statement for statement in policy}
    assert by_sid["ReadTheReviewItems"]["Resource"] == [
        "arn:aws:s3:::artifacts/feedback/assistant/*",
        "arn:aws:s3:::artifacts/review/assistant/*",
    ]
    assert by_sid["ListTheReviewItems"]["Condition"] == {
        "StringLike": {"s3:prefix": ["feedback/assistant/*", "review/assistant/*"]}
    }
    assert {statement["Action"] for statement in policy} == {
        "s3:GetObject",
        "s3:ListBucket",
        "kms:Decrypt",
    }
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"REVIEW_PREFIX": "review/assistant/"})}},
    )


def test_without_review_a_reviewer_reads_the_ratings_only() -> None:
    parts = Parts()
    api = parts.answer_api(
        feedback=Feedback(bucket=parts.reports, prefix="feedback/assistant/", data_key=parts.key)
    )
    reviewer = api.add_reviewer("Reviewer", iam.AccountRootPrincipal())
    role_id = parts.stack.get_logical_id(reviewer.node.default_child)  # type: ignore[arg-type]
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in parts.template().find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    reads = next(statement for statement in policy if statement["Sid"] == "ReadTheReviewItems")
    assert reads["Resource"] == "arn:aws:s3:::artifacts/feedback/assistant/*"


def test_a_reviewer_needs_feedback_to_review() -> None:
    api = Parts().answer_api()
    with pytest.raises(
        ValueError, match=r"^AnswerApi.add_reviewer: the API keeps no feedback to review$"
    ):
        api.add_reviewer("Reviewer", iam.AccountRootPrincipal())


@pytest.mark.parametrize("prefix", ["feedback", "/feedback/", "feedback/*/"])
def test_a_feedback_prefix_that_is_no_prefix_is_refused(prefix: str) -> None:
    parts = Parts()
    message = f"Feedback: prefix '{prefix}' must end with '/' and hold no leading '/' or '*'"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Feedback(bucket=parts.reports, prefix=prefix, data_key=parts.key)
    message = message.replace("prefix", "review_prefix", 1)
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Feedback(bucket=parts.reports, prefix="feedback/", data_key=parts.key, review_prefix=prefix)


def review_desk(parts: Parts, feedback: Feedback, **props: object) -> ReviewDesk:
    settings: dict[str, object] = {
        "feedback": feedback,
        "decisions_prefix": "review-decisions/assistant/",
        "candidates_prefix": "evaluation-candidates/assistant/",
        "encryption_key": parts.key,
        "vpc": parts.vpc,
        "log_retention": RETENTION,
        **props,
    }
    return ReviewDesk(parts.stack, "Desk", **settings)  # type: ignore[arg-type]


def reviewed_feedback(parts: Parts) -> Feedback:
    return Feedback(
        bucket=parts.reports,
        prefix="feedback/assistant/",
        data_key=parts.key,
        review_prefix="review/assistant/",
    )


def test_the_review_desk_reads_the_items_and_keeps_decisions_and_exports_only() -> None:
    parts = Parts()
    feedback = reviewed_feedback(parts)
    api = parts.answer_api(feedback=feedback)
    reviewer = api.add_reviewer("Reviewer", iam.AccountRootPrincipal())
    desk = review_desk(parts, feedback)
    desk.grant_invoke(reviewer)
    desk.grant_read_candidates(reviewer)
    template = parts.template()
    desk_role = parts.stack.resolve(desk.role.role_arn)["Fn::GetAtt"][0]
    [statements] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": desk_role}]
    ]
    by_sid = {statement.get("Sid"): statement for statement in statements}
    assert set(by_sid["ReadTheRatingsItemsAndDecisions"]["Resource"]) == {
        "arn:aws:s3:::artifacts/feedback/assistant/*",
        "arn:aws:s3:::artifacts/review/assistant/*",
        "arn:aws:s3:::artifacts/review-decisions/assistant/*",
    }
    assert set(by_sid["KeepTheDecisionsAndExports"]["Resource"]) == {
        "arn:aws:s3:::artifacts/review-decisions/assistant/*",
        "arn:aws:s3:::artifacts/evaluation-candidates/assistant/*",
    }
    assert by_sid["ListTheDecisions"]["Condition"] == {
        "StringLike": {"s3:prefix": ["review-decisions/assistant/*"]}
    }
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM"})
    reviewer_id = parts.stack.get_logical_id(reviewer.node.default_child)  # type: ignore[arg-type]
    resources = template.to_json()["Resources"]
    granted = [
        statement
        for arn in resources[reviewer_id]["Properties"]["ManagedPolicyArns"]
        if "Ref" in arn
        for statement in resources[arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {json.dumps(statement["Action"]) for statement in granted}
    assert actions == {
        '"lambda:InvokeFunctionUrl"',
        '"lambda:InvokeFunction"',
        '"s3:GetObject"',
        '"kms:Decrypt"',
    }
    assert_grants_attached(template, parts.stack, reviewer)


def test_a_review_desk_refuses_what_is_no_prefix() -> None:
    for prop, prefix in (("candidates_prefix", "exports"), ("decisions_prefix", "/d/")):
        parts = Parts()
        message = f"ReviewDesk: {prop} '{prefix}' must end with '/' and hold no leading '/'"
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            review_desk(parts, reviewed_feedback(parts), **{prop: prefix})


def test_answer_thresholds_refuse_what_no_alarm_could_mean() -> None:
    with pytest.raises(
        ValueError, match=r"^AnswerThresholds: intervention_percent must be 1-100 \(got 0\)$"
    ):
        AnswerThresholds(intervention_percent=0)
    with pytest.raises(
        ValueError, match=r"^AnswerThresholds: latency_ms must be 100-900000 \(got 10\)$"
    ):
        AnswerThresholds(latency_ms=10)


def test_a_scheduled_evaluation_alarms_when_a_run_scores_low_or_fails() -> None:
    parts = Parts()
    evaluated = evaluation(parts)
    alarms = evaluated.run_on_schedule(events.Schedule.rate(Duration.days(7)), topic=parts.topic)
    template = parts.template()
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(7 days)", "State": "ENABLED"}
    )
    watched = alarms_by_metric(template)
    assert set(watched) == {"RagEvaluationPassed", "Errors"}
    [expression] = [
        m["Expression"]
        for m in watched["RagEvaluationPassed"]["Metrics"]
        if "Expression" in m  # type: ignore[union-attr]
    ]
    assert expression == "1 - passed"
    assert len(alarms) == 2


# --- interfaces and importers ---------------------------------------------------------------

KB_ARN = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/ABCDE12345"


def test_an_imported_knowledge_base_grants_ingestion_like_its_own() -> None:
    parts = Parts()
    imported = GovernedKnowledgeBase.from_knowledge_base_arn(parts.stack, "Shared", KB_ARN)
    role = iam.Role(parts.stack, "Starter", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    imported.grant_start_ingestion(role)
    parts.template().has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["bedrock:GetIngestionJob", "bedrock:StartIngestionJob"],
                                "Resource": KB_ARN,
                            }
                        )
                    ]
                )
            }
        },
    )


def test_an_answer_api_on_an_imported_knowledge_base_and_guardrail() -> None:
    parts = Parts()
    imported = GovernedKnowledgeBase.from_knowledge_base_arn(parts.stack, "Shared", KB_ARN)
    assert parts.stack.resolve(imported.knowledge_base_id) == "ABCDE12345"
    guardrail = GovernedGuardrail.from_guardrail_attributes(
        parts.stack,
        "Central",
        guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr1",
        version="4",
    )
    api = parts.answer_api(knowledge_bases={"shared": imported}, guardrail=guardrail)
    template = parts.template()
    function = parts.stack.get_logical_id(api.function.function.node.default_child)  # type: ignore[arg-type]
    variables = template.to_json()["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert variables["GUARDRAIL_VERSION"] == "4"
    assert "ABCDE12345" in json.dumps(parts.stack.resolve(variables["KNOWLEDGE_BASES"]))
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "bedrock:Retrieve", "Resource": KB_ARN})]
                )
            }
        },
    )


def test_an_imported_knowledge_base_is_named_by_its_arn() -> None:
    with pytest.raises(ValueError, match="is not a knowledge base ARN"):
        GovernedKnowledgeBase.from_knowledge_base_arn(new_stack(), "Shared", "kb-123")


def test_a_knowledge_base_runs_as_the_role_it_is_given() -> None:
    stack = new_stack()
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    knowledge_base = GovernedKnowledgeBase(
        stack,
        "Policies",
        name="policies",
        source_bucket=s3.Bucket.from_bucket_name(stack, "Source", "curated"),
        source_prefix="policies/",
        data_key=key,
        vector_store=S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=1024),
        embedding_model_arn=EMBEDDING,
        role=role,
    )
    assert knowledge_base.role is role
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 1)
    template.has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        {"RoleArn": {"Fn::GetAtt": [stack.get_logical_id(role.node.default_child), "Arn"]}},  # type: ignore[arg-type]
    )


def test_a_new_chunking_names_a_new_data_source() -> None:
    """Bedrock cannot change chunking in place: the replacement is created under its own name
    before the old data source is deleted."""

    def name(parts: Parts) -> str:
        [source] = parts.template().find_resources("AWS::Bedrock::DataSource").values()
        return str(source["Properties"]["Name"])

    default, semantic = name(Parts()), name(Parts(chunking=Chunking.semantic()))
    assert default.startswith("policies-") and semantic.startswith("policies-")
    assert default != semantic
    assert name(Parts()) == default  # stable while the configuration is


def test_a_knowledge_base_and_an_answer_api_on_imported_roles() -> None:
    """Mutable imports of roles of the same account get the grants (in a policy of this app,
    acknowledged like the constructs' own); an immutable one is refused with the reason."""
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    imported = iam.Role.from_role_arn(
        stack, "Theirs", "arn:aws:iam::123456789012:role/team-knowledge-base"
    )
    parts = {
        "name": "policies",
        "source_bucket": s3.Bucket.from_bucket_name(stack, "Source", "curated"),
        "source_prefix": "policies/",
        "data_key": key,
        "vector_store": S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=1024),
        "embedding_model_arn": EMBEDDING,
    }
    GovernedKnowledgeBase(stack, "Policies", role=imported, **parts)  # type: ignore[arg-type]
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["team-knowledge-base"],
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Sid": "ReadTheSourcePrefix"})])
            },
        },
    )
    fixed = iam.Role.from_role_arn(
        stack, "Fixed", "arn:aws:iam::123456789012:role/fixed", mutable=False
    )
    with pytest.raises(ValueError, match="cannot be given the knowledge base's permissions"):
        GovernedKnowledgeBase(stack, "Other", role=fixed, **parts)  # type: ignore[arg-type]


def test_an_answer_api_runs_as_an_imported_role() -> None:
    parts = Parts()
    role = iam.Role.from_role_arn(
        parts.stack, "AppRole", "arn:aws:iam::123456789012:role/team-answers"
    )
    api = parts.answer_api(role=role)
    assert api.role.role_arn == role.role_arn
    parts.template().has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["team-answers"],
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": "bedrock:Retrieve"})])
            },
        },
    )


def test_the_ingestion_grant_starts_and_follows_this_knowledge_bases_jobs() -> None:
    parts = Parts()
    role = iam.Role(parts.stack, "Ops", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    grant = parts.knowledge_base.grant_start_ingestion(role)
    assert grant.principal_statement is not None
    knowledge_base = parts.stack.get_logical_id(parts.knowledge_base.knowledge_base)
    template = parts.template()
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["bedrock:GetIngestionJob", "bedrock:StartIngestionJob"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [knowledge_base, "KnowledgeBaseArn"]},
                    }
                ]
            },
        },
    )
    assert_grants_attached(template, parts.stack, role)


def test_an_imported_knowledge_base_arn_may_be_a_token() -> None:
    stack = new_stack()
    arn = CfnParameter(stack, "KnowledgeBaseArn").value_as_string
    imported = GovernedKnowledgeBase.from_knowledge_base_arn(stack, "Shared", arn)
    assert stack.resolve(imported.knowledge_base_id) == {
        "Fn::Select": [
            1,
            {
                "Fn::Split": [
                    "/",
                    {"Fn::Select": [5, {"Fn::Split": [":", {"Ref": "KnowledgeBaseArn"}]}]},
                ]
            },
        ]
    }
