"""The interface endpoint types of the platform, one record each.

The organization file's ``extra_endpoints`` accepts their names, the plan gives Studio's VPC
the ones its notebooks call, and ``PrivateNetwork`` builds them (``network.endpoint_services``):
a new type is one record here. No CDK import, so the organization file's checks read it
without starting node.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointType:
    """An interface endpoint the platform may put in a VPC.

    :param name: how the organization file, the plan and the stacks name it.
    :param cdk_service: its constant on ``aws_ec2.InterfaceVpcEndpointAwsService``.
    :param studio: whether Studio's notebooks (VPC-only mode) call it, so that every VPC with
        Studio gets it (each endpoint is paid for by the hour in every zone, used or not).
    """

    name: str
    cdk_service: str
    studio: bool


ENDPOINT_TYPES: tuple[EndpointType, ...] = (
    EndpointType("Bedrock", "BEDROCK", studio=True),
    EndpointType("BedrockRuntime", "BEDROCK_RUNTIME", studio=True),
    EndpointType("BedrockAgentRuntime", "BEDROCK_AGENT_RUNTIME", studio=True),
    EndpointType("SageMakerApi", "SAGEMAKER_API", studio=True),
    EndpointType("SageMakerRuntime", "SAGEMAKER_RUNTIME", studio=True),
    EndpointType("Sts", "STS", studio=True),
    EndpointType("Logs", "CLOUDWATCH_LOGS", studio=True),
    EndpointType("Kms", "KMS", studio=True),
    EndpointType("EcrApi", "ECR", studio=True),
    EndpointType("EcrDocker", "ECR_DOCKER", studio=True),
    # Agents call their memory (AgentCore's data plane) and their tools' gateway.
    EndpointType("BedrockAgentCore", "BEDROCK_AGENTCORE", studio=False),
    EndpointType("BedrockAgentCoreGateway", "BEDROCK_AGENTCORE_GATEWAY", studio=False),
    # MLflow's tracking server is reached through it: planned with the server, not Studio.
    EndpointType("SageMakerExperiments", "SAGEMAKER_EXPERIMENTS", studio=False),
)


def endpoint_names() -> tuple[str, ...]:
    """Every type's name, in the order VPCs list their endpoints."""
    return tuple(endpoint.name for endpoint in ENDPOINT_TYPES)


def studio_endpoints() -> tuple[str, ...]:
    """The types Studio's notebooks call."""
    return tuple(endpoint.name for endpoint in ENDPOINT_TYPES if endpoint.studio)


def endpoint_type(name: str) -> EndpointType:
    """The type called ``name``; a ``KeyError`` naming the known ones otherwise."""
    for endpoint in ENDPOINT_TYPES:
        if endpoint.name == name:
            return endpoint
    raise KeyError(
        f"'{name}' is not an interface endpoint type; allowed: {', '.join(endpoint_names())}"
    )
