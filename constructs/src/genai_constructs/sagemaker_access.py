"""Permissions every SageMaker job or endpoint role needs to run in a VPC from ECR images."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from genai_constructs.naming import ImageRepository

# Describing the VPC and fetching the ECR token have no resource-level permissions.
DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ecr:GetAuthorizationToken",
)
# The job's network interfaces, in this account and region only.
INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
# SageMaker's own metric namespaces (PutMetricData has no resources, only this condition).
METRIC_NAMESPACES = ("/aws/sagemaker/*", "AWS/SageMaker")


def repository_arn(stack: Stack, image_uri: str) -> str:
    """The ECR repository of an image URI (account.dkr.ecr.region.../repo, then :tag or
    @sha256:digest)."""
    repository = ImageRepository.of(image_uri)
    return (
        f"arn:{stack.partition}:ecr:{stack.region}:{repository.account}:repository/"
        f"{repository.name}"
    )


def runtime_statements(stack: Stack, image_uris: Sequence[str]) -> list[iam.PolicyStatement]:
    """What a role that SageMaker runs a job or endpoint as needs: VPC networking in this
    account and region, SageMaker's metrics, logs under /aws/sagemaker/, and pulls of
    ``image_uris`` only."""
    return [
        iam.PolicyStatement(sid="DescribeTheVpc", actions=list(DESCRIBE_ACTIONS), resources=["*"]),
        iam.PolicyStatement(
            sid="JobNetworkInterfaces",
            actions=list(INTERFACE_ACTIONS),
            resources=[f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:*"],
        ),
        iam.PolicyStatement(
            sid="SageMakerMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": list(METRIC_NAMESPACES)}},
        ),
        iam.PolicyStatement(
            sid="PullTheImages",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=sorted({repository_arn(stack, uri) for uri in image_uris}),
        ),
        iam.PolicyStatement(
            sid="SageMakerLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=[
                f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:"
                "log-group:/aws/sagemaker/*"
            ],
        ),
    ]


def grant_sagemaker_runtime(role: iam.IRole, stack: Stack, image_uris: Sequence[str]) -> None:
    """``runtime_statements`` added to ``role``'s own policy."""
    for statement in runtime_statements(stack, image_uris):
        role.add_to_principal_policy(statement)
