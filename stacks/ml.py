"""ML layer of one LOB environment: Studio and MLflow (interactive), fine-tuning pipelines and
the model registry (nonprod), GPU endpoints (nonprod and prod, monitored in prod)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from blueprint.model.config import EnvironmentName, FineTuningConfig, OrgConfig
from blueprint.model.plan import PIPELINE_TAG, Persona, Placement, Plan
from genai_constructs import acknowledge
from genai_constructs.compliance import acknowledge_wildcards
from genai_constructs.fine_tuning import FineTuningPipeline, FineTuningSpec, serving_image_uri
from genai_constructs.serving import GpuEndpoint
from genai_constructs.studio import StudioWorkspace
from stacks.data import DataStack
from stacks.foundation import FoundationStack, use_account_boundary
from stacks.security import SecurityStack

TRAINING_CODE = Path(__file__).resolve().parents[1] / "ml" / "training"


def base_model_prefix(model_id: str) -> str:
    """Where the platform team stages an open-weights model in a LOB's artifacts zone."""
    return f"models/{model_id}/base/"


def serving_prefix(model: str) -> str:
    """Where the promotion step publishes the files an endpoint serves."""
    return f"models/{model}/serving/"


class MLStack(Stack):
    """Composes the ML constructs for one placement."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan: Plan,
        placement: Placement,
        security: SecurityStack,
        foundation: FoundationStack,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        lob = placement.lob
        if lob is None or placement.environment is None:
            raise ValueError(f"MLStack: {placement.key} is not an LOB environment")
        use_account_boundary(self, plan.prefix)
        self.add_stack_dependency(data)
        network = foundation.network
        subnets = network.vpc.isolated_subnets
        self.jobs_security_group = ec2.SecurityGroup(
            self,
            "JobsSecurityGroup",
            vpc=network.vpc,
            allow_all_outbound=False,
            description="SageMaker jobs and endpoints: HTTPS to AWS endpoints, traffic among "
            "themselves",
        )
        # S3 is reached through the gateway endpoint on S3's public ranges; the VPC has no
        # internet path, so HTTPS to any address only reaches AWS endpoints.
        self.jobs_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints and S3"
        )
        self.jobs_security_group.add_ingress_rule(
            self.jobs_security_group, ec2.Port.all_tcp(), "Distributed jobs"
        )
        self.jobs_security_group.add_egress_rule(
            self.jobs_security_group, ec2.Port.all_tcp(), "Distributed jobs"
        )
        zones = {zone: data.import_zone(self, zone) for zone in ("training", "artifacts")}

        if placement.environment is EnvironmentName.INTERACTIVE:
            data_scientist = iam.Role.from_role_name(
                self, "DataScientist", f"{plan.prefix}-{Persona.DATA_SCIENTIST.value}"
            )
            self.studio = StudioWorkspace(
                self,
                "Studio",
                domain_name=f"{placement.key}",
                vpc=network.vpc,
                vpc_subnets=subnets,
                encryption_key=security.data_key,
                execution_role=data_scientist,
                artifacts_bucket=zones["artifacts"],
                users=lob.ml.studio.users,
                idle_minutes=lob.ml.studio.idle_minutes,
            )
            self._acknowledge_role_policy(
                self.studio.mlflow_role,
                "MLflow artifacts under mlflow/ of the artifacts zone",
            )
        self.pipelines: dict[str, FineTuningPipeline] = {}
        if placement.environment is EnvironmentName.NONPROD:
            prod = next(
                (
                    p
                    for p in plan.lob_environments()
                    if p.lob == lob and p.environment is EnvironmentName.PROD
                ),
                None,
            )
            for tuning in lob.ml.fine_tuning:
                pipeline = FineTuningPipeline(
                    self,
                    f"FineTuning{_pascal(tuning.name)}",
                    spec=fine_tuning_spec(plan.config, tuning),
                    code_dir=TRAINING_CODE,
                    vpc_subnets=subnets,
                    security_group=self.jobs_security_group,
                    encryption_key=security.data_key,
                    training_bucket=zones["training"],
                    artifacts_bucket=zones["artifacts"],
                    consumer_accounts=[prod.account] if prod else [],
                    workload_tag=PIPELINE_TAG,
                )
                self.pipelines[tuning.name] = pipeline
                spec = fine_tuning_spec(plan.config, tuning)
                self._acknowledge_role_policy(
                    pipeline.role,
                    f"the {spec.name} pipeline's own data, code, jobs and registry",
                )
        self.endpoints: dict[str, GpuEndpoint] = {}
        if placement.environment.operational and lob.ml.endpoints:
            alarms = sns.Topic(
                self,
                "EndpointAlarms",
                master_key=security.logs_key,
                enforce_ssl=True,
                display_name="GPU endpoint alarms",
            )
            for entry in lob.ml.endpoints:
                endpoint = GpuEndpoint(
                    self,
                    f"Endpoint{_pascal(entry.name)}",
                    image_uri=serving_image_uri(self.region),
                    model_data_url=zones["artifacts"].s3_url_for_object(
                        serving_prefix(entry.model)
                    ),
                    instance_type=serving_instance(plan.config, lob.ml.fine_tuning, entry.model),
                    min_instances=entry.min_instances,
                    max_instances=entry.max_instances,
                    invocations_per_instance=entry.invocations_per_instance,
                    latency_alarm_ms=entry.latency_alarm_ms,
                    vpc_subnets=subnets,
                    security_group=self.jobs_security_group,
                    encryption_key=security.data_key,
                    model_bucket=zones["artifacts"],
                    model_prefix=serving_prefix(entry.model),
                    capture_bucket=zones["artifacts"],
                    capture_prefix=f"capture/{entry.name}/",
                    alarm_topic=alarms,
                    monitor=placement.environment is EnvironmentName.PROD,
                )
                # Endpoints write data capture to the artifacts zone: a pipeline workload.
                Tags.of(endpoint.role).add(*PIPELINE_TAG)
                self.endpoints[entry.name] = endpoint
                self._acknowledge_role_policy(
                    endpoint.role,
                    f"endpoint {entry.name}: its model files and its capture prefix",
                )

    def _acknowledge_role_policy(self, role: iam.IRole, what: str) -> None:
        """Acknowledge the findings of a role's generated policy, one finding at a time."""
        policy = role.node.find_child("DefaultPolicy")
        reason = f"Scoped to {what}"
        acknowledge(
            policy,
            [
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "HIPAA.Security-IAMNoInlinePolicy",
                "PCI.DSS.321-IAMNoInlinePolicy",
            ],
            f"{reason}; CDK-generated and attached to this one role only.",
        )
        acknowledge_wildcards(
            policy,
            f"{reason}: object prefixes, job and log ARNs of this workload, KMS data-key "
            "variants, and EC2/ECR actions that have no resource-level permissions.",
        )


def fine_tuning_spec(config: OrgConfig, tuning: FineTuningConfig) -> FineTuningSpec:
    base = config.open_weights(tuning.base_model)
    return FineTuningSpec(
        name=tuning.name,
        base_model_prefix=base_model_prefix(base.id),
        dataset_prefix=tuning.source_prefix,
        training_instance=base.training_instance,
        serving_instance=base.serving_instance,
        rouge_l_threshold=tuning.rouge_l_threshold,
        max_runtime_hours=tuning.max_runtime_hours,
        epochs=tuning.epochs,
    )


def serving_instance(config: OrgConfig, tunings: list[FineTuningConfig], model: str) -> str:
    tuned = next((t for t in tunings if t.name == model), None)
    return config.open_weights(tuned.base_model if tuned else model).serving_instance


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
