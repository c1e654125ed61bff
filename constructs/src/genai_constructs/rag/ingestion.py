"""Ingestion of a knowledge base: it keeps the knowledge base in step with its source prefix.

It needs no function and no VPC endpoint: S3 events and a schedule queue requests, an
EventBridge pipe hands each batch window to a state machine that starts the ingestion job
through Step Functions' AWS SDK integration, follows it and records its outcome as metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.compliance import acknowledge_role_policy, ignore_cfn_lint
from genai_constructs.function import dead_letter_queue
from genai_constructs.knowledge_base.governed import GovernedKnowledgeBase
from genai_constructs.state_machines import logged_state_machine

_TRANSIENT_ERRORS = (
    "BedrockAgent.ThrottlingException",
    "BedrockAgent.InternalServerException",
)
# Bedrock runs one ingestion job per data source at a time; a request that arrives while
# one runs waits for it (Conflict) rather than being dropped.
_RETRIED_ERRORS = (
    "BedrockAgent.ConflictException",
    "BedrockAgent.ServiceQuotaExceededException",
    *_TRANSIENT_ERRORS,
)


class KnowledgeBaseIngestion(Construct):
    """Keeps a knowledge base in step with its source prefix.

    New objects under the prefix (EventBridge "Object Created" of the source bucket, which
    must send events to EventBridge) and the schedule put a request on a queue; a pipe starts
    the state machine once per batch window (a burst of uploads is one ingestion job). The
    state machine starts the job (retrying while another job runs or Bedrock throttles),
    follows it to the end and publishes ``IngestionJobsFailed``, ``IngestionDocumentsFailed``
    and ``IngestionDocumentsIndexed`` (dimension ``KnowledgeBase``); a failed or partial job
    fails the execution. Alarms: a failed execution, a request in the dead-letter queue.

    :param knowledge_base: the knowledge base and its data source.
    :param source_bucket: the bucket its data source reads.
    :param source_prefix: the prefix it ingests.
    :param encryption_key: encrypts the queues and the state machine's logs; EventBridge
        (``events.amazonaws.com``) must be allowed to use it.
    :param metric_namespace: where the ingestion metrics go.
    :param alarm_topic: notified when an alarm fires.
    :param log_retention: how long the state machine's logs are kept.
    :param on_upload: default ``True``.
    :param schedule: default none; also ingest on this schedule (picks up deletions).
    :param batch_window: default five minutes; uploads within it share one job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_base: GovernedKnowledgeBase,
        source_bucket: s3.IBucket,
        source_prefix: str,
        encryption_key: kms.IKey,
        metric_namespace: str,
        alarm_topic: sns.ITopic,
        log_retention: logs.RetentionDays,
        on_upload: bool = True,
        schedule: events.Schedule | None = None,
        batch_window: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not on_upload and schedule is None:
            raise ValueError(
                "KnowledgeBaseIngestion: on_upload is False and there is no schedule; "
                "nothing would start an ingestion"
            )
        self.knowledge_base_name = knowledge_base.name
        self.dead_letters = dead_letter_queue(
            self, "DeadLetters", encryption_key, "the ingestion requests"
        )
        self.requests = sqs.Queue(
            self,
            "Requests",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            # Longer than the pipe's batch window, or messages it holds reappear before it runs.
            visibility_timeout=Duration.minutes(15),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letters),
        )
        target = _QueueTarget(self.requests, self.dead_letters)
        if on_upload:
            self.upload_rule: events.Rule | None = events.Rule(
                self,
                "OnUpload",
                description=f"Documents landing under {source_prefix} of the source bucket",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=["Object Created"],
                    detail={
                        "bucket": {"name": [source_bucket.bucket_name]},
                        "object": {"key": [{"prefix": source_prefix}]},
                    },
                ),
                targets=[target],
            )
        else:
            self.upload_rule = None
        rules = [self.upload_rule] if self.upload_rule else []
        if schedule is not None:
            rules.append(
                events.Rule(
                    self,
                    "OnSchedule",
                    description="Scheduled ingestion (deletions, missed events)",
                    schedule=schedule,
                    targets=[target],
                )
            )
        # EventBridge delivers to both queues on behalf of these rules only.
        for queue in (self.requests, self.dead_letters):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowTheIngestionRules",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": [r.rule_arn for r in rules]}},
                )
            )
        self.state_machine = self._state_machine(
            knowledge_base, encryption_key, metric_namespace, log_retention
        )
        self.pipe = self._pipe(encryption_key, batch_window or Duration.minutes(5))
        self._alarms(alarm_topic)

    def _state_machine(
        self,
        knowledge_base: GovernedKnowledgeBase,
        encryption_key: kms.IKey,
        namespace: str,
        log_retention: logs.RetentionDays,
    ) -> sfn.StateMachine:
        job = {
            "KnowledgeBaseId": knowledge_base.knowledge_base_id,
            "DataSourceId": knowledge_base.data_source_id,
        }
        ingestion_actions = {
            "startIngestionJob": "bedrock:StartIngestionJob",
            "getIngestionJob": "bedrock:GetIngestionJob",
        }

        def call(
            state_id: str, action: str, parameters: Mapping[str, object]
        ) -> tasks.CallAwsService:
            return tasks.CallAwsService(
                self,
                state_id,
                service="bedrockagent",
                action=action,
                parameters=dict(parameters),
                iam_action=ingestion_actions[action],
                iam_resources=[knowledge_base.knowledge_base_arn],
                result_path="$.job",
            )

        # The pipe hands over its batch as an array; the execution needs none of it.
        batch = sfn.Pass(self, "OneIngestionPerBatch", parameters={})
        start = call("StartIngestionJob", "startIngestionJob", job)
        start.add_retry(
            errors=list(_RETRIED_ERRORS),
            interval=Duration.minutes(1),
            backoff_rate=2,
            max_attempts=10,
            max_delay=Duration.minutes(15),
            jitter_strategy=sfn.JitterType.FULL,
        )
        follow = call(
            "GetIngestionJob",
            "getIngestionJob",
            {**job, "IngestionJobId.$": "$.job.IngestionJob.IngestionJobId"},
        )
        follow.add_retry(
            errors=list(_TRANSIENT_ERRORS),
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )
        wait = sfn.Wait(self, "WaitForTheJob", time=sfn.WaitTime.duration(Duration.minutes(1)))
        status = "$.job.IngestionJob.Status"
        statistics = "$.job.IngestionJob.Statistics"
        dimension = [{"Name": "KnowledgeBase", "Value": self.knowledge_base_name}]

        integrations = f"arn:{Stack.of(self).partition}:states:::aws-sdk"

        def metrics(state_id: str, values: Mapping[str, object]) -> sfn.CustomState:
            # A raw SDK-integration state: CallAwsService would grant PutMetricData in every
            # namespace; the role's own statement limits it to this one.
            data = [
                {"MetricName": name, "Dimensions": dimension, "Unit": "Count", key: value}
                for name, value in values.items()
                for key in ["Value.$" if isinstance(value, str) else "Value"]
            ]
            return sfn.CustomState(
                self,
                state_id,
                state_json={
                    "Type": "Task",
                    "Resource": f"{integrations}:cloudwatch:putMetricData",
                    "Parameters": {"Namespace": namespace, "MetricData": data},
                    "ResultPath": None,
                },
            )

        completed = metrics(
            "RecordTheJob",
            {
                "IngestionJobsFailed": 0,
                "IngestionDocumentsFailed": f"{statistics}.NumberOfDocumentsFailed",
                "IngestionDocumentsIndexed": (
                    f"States.MathAdd({statistics}.NumberOfNewDocumentsIndexed, "
                    f"{statistics}.NumberOfModifiedDocumentsIndexed)"
                ),
            },
        )
        failed = metrics("RecordTheFailure", {"IngestionJobsFailed": 1})
        partial = sfn.Fail(
            self,
            "PartialIngestion",
            error="PartialIngestion",
            cause="Some documents of the prefix could not be ingested (see the job's failure "
            "reasons with GetIngestionJob)",
        )
        failed.next(
            sfn.Fail(self, "IngestionFailed", error="IngestionFailed", cause="The job failed")
        )
        completed.next(
            sfn.Choice(self, "AllDocumentsIngested")
            .when(
                sfn.Condition.number_greater_than(f"{statistics}.NumberOfDocumentsFailed", 0),
                partial,
            )
            .otherwise(sfn.Succeed(self, "Ingested"))
        )
        definition = (
            batch.next(start)
            .next(wait)
            .next(follow)
            .next(
                sfn.Choice(self, "JobFinished")
                .when(sfn.Condition.string_equals(status, "COMPLETE"), completed)
                .when(
                    sfn.Condition.or_(
                        sfn.Condition.string_equals(status, "FAILED"),
                        sfn.Condition.string_equals(status, "STOPPED"),
                    ),
                    failed,
                )
                .otherwise(wait)
            )
        )
        machine = logged_state_machine(
            self,
            "StateMachine",
            name=f"{self.knowledge_base_name[:70]}-ingestion",
            definition=definition,
            timeout=Duration.hours(12),
            encryption_key=encryption_key,
            log_retention=log_retention,
            log_group_id="Logs",
            steps="Three SDK calls and a wait loop",
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="PublishIngestionMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
            )
        )
        acknowledge_role_policy(
            machine.role,
            "start and follow this knowledge base's ingestion jobs, publish its metrics, "
            "deliver its logs",
            ["Resource::*"],
        )
        return machine

    def _pipe(self, encryption_key: kms.IKey, batch_window: Duration) -> pipes.CfnPipe:
        role = iam.Role(
            self,
            "PipeRole",
            description="Hands queued ingestion requests to the ingestion state machine",
            assumed_by=iam.ServicePrincipal(
                "pipes.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
        )
        self.requests.grant_consume_messages(role)
        self.state_machine.grant_start_execution(role)
        encryption_key.grant_decrypt(role)
        pipe = pipes.CfnPipe(
            self,
            "Pipe",
            description="One ingestion per batch window of requests",
            role_arn=role.role_arn,
            source=self.requests.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(
                    batch_size=1000,
                    maximum_batching_window_in_seconds=int(batch_window.to_seconds()),
                )
            ),
            target=self.state_machine.state_machine_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                step_function_state_machine_parameters=pipes.CfnPipe.PipeTargetStateMachineParametersProperty(
                    invocation_type="FIRE_AND_FORGET"
                ),
                input_template="{}",
            ),
        )
        # The role's policy must exist before the pipe starts polling: CloudFormation would
        # otherwise create the pipe as soon as the role is.
        pipe.node.add_dependency(role)
        ignore_cfn_lint(
            pipe,
            ["W3005"],
            "DependsOn on the pipe's role beside the GetAtt: the role's policy (a child of the "
            "role construct) must exist before the pipe polls the queue.",
        )
        acknowledge_role_policy(
            role, "consume this queue, start this state machine, decrypt with its key", []
        )
        return pipe

    def _alarms(self, topic: sns.ITopic) -> None:
        self.alarms = (
            announced_alarm(
                self,
                "IngestionFailedAlarm",
                description=f"An ingestion of {self.knowledge_base_name} failed or was partial",
                metric=self.state_machine.metric_failed(period=Duration.minutes(5)),
                topic=topic,
                announce_recovery=True,
            ),
            announced_alarm(
                self,
                "UndeliveredRequestsAlarm",
                description=f"Ingestion requests of {self.knowledge_base_name} were not "
                "delivered (dead-letter queue)",
                metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5)
                ),
                topic=topic,
                announce_recovery=True,
            ),
        )


@jsii.implements(events.IRuleTarget)
class _QueueTarget:
    """A queue as a rule's target, retried for six hours, then dead-lettered. Unlike the CDK's
    SqsQueue target, it leaves the queue's policy to its owner: the generated statement IDs
    would name the construct path, which differs between a stack and the same stack in a
    pipeline stage."""

    def __init__(self, queue: sqs.IQueue, dead_letters: sqs.IQueue) -> None:
        self.queue, self.dead_letters = queue, dead_letters

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(
            arn=self.queue.queue_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self.dead_letters.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(Duration.hours(6).to_seconds()),
                maximum_retry_attempts=8,
            ),
        )
