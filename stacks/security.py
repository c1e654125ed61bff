"""Stateful security resources of one account: KMS keys, access-log bucket, flow-log group."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from blueprint.plan import Placement
from genai_constructs import AccessLogBucket, PlatformKey

RETENTION = {
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
}


class SecurityStack(Stack):
    """Keys and log stores that every other stack of the account encrypts or logs with.

    Stateful: retained on deletion where the placement says so, logical IDs pinned by tests.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, placement: Placement, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if placement.retain_stateful else RemovalPolicy.DESTROY
        self.removal_policy = removal

        self.data_key = PlatformKey(
            self,
            "DataKey",
            description=f"Data at rest of {placement.key}: S3, Glue, Bedrock, SageMaker",
            removal_policy=removal,
        ).key
        self.logs_key = PlatformKey(
            self,
            "LogsKey",
            description=f"CloudWatch log groups of {placement.key}",
            removal_policy=removal,
            allow_cloudwatch_logs=True,
        ).key
        self.access_log_bucket = AccessLogBucket(self, "AccessLogs", removal_policy=removal).bucket
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=self.logs_key,
            retention=RETENTION[placement.log_retention_days],
            removal_policy=removal,
        )
