"""Narrow cdk-nag acknowledgments for resources CDK Pipelines creates and exposes no setting for."""

from __future__ import annotations

from aws_cdk import Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from genai_constructs import acknowledge
from genai_constructs.compliance import acknowledge_wildcards, ignore_cfn_lint, in_every_framework


def acknowledge_pipeline(stack: Stack, pipeline: pipelines.CodePipeline) -> None:
    """Acknowledge, resource by resource, what the CDK Pipelines constructs generate."""
    ignore_cfn_lint(
        pipeline.pipeline.node.default_child,
        ["E3703", "W3005"],
        "CDK Pipelines renders deploy-role ARNs with Fn::Join and a DependsOn beside the role "
        "GetAtt; the pipeline definition is CDK's own and deploys as generated.",
    )
    support = [region.stack for region in pipeline.pipeline.cross_region_support.values()]
    for scope in (stack, *support):
        for construct in scope.node.find_all():
            if isinstance(construct, s3.CfnBucket):
                _bucket(construct)
            elif isinstance(construct, iam.CfnPolicy):
                _policy(construct)
            elif isinstance(construct, codebuild.CfnProject):
                acknowledge(
                    construct,
                    [
                        "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
                        "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
                    ],
                    "The project's source is the CodePipeline artifact (type CODEPIPELINE); the "
                    "repository is reached through a CodeConnections connection, no token.",
                )


def _bucket(bucket: s3.CfnBucket) -> None:
    acknowledge(
        bucket,
        ["AwsSolutions-S1", *in_every_framework("S3BucketLoggingEnabled")],
        "CDK Pipelines artifact store: transient, KMS-encrypted build artifacts, TLS only, "
        "read by the pipeline roles alone; every access is in the organization's CloudTrail.",
    )
    acknowledge(
        bucket,
        [
            *in_every_framework("S3BucketReplicationEnabled"),
            *in_every_framework("S3BucketVersioningEnabled"),
        ],
        "CDK Pipelines artifact store: each run rebuilds its artifacts from the repository, "
        "which is the versioned, replicated source of truth; copies would add no recovery.",
    )


def _policy(policy: iam.CfnPolicy) -> None:
    acknowledge(
        policy,
        in_every_framework("IAMNoInlinePolicy"),
        "Default policy that CDK Pipelines generates for its own role; it is scoped to the "
        "pipeline's bucket, key, projects and CDK bootstrap roles and is not reused.",
    )
    acknowledge_wildcards(
        policy,
        "CDK Pipelines grants: artifact-bucket object prefixes, KMS data-key variants, "
        "CodeBuild log streams and report groups, CDK bootstrap roles selected by their tag.",
    )
