"""Staging an open-weights model's base weights in an LOB's artifacts zone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from genai_constructs.compliance import acknowledge_scoped_policy
from genai_constructs.fine_tuning.jobs import preparation_image_uri
from genai_constructs.fine_tuning.spec import PIPELINE_NAME
from genai_constructs.grants import grant
from genai_constructs.naming import base_model_prefix
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import runtime_statements

SCRIPT = Path(__file__).with_name("importer") / "import_model.py"
# An S3 prefix of the organization's approved model source (its intake bucket).
SOURCE_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/((?:[^*?]+/)?)$")
CODE_DIRECTORY = "/opt/ml/processing/code"
INPUT_DIRECTORY = "/opt/ml/processing/input/weights"
OUTPUT_DIRECTORY = "/opt/ml/processing/output"
IMPORT_INSTANCE = "ml.m5.xlarge"


class BaseModelImport(Construct):
    """A one-step SageMaker pipeline (``import-<model id>``) whose processing job copies an
    open-weights model from an approved S3 source to ``models/<model id>/base/`` of the
    artifacts zone, with ``manifest.json`` (each file's SHA-256 and one digest over them).

    The job runs with network isolation in the VPC; its role reads the source prefix and may
    only add objects under the model's base prefix (no read, no delete, nothing else of the
    zone). The source's bucket must let the role read it (its policy is the organization's).

    :param model_id: the open-weights model's id in the catalog.
    :param source_uri: ``s3://bucket/prefix/`` of the approved copy of the weights.
    :param hf_model_id: default none; the Hugging Face model the copy is of, for the manifest.
    :param expected_sha256: default none; the approved digest of the whole model (the
        manifest's ``sha256``): a source that no longer has it is refused, nothing staged.
    :param volume_gb: default 200; the job's volume (it holds the weights once).
    :param max_runtime_hours: default 6.
    :param workload_tag: default none; a tag of the role (a bucket that admits only tagged
        writers).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_id: str,
        source_uri: str,
        vpc_subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        encryption_key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        hf_model_id: str | None = None,
        expected_sha256: str | None = None,
        volume_gb: int = 200,
        max_runtime_hours: int = 6,
        workload_tag: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"import-{model_id}"
        if not Token.is_unresolved(model_id) and not PIPELINE_NAME.match(name):
            raise ValueError(f"BaseModelImport: '{model_id}' makes no valid pipeline name")
        found = SOURCE_URI.match(source_uri)
        if found is None:
            raise ValueError(
                f"BaseModelImport: source_uri '{source_uri}' is not an S3 prefix; allowed: "
                "s3://bucket/prefix/ (ending in '/', no wildcards)"
            )
        if not vpc_subnets:
            raise ValueError("BaseModelImport: vpc_subnets must name at least one subnet")
        if expected_sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", expected_sha256):
            raise ValueError(
                f"BaseModelImport: expected_sha256 '{expected_sha256}' is not a SHA-256 digest "
                "(64 lower-case hex digits)"
            )
        source_bucket, source_prefix = found.groups()
        stack = Stack.of(self)
        self.model_id = model_id
        self.prefix = base_model_prefix(model_id)

        self.role = iam.Role(
            self,
            "Role",
            description=f"Stages the base weights of {model_id} under {self.prefix}",
            assumed_by=own_account_service(self, "sagemaker.amazonaws.com"),
        )
        if workload_tag:
            Tags.of(self.role).add(*workload_tag)
        script = s3_assets.Asset(self, "Script", path=str(SCRIPT))
        script.grant_read(self.role)
        self._grant_source_reads(source_bucket, source_prefix)
        artifacts_bucket.grant_put(self.role, f"{self.prefix}*")
        encryption_key.grant_encrypt_decrypt(self.role)
        image = preparation_image_uri(stack.region)
        for statement in runtime_statements(stack, [image]):
            self.role.add_to_principal_policy(statement)
        jobs = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:processing-job/*"
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunTheImportJob",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassItselfToTheJob",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

        # SageMaker names the downloaded script after its asset key: run the one file there.
        arguments = [
            "/bin/sh",
            "-c",
            f'exec python3 {CODE_DIRECTORY}/*.py "$@"',
            SCRIPT.stem,
            "--model-id",
            model_id,
            "--origin",
            source_uri,
            *(["--hf-model-id", hf_model_id] if hf_model_id else []),
            *(["--expected-sha256", expected_sha256] if expected_sha256 else []),
        ]
        job = {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": IMPORT_INSTANCE,
                    "VolumeSizeInGB": volume_gb,
                    "VolumeKmsKeyId": encryption_key.key_arn,
                }
            },
            "AppSpecification": {"ImageUri": image, "ContainerEntrypoint": arguments},
            "RoleArn": self.role.role_arn,
            "ProcessingInputs": [
                _input("weights", source_uri, INPUT_DIRECTORY),
                _input("code", script.s3_object_url, CODE_DIRECTORY),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": encryption_key.key_arn,
                "Outputs": [
                    {
                        "OutputName": "base",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": artifacts_bucket.s3_url_for_object(self.prefix.rstrip("/")),
                            "LocalPath": OUTPUT_DIRECTORY,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ],
            },
            "NetworkConfig": {
                "EnableNetworkIsolation": True,
                "VpcConfig": {
                    "SecurityGroupIds": [security_group.security_group_id],
                    "Subnets": [subnet.subnet_id for subnet in vpc_subnets],
                },
            },
            "StoppingCondition": {
                "MaxRuntimeInSeconds": int(Duration.hours(max_runtime_hours).to_seconds())
            },
        }
        definition = {
            "Version": "2020-12-01",
            "Steps": [{"Name": "StageBaseWeights", "Type": "Processing", "Arguments": job}],
        }
        self.pipeline = sm.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=name,
            pipeline_description=f"Stages {model_id} from {source_uri} under {self.prefix}",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(definition)},
        )
        self.pipeline.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        self.pipeline_arn = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:pipeline/{name}"
        )
        acknowledge_scoped_policy(
            self.role,
            f"staging {model_id}: its source prefix, puts under {self.prefix} of the artifacts "
            "zone, its own processing job",
        )

    def _grant_source_reads(self, bucket: str, prefix: str) -> None:
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheApprovedSource",
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::{bucket}/{prefix}*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListTheApprovedSource",
                actions=["s3:ListBucket"],
                resources=[f"arn:{stack.partition}:s3:::{bucket}"],
                conditions={"StringLike": {"s3:prefix": f"{prefix}*"}},
            )
        )

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start and stop runs of the import."""
        return grant(
            grantee=grantee,
            actions=["sagemaker:StartPipelineExecution", "sagemaker:StopPipelineExecution"],
            resource_arns=[self.pipeline_arn],
        )


def _input(name: str, uri: str, local_path: str) -> dict[str, object]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
