"""RAG end to end on the example's templates: documents land, ingestion runs, the answer API
answers behind the guardrail, the evaluation gates the release, the IDs are published.

Who may do what along that path is asked of the access catalog (catalog.yaml, the RAG
section); these tests check the resources and their wiring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from blueprint.assembly.access.question import Questions
from blueprint.model.sections.genai import NoChunking
from genai_constructs.checks.rules import RULES, signed_requests_only
from genai_constructs.handlers.answer import index as answer_handler
from genai_constructs.handlers.rag_evaluation import index as evaluation_handler
from genai_constructs.handlers.retrieval import RagSettings
from tests.conftest import Synthesized

KB_ENVIRONMENTS = (
    "claims-interactive",
    "claims-nonprod",
    "claims-prod",
    "research-nonprod",
    "research-prod",
)
TOOLING = "333333333333"


def resources(example: Synthesized, stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in example.template_json(stack)["Resources"].items()
        if resource["Type"] == kind
    }


def one(example: Synthesized, stack: str, kind: str, where: str = "") -> dict[str, Any]:
    [(_, resource)] = [item for item in resources(example, stack, kind).items() if where in item[0]]
    return resource


def environment_of(function: dict[str, Any]) -> dict[str, str]:
    """The function's variables, unresolved references replaced by samples of their shape."""
    samples = {
        "KNOWLEDGE_BASES": json.dumps({"policies": "KB12345678"}),
        "MODEL_ARN": "arn:aws:bedrock:eu-west-1:555555555555:application-inference-profile/a1b2",
        "GUARDRAIL_ARN": "arn:aws:bedrock:eu-west-1:555555555555:guardrail/gr1234",
        "GUARDRAIL_VERSION": "1",
    }
    variables = function["Properties"]["Environment"]["Variables"]
    return {
        k: v if isinstance(v, str) else samples.get(k, "resolved") for k, v in variables.items()
    }


# --- chunking and parsing -------------------------------------------------------------------


def test_no_chunking_is_one_chunk_per_document() -> None:
    from stacks.genai import data_source_chunking

    chunking = data_source_chunking(NoChunking(strategy="none"))
    assert chunking.strategy == "NONE"


def test_each_data_source_chunks_as_configured(example: Synthesized) -> None:
    claims = one(example, "claims-nonprod-genai", "AWS::Bedrock::DataSource")
    assert claims["Properties"]["VectorIngestionConfiguration"] == {
        "ChunkingConfiguration": {
            "ChunkingStrategy": "HIERARCHICAL",
            "HierarchicalChunkingConfiguration": {
                "LevelConfigurations": [{"MaxTokens": 1500}, {"MaxTokens": 300}],
                "OverlapTokens": 60,
            },
        }
    }
    research = one(example, "research-nonprod-genai", "AWS::Bedrock::DataSource")
    assert research["Properties"]["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "SEMANTIC",
        "SemanticChunkingConfiguration": {
            "MaxTokens": 400,
            "BufferSize": 0,
            "BreakpointPercentileThreshold": 90,
        },
    }
    prefix = claims["Properties"]["DataSourceConfiguration"]["S3Configuration"]
    assert prefix["InclusionPrefixes"] == ["policies/"]


# --- ingestion ------------------------------------------------------------------------------


@pytest.mark.parametrize("placement", KB_ENVIRONMENTS)
def test_the_curated_zone_sends_its_events_where_documents_are_ingested(
    example: Synthesized, placement: str
) -> None:
    curated = [
        bucket
        for bucket in resources(example, f"{placement}-data", "AWS::S3::Bucket").values()
        if bucket.get("Metadata", {}).get("genai-platform:asset") == "zone/curated"
    ]
    assert [b["Properties"]["NotificationConfiguration"] for b in curated] == [
        {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    ]


def test_zones_without_knowledge_bases_send_no_events(example: Synthesized) -> None:
    for placement in ("marketing-nonprod", "research-interactive"):
        for bucket in resources(example, f"{placement}-data", "AWS::S3::Bucket").values():
            assert "NotificationConfiguration" not in bucket["Properties"]


def test_documents_landing_under_the_prefix_queue_an_ingestion(example: Synthesized) -> None:
    template = example.template("claims-nonprod-genai")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [Match.any_value()]},
                    "object": {"key": [{"prefix": "policies/"}]},
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 21600,
                            "MaximumRetryAttempts": 8,
                        },
                    }
                )
            ],
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 day)", "State": "ENABLED"}
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"maxReceiveCount": 5, "deadLetterTargetArn": Match.any_value()},
            "KmsMasterKeyId": Match.any_value(),
        },
    )


def test_a_batch_window_of_uploads_starts_one_state_machine_execution(
    example: Synthesized,
) -> None:
    pipe = one(example, "claims-nonprod-genai", "AWS::Pipes::Pipe")["Properties"]
    assert pipe["SourceParameters"]["SqsQueueParameters"] == {
        "BatchSize": 1000,
        "MaximumBatchingWindowInSeconds": 300,
    }
    target = pipe["TargetParameters"]["StepFunctionStateMachineParameters"]
    assert target == {"InvocationType": "FIRE_AND_FORGET"}


def _definition(example: Synthesized, stack: str) -> dict[str, Any]:
    machine = one(example, stack, "AWS::StepFunctions::StateMachine", "Ingestion")["Properties"]
    parts = machine["DefinitionString"]["Fn::Join"][1]
    # References (knowledge base, data source, namespace) become placeholders.
    return dict(json.loads("".join(p if isinstance(p, str) else "REF" for p in parts)))


def test_the_state_machine_starts_follows_and_records_the_job(example: Synthesized) -> None:
    states = _definition(example, "claims-nonprod-genai")["States"]
    start = states["StartIngestionJob"]
    assert start["Resource"].endswith(":states:::aws-sdk:bedrockagent:startIngestionJob")
    [retry] = start["Retry"]
    # waits while another job of the data source runs, or Bedrock throttles
    assert {"BedrockAgent.ConflictException", "BedrockAgent.ThrottlingException"} <= set(
        retry["ErrorEquals"]
    )
    assert retry["MaxAttempts"] == 10
    assert states["GetIngestionJob"]["Resource"].endswith(":getIngestionJob")
    finished = states["JobFinished"]["Choices"]
    assert finished[0]["Next"] == "RecordTheJob"
    assert states["JobFinished"]["Default"] == "WaitForTheJob"
    recorded = states["RecordTheJob"]["Parameters"]
    assert recorded["Namespace"] == "GenAIPlatform/claims-nonprod-genai"  # the LOB environment's
    metrics = recorded["MetricData"]
    assert {json.dumps(m["Dimensions"]) for m in metrics} == {
        json.dumps([{"Name": "KnowledgeBase", "Value": "claims-nonprod-policies"}])
    }
    assert {m["MetricName"] for m in metrics} == {
        "IngestionJobsFailed",
        "IngestionDocumentsFailed",
        "IngestionDocumentsIndexed",
    }
    failed_documents = next(m for m in metrics if m["MetricName"] == "IngestionDocumentsFailed")
    assert failed_documents["Value.$"] == "$.job.IngestionJob.Statistics.NumberOfDocumentsFailed"
    # A partial ingestion fails the execution: the failed-execution alarm sees it.
    partial = states["AllDocumentsIngested"]["Choices"][0]
    assert partial["NumericGreaterThan"] == 0 and partial["Next"] == "PartialIngestion"
    assert states["PartialIngestion"]["Type"] == "Fail"


def test_failed_ingestions_and_undelivered_requests_alarm(example: Synthesized) -> None:
    alarms = resources(example, "claims-nonprod-genai", "AWS::CloudWatch::Alarm").values()
    by_metric = {a["Properties"].get("MetricName"): a["Properties"] for a in alarms}
    for metric in ("ExecutionsFailed", "ApproximateNumberOfMessagesVisible"):
        alarm = by_metric[metric]
        assert alarm["Threshold"] == 1
        assert alarm["AlarmActions"] and alarm["OKActions"]


def test_eventbridge_may_use_the_logs_key_only_where_it_queues_ingestions(
    example: Synthesized,
) -> None:
    def admits_events(placement: str) -> bool:
        keys = resources(example, f"{placement}-security", "AWS::KMS::Key").values()
        return "events.amazonaws.com" in json.dumps([k["Properties"]["KeyPolicy"] for k in keys])

    assert all(admits_events(p) for p in KB_ENVIRONMENTS)
    assert not any(admits_events(p) for p in ("marketing-nonprod", "research-interactive"))


# --- the answer API -------------------------------------------------------------------------


def test_the_answer_api_takes_signed_requests_only(example: Synthesized) -> None:
    """One function URL per answer API, one per GPU endpoint a use case calls (claims's, in
    nonprod and prod) and one review desk per answer API (each has ML engineers to review
    its ratings); in the hub, an answer API per consuming LOB (it has no ML engineers, so no
    desk); every one with IAM auth."""
    urls = [
        url
        for stack in example.stack_names()
        for url in resources(example, stack, "AWS::Lambda::Url").values()
    ]
    assert len(urls) == 2 * len(KB_ENVIRONMENTS) + 2 + 2
    assert {url["Properties"]["AuthType"] for url in urls} == {"AWS_IAM"}
    # The platform's pack, which fails synthesis, refuses any other.
    assert signed_requests_only.RULE in RULES


def test_the_answer_function_runs_in_the_vpc_with_what_its_handler_reads(
    example: Synthesized,
) -> None:
    function = one(example, "claims-prod-genai", "AWS::Lambda::Function", "AnswerApi")
    properties = function["Properties"]
    assert properties["Handler"] == "genai_constructs.handlers.answer.index.handler"
    assert properties["ReservedConcurrentExecutions"] == 10
    assert properties["VpcConfig"]["SubnetIds"]
    env = environment_of(function)
    settings = RagSettings.from_environment(env)
    assert settings.memory_turns == 5  # claims-assistant: memory_turns: 5
    assert settings.number_of_results == 5
    assert answer_handler.max_question_chars(env) == 1000  # guardrails.max_question_chars
    research = one(example, "research-prod-genai", "AWS::Lambda::Function", "AnswerApi")
    assert RagSettings.from_environment(environment_of(research)).memory_turns == 0


def test_the_evaluation_reads_what_the_stack_configures(example: Synthesized) -> None:
    function = one(example, "claims-nonprod-genai", "AWS::Lambda::Function", "Evaluation")
    env = environment_of(function)
    settings = evaluation_handler.EvaluationSettings.from_environment(env)
    assert settings.questions_key == "evaluation/claims-assistant/questions.jsonl"
    assert settings.report_prefix == "rag-evaluations/claims-assistant/"
    assert settings.thresholds == {
        "faithfulness": 0.7,
        "answer_relevance": 0.3,
        "context_precision": 0.5,
    }
    assert function["Properties"]["Timeout"] == 900


def test_the_review_desk_keeps_what_its_handler_reads(
    example: Synthesized, example_access: Questions
) -> None:
    """The desk's function works on the use case's ratings and (where its record asks for
    review) review items in the artifacts zone; its reviewers find its URL where the platform
    publishes it, and nothing else published."""
    function = one(example, "claims-prod-genai", "AWS::Lambda::Function", "ReviewDesk")
    properties = function["Properties"]
    assert properties["Handler"] == "genai_constructs.handlers.review_desk.index.handler"
    assert properties["VpcConfig"]["SubnetIds"]
    env = environment_of(function)
    assert {k: v for k, v in env.items() if k.endswith("PREFIX")} == {
        "FEEDBACK_PREFIX": "feedback/claims-assistant/",
        "REVIEW_PREFIX": "review/claims-assistant/",
        "DECISIONS_PREFIX": "review-decisions/claims-assistant/",
        "CANDIDATES_PREFIX": "evaluation-candidates/claims-assistant/",
    }
    template = example.template_json("claims-prod-genai")
    reviewer = next(
        f"claims-prod-genai/{k}"
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "AnswerApiReviewer" in k
    )
    root = "arn:aws:ssm:eu-west-1:666666666666:parameter/genai-platform/claims/prod"
    for parameter, expected in (
        ("review-desks/claims-assistant/url", "allow"),
        ("answer-apis/claims-assistant/url", "deny"),
    ):
        answer = example_access.ask(reviewer, "ssm:GetParameter", f"{root}/{parameter}")
        assert answer.decision == expected, (parameter, answer.reasons)
    research = environment_of(
        one(example, "research-prod-genai", "AWS::Lambda::Function", "ReviewDesk")
    )
    assert "REVIEW_PREFIX" not in research, "literature-review's record asks for no review"
    assert research["FEEDBACK_PREFIX"] == "feedback/literature-review/"


# --- the release gate -----------------------------------------------------------------------


def test_the_release_gate_role_trusts_the_delivery_pipeline_only(example: Synthesized) -> None:
    for placement in ("claims-nonprod", "research-nonprod"):
        role = one(example, f"{placement}-genai", "AWS::IAM::Role", "RagReleaseGate")
        properties = role["Properties"]
        assert properties["RoleName"] == "example-corp-rag-release-gate"
        [statement] = properties["AssumeRolePolicyDocument"]["Statement"]
        assert json.dumps(statement["Principal"]).count(TOOLING) == 1
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalTag/genai-platform:workload": "delivery"}
        }
    for placement in ("claims-prod", "claims-interactive", "marketing-nonprod"):
        roles = resources(example, f"{placement}-genai", "AWS::IAM::Role")
        assert not [r for r in roles if "RagReleaseGate" in r]


# --- the published contract -----------------------------------------------------------------


def test_every_id_is_published_under_the_documented_path(example: Synthesized) -> None:
    parameters = {
        p["Properties"]["Name"]
        for p in resources(example, "claims-prod-genai", "AWS::SSM::Parameter").values()
    }
    root = "/genai-platform/claims/prod"
    assert parameters == {
        f"{root}/guardrail/id",
        f"{root}/guardrail/version",
        f"{root}/inference-profiles/claims-assistant/arn",
        f"{root}/knowledge-bases/policies/id",
        f"{root}/knowledge-bases/policies/data-source-id",
        f"{root}/answer-apis/claims-assistant/url",
        f"{root}/rag-evaluations/claims-assistant/function-arn",
        f"{root}/guarded-endpoints/claims-summarizer/url",
        f"{root}/review-desks/claims-assistant/url",
        f"{root}/agents/claims-triage/runtime-arn",
        f"{root}/agents/tools-gateway/url",
        f"{root}/agents/tools/repair-shops/api-key-secret",
    }
    outputs = example.template_json("claims-prod-genai")["Outputs"]
    described = {o["Description"].rsplit("(", 1)[1].rstrip(")") for o in outputs.values()}
    assert parameters <= described


def _run_ingestion(
    definition: dict[str, Any], job: dict[str, Any], batch: str
) -> tuple[str, dict[str, Any]]:
    """Run the state machine in moto's interpreter: the AWS calls answer ``job``; the rest of
    the definition (data flow, choices, intrinsics) runs as written."""
    import time

    import boto3
    from moto import mock_aws

    states = definition["States"]
    for name in ("StartIngestionJob", "GetIngestionJob"):
        state = states[name]
        states[name] = {
            "Type": "Pass",
            "Result": {"IngestionJob": job},
            "ResultPath": "$.job",
            "Next": state["Next"],
        }
    states["WaitForTheJob"]["Seconds"] = 0
    for name in ("RecordTheJob", "RecordTheFailure"):
        state = states[name]
        states[name] = {
            "Type": "Pass",
            "Parameters": state["Parameters"],
            "ResultPath": "$.metrics",
            "Next": state["Next"],
        }
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="eu-west-1")
        machine = client.create_state_machine(
            name="ingestion",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/ingestion",
        )["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=machine, input=batch)["executionArn"]
        for _ in range(100):
            described = client.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        history = client.get_execution_history(executionArn=execution)["events"]
    passed = [
        json.loads(event["stateExitedEventDetails"]["output"])
        for event in history
        if event.get("stateExitedEventDetails", {}).get("name") == "RecordTheJob"
    ]
    return described["status"], passed[0]["metrics"] if passed else {}


STATISTICS = {
    "NumberOfDocumentsScanned": 12,
    "NumberOfNewDocumentsIndexed": 7,
    "NumberOfModifiedDocumentsIndexed": 3,
    "NumberOfDocumentsFailed": 0,
}


def test_a_batch_from_the_pipe_runs_to_a_recorded_job(example: Synthesized) -> None:
    definition = _definition(example, "claims-nonprod-genai")
    job = {"IngestionJobId": "job-1", "Status": "COMPLETE", "Statistics": STATISTICS}
    # The pipe sends its batch as an array of records.
    status, metrics = _run_ingestion(definition, job, json.dumps([{"body": "a"}, {"body": "b"}]))
    assert status == "SUCCEEDED"
    values = {m["MetricName"]: m["Value"] for m in metrics["MetricData"]}
    assert values == {
        "IngestionJobsFailed": 0,
        "IngestionDocumentsFailed": 0,
        "IngestionDocumentsIndexed": 10,
    }


def test_a_partial_or_failed_job_fails_the_execution(example: Synthesized) -> None:
    definition = _definition(example, "claims-nonprod-genai")
    partial = {
        "IngestionJobId": "j",
        "Status": "COMPLETE",
        "Statistics": STATISTICS | {"NumberOfDocumentsFailed": 2},
    }
    assert _run_ingestion(definition, partial, "[{}]")[0] == "FAILED"
    failed = {"IngestionJobId": "j", "Status": "FAILED", "Statistics": STATISTICS}
    assert _run_ingestion(_definition(example, "claims-nonprod-genai"), failed, "[{}]") == (
        "FAILED",
        {},
    )
