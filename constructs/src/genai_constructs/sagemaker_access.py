"""Permissions every SageMaker job or endpoint role needs to run in a VPC from ECR images."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

# Network interfaces in the VPC, the ECR token and metrics have no resource-level permissions.
RUNTIME_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
)


def repository_arn(stack: Stack, image_uri: str) -> str:
    """The ECR repository of an SDK-resolved image URI (account.dkr.ecr.region.../repo:tag)."""
    registry, path = image_uri.split("/", 1)
    return (
        f"arn:{stack.partition}:ecr:{stack.region}:{registry.split('.')[0]}:"
        f"repository/{path.split(':')[0]}"
    )


def grant_sagemaker_runtime(role: iam.IRole, stack: Stack, image_uris: Sequence[str]) -> None:
    """VPC networking, metrics, logs under /aws/sagemaker/, and pulls of ``image_uris`` only."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="VpcNetworkingAndMetrics", actions=list(RUNTIME_ACTIONS), resources=["*"]
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="PullTheImages",
            actions=[
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=sorted({repository_arn(stack, uri) for uri in image_uris}),
        )
    )
    role.add_to_principal_policy(
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
        )
    )
