"""ML layer of one LOB environment: Studio and MLflow (interactive), fine-tuning pipelines and
the model registry (nonprod), GPU endpoints (nonprod and prod, monitored in prod)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.inputs.ml import (
    EndpointInputs,
    FineTuningInputs,
    MLInputs,
    ReleaseInputs,
    StudioInputs,
)
from blueprint.model.inventory import AI_SYSTEM_METADATA, AiSystem, SystemKind, system_key
from blueprint.model.sections.genai import RiskTier, UseCase
from blueprint.model.sections.ml import FineTuningConfig
from genai_constructs.compliance import acknowledge_wildcards
from genai_constructs.fine_tuning import FineTuningPipeline, FineTuningSpec, IntendedUse
from genai_constructs.fine_tuning.jobs import serving_image_uri
from genai_constructs.model_import import BaseModelImport
from genai_constructs.model_release import ModelRelease
from genai_constructs.naming import (
    base_model_prefix,
    pascal,
    release_models_prefix,
    served_model_prefix,
)
from genai_constructs.recipe_image import RecipeImage
from genai_constructs.serving import GpuEndpoint
from genai_constructs.studio import StudioWorkspace
from stacks.alerts import alarm_topic, subscribe
from stacks.assets import mark
from stacks.data import DataStack
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.security import SecurityStack


class MLStack(Stack):
    """Composes the ML constructs for one placement."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        inputs: MLInputs,
        security: SecurityStack,
        foundation: FoundationStack,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        use_account_boundary(self, inputs.prefix)
        self.add_stack_dependency(data)
        self.security = security
        self.vpc = foundation.network.vpc
        self.subnets = self.vpc.isolated_subnets
        self.jobs_security_group = self._jobs_security_group()
        self.zones = {
            zone: data.import_zone(self, zone) for zone in ("training", "artifacts", "curated")
        }

        if inputs.studio:
            self._studio(inputs.studio)
        self.pipelines = {
            entry.tuning.name: self._pipeline(entry, inputs) for entry in inputs.fine_tuning
        }
        self.recipe_image = (
            self._recipe_image(inputs.recipe_repository, inputs.parameter_path)
            if inputs.recipe_repository
            else None
        )
        bases = {entry.base_model.id: entry.base_model for entry in inputs.fine_tuning}
        self.imports = {
            model.id: self._import(model.id, model.source, model.hf_model_id, model.sha256)
            for model in bases.values()
            if model.source
        }
        self.endpoints: dict[str, GpuEndpoint] = {}
        self.release: ModelRelease | None = None
        if inputs.endpoints:
            alarms = alarm_topic(
                self,
                "EndpointAlarms",
                security.logs_key,
                inputs.alert_emails,
                "GPU endpoint alarms",
            )
            mark(alarms, AssetKind.TOPIC, ENDPOINT_ALARMS)
            for entry in inputs.endpoints:
                self.endpoints[entry.endpoint.name] = self._endpoint(
                    entry,
                    alarms,
                    monitor=inputs.monitor_endpoints,
                    parameter_path=inputs.parameter_path,
                )
        if inputs.release:
            self._release(inputs.release, inputs.endpoints)
        # Inventory: each fine-tuned model and GPU endpoint, in the assembly's metadata.
        for system in ml_systems(inputs):
            self.node.add_metadata(AI_SYSTEM_METADATA, system.as_metadata())

    def _jobs_security_group(self) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "JobsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="SageMaker jobs and endpoints: HTTPS to AWS endpoints, traffic among "
            "themselves",
        )
        # S3 is reached through the gateway endpoint on S3's public ranges; the VPC has no
        # internet path, so HTTPS to any address only reaches AWS endpoints.
        group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints and S3"
        )
        group.add_ingress_rule(group, ec2.Port.all_tcp(), "Distributed jobs")
        group.add_egress_rule(group, ec2.Port.all_tcp(), "Distributed jobs")
        return group

    def _studio(self, studio: StudioInputs) -> None:
        data_scientist = iam.Role.from_role_name(self, "DataScientist", studio.execution_role)
        self.studio = StudioWorkspace(
            self,
            "Studio",
            domain_name=studio.domain_name,
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            encryption_key=self.security.data_key,
            execution_role=data_scientist,
            artifacts_bucket=self.zones["artifacts"],
            users=studio.users,
            owners=dict(studio.owners),
            idle_minutes=studio.idle_minutes,
            mlflow=studio.mlflow,
            shared_spaces=dict(studio.shared_spaces),
        )
        if self.studio.mlflow is not None:
            mark(self.studio.mlflow, AssetKind.MLFLOW, studio.domain_name)
            tracking = iam.ManagedPolicy(
                self,
                "DataScientistMlflow",
                description="Track experiments in this environment's MLflow (on its ARN)",
                statements=self.studio.experiment_tracking_statements(),
                roles=[data_scientist],
            )
            acknowledge_wildcards(
                tracking,
                "This environment's MLflow only (its ARN); a tracking server's MLflow actions by "
                "verb (its API has dozens, no Delete*), and its UI action, which has no "
                "resource-level permissions.",
            )
        for user, profile in zip(studio.users, self.studio.users, strict=True):
            mark(profile, AssetKind.STUDIO_USER, user)
        for name, space in self.studio.shared_spaces.items():
            mark(space, AssetKind.STUDIO_SPACE, name)

    def _pipeline(self, entry: FineTuningInputs, inputs: MLInputs) -> FineTuningPipeline:
        spec = fine_tuning_spec(entry)
        pipeline = FineTuningPipeline(
            self,
            f"FineTuning{pascal(spec.name)}",
            spec=spec,
            code_dir=inputs.training_code,
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            security_group=self.jobs_security_group,
            encryption_key=self.security.data_key,
            log_retention=self.security.retention,
            training_bucket=self.zones["training"],
            artifacts_bucket=self.zones["artifacts"],
            curated_bucket=self.zones["curated"] if spec.bias_probes_prefix else None,
            release_role_arns=inputs.release_roles,
            release_event_bus_arn=inputs.release_event_bus,
            retrain_schedule=entry.tuning.retrain_schedule,
            workload_tag=names.PIPELINE_TAG,
        )
        subscribe(pipeline.approvals, inputs.alert_emails)
        mark(pipeline.pipeline, AssetKind.PIPELINE, spec.name)
        mark(pipeline.model_package_group, AssetKind.MODEL_PACKAGE_GROUP, spec.name)
        mark(pipeline.role, AssetKind.PIPELINE_ROLE, spec.name)
        mark(pipeline.record_evaluation.function, AssetKind.EVALUATION_FUNCTION, spec.name)
        approvals = f"{spec.name}-approvals"
        mark(pipeline.approvals, AssetKind.TOPIC, approvals)
        mark(pipeline.approval_publisher, AssetKind.NOTIFIER_ROLE, approvals)
        return pipeline

    def _recipe_image(self, repository: str, parameter_path: str) -> RecipeImage:
        """The repository the recipe image is built into, its build and what starts it."""
        image = RecipeImage(
            self,
            "RecipeImage",
            repository_name=repository,
            parameter_name=f"{parameter_path}/recipe-image/uri",
            encryption_key=self.security.data_key,
            log_retention=self.security.retention,
            removal_policy=self.security.removal_policy,
        )
        mark(image.repository, AssetKind.RECIPE_REPOSITORY, repository)
        mark(image.project, AssetKind.RECIPE_PROJECT, repository)
        mark(image.build_role, AssetKind.RECIPE_BUILDER, repository)
        mark(image.state_machine, AssetKind.RECIPE_BUILD, repository)
        mark(image.state_machine.role, AssetKind.RECIPE_BUILD_STARTER, repository)
        return image

    def _import(
        self, model_id: str, source: str, hf_model_id: str, sha256: str | None
    ) -> BaseModelImport:
        """The pipeline that stages the base weights a fine-tuning pipeline starts from."""
        staging = BaseModelImport(
            self,
            f"Import{pascal(model_id)}",
            model_id=model_id,
            source_uri=source,
            hf_model_id=hf_model_id,
            expected_sha256=sha256,
            vpc_subnets=self.subnets,
            security_group=self.jobs_security_group,
            encryption_key=self.security.data_key,
            artifacts_bucket=self.zones["artifacts"],
            workload_tag=names.PIPELINE_TAG,
        )
        mark(staging.pipeline, AssetKind.MODEL_IMPORT, model_id)
        mark(staging.role, AssetKind.MODEL_IMPORT_ROLE, model_id)
        return staging

    def _release(self, release: ReleaseInputs, endpoints: tuple[EndpointInputs, ...]) -> None:
        """The function that releases approved models of the LOB's pipelines here."""
        served = {
            model: [
                self.endpoints[entry.endpoint.name]
                for entry in endpoints
                if entry.endpoint.model == model
            ]
            for model in release.models
        }
        self.release = ModelRelease(
            self,
            "ModelRelease",
            role_name=release.role_name,
            bus_name=release.bus_name,
            registry_account=release.registry_account,
            models=served,
            artifacts_bucket=self.zones["artifacts"],
            encryption_key=self.security.data_key,
            vpc=self.vpc,
            log_retention=self.security.retention,
            workload_tag=names.PIPELINE_TAG,
        )
        mark(self.release.role, AssetKind.MODEL_RELEASE_ROLE, "release")
        for group_name, group in self.release.release_groups.items():
            mark(group, AssetKind.MODEL_PACKAGE_GROUP, group_name)

    def _publish_endpoint(self, name: str, endpoint: GpuEndpoint, parameter_path: str) -> None:
        """The endpoint's name (CloudFormation generates it) under the environment's path,
        where the applications that call it find it, and as an output."""
        parameter = f"{parameter_path}/endpoints/{name}/name"
        ssm.StringParameter(
            self,
            f"Endpoint{pascal(name)}NameParameter",
            parameter_name=parameter,
            string_value=endpoint.endpoint.attr_endpoint_name,
            description=f"Name of the GPU endpoint {name}",
        )
        CfnOutput(
            self,
            f"Endpoint{pascal(name)}Name",
            value=endpoint.endpoint.attr_endpoint_name,
            description=f"Name of the GPU endpoint {name} ({parameter})",
        )

    def _endpoint(
        self,
        entry: EndpointInputs,
        alarms: sns.ITopic,
        *,
        monitor: bool,
        parameter_path: str,
    ) -> GpuEndpoint:
        config = entry.endpoint
        artifacts: s3.IBucket = self.zones["artifacts"]
        endpoint = GpuEndpoint(
            self,
            f"Endpoint{pascal(config.name)}",
            endpoint_name=entry.endpoint_name,
            image_uri=serving_image_uri(self.region),
            model_data_url=artifacts.s3_url_for_object(served_model_prefix(config.model)),
            instance_type=entry.serving_instance,
            min_instances=config.min_instances,
            max_instances=config.max_instances,
            invocations_per_instance=config.invocations_per_instance,
            latency_alarm_ms=config.latency_alarm_ms,
            vpc_subnets=self.subnets,
            security_group=self.jobs_security_group,
            encryption_key=self.security.data_key,
            model_bucket=artifacts,
            model_prefix=release_models_prefix(config.model),
            capture_bucket=artifacts,
            capture_prefix=f"capture/{config.name}/",
            alarm_topic=alarms,
            monitor=monitor,
            monitor_baseline_prefix=(
                f"{served_model_prefix(config.model)}baseline/" if entry.fine_tuned else None
            ),
        )
        # Endpoints write data capture (and monitors their reports) to the artifacts zone: a
        # pipeline workload.
        Tags.of(endpoint.role).add(*names.PIPELINE_TAG)
        if endpoint.monitor is not None:
            Tags.of(endpoint.monitor.role).add(*names.PIPELINE_TAG)
            publisher = endpoint.monitor.publisher
            mark(publisher, AssetKind.NOTIFIER_ROLE, f"{config.name}-monitor")
            mark(endpoint.monitor.schedule, AssetKind.MONITORING_SCHEDULE, config.name)
        mark(endpoint.endpoint, AssetKind.ENDPOINT, config.name)
        if endpoint.inference_component is not None:
            mark(endpoint.inference_component, AssetKind.INFERENCE_COMPONENT, config.name)
        self._publish_endpoint(config.name, endpoint, parameter_path)
        mark(endpoint.role, AssetKind.ENDPOINT_ROLE, config.name)
        return endpoint


def fine_tuning_spec(entry: FineTuningInputs) -> FineTuningSpec:
    tuning, base = entry.tuning, entry.base_model
    return FineTuningSpec(
        name=tuning.name,
        base_model_prefix=base_model_prefix(base.id),
        dataset_prefix=tuning.source_prefix,
        training_instance=base.training_instance,
        serving_instance=base.serving_instance,
        rouge_l_threshold=tuning.rouge_l_threshold,
        max_runtime_hours=tuning.max_runtime_hours,
        epochs=tuning.epochs,
        gpus=entry.gpus,
        method=tuning.method,
        batch_size=tuning.batch_size,
        max_length=tuning.max_length,
        lora_r=tuning.lora_r,
        target_modules=tuple(tuning.target_modules),
        gradient_checkpointing=tuning.gradient_checkpointing,
        spot=tuning.spot,
        recipe_image=tuning.recipe_image,
        job_tags=entry.job_tags,
        intended_use=intended_use(entry.served_use_cases),
        bias_probes_prefix=tuning.bias_probes_prefix,
        max_bias_gap=tuning.bias.max_rouge_l_gap if tuning.bias else FineTuningSpec.max_bias_gap,
    )


# The topic of the GPU endpoints' alarms, as the catalog names it (topic/endpoint-alarms).
ENDPOINT_ALARMS = "endpoint-alarms"

# The model card's rating of each risk tier of a use case record.
CARD_RATINGS = {RiskTier.MINIMAL: "Low", RiskTier.LIMITED: "Medium", RiskTier.HIGH: "High"}


def intended_use(use_cases: tuple[UseCase, ...]) -> IntendedUse | None:
    """What the model card says of a model from the records of the use cases it serves: their
    intended uses, the highest of their risk tiers, and whether a person reviews."""
    records = [(use.name, use.record) for use in use_cases if use.record]
    if not records:
        return None
    tier = max((record.risk_tier for _, record in records), key=list(RiskTier).index)
    reviewed = sorted(name for name, record in records if record.human_review)
    return IntendedUse(
        purpose=" ".join(f"{name}: {record.intended_use}" for name, record in records),
        risk_rating=CARD_RATINGS[tier],
        risk_explanation=(
            f"EU AI Act tier {tier.value} of {', '.join(name for name, _ in records)}; "
            + (
                f"a person reviews flagged answers of {', '.join(reviewed)}"
                if reviewed
                else "no human review of its answers"
            )
        ),
    )


def tuning_lineage(entry: FineTuningInputs) -> tuple[str, ...]:
    tuning = entry.tuning
    probes = (f"bias probes: curated dataset {tuning.bias.dataset}",) if tuning.bias else ()
    return (
        f"training zone, {tuning.source_prefix}",
        f"base weights {entry.base_model.id}",
        *probes,
    )


def tuning_gates(tuning: FineTuningConfig) -> tuple[str, ...]:
    bias = (
        (f"largest ROUGE-L gap between counterfactual groups <= {tuning.bias.max_rouge_l_gap}",)
        if tuning.bias
        else ()
    )
    return (
        f"ROUGE-L >= {tuning.rouge_l_threshold} on held-out data",
        *bias,
        f"approval in model package group {tuning.name}",
    )


def ml_systems(inputs: MLInputs) -> list[AiSystem]:
    """The environment's fine-tuned models and GPU endpoints as the AI inventory lists them."""
    tuned = [
        AiSystem(
            kind=SystemKind.FINE_TUNED_MODEL,
            name=entry.tuning.name,
            model=entry.base_model.id,
            lineage=tuning_lineage(entry),
            gates=tuning_gates(entry.tuning),
        )
        for entry in inputs.fine_tuning
    ]
    served = [
        AiSystem(
            kind=SystemKind.GPU_ENDPOINT,
            name=entry.endpoint.name,
            model=entry.endpoint.model,
            gates=(
                ("approved packages of the registry only",)
                if entry.fine_tuned
                else ("a model of the organization's catalog",)
            ),
            uses=(
                (system_key(SystemKind.FINE_TUNED_MODEL, entry.endpoint.model),)
                if entry.fine_tuned
                else ()
            ),
        )
        for entry in inputs.endpoints
    ]
    return tuned + served
