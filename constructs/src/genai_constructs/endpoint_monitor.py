"""The data-quality monitor of a GPU endpoint, and the alarm its findings raise.

An hourly Model Monitor schedule compares the endpoint's captured requests with a baseline
(the statistics and constraints its fine-tuning pipeline computed from the training prompts)
and writes its report beside the captures. Each monitoring execution is a processing job that
runs as the monitor's own role; an EventBridge rule on those jobs announces on the endpoint's
alarm topic each one that finds violations (its exit message starts
``CompletedWithViolations``, the status the monitoring schedule reports) or that fails or
stops, so a drift in what the endpoint is asked reaches the LOB like its other alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sm
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.compliance import acknowledge_scoped_policy
from genai_constructs.naming import NOTIFIER_TAG
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import grant_sagemaker_runtime
from genai_constructs.sagemaker_sdk import image_uri

MONITOR_INSTANCE = "ml.m5.xlarge"
# Where the data-quality reports go, under the endpoint's capture prefix.
MONITORING_REPORTS = "monitoring"
# How a monitoring job that found violations ends its exit message (the monitoring
# execution's status).
VIOLATIONS = "CompletedWithViolations"
FAILED = ("Failed", "Stopped")


def monitor_image_uri(region: str) -> str:
    return image_uri("model-monitor", region)


@dataclass(frozen=True)
class MonitorNetwork:
    """Where the monitoring jobs run: the endpoint's subnets and security group."""

    subnet_ids: Sequence[str]
    security_group: ec2.ISecurityGroup


@dataclass(frozen=True)
class DataQualityMonitor:
    """The monitor's role, job definition and schedule, and the rule that raises its alarm
    through ``publisher``."""

    role: iam.Role
    job_definition: sm.CfnDataQualityJobDefinition
    schedule: sm.CfnMonitoringSchedule
    violations: events.Rule
    publisher: iam.Role


def data_quality_monitor(
    scope: Construct,
    *,
    endpoint_name: str,
    captures: tuple[s3.IBucket, str],
    encryption_key: kms.IKey,
    network: MonitorNetwork,
    alarm_topic: sns.ITopic,
    baseline: tuple[s3.IBucket, str] | None = None,
) -> DataQualityMonitor:
    """An hourly data-quality monitor of ``endpoint_name`` in ``scope`` (the endpoint's
    construct), reading the captures under ``captures``, comparing them with
    ``statistics.json`` and ``constraints.json`` under ``baseline`` (bucket, prefix: the
    baseline the served model was trained with) and announcing its violations and failures on
    ``alarm_topic``."""
    stack = Stack.of(scope)
    bucket, prefix = captures
    # Its own role: it reads the captures and writes reports beside them; the endpoint's
    # role only adds captures, and neither can delete them.
    role = iam.Role(
        scope,
        "MonitorRole",
        description="Data-quality monitoring: reads the captures, writes its reports",
        assumed_by=own_account_service(scope, "sagemaker.amazonaws.com"),
    )
    bucket.grant_read(role, f"{prefix}*")
    bucket.grant_put(role, f"{prefix}{MONITORING_REPORTS}/*")
    encryption_key.grant_encrypt_decrypt(role)
    grant_sagemaker_runtime(role, stack, [monitor_image_uri(stack.region)])
    name = f"{stack.stack_name}-{scope.node.id}"[:56]
    definition = _job_definition(
        scope, name, role, endpoint_name, captures, encryption_key, network
    )
    if baseline is not None:
        _compare_with(definition, role, *baseline)
    schedule = sm.CfnMonitoringSchedule(
        scope,
        "Monitoring",
        monitoring_schedule_name=f"{name}-schedule",
        monitoring_schedule_config=sm.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
            monitoring_job_definition_name=f"{name}-dq",
            monitoring_type="DataQuality",
            schedule_config=sm.CfnMonitoringSchedule.ScheduleConfigProperty(
                schedule_expression="cron(0 * ? * * *)"
            ),
        ),
    )
    schedule.node.add_dependency(definition)
    publisher = iam.Role(
        scope,
        "MonitorAlarmPublisher",
        description="EventBridge: announces the data-quality monitor's violations and failures",
        assumed_by=own_account_service(scope, "events.amazonaws.com"),
    )
    # The account's boundary lets only roles so tagged publish to its topics.
    Tags.of(publisher).add(*NOTIFIER_TAG)
    violations = events.Rule(
        scope,
        "MonitorViolations",
        description="A data-quality monitoring job of the endpoint found violations or failed",
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=["SageMaker Processing Job State Change"],
            detail={
                "RoleArn": [role.role_arn],
                "$or": [
                    {"ProcessingJobStatus": list(FAILED)},
                    {"ExitMessage": [{"prefix": VIOLATIONS}]},
                ],
            },
        ),
        targets=[
            targets.SnsTopic(
                alarm_topic,
                authorize_using_role=True,
                role=publisher,
                message=events.RuleTargetInput.from_text(
                    f"Data-quality monitor of endpoint {endpoint_name}: job "
                    f"{events.EventField.from_path('$.detail.ProcessingJobName')} "
                    f"{events.EventField.from_path('$.detail.ProcessingJobStatus')}: "
                    f"{events.EventField.from_path('$.detail.ExitMessage')} "
                    f"{events.EventField.from_path('$.detail.FailureReason')} (report under "
                    f"{prefix}{MONITORING_REPORTS}/)"
                ),
            )
        ],
    )
    acknowledge_scoped_policy(role, "monitoring the endpoint: its captures and its reports")
    acknowledge_scoped_policy(publisher, "publishing the endpoint's alarm topic")
    return DataQualityMonitor(role, definition, schedule, violations, publisher)


def _job_definition(
    scope: Construct,
    name: str,
    role: iam.IRole,
    endpoint_name: str,
    captures: tuple[s3.IBucket, str],
    key: kms.IKey,
    network: MonitorNetwork,
) -> sm.CfnDataQualityJobDefinition:
    bucket, prefix = captures
    region = Stack.of(scope).region
    job = sm.CfnDataQualityJobDefinition
    return job(
        scope,
        "DataQuality",
        job_definition_name=f"{name}-dq",
        role_arn=role.role_arn,
        data_quality_app_specification=job.DataQualityAppSpecificationProperty(
            image_uri=monitor_image_uri(region)
        ),
        data_quality_job_input=job.DataQualityJobInputProperty(
            endpoint_input=job.EndpointInputProperty(
                endpoint_name=endpoint_name, local_path="/opt/ml/processing/input"
            )
        ),
        data_quality_job_output_config=job.MonitoringOutputConfigProperty(
            kms_key_id=key.key_arn,
            monitoring_outputs=[
                job.MonitoringOutputProperty(
                    s3_output=job.S3OutputProperty(
                        local_path="/opt/ml/processing/output",
                        s3_uri=bucket.s3_url_for_object(f"{prefix}{MONITORING_REPORTS}"),
                        s3_upload_mode="EndOfJob",
                    )
                )
            ],
        ),
        job_resources=job.MonitoringResourcesProperty(
            cluster_config=job.ClusterConfigProperty(
                instance_count=1,
                instance_type=MONITOR_INSTANCE,
                volume_size_in_gb=20,
                volume_kms_key_id=key.key_arn,
            )
        ),
        network_config=job.NetworkConfigProperty(
            enable_network_isolation=True,
            enable_inter_container_traffic_encryption=True,
            vpc_config=job.VpcConfigProperty(
                security_group_ids=[network.security_group.security_group_id],
                subnets=list(network.subnet_ids),
            ),
        ),
        stopping_condition=job.StoppingConditionProperty(max_runtime_in_seconds=3300),
    )


def _compare_with(
    definition: sm.CfnDataQualityJobDefinition, role: iam.IRole, bucket: s3.IBucket, prefix: str
) -> None:
    bucket.grant_read(role, f"{prefix}*")
    job = sm.CfnDataQualityJobDefinition
    definition.data_quality_baseline_config = job.DataQualityBaselineConfigProperty(
        constraints_resource=job.ConstraintsResourceProperty(
            s3_uri=bucket.s3_url_for_object(f"{prefix}constraints.json")
        ),
        statistics_resource=job.StatisticsResourceProperty(
            s3_uri=bucket.s3_url_for_object(f"{prefix}statistics.json")
        ),
    )
