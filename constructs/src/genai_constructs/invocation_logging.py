"""Bedrock model invocation logging for an account and region, with alarms on the logs.

CloudFormation has no resource for the logging configuration, so a small Lambda function
(``handlers/invocation_logging/index.py``) calls PutModelInvocationLoggingConfiguration on
create and update and DeleteModelInvocationLoggingConfiguration on delete.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.compliance import acknowledge_role_policy
from genai_constructs.function import PlatformFunction
from genai_constructs.naming import GOVERNANCE_CONFIGURATOR_TAG
from genai_constructs.validation import check_at_least

CONFIGURATOR_OUTSIDE_VPC = (
    "A custom resource that runs at deployment only and calls Bedrock's control plane (the "
    "logging configuration) and nothing else: in a VPC it would need a Bedrock interface "
    "endpoint, paid for by the hour in every zone, for this call alone. It reads and writes "
    "no data."
)
# Terms Bedrock writes when a guardrail intervenes (InvokeModel and Converse responses).
INTERVENTION_PATTERN = '?"INTERVENED" ?"guardrail_intervened"'


class ModelInvocationLogging(Construct):
    """Invocation logs to the LOB's own log group and bucket; alarms on what they show.

    Text, image and embedding data delivery are on. Metric filters count guardrail
    interventions and prompts longer than ``max_input_tokens``; alarms notify an encrypted
    SNS topic.

    :param log_group: KMS-encrypted log group receiving the invocation records.
    :param bucket: bucket receiving the records and large payloads; its policy must let
        ``bedrock.amazonaws.com`` of this account write under ``key_prefix``.
    :param encryption_key: key for the alarm topic, the dead-letter queue and the function's
        own logs; CloudWatch must be allowed to use it.
    :param vpc: default none: the configuring function runs outside a VPC (it calls Bedrock's
        control plane at deployment only, and a VPC would need a Bedrock endpoint for it); a
        VPC puts it in its isolated subnets, which then need that endpoint.
    :param key_prefix: default ``invocations/``.
    :param max_input_tokens: default 8000; longer prompts raise the oversized-prompt alarm.
    :param interventions_per_5_minutes: default 10; threshold of the intervention alarm.
    :param function_log_retention: default one year.
    :param metric_namespace: default ``GenAIPlatform/<stack name>``; namespace of the metrics
        the log filters publish (dashboards elsewhere read them by this name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc | None = None,
        key_prefix: str = "invocations/",
        max_input_tokens: int = 8000,
        interventions_per_5_minutes: int = 10,
        function_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        metric_namespace: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        owner = "ModelInvocationLogging"
        check_at_least(owner, "max_input_tokens", max_input_tokens, 1)
        check_at_least(owner, "interventions_per_5_minutes", interventions_per_5_minutes, 1)
        stack = Stack.of(self)

        # Delivery: the role Bedrock assumes to write the records.
        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            description="Assumed by Bedrock to write invocation logs to CloudWatch Logs",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"
                        )
                    },
                },
            ),
        )
        log_group.grant_write(self.delivery_role)
        acknowledge_role_policy(self.delivery_role, "write to the invocation log group only", [])

        # Configuration: a function behind a custom resource (no CloudFormation type exists).
        self.function = self._configuring_function(encryption_key, vpc, function_log_retention)
        self.configuration = CustomResource(
            self,
            "Configuration",
            service_token=self.function.function_arn,
            resource_type="Custom::BedrockModelInvocationLogging",
            # Logging stays on when the resource leaves a template (or its stack is deleted):
            # turning it off is never a side effect of a deployment.
            removal_policy=RemovalPolicy.RETAIN,
            properties={
                "LogGroupName": log_group.log_group_name,
                "RoleArn": self.delivery_role.role_arn,
                "BucketName": bucket.bucket_name,
                "KeyPrefix": key_prefix,
                "TextDelivery": "true",
                "ImageDelivery": "true",
                "EmbeddingDelivery": "true",
            },
        )
        # Bedrock checks that it may write with the delivery role when logging is configured.
        self.configuration.node.add_dependency(self.delivery_role.node.find_child("DefaultPolicy"))

        # Oversight: alarms on what the records show.
        self.alarm_topic = sns.Topic(
            self,
            "Alarms",
            master_key=encryption_key,
            enforce_ssl=True,
            display_name="GenAI invocation alarms",
        )
        namespace = metric_namespace or f"GenAIPlatform/{stack.stack_name}"
        self.intervention_alarm = self._alarm(
            log_group,
            "GuardrailInterventions",
            logs.FilterPattern.literal(INTERVENTION_PATTERN),
            namespace,
            threshold=interventions_per_5_minutes,
            description="Guardrail interventions in model invocations",
        )
        self.oversized_prompt_alarm = self._alarm(
            log_group,
            "OversizedPrompts",
            logs.FilterPattern.number_value("$.input.inputTokenCount", ">", max_input_tokens),
            namespace,
            threshold=1,
            description=f"Prompts longer than {max_input_tokens} input tokens (possible abuse)",
        )

    def _configuring_function(
        self, encryption_key: kms.IKey, vpc: ec2.IVpc | None, log_retention: logs.RetentionDays
    ) -> PlatformFunction:
        """The custom resource's function: in the VPC, encrypted logs, a dead-letter queue."""
        function = PlatformFunction(
            self,
            "Configurator",
            description="Configures Bedrock model invocation logging (custom resource)",
            handler="invocation_logging.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            outside_vpc=None if vpc is not None else CONFIGURATOR_OUTSIDE_VPC,
            log_retention=log_retention,
        )
        self.dead_letters = function.dead_letters
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "bedrock:PutModelInvocationLoggingConfiguration",
                    "bedrock:DeleteModelInvocationLoggingConfiguration",
                    "bedrock:GetModelInvocationLoggingConfiguration",
                ],
                resources=["*"],
            )
        )
        self.delivery_role.grant_pass_role(function.role)
        # The one role under the boundary that may configure invocation logging; its function
        # carries the tag too, so no other role may invoke or change it.
        Tags.of(function).add(*GOVERNANCE_CONFIGURATOR_TAG)
        function.acknowledge_policy(
            "configure invocation logging (no resource-level permissions exist for it), pass "
            "the delivery role, and send to the dead-letter queue",
            ["Resource::*"],
        )
        return function

    def _alarm(
        self,
        log_group: logs.ILogGroup,
        name: str,
        pattern: logs.IFilterPattern,
        namespace: str,
        *,
        threshold: int,
        description: str,
    ) -> cloudwatch.Alarm:
        metric_filter = logs.MetricFilter(
            self,
            f"{name}Filter",
            log_group=log_group,
            filter_pattern=pattern,
            metric_namespace=namespace,
            metric_name=name,
            metric_value="1",
            default_value=0,
        )
        return announced_alarm(
            self,
            f"{name}Alarm",
            description=description,
            metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(5)),
            topic=self.alarm_topic,
            threshold=threshold,
        )
