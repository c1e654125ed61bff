"""The fine-tuning pipeline construct: the SageMaker pipeline of the recipe's definition,
its role and code, its model package group, the approval events, the model card and the
optional retraining schedule."""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sm
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.compliance import acknowledge_scoped_policy
from genai_constructs.fine_tuning.definition import (
    ARTIFACTS,
    CODE,
    CURATED_DATA,
    KEY,
    RECORD_EVALUATION,
    ROLE,
    SECURITY_GROUP,
    SUBNET,
    TRAINING_DATA,
    pipeline_definition,
)
from genai_constructs.fine_tuning.jobs import (
    EVALUATION_INSTANCE,
    preparation_image_uri,
    training_image_uri,
)
from genai_constructs.fine_tuning.model_card import model_card
from genai_constructs.fine_tuning.spec import FineTuningSpec
from genai_constructs.function import PlatformFunction
from genai_constructs.grants import grant
from genai_constructs.naming import NOTIFIER_TAG, pascal, pipeline_runs_prefix
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import grant_sagemaker_runtime
from genai_constructs.sagemaker_sdk import image_uri
from genai_constructs.training import RECIPE
from genai_constructs.validation import EVENT_BUS, IAM_ROLE, arn_account, check_arn, check_arns

PINNED_IMAGE = re.compile(r"@sha256:[0-9a-f]{64}$")
# EventBridge schedules: rate(N minutes|hours|days) or cron with six fields.
SCHEDULE = re.compile(r"^(rate\(\d+ (minutes?|hours?|days?)\)|cron\((\S+ ){5}\S+\))$")

CODE_FILES = (
    "prepare_data.py",
    "lora_finetune.py",
    "merge_adapter.py",
    "evaluate.py",
    "requirements.txt",
)


def source_archive(directory: Path, files: Sequence[str]) -> Path:
    """A reproducible ``sourcedir.tar.gz`` of ``files`` (same bytes for the same content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = (directory / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    import gzip

    target = Path(tempfile.mkdtemp(prefix="sourcedir-")) / "sourcedir.tar.gz"
    with gzip.GzipFile(target, "wb", mtime=0) as compressed:
        compressed.write(buffer.getvalue())
    return target


class FineTuningPipeline(Construct):
    """A SageMaker pipeline, its model package group, approval events and model card.

    The pipeline runs its jobs in the VPC with network isolation, volumes and outputs
    encrypted with ``encryption_key`` and a maximum runtime: data preparation, LoRA training
    (every GPU of the instance, managed spot, resumed from the run's checkpoints), the merge of
    the adapter into the base weights, the evaluation of the merged model (with the spec's
    ``bias_probes_prefix``, also on a counterfactual probe set from ``curated_bucket``), and,
    when ROUGE-L reaches the threshold and the largest ROUGE-L gap between groups stays within
    ``max_bias_gap``, the registration of the merged weights (PendingManualApproval, with the
    evaluation as model metrics and the bias report as bias metrics) and a function that
    writes both into the model card. ``release_role_arns`` (the roles that release the model
    in other accounts) may read the group's packages, nobody else there; an EventBridge rule
    announces each approval on an encrypted SNS topic and, with ``release_event_bus_arn``,
    forwards it there.

    :param spec: the pipeline.
    :param vpc: the jobs' and the function's VPC. :param vpc_subnets: isolated subnets for
        the jobs.
    :param security_group: security group for the jobs.
    :param encryption_key: the LOB data key.
    :param log_retention: how long the function's logs are kept.
    :param training_bucket: the training zone (read).
    :param artifacts_bucket: the artifacts zone (base weights read, runs written).
    :param curated_bucket: default none; the curated zone, read under the spec's
        ``bias_probes_prefix`` (required with it).
    :param release_role_arns: default none; roles of other accounts allowed to read the
        group's packages (the prod release roles).
    :param release_event_bus_arn: default none; the event bus approvals are forwarded to.
    :param retrain_schedule: default none; an EventBridge schedule expression that starts
        the pipeline.
    :param workload_tag: principal tag that makes the pipeline role a writer of LOB data.
    :param code_dir: default the recipe shipped in ``genai_constructs.training``; a directory
        with the files of ``CODE_FILES``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FineTuningSpec,
        vpc: ec2.IVpc,
        vpc_subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        training_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        curated_bucket: s3.IBucket | None = None,
        release_role_arns: Sequence[str] = (),
        release_event_bus_arn: str | None = None,
        retrain_schedule: str | None = None,
        workload_tag: tuple[str, str] | None = None,
        code_dir: Path = RECIPE,
    ) -> None:
        super().__init__(scope, construct_id)
        check_arns("FineTuningPipeline", "release_role_arns", release_role_arns, IAM_ROLE)
        if release_event_bus_arn is not None:
            check_arn(
                "FineTuningPipeline", "release_event_bus_arn", release_event_bus_arn, EVENT_BUS
            )
        missing = [f for f in CODE_FILES if not (code_dir / f).is_file()]
        if missing:
            raise ValueError(f"FineTuningPipeline: {code_dir} lacks {', '.join(missing)}")
        if not vpc_subnets:
            raise ValueError("FineTuningPipeline: vpc_subnets must name at least one subnet")
        if (
            retrain_schedule
            and not Token.is_unresolved(retrain_schedule)
            and not SCHEDULE.match(retrain_schedule)
        ):
            raise ValueError(
                f"FineTuningPipeline: retrain_schedule '{retrain_schedule}' is not an EventBridge "
                "schedule; allowed: rate(N days) or cron(minutes hours day month weekday year), "
                "e.g. cron(0 3 ? * MON *)"
            )
        image = spec.recipe_image
        if image and not Token.is_unresolved(image) and not PINNED_IMAGE.search(image):
            raise ValueError(
                f"FineTuningPipeline: recipe_image '{image}' is not pinned by digest; allowed: "
                "REPOSITORY_URI@sha256:<64 hex digits> (whoever may push a tag could change "
                "what the pipeline runs as its role)"
            )
        if spec.bias_probes_prefix and curated_bucket is None:
            raise ValueError(
                f"FineTuningPipeline {spec.name}: bias_probes_prefix needs curated_bucket, the "
                "zone the probe set is read from"
            )
        stack = Stack.of(self)

        self.role = iam.Role(
            self,
            "ExecutionRole",
            description=f"Runs the {spec.name} fine-tuning pipeline and its jobs",
            assumed_by=own_account_service(self, "sagemaker.amazonaws.com"),
        )
        if workload_tag:
            Tags.of(self.role).add(*workload_tag)
        code = {
            name: s3_assets.Asset(self, pascal(name), path=str(code_dir / name))
            for name in ("prepare_data.py", "merge_adapter.py", "evaluate.py")
        }
        code["sourcedir.tar.gz"] = s3_assets.Asset(
            self,
            "SourceDir",
            path=str(source_archive(code_dir, ["lora_finetune.py", "requirements.txt"])),
        )
        for asset in code.values():
            asset.grant_read(self.role)
        runs = pipeline_runs_prefix(spec.name)
        training_bucket.grant_read(self.role, f"{spec.dataset_prefix}*")
        artifacts_bucket.grant_read(self.role, f"{spec.base_model_prefix}*")
        artifacts_bucket.grant_read_write(self.role, f"{runs}*")
        if spec.bias_probes_prefix and curated_bucket is not None:
            curated_bucket.grant_read(self.role, f"{spec.bias_probes_prefix}*")
        encryption_key.grant_encrypt_decrypt(self.role)
        self._grant_job_permissions(stack, spec)

        self.record_evaluation = PlatformFunction(
            self,
            "RecordEvaluation",
            description=f"Writes the {spec.name} evaluation into its model card and package",
            handler="model_card.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
        )
        self._grant_record_evaluation(stack, spec, artifacts_bucket, encryption_key, runs)
        self.record_evaluation.function.grant_invoke(self.role)

        definition = pipeline_definition(spec, region=stack.region, subnet_count=len(vpc_subnets))
        replacements = {
            ROLE: self.role.role_arn,
            KEY: encryption_key.key_arn,
            SECURITY_GROUP: security_group.security_group_id,
            TRAINING_DATA: f"s3://{training_bucket.bucket_name}",
            ARTIFACTS: f"s3://{artifacts_bucket.bucket_name}",
            **({CURATED_DATA: f"s3://{curated_bucket.bucket_name}"} if curated_bucket else {}),
            RECORD_EVALUATION: self.record_evaluation.function_arn,
            **{SUBNET.format(i): subnet.subnet_id for i, subnet in enumerate(vpc_subnets)},
        }
        for name, asset in code.items():
            definition = definition.replace(f"{CODE}/{name}", asset.s3_object_url)
        for placeholder, value in replacements.items():
            definition = definition.replace(placeholder, value)
        self.pipeline = sm.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=spec.name,
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": definition},
        )
        # SageMaker checks the role's permissions when the pipeline is created.
        self.pipeline.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        self.pipeline_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:pipeline/{spec.name}"
        )

        self.model_package_group = sm.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=spec.name,
            model_package_group_description=f"Merged LoRA fine-tunes of {spec.name}",
            model_package_group_policy=(
                _release_policy(stack, spec.name, release_role_arns) if release_role_arns else None
            ),
        )
        self.approvals = sns.Topic(
            self,
            "Approvals",
            master_key=encryption_key,
            enforce_ssl=True,
            display_name=f"{spec.name} model approvals",
        )
        self.approval_publisher = iam.Role(
            self,
            "ApprovalPublisher",
            description=f"EventBridge: announces {spec.name} approvals and forwards them",
            assumed_by=own_account_service(self, "events.amazonaws.com"),
        )
        # The account's boundary lets only roles so tagged publish to its topics.
        Tags.of(self.approval_publisher).add(*NOTIFIER_TAG)
        self.approval_rule = events.Rule(
            self,
            "ApprovalRule",
            description=f"A {spec.name} model package was approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": [spec.name],
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
            targets=[
                targets.SnsTopic(
                    self.approvals, authorize_using_role=True, role=self.approval_publisher
                )
            ],
        )
        if release_event_bus_arn:
            self.approval_rule.add_target(
                targets.EventBus(
                    events.EventBus.from_event_bus_arn(self, "ReleaseBus", release_event_bus_arn),
                    role=self.approval_publisher,
                )
            )
        if retrain_schedule:
            self._retrain(spec, retrain_schedule)
        self.model_card = model_card(self, spec, encryption_key)
        for role, what in (
            (self.role, f"the {spec.name} pipeline's own data, code, jobs and registry"),
            (self.approval_publisher, f"publishing the {spec.name} approvals topic"),
            (
                self.record_evaluation.role,
                f"recording the {spec.name} evaluation in its model card and packages",
            ),
        ):
            acknowledge_scoped_policy(role, what)

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start, stop and retry runs of the pipeline."""
        return grant(
            grantee=grantee,
            actions=[
                "sagemaker:StartPipelineExecution",
                "sagemaker:StopPipelineExecution",
                "sagemaker:RetryPipelineExecution",
            ],
            resource_arns=[self.pipeline_arn],
        )

    def _retrain(self, spec: FineTuningSpec, schedule: str) -> None:
        """Starts the pipeline on ``schedule``: it retrains on the training zone as it is."""
        self.retrain_starter = iam.Role(
            self,
            "RetrainStarter",
            description=f"EventBridge: starts the {spec.name} pipeline on its schedule",
            assumed_by=own_account_service(self, "events.amazonaws.com"),
        )
        self.retrain_starter.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:StartPipelineExecution"], resources=[self.pipeline_arn]
            )
        )
        self.retrain_rule = events.CfnRule(
            self,
            "RetrainRule",
            description=f"Retrains {spec.name} on the training zone",
            schedule_expression=schedule,
            targets=[
                events.CfnRule.TargetProperty(
                    id="pipeline",
                    arn=self.pipeline_arn,
                    role_arn=self.retrain_starter.role_arn,
                    sage_maker_pipeline_parameters=events.CfnRule.SageMakerPipelineParametersProperty(
                        pipeline_parameter_list=[]
                    ),
                )
            ],
        )
        self.retrain_rule.node.add_dependency(self.pipeline)
        acknowledge_scoped_policy(
            self.retrain_starter, f"starting the {spec.name} pipeline on its schedule"
        )

    def _grant_record_evaluation(
        self,
        stack: Stack,
        spec: FineTuningSpec,
        artifacts_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        runs: str,
    ) -> None:
        function = self.record_evaluation.function
        artifacts_bucket.grant_read(function, f"{runs}evaluation/*")
        artifacts_bucket.grant_read(function, f"{runs}lineage/*")
        artifacts_bucket.grant_read(function, f"{spec.base_model_prefix}manifest.json")
        encryption_key.grant_decrypt(function)
        encryption_key.grant_encrypt_decrypt(function)  # the card is encrypted with it
        jobs = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="RecordTheEvaluation",
                actions=[
                    "sagemaker:DescribeModelCard",
                    "sagemaker:UpdateModelCard",
                    "sagemaker:UpdateModelPackage",
                ],
                resources=[
                    f"{jobs}:model-card/{spec.name}",
                    f"{jobs}:model-package/{spec.name}/*",
                ],
            )
        )

    def _grant_job_permissions(self, stack: Stack, spec: FineTuningSpec) -> None:
        jobs = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunThePipelineJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[f"{jobs}:processing-job/*", f"{jobs}:training-job/*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RegisterInItsGroup",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                resources=[
                    f"{jobs}:model-package-group/{spec.name}",
                    f"{jobs}:model-package/{spec.name}/*",
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassItselfToJobs",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        recipe_images = (
            [spec.recipe_image]
            if spec.recipe_image
            else [
                training_image_uri(stack.region, spec.training_instance),
                training_image_uri(stack.region, EVALUATION_INSTANCE),
            ]
        )
        grant_sagemaker_runtime(
            self.role,
            stack,
            [
                *recipe_images,
                preparation_image_uri(stack.region),
                image_uri("model-monitor", stack.region),
            ],
        )


def _release_policy(stack: Stack, group: str, role_arns: Sequence[str]) -> dict[str, Any]:
    """Lets the named release roles (of other accounts) read the group's packages.

    The principal is their account, narrowed to the roles by ``aws:PrincipalArn``: a role
    named directly must exist when the policy is set, and the release roles are deployed
    after this account's stacks.
    """
    jobs = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
    accounts = sorted({arn_account(arn) for arn in role_arns})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReleaseRolesReadPackages",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{stack.partition}:iam::{a}:root" for a in accounts]},
                "Action": [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                    "sagemaker:DescribeModelPackageGroup",
                ],
                "Resource": [
                    f"{jobs}:model-package-group/{group}",
                    f"{jobs}:model-package/{group}/*",
                ],
                "Condition": {"ArnEquals": {"aws:PrincipalArn": list(role_arns)}},
            }
        ],
    }
