"""LoRA fine-tuning as a SageMaker pipeline whose definition is built with the SageMaker SDK.

The SDK builds the definition offline: a session that never calls AWS, placeholder values
for every deploy-time value (role, key, network, buckets, code), which are then swapped for
CloudFormation references. Container images are resolved with the SDK's image URI helpers.
"""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
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
from genai_constructs.function import PlatformFunction
from genai_constructs.gpu_memory import GPU_INSTANCES
from genai_constructs.grants import grant
from genai_constructs.naming import pascal, pipeline_runs_prefix
from genai_constructs.principals import own_account_service
from genai_constructs.sagemaker_access import grant_sagemaker_runtime
from genai_constructs.sagemaker_sdk import image_uri, quiet_sdk, require_sdk
from genai_constructs.training import RECIPE
from genai_constructs.validation import (
    EVENT_BUS,
    IAM_ROLE,
    arn_account,
    check_arn,
    check_arns,
    check_at_least,
    check_range,
)

TRAINING_IMAGE = {"transformers": "4.49.0", "pytorch": "2.5.1", "python": "py311"}
PREPARATION_IMAGE_VERSION = "1.2-1"  # SageMaker scikit-learn container (CPU)
SERVING_IMAGE_VERSION = "3.3.6"  # Hugging Face TGI (huggingface-llm) container
PROCESSING_INSTANCE = "ml.m5.2xlarge"
EVALUATION_INSTANCE = "ml.g5.2xlarge"
PINNED_IMAGE = re.compile(r"@sha256:[0-9a-f]{64}$")
MERGE_VOLUME_GB = 200  # the base weights, the merged weights and room to write them
BASELINE_INSTANCE = "ml.m5.xlarge"  # the model-monitor analyzer (CPU)

OFFLINE_SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}
# Values the SDK sees; each is replaced by the real CloudFormation reference afterwards.
ROLE = "arn:aws:iam::000000000000:role/placeholder-pipeline-role"
NAME = "placeholder-pipeline-name"
KEY = "arn:aws:kms:us-east-1:000000000000:key/00000000-placeholder-key"
SECURITY_GROUP = "sg-0000placeholder00"
SUBNET = "subnet-0000placeholder{}"
CODE = "s3://placeholder-code-bucket/placeholder-code"
TRAINING_DATA = "s3://placeholder-training-zone"
ARTIFACTS = "s3://placeholder-artifacts-zone"
RECORD_EVALUATION = "arn:aws:lambda:us-east-1:000000000000:function:placeholder-record-evaluation"


@dataclass(frozen=True)
class FineTuningSpec:
    """One fine-tuning pipeline.

    :param name: pipeline and model package group name.
    :param base_model_prefix: artifacts-zone prefix holding the base model weights (the jobs
        run without internet and cannot download from a hub).
    :param dataset_prefix: training-zone prefix with JSON Lines prompt/completion records.
    :param training_instance: GPU instance type from the catalog.
    :param serving_instance: GPU instance type registered as the inference instance.
    :param gpus: GPUs of the training instance; more than one trains data-parallel on each.
    :param method: ``lora``, or ``qlora`` (4-bit base weights).
    :param batch_size: sequences per GPU. :param max_length: tokens per sequence.
    :param spot: managed spot training, resumed from the run's checkpoints after interruption.
    :param recipe_image: default the SDK's Hugging Face training image; an image that holds
        the recipe's packages (``genai_constructs/training/Dockerfile``): the jobs run
        network-isolated and cannot install them. Pinned by digest (``...@sha256:...``): a
        tag can be pushed over by whoever may push to the repository.
    :param job_tags: default none; tags of every job the pipeline starts (an owner's tag, so
        that policies of an account several owners share can tell their jobs apart).
    """

    name: str
    base_model_prefix: str
    dataset_prefix: str
    training_instance: str
    serving_instance: str
    rouge_l_threshold: float = 0.3
    max_runtime_hours: int = 8
    epochs: int = 2
    gpus: int = 1
    method: str = "lora"
    batch_size: int = 4
    max_length: int = 512
    lora_r: int = 16
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    gradient_checkpointing: bool = True
    spot: bool = True
    recipe_image: str | None = None
    job_tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        owner = f"FineTuningSpec {self.name}"
        if not Token.is_unresolved(self.name) and not PIPELINE_NAME.match(self.name):
            raise ValueError(
                f"FineTuningSpec: name '{self.name}' is not a pipeline and model package group "
                "name; allowed: 1-63 letters, digits and '-', starting and ending with a letter "
                "or digit"
            )
        if self.method not in METHODS:
            raise ValueError(
                f"{owner}: method '{self.method}' is not supported; allowed: "
                f"{', '.join(METHODS)} (the recipe trains adapters, never the full model)"
            )
        check_range(owner, "rouge_l_threshold", self.rouge_l_threshold, 0, 1)
        check_range(owner, "max_runtime_hours", self.max_runtime_hours, 1, 72)
        check_range(owner, "epochs", self.epochs, 1, 20)
        check_range(owner, "lora_r", self.lora_r, 1, 256)
        check_at_least(owner, "batch_size", self.batch_size, 1)
        check_at_least(owner, "max_length", self.max_length, 16)
        instance = GPU_INSTANCES.get(self.training_instance)
        if not Token.is_unresolved(self.training_instance) and instance is None:
            raise ValueError(
                f"{owner}: training_instance '{self.training_instance}' is not a SageMaker GPU "
                "instance type the recipe knows; allowed: e.g. ml.g5.2xlarge, ml.g5.12xlarge"
            )
        if instance is not None:
            check_range(owner, f"gpus (of {self.training_instance})", self.gpus, 1, instance.gpus)

    def hyperparameters(self) -> dict[str, str | int]:
        return {
            "method": self.method,
            "epochs": self.epochs,
            "batch-size": self.batch_size,
            "max-length": self.max_length,
            "lora-r": self.lora_r,
            "lora-alpha": 2 * self.lora_r,
            "target-modules": ",".join(self.target_modules),
            "gradient-checkpointing": "true" if self.gradient_checkpointing else "false",
        }


# SageMaker's names of pipelines and model package groups (the shorter limit: 63).
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
METHODS = ("lora", "qlora")
# EventBridge schedules: rate(N minutes|hours|days) or cron with six fields.
SCHEDULE = re.compile(r"^(rate\(\d+ (minutes?|hours?|days?)\)|cron\((\S+ ){5}\S+\))$")

# Families whose instances carry local NVMe storage: SageMaker rejects a volume KMS key there;
# the instance store is encrypted at rest by the Nitro hardware.
LOCAL_STORAGE_FAMILIES = (
    "g4dn",
    "g5",
    "g6",
    "g6e",
    "gr6",
    "p3dn",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
    "m5d",
    "c5d",
    "r5d",
)


def volume_key(instance_type: str, key: str) -> str | None:
    """The volume key for ``instance_type``, or None where SageMaker rejects one."""
    return None if instance_type.split(".")[1] in LOCAL_STORAGE_FAMILIES else key


@cache
def training_image_uri(region: str, instance_type: str) -> str:
    return image_uri(
        "huggingface",
        region,
        version=TRAINING_IMAGE["transformers"],
        base_framework_version=f"pytorch{TRAINING_IMAGE['pytorch']}",
        py_version=TRAINING_IMAGE["python"],
        instance_type=instance_type,
        image_scope="training",
    )


@cache
def preparation_image_uri(region: str) -> str:
    """A CPU image with Python for data preparation (the script needs the standard library)."""
    return image_uri("sklearn", region, version=PREPARATION_IMAGE_VERSION)


@cache
def serving_image_uri(region: str) -> str:
    return image_uri("huggingface-llm", region, version=SERVING_IMAGE_VERSION)


@contextmanager
def _sdk_config_validated_once() -> Iterator[None]:
    """The SDK validates its config against the JSON schema again on every lookup (0.2 s
    each, dozens per pipeline); ours is a constant, so it is validated once, here."""
    import sagemaker.utils
    from sagemaker.config import validate_sagemaker_config

    validate_sagemaker_config(OFFLINE_SDK_CONFIG)

    def validate(config: Any) -> None:
        if config != OFFLINE_SDK_CONFIG:
            validate_sagemaker_config(config)

    sagemaker.utils.validate_sagemaker_config = validate
    try:
        yield
    finally:
        sagemaker.utils.validate_sagemaker_config = validate_sagemaker_config


def pipeline_definition(spec: FineTuningSpec, *, region: str, subnet_count: int) -> str:
    """The pipeline definition JSON, with the placeholder values of this module.

    The SDK takes about a second per definition; LOBs running the same recipe under another
    name share one, built under a placeholder name.
    """
    shared = _shared_definition(replace(spec, name=NAME), region, subnet_count)
    return shared.replace(NAME, spec.name)


@cache
def _shared_definition(spec: FineTuningSpec, region: str, subnet_count: int) -> str:
    require_sdk()
    with quiet_sdk(), _sdk_config_validated_once():
        return _pipeline_definition(spec, region=region, subnet_count=subnet_count)


def _pipeline_definition(spec: FineTuningSpec, *, region: str, subnet_count: int) -> str:
    import boto3
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.huggingface import HuggingFace, HuggingFaceModel
    from sagemaker.lambda_helper import Lambda
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.lambda_step import LambdaStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    class OfflineSession(PipelineSession):
        """Never calls AWS: every S3 location is given explicitly."""

        def default_bucket(self) -> str:
            return ARTIFACTS.removeprefix("s3://")

    boto = boto3.Session(
        region_name=region, aws_access_key_id="offline", aws_secret_access_key="offline"
    )
    # Telemetry off (it would call AWS) and no SDK config files read from the machine.
    session = OfflineSession(boto_session=boto, sagemaker_config=OFFLINE_SDK_CONFIG)
    subnets = [SUBNET.format(i) for i in range(subnet_count)]
    network = NetworkConfig(
        enable_network_isolation=True,
        security_group_ids=[SECURITY_GROUP],
        subnets=subnets,
        encrypt_inter_container_traffic=True,
    )
    image = spec.recipe_image or training_image_uri(region, spec.training_instance)
    runs = f"{ARTIFACTS}/{pipeline_runs_prefix(spec.name)}".rstrip("/")

    tags = [{"Key": key, "Value": value} for key, value in spec.job_tags] or None

    def processor(instance_type: str, image_uri: str, volume_gb: int = 30) -> Any:
        return ScriptProcessor(
            tags=tags,
            image_uri=image_uri,
            command=["python3"],
            role=ROLE,
            instance_type=instance_type,
            instance_count=1,
            volume_size_in_gb=volume_gb,
            sagemaker_session=session,
            network_config=network,
            volume_kms_key=volume_key(instance_type, KEY),
            output_kms_key=KEY,
            max_runtime_in_seconds=3600 * 2,
        )

    def of_this_run(kind: str) -> Any:
        """A prefix of this execution only: checkpoints and models never mix across runs."""
        return Join(on="/", values=[runs, kind, ExecutionVariables.PIPELINE_EXECUTION_ID])

    prepare = ProcessingStep(
        "PrepareData",
        step_args=processor(PROCESSING_INSTANCE, preparation_image_uri(region)).run(
            code=f"{CODE}/prepare_data.py",
            inputs=[
                ProcessingInput(
                    source=f"{TRAINING_DATA}/{spec.dataset_prefix}",
                    destination="/opt/ml/processing/input",
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="train",
                    source="/opt/ml/processing/train",
                    destination=f"{runs}/data/train",
                ),
                ProcessingOutput(
                    output_name="validation",
                    source="/opt/ml/processing/validation",
                    destination=f"{runs}/data/validation",
                ),
                ProcessingOutput(
                    output_name="baseline",
                    source="/opt/ml/processing/baseline",
                    destination=f"{runs}/data/baseline",
                ),
                # What this run trained on (each file's SHA-256): kept per run.
                ProcessingOutput(
                    output_name="lineage",
                    source="/opt/ml/processing/lineage",
                    destination=of_this_run("lineage"),
                ),
            ],
        ),
    )
    max_run = 3600 * spec.max_runtime_hours
    estimator = HuggingFace(
        entry_point="lora_finetune.py",
        source_dir=f"{CODE}/sourcedir.tar.gz",
        image_uri=image,
        transformers_version=TRAINING_IMAGE["transformers"],
        pytorch_version=TRAINING_IMAGE["pytorch"],
        py_version=TRAINING_IMAGE["python"],
        role=ROLE,
        instance_type=spec.training_instance,
        instance_count=1,
        # torchrun starts one process per GPU; the Trainer trains data-parallel across them.
        distribution={"torch_distributed": {"enabled": True}} if spec.gpus > 1 else None,
        sagemaker_session=session,
        subnets=subnets,
        security_group_ids=[SECURITY_GROUP],
        enable_network_isolation=True,
        encrypt_inter_container_traffic=True,
        volume_kms_key=volume_key(spec.training_instance, KEY),
        output_kms_key=KEY,
        max_run=max_run,
        use_spot_instances=spec.spot,
        max_wait=2 * max_run if spec.spot else None,
        checkpoint_s3_uri=of_this_run("checkpoints"),
        checkpoint_local_path="/opt/ml/checkpoints",
        output_path=f"{runs}/models",
        code_location=f"{runs}/code",
        disable_profiler=True,
        hyperparameters=spec.hyperparameters(),
        tags=tags,
    )
    outputs = prepare.properties.ProcessingOutputConfig.Outputs
    train = TrainingStep(
        "FineTune",
        step_args=estimator.fit(
            {
                "train": outputs["train"].S3Output.S3Uri,
                "validation": outputs["validation"].S3Output.S3Uri,
                "model": f"{ARTIFACTS}/{spec.base_model_prefix}",
            }
        ),
    )
    # On the training instance type: it holds the base model, so its memory and disk fit it.
    merge = ProcessingStep(
        "MergeAdapter",
        step_args=processor(spec.training_instance, image, volume_gb=MERGE_VOLUME_GB).run(
            code=f"{CODE}/merge_adapter.py",
            inputs=[
                ProcessingInput(
                    source=f"{ARTIFACTS}/{spec.base_model_prefix}",
                    destination="/opt/ml/processing/base",
                ),
                ProcessingInput(
                    source=train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/adapter",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="merged",
                    source="/opt/ml/processing/merged",
                    destination=of_this_run("merged"),
                )
            ],
        ),
    )
    merged = merge.properties.ProcessingOutputConfig.Outputs["merged"].S3Output.S3Uri
    # The data-quality baseline of the endpoint's monitor, beside the merged weights: a
    # release carries it to where the monitor of the serving endpoint reads it.
    baseline = QualityCheckStep(
        "DataQualityBaseline",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=outputs["baseline"].S3Output.S3Uri,
            dataset_format=DatasetFormat.json(lines=True),
            output_s3_uri=Join(on="/", values=[merged, "baseline"]),
        ),
        check_job_config=CheckJobConfig(
            role=ROLE,
            instance_type=BASELINE_INSTANCE,
            volume_kms_key=KEY,
            output_kms_key=KEY,
            max_runtime_in_seconds=3600,
            network_config=network,
            sagemaker_session=session,
        ),
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=spec.name,
    )
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate",
        step_args=processor(
            EVALUATION_INSTANCE,
            spec.recipe_image or training_image_uri(region, EVALUATION_INSTANCE),
        ).run(
            code=f"{CODE}/evaluate.py",
            arguments=[
                "--model-dir",
                "/opt/ml/processing/model",
                "--validation-dir",
                "/opt/ml/processing/validation",
                "--output-dir",
                "/opt/ml/processing/evaluation",
            ],
            inputs=[
                ProcessingInput(source=merged, destination="/opt/ml/processing/model"),
                ProcessingInput(
                    source=outputs["validation"].S3Output.S3Uri,
                    destination="/opt/ml/processing/validation",
                ),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=of_this_run("evaluation"),
                )
            ],
        ),
        property_files=[report],
    )
    evaluation_json = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    # The merged weights, uncompressed: the endpoint's container loads them from the prefix.
    servable = HuggingFaceModel(
        role=ROLE,
        model_data={
            "S3DataSource": {
                "S3Uri": Join(on="", values=[merged, "/"]),
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
        image_uri=serving_image_uri(region),
        sagemaker_session=session,
    )
    register = ModelStep(
        "Register",
        step_args=servable.register(
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=[spec.serving_instance],
            transform_instances=[spec.serving_instance],
            model_package_group_name=spec.name,
            approval_status="PendingManualApproval",
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=evaluation_json
                )
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=baseline.properties.CalculatedBaselineStatistics,
                ),
                model_data_constraints=MetricsSource(
                    content_type="application/json",
                    s3_uri=baseline.properties.CalculatedBaselineConstraints,
                ),
            ),
            description=f"{spec.name}: merged LoRA fine-tune of {spec.base_model_prefix}",
        ),
    )
    record = LambdaStep(
        "RecordEvaluation",
        lambda_func=Lambda(function_arn=RECORD_EVALUATION, session=session),
        inputs={
            "model_card_name": spec.name,
            "model_package_arn": register.properties.ModelPackageArn,
            "evaluation_uri": evaluation_json,
            "dataset_uri": Join(
                on="/",
                values=[
                    prepare.properties.ProcessingOutputConfig.Outputs["lineage"].S3Output.S3Uri,
                    "dataset.json",
                ],
            ),
            "base_weights_uri": f"{ARTIFACTS}/{spec.base_model_prefix}manifest.json",
        },
        depends_on=[register],
    )
    gate = ConditionStep(
        "RougeLGate",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                left=JsonGet(
                    step_name=evaluate.name, property_file=report, json_path="metrics.rouge_l.value"
                ),
                right=spec.rouge_l_threshold,
            )
        ],
        if_steps=[register, record],
        else_steps=[
            FailStep(
                "BelowThreshold",
                error_message=(
                    f"ROUGE-L below {spec.rouge_l_threshold}; the model was not registered"
                ),
            )
        ],
    )
    pipeline = Pipeline(
        name=spec.name,
        steps=[prepare, train, merge, baseline, evaluate, gate],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


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
    the adapter into the base weights, the evaluation of the merged model, and, when ROUGE-L
    reaches the threshold, the registration of the merged weights (PendingManualApproval,
    with the evaluation as model metrics) and a function that writes the metrics into the
    model card. ``release_role_arns`` (the roles that release the model in other accounts)
    may read the group's packages, nobody else there; an EventBridge rule announces each
    approval on an encrypted SNS topic and, with ``release_event_bus_arn``, forwards it there.

    :param spec: the pipeline.
    :param vpc: the jobs' and the function's VPC. :param vpc_subnets: isolated subnets for
        the jobs.
    :param security_group: security group for the jobs.
    :param encryption_key: the LOB data key.
    :param log_retention: how long the function's logs are kept.
    :param training_bucket: the training zone (read).
    :param artifacts_bucket: the artifacts zone (base weights read, runs written).
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


CODE_FILES = (
    "prepare_data.py",
    "lora_finetune.py",
    "merge_adapter.py",
    "evaluate.py",
    "requirements.txt",
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


def model_card(scope: Construct, spec: FineTuningSpec, key: kms.IKey) -> sm.CfnModelCard:
    """The model card: intended use and limitations; its evaluation is written by the
    pipeline's RecordEvaluation step for each registered model (``handlers/model_card``)."""
    card = sm.CfnModelCard
    return sm.CfnModelCard(
        scope,
        "ModelCard",
        model_card_name=spec.name,
        model_card_status="Draft",
        security_config=card.SecurityConfigProperty(kms_key_id=key.key_arn),
        content=card.ContentProperty(
            model_overview=card.ModelOverviewProperty(
                model_description=(
                    f"{spec.base_model_prefix} with a {spec.method} adapter for {spec.name} "
                    "merged into its weights"
                ),
                algorithm_type=f"{spec.method.upper()} (parameter-efficient fine-tuning)",
                problem_type="Text generation",
            ),
            intended_uses=card.IntendedUsesProperty(
                purpose_of_model=f"Assist the LOB's staff with {spec.name.replace('-', ' ')}",
                intended_uses="Drafts reviewed by a person; LOB data of its classification",
                factors_affecting_model_efficiency=(
                    "Quality depends on the training zone sample; prompts far from it degrade"
                ),
                risk_rating="Medium",
                explanations_for_risk_rating=(
                    "Generated text can be wrong; a person reviews every output"
                ),
            ),
            additional_information=card.AdditionalInformationProperty(
                ethical_considerations="Trained on LOB data only; no data leaves the account",
                caveats_and_recommendations=(
                    f"Registered only at ROUGE-L >= {spec.rouge_l_threshold} on the validation "
                    "split; not for automated decisions; monitor drift with the endpoint's "
                    "data capture"
                ),
            ),
        ),
    )
