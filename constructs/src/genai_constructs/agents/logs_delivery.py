"""What AgentCore logs about a resource of the platform (a gateway's tool calls, a memory's
operations), delivered to a log group of the LOB under its logs key."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.naming import short_name

# CloudWatch Logs' longest delivery source and destination name.
DELIVERY_NAME_LENGTH = 60


class AgentCoreLogs(Construct):
    """The ``APPLICATION_LOGS`` of the AgentCore resource ``resource_arn`` in a log group of
    their own, ``/aws/vendedlogs/bedrock-agentcore/<name>``, encrypted and kept as given.

    :param name: what the logs are of (the delivery's source and destination take it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        resource_arn: str,
        encryption_key: kms.IKey,
        retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/vendedlogs/bedrock-agentcore/{name}",
            encryption_key=encryption_key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        delivery_name = short_name(name.replace("/", "-"), DELIVERY_NAME_LENGTH)
        source = logs.CfnDeliverySource(
            self,
            "Source",
            name=delivery_name,
            resource_arn=resource_arn,
            log_type="APPLICATION_LOGS",
        )
        destination = logs.CfnDeliveryDestination(
            self,
            "Destination",
            name=delivery_name,
            destination_resource_arn=self.log_group.log_group_arn,
        )
        delivery = logs.CfnDelivery(
            self,
            "Delivery",
            delivery_source_name=delivery_name,
            delivery_destination_arn=destination.attr_arn,
        )
        delivery.add_dependency(source)
