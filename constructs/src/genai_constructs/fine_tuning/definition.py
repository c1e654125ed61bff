"""The pipeline definition, built with the SageMaker SDK: one named function per step.

The SDK builds the definition offline: a session that never calls AWS, placeholder values
for every deploy-time value (role, key, network, buckets, code), which the construct then
swaps for CloudFormation references. Container images are resolved with the SDK's image URI
helpers (``jobs``). The SDK is imported inside the functions: it is an optional extra and
slow to import.

Over 500 lines on purpose: the pipeline's steps are read together, in the order they run,
beside the placeholders they share.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from genai_constructs.fine_tuning.jobs import (
    BASELINE_INSTANCE,
    EVALUATION_INSTANCE,
    MERGE_VOLUME_GB,
    PROCESSING_INSTANCE,
    TRAINING_IMAGE,
    preparation_image_uri,
    serving_image_uri,
    training_image_uri,
    volume_key,
)
from genai_constructs.fine_tuning.spec import FineTuningSpec
from genai_constructs.naming import pipeline_runs_prefix
from genai_constructs.sagemaker_sdk import quiet_sdk, require_sdk

OFFLINE_SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}
# Values the SDK sees; each is replaced by the real CloudFormation reference afterwards.
ROLE = "arn:aws:iam::000000000000:role/placeholder-pipeline-role"
NAME = "placeholder-pipeline-name"
RECIPE_IMAGE = "000000000000.dkr.ecr.{region}.amazonaws.com/placeholder-recipe@sha256:" + "0" * 64
TAG_VALUE = "placeholder-tag-value-{}-end"
KEY = "arn:aws:kms:us-east-1:000000000000:key/00000000-placeholder-key"
SECURITY_GROUP = "sg-0000placeholder00"
SUBNET = "subnet-0000placeholder{}"
CODE = "s3://placeholder-code-bucket/placeholder-code"
TRAINING_DATA = "s3://placeholder-training-zone"
ARTIFACTS = "s3://placeholder-artifacts-zone"
CURATED_DATA = "s3://placeholder-curated-zone"
PROBES = "/opt/ml/processing/probes"
RECORD_EVALUATION = "arn:aws:lambda:us-east-1:000000000000:function:placeholder-record-evaluation"


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

    The SDK takes about a second per definition; LOBs running the same recipe under their own
    name, image copy and job tags share one, built under placeholders swapped for theirs after.
    """
    image = RECIPE_IMAGE.format(region=region) if spec.recipe_image else None
    tags = tuple((key, TAG_VALUE.format(i)) for i, (key, _) in enumerate(spec.job_tags))
    shared = _shared_definition(
        replace(spec, name=NAME, recipe_image=image, job_tags=tags), region, subnet_count
    )
    swaps = [(NAME, spec.name)]
    if image and spec.recipe_image:
        swaps.append((image, spec.recipe_image))
    swaps += [(p, json.dumps(v)[1:-1]) for (_, p), (_, v) in zip(tags, spec.job_tags, strict=True)]
    for placeholder, value in swaps:
        shared = shared.replace(placeholder, value)
    return shared


@cache
def _shared_definition(spec: FineTuningSpec, region: str, subnet_count: int) -> str:
    require_sdk()
    with quiet_sdk(), _sdk_config_validated_once():
        return _pipeline_definition(spec, region=region, subnet_count=subnet_count)


def _pipeline_definition(spec: FineTuningSpec, *, region: str, subnet_count: int) -> str:
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.pipeline import Pipeline

    run = _offline_run(spec, region, subnet_count)
    prepare = _prepare_data(run)
    outputs = prepare.properties.ProcessingOutputConfig.Outputs
    train = _fine_tune(run, outputs)
    merge = _merge_adapter(run, train)
    merged = merge.properties.ProcessingOutputConfig.Outputs["merged"].S3Output.S3Uri
    baseline = _data_quality_baseline(run, outputs, merged)
    evaluate, report = _evaluate(run, outputs, merged)
    evaluated = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
    evaluation_json = Join(on="/", values=[evaluated, "evaluation.json"])
    bias_json = Join(on="/", values=[evaluated, "bias.json"]) if spec.bias_probes_prefix else None
    register = _register(run, merged, (evaluation_json, bias_json), baseline)
    record = _record_evaluation(run, prepare, register, evaluation_json)
    gate = _evaluation_gate(run, evaluate, report, register, record)
    pipeline = Pipeline(
        name=spec.name,
        steps=[prepare, train, merge, baseline, evaluate, gate],
        sagemaker_session=run.session,
    )
    return str(pipeline.definition())


@dataclass(frozen=True)
class _Run:
    """What the steps of one definition share: the offline session, the jobs' network,
    image and tags, and the prefix of the pipeline's runs."""

    spec: FineTuningSpec
    region: str
    session: Any
    network: Any
    subnets: list[str]
    image: str
    runs: str
    tags: list[dict[str, str]] | None

    def processor(self, instance_type: str, image_uri: str, volume_gb: int = 30) -> Any:
        from sagemaker.processing import ScriptProcessor

        return ScriptProcessor(
            tags=self.tags,
            image_uri=image_uri,
            command=["python3"],
            role=ROLE,
            instance_type=instance_type,
            instance_count=1,
            volume_size_in_gb=volume_gb,
            sagemaker_session=self.session,
            network_config=self.network,
            volume_kms_key=volume_key(instance_type, KEY),
            output_kms_key=KEY,
            max_runtime_in_seconds=3600 * 2,
        )

    def of_this_run(self, kind: str) -> Any:
        """A prefix of this execution only: checkpoints and models never mix across runs."""
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.functions import Join

        return Join(on="/", values=[self.runs, kind, ExecutionVariables.PIPELINE_EXECUTION_ID])


def _offline_run(spec: FineTuningSpec, region: str, subnet_count: int) -> _Run:
    import boto3
    from sagemaker.network import NetworkConfig
    from sagemaker.workflow.pipeline_context import PipelineSession

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
    return _Run(spec, region, session, network, subnets, image, runs, tags)


def _prepare_data(run: _Run) -> Any:
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.steps import ProcessingStep

    return ProcessingStep(
        "PrepareData",
        step_args=run.processor(PROCESSING_INSTANCE, preparation_image_uri(run.region)).run(
            code=f"{CODE}/prepare_data.py",
            inputs=[
                ProcessingInput(
                    source=f"{TRAINING_DATA}/{run.spec.dataset_prefix}",
                    destination="/opt/ml/processing/input",
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="train",
                    source="/opt/ml/processing/train",
                    destination=f"{run.runs}/data/train",
                ),
                ProcessingOutput(
                    output_name="validation",
                    source="/opt/ml/processing/validation",
                    destination=f"{run.runs}/data/validation",
                ),
                ProcessingOutput(
                    output_name="baseline",
                    source="/opt/ml/processing/baseline",
                    destination=f"{run.runs}/data/baseline",
                ),
                # What this run trained on (each file's SHA-256): kept per run.
                ProcessingOutput(
                    output_name="lineage",
                    source="/opt/ml/processing/lineage",
                    destination=run.of_this_run("lineage"),
                ),
            ],
        ),
    )


def _fine_tune(run: _Run, outputs: Any) -> Any:
    from sagemaker.huggingface import HuggingFace
    from sagemaker.workflow.steps import TrainingStep

    spec = run.spec
    max_run = 3600 * spec.max_runtime_hours
    estimator = HuggingFace(
        entry_point="lora_finetune.py",
        source_dir=f"{CODE}/sourcedir.tar.gz",
        image_uri=run.image,
        transformers_version=TRAINING_IMAGE["transformers"],
        pytorch_version=TRAINING_IMAGE["pytorch"],
        py_version=TRAINING_IMAGE["python"],
        role=ROLE,
        instance_type=spec.training_instance,
        instance_count=1,
        # torchrun starts one process per GPU; the Trainer trains data-parallel across them.
        distribution={"torch_distributed": {"enabled": True}} if spec.gpus > 1 else None,
        sagemaker_session=run.session,
        subnets=run.subnets,
        security_group_ids=[SECURITY_GROUP],
        enable_network_isolation=True,
        encrypt_inter_container_traffic=True,
        volume_kms_key=volume_key(spec.training_instance, KEY),
        output_kms_key=KEY,
        max_run=max_run,
        use_spot_instances=spec.spot,
        max_wait=2 * max_run if spec.spot else None,
        checkpoint_s3_uri=run.of_this_run("checkpoints"),
        checkpoint_local_path="/opt/ml/checkpoints",
        output_path=f"{run.runs}/models",
        code_location=f"{run.runs}/code",
        disable_profiler=True,
        hyperparameters=spec.hyperparameters(),
        tags=run.tags,
    )
    return TrainingStep(
        "FineTune",
        step_args=estimator.fit(
            {
                "train": outputs["train"].S3Output.S3Uri,
                "validation": outputs["validation"].S3Output.S3Uri,
                "model": f"{ARTIFACTS}/{spec.base_model_prefix}",
            }
        ),
    )


def _merge_adapter(run: _Run, train: Any) -> Any:
    """On the training instance type: it holds the base model, so its memory and disk fit it."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.steps import ProcessingStep

    spec = run.spec
    return ProcessingStep(
        "MergeAdapter",
        step_args=run.processor(spec.training_instance, run.image, volume_gb=MERGE_VOLUME_GB).run(
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
                    destination=run.of_this_run("merged"),
                )
            ],
        ),
    )


def _data_quality_baseline(run: _Run, outputs: Any, merged: Any) -> Any:
    """The data-quality baseline of the endpoint's monitor, beside the merged weights: a
    release carries it to where the monitor of the serving endpoint reads it."""
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    return QualityCheckStep(
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
            network_config=run.network,
            sagemaker_session=run.session,
        ),
        skip_check=True,
        register_new_baseline=True,
        model_package_group_name=run.spec.name,
    )


def _evaluate(run: _Run, outputs: Any, merged: Any) -> tuple[Any, Any]:
    """The evaluation step and its report (``evaluation.json``), which the gate reads."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import ProcessingStep

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    inputs = [
        ProcessingInput(source=merged, destination="/opt/ml/processing/model"),
        ProcessingInput(
            source=outputs["validation"].S3Output.S3Uri, destination="/opt/ml/processing/validation"
        ),
    ]
    probes: list[str] = []
    if run.spec.bias_probes_prefix:
        source = f"{CURATED_DATA}/{run.spec.bias_probes_prefix}"
        inputs.append(ProcessingInput(source=source, destination=PROBES))
        probes = ["--probes-dir", PROBES]
    evaluate = ProcessingStep(
        "Evaluate",
        step_args=run.processor(
            EVALUATION_INSTANCE,
            run.spec.recipe_image or training_image_uri(run.region, EVALUATION_INSTANCE),
        ).run(
            code=f"{CODE}/evaluate.py",
            arguments=[
                "--model-dir",
                "/opt/ml/processing/model",
                "--validation-dir",
                "/opt/ml/processing/validation",
                "--output-dir",
                "/opt/ml/processing/evaluation",
                *probes,
            ],
            inputs=inputs,
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=run.of_this_run("evaluation"),
                )
            ],
        ),
        property_files=[report],
    )
    return evaluate, report


def _register(run: _Run, merged: Any, reports: tuple[Any, Any | None], baseline: Any) -> Any:
    """The merged weights as a package of the group, pending approval, with the evaluation
    (and the bias report, where probes are set) as its metrics and the baseline as its drift
    check."""
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.huggingface import HuggingFaceModel
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.model_step import ModelStep

    def json_source(uri: Any) -> Any:
        return MetricsSource(content_type="application/json", s3_uri=uri)

    spec = run.spec
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
        image_uri=serving_image_uri(run.region),
        sagemaker_session=run.session,
    )
    return ModelStep(
        "Register",
        step_args=servable.register(
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=[spec.serving_instance],
            transform_instances=[spec.serving_instance],
            model_package_group_name=spec.name,
            approval_status="PendingManualApproval",
            model_metrics=ModelMetrics(
                model_statistics=json_source(reports[0]),
                bias=json_source(reports[1]) if reports[1] is not None else None,
            ),
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=json_source(baseline.properties.CalculatedBaselineStatistics),
                model_data_constraints=json_source(
                    baseline.properties.CalculatedBaselineConstraints
                ),
            ),
            description=f"{spec.name}: merged LoRA fine-tune of {spec.base_model_prefix}",
        ),
    )


def _record_evaluation(run: _Run, prepare: Any, register: Any, evaluation_json: Any) -> Any:
    """The function that writes the evaluation into the model card and the package."""
    from sagemaker.lambda_helper import Lambda
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.lambda_step import LambdaStep

    spec = run.spec
    return LambdaStep(
        "RecordEvaluation",
        lambda_func=Lambda(function_arn=RECORD_EVALUATION, session=run.session),
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


def _evaluation_gate(run: _Run, evaluate: Any, report: Any, register: Any, record: Any) -> Any:
    """Registers and records when ROUGE-L reaches the threshold and, with bias probes, the
    largest ROUGE-L gap between groups stays within the maximum; fails the run otherwise."""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import JsonGet

    spec = run.spec

    def reported(path: str) -> Any:
        return JsonGet(step_name=evaluate.name, property_file=report, json_path=path)

    conditions: list[Any] = [
        ConditionGreaterThanOrEqualTo(
            left=reported("metrics.rouge_l.value"), right=spec.rouge_l_threshold
        )
    ]
    refusal = f"ROUGE-L below {spec.rouge_l_threshold}"
    if spec.bias_probes_prefix:
        conditions.append(
            ConditionLessThanOrEqualTo(
                left=reported("bias.max_gaps.rouge_l"), right=spec.max_bias_gap
            )
        )
        refusal += f" or a ROUGE-L gap between groups above {spec.max_bias_gap}"
    return ConditionStep(
        "EvaluationGate",
        conditions=conditions,
        if_steps=[register, record],
        else_steps=[
            FailStep(
                "BelowThreshold",
                error_message=f"{refusal}; the model was not registered",
            )
        ],
    )
