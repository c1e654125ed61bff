"""Stateful security resources of one account: KMS keys, log stores, invocation-log stores."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model.assets import AssetKind
from blueprint.model.inputs.security import SecurityInputs
from genai_constructs import AccessLogBucket, GovernedBucket, PlatformKey
from genai_constructs.retention import log_retention
from stacks.assets import mark

INVOCATION_LOG_PREFIX = "invocations/"


class SecurityStack(Stack):
    """Keys and log stores that every other stack of the account encrypts or logs with.

    Stateful: retained on deletion where the inputs say so, logical IDs pinned by tests.
    LOB environments also get the stores of Bedrock model invocation logs, owned by the LOB.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, inputs: SecurityInputs, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = RemovalPolicy.RETAIN if inputs.retain else RemovalPolicy.DESTROY
        self.removal_policy = removal
        self.retention = log_retention(inputs.log_retention_days)

        self.data_key = PlatformKey(
            self,
            "DataKey",
            description=f"Data at rest of {inputs.label}: S3, Glue, Bedrock, SageMaker",
            removal_policy=removal,
            service_principals=["bedrock.amazonaws.com", "indexing.s3vectors.amazonaws.com"],
            s3_reader_arns=inputs.s3_reader_arns,
        ).key
        self.logs_key = PlatformKey(
            self,
            "LogsKey",
            description=f"Logs and alarm notifications of {inputs.label}",
            removal_policy=removal,
            allow_cloudwatch_logs=True,
            service_principals=[
                "bedrock.amazonaws.com",
                *(["events.amazonaws.com"] if inputs.event_delivery else []),
            ],
            allow_alarm_notifications=True,
        ).key
        self.access_log_bucket = AccessLogBucket(self, "AccessLogs", removal_policy=removal).bucket
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=self.logs_key,
            retention=self.retention,
            removal_policy=removal,
        )
        mark(self.data_key, AssetKind.KEY, "data")
        mark(self.logs_key, AssetKind.KEY, "logs")
        mark(self.access_log_bucket, AssetKind.ACCESS_LOGS, "bucket")
        mark(self.flow_log_group, AssetKind.FLOW_LOGS, "log-group")
        self.invocation_log_group: logs.LogGroup | None = None
        if inputs.invocation_log_stores:
            self._add_invocation_log_stores(
                inputs.noncurrent_version_days, inputs.invocation_log_group_name
            )

    @property
    def invocation_stores(self) -> tuple[logs.LogGroup, s3.IBucket]:
        """The invocation log group and archive (LOB environments only)."""
        if self.invocation_log_group is None:
            raise ValueError(f"{self.stack_name} keeps no model invocation logs")
        return self.invocation_log_group, self.invocation_log_bucket

    def _add_invocation_log_stores(
        self, noncurrent_version_days: int, log_group_name: str | None
    ) -> None:
        """Where Bedrock writes this account's model invocation logs; read by the LOB only."""
        self.invocation_log_group = log_group = logs.LogGroup(
            self,
            "ModelInvocationLogs",
            log_group_name=log_group_name,
            encryption_key=self.logs_key,
            retention=self.retention,
            removal_policy=self.removal_policy,
        )
        mark(log_group, AssetKind.INVOCATION_LOGS, "log-group")
        self.invocation_log_bucket = GovernedBucket(
            self,
            "ModelInvocationArchive",
            encryption_key=self.logs_key,
            access_log_bucket=self.access_log_bucket,
            access_log_prefix="model-invocations/",
            removal_policy=self.removal_policy,
            noncurrent_version_days=noncurrent_version_days,
        ).bucket
        mark(self.invocation_log_bucket, AssetKind.ZONE, "invocation-logs")
        self.invocation_log_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.invocation_log_bucket.arn_for_objects(f"{INVOCATION_LOG_PREFIX}*")],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{self.partition}:bedrock:{self.region}:{self.account}:*"
                        )
                    },
                },
            )
        )
