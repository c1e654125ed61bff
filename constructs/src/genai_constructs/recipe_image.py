"""The fine-tuning recipe's image: an ECR repository of the LOB and the build that fills it."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from genai_constructs import acknowledge
from genai_constructs.compliance import (
    acknowledge_role_policy,
    acknowledge_scoped_policy,
)
from genai_constructs.fine_tuning.jobs import training_image_uri
from genai_constructs.grants import grant
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import repository_arn
from genai_constructs.state_machines import logged_state_machine

RECIPE = Path(__file__).with_name("training")
# What the image is built from: the Dockerfile and the packages it installs.
BUILD_FILES = ("Dockerfile", "requirements.txt")
REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
UNTAGGED_DAYS = 7
BUILD_SPEC = {
    "version": "0.2",
    "phases": {
        "pre_build": {
            "commands": [
                "aws ecr get-login-password | docker login --username AWS "
                '--password-stdin "${BASE_IMAGE%%/*}"',
                "aws ecr get-login-password | docker login --username AWS "
                '--password-stdin "${REPOSITORY_URI%%/*}"',
            ]
        },
        "build": {
            "commands": [
                'TAG="build-${CODEBUILD_BUILD_NUMBER}"',
                'docker build --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$REPOSITORY_URI:$TAG" .',
                'docker push "$REPOSITORY_URI:$TAG"',
            ]
        },
        "post_build": {
            "commands": [
                'DIGEST=$(aws ecr describe-images --repository-name "$REPOSITORY_NAME" '
                '--image-ids imageTag="$TAG" --query "imageDetails[0].imageDigest" '
                "--output text)",
                'aws ssm put-parameter --name "$PARAMETER" --type String --overwrite '
                '--value "$REPOSITORY_URI@$DIGEST"',
                'echo "recipe image: $REPOSITORY_URI@$DIGEST"',
            ]
        },
    },
}


class RecipeImage(Construct):
    """An ECR repository for the fine-tuning recipe's image (immutable tags, scanned on push,
    encrypted with the key) and a CodeBuild project that builds it from
    ``genai_constructs/training/Dockerfile`` on the SageMaker Hugging Face training image and
    publishes the pushed image's URI by digest in the SSM parameter ``parameter_name``.

    People start a build through the state machine ``<repository name>-build`` only: its
    definition starts the project with no overrides, so what a build runs is what the
    template holds (a person allowed ``codebuild:StartBuild`` could override the buildspec
    and act with the project's role).

    :param repository_name: the repository's name.
    :param parameter_name: the SSM parameter that holds the last image built, by digest (what
        ``ml.fine_tuning[].recipe_image`` names).
    :param training_instance: default ``ml.g5.2xlarge``; the GPU instance the base image is
        resolved for.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        parameter_name: str,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        training_instance: str = "ml.g5.2xlarge",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(repository_name) and not REPOSITORY_NAME.match(repository_name):
            raise ValueError(f"RecipeImage: '{repository_name}' is not an ECR repository name")
        stack = Stack.of(self)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
            # Untagged layers of interrupted pushes only: every build's image is tagged, and a
            # pinned digest must never expire.
            lifecycle_rules=[
                ecr.LifecycleRule(
                    tag_status=ecr.TagStatus.UNTAGGED, max_image_age=Duration.days(UNTAGGED_DAYS)
                )
            ],
        )
        self.parameter = ssm.StringParameter(
            self,
            "Uri",
            parameter_name=parameter_name,
            string_value="not built yet",
            description="The fine-tuning recipe image last built, by digest",
        )
        base_image = training_image_uri(stack.region, training_instance)
        source = s3_assets.Asset(self, "Source", path=str(RECIPE), exclude=["*.py", "__pycache__"])
        self.project = codebuild.Project(
            self,
            "Build",
            role=iam.Role(
                self,
                "BuildRole",
                description=f"Builds the recipe image into {repository_name}",
                assumed_by=own_account_service(self, "codebuild.amazonaws.com"),
            ),
            description=f"Builds the fine-tuning recipe image into {repository_name}",
            source=codebuild.Source.s3(bucket=source.bucket, path=source.s3_object_key),
            build_spec=codebuild.BuildSpec.from_object(BUILD_SPEC),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.MEDIUM,
                privileged=True,
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in {
                    "BASE_IMAGE": base_image,
                    "REPOSITORY_URI": self.repository.repository_uri,
                    "REPOSITORY_NAME": self.repository.repository_name,
                    "PARAMETER": parameter_name,
                }.items()
            },
            encryption_key=encryption_key,
            timeout=Duration.hours(2),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(
                    log_group=logs.LogGroup(
                        self,
                        "BuildLogs",
                        encryption_key=encryption_key,
                        retention=log_retention,
                        removal_policy=RemovalPolicy.RETAIN,
                    )
                )
            ),
        )
        role = self.project.role
        assert role is not None
        self.repository.grant_pull_push(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PullTheBaseImage",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[repository_arn(stack, base_image)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheImageDigest",
                actions=["ecr:DescribeImages"],
                resources=[self.repository.repository_arn],
            )
        )
        self.parameter.grant_write(role)
        self.build_role = role
        acknowledge_scoped_policy(
            role,
            f"building {repository_name}: its source asset, pushes to its repository, the "
            "base image's pulls, its logs and report groups, its image parameter",
        )
        acknowledge(
            self.project,
            [
                "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
                "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
            ],
            "The source is an S3 asset of the platform's own recipe directory: no GitHub or "
            "Bitbucket repository and no credentials.",
        )

        self.state_machine = self._starter(repository_name, encryption_key, log_retention)

    def _starter(self, name: str, key: kms.IKey, retention: logs.RetentionDays) -> sfn.StateMachine:
        # Started, not awaited: the build publishes its image's URI when it is done. (CDK's
        # awaiting task also grants report reads on the project, an ARN they do not take.)
        build = tasks.CallAwsService(
            self,
            "StartBuild",
            service="codebuild",
            action="startBuild",
            parameters={"ProjectName": self.project.project_name},
            iam_resources=[self.project.project_arn],
            iam_action="codebuild:StartBuild",
        )
        machine = logged_state_machine(
            self,
            "Starter",
            name=f"{name}-build"[:80],
            definition=build,
            timeout=Duration.minutes(5),
            encryption_key=key,
            log_retention=retention,
            log_group_id="StarterLogs",
            steps="One build started",
        )
        acknowledge_role_policy(
            machine.role,
            "start this recipe's image build, deliver its logs",
            ["Resource::*"],
        )
        return machine

    def grant_build(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start a build (an execution of the starter state machine)."""
        return grant(
            grantee=grantee,
            actions=["states:StartExecution"],
            resource_arns=[self.state_machine.state_machine_arn],
        )
