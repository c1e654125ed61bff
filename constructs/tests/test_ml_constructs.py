"""Studio, GPU endpoints and the model release as an LOB team builds them: what each puts in
the template, and every validation message of their props."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from conftest import PIPELINE_PLACEHOLDERS
from genai_constructs.bedrock import GovernedGuardrail
from genai_constructs.fine_tuning import FineTuningPipeline
from genai_constructs.fine_tuning.pipeline import CODE_FILES
from genai_constructs.fine_tuning.spec import METHODS, FineTuningSpec, IntendedUse
from genai_constructs.guarded_endpoint import GuardedEndpoint
from genai_constructs.mlflow_kind import MlflowKind
from genai_constructs.model_release import ModelRelease
from genai_constructs.naming import USER_TAG
from genai_constructs.serving import GpuEndpoint
from genai_constructs.studio import StudioWorkspace

TGI = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:latest"
# Constructs refuse a bad prop before they touch the others: these stand in for them.
UNUSED: Any = None


class Parts:
    """A stack in eu-west-1 with an isolated VPC, a key and an artifacts bucket."""

    def __init__(self, account: str = "555555555555") -> None:
        self.stack = Stack(App(), "Lob", env=Environment(account=account, region="eu-west-1"))
        self.vpc = ec2.Vpc(
            self.stack,
            "Vpc",
            nat_gateways=0,
            max_azs=2,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        self.key = kms.Key(self.stack, "Key", enable_key_rotation=True)
        self.artifacts = s3.Bucket(self.stack, "Artifacts")

    def studio(self, **props: Any) -> StudioWorkspace:
        settings: dict[str, Any] = {
            "domain_name": "claims-lab",
            "vpc": self.vpc,
            "vpc_subnets": self.vpc.isolated_subnets,
            "encryption_key": self.key,
            "execution_role": iam.Role.from_role_name(self.stack, "Scientist", "data-scientist"),
            "artifacts_bucket": self.artifacts,
            **props,
        }
        return StudioWorkspace(self.stack, "Studio", **settings)

    def endpoint(self, construct_id: str = "Endpoint", **props: Any) -> GpuEndpoint:
        settings: dict[str, Any] = {
            "image_uri": TGI,
            "model_data_url": self.artifacts.s3_url_for_object("models/summarizer/serving/"),
            "instance_type": "ml.g5.2xlarge",
            "min_instances": 0,
            "max_instances": 1,
            "vpc_subnets": self.vpc.isolated_subnets,
            "security_group": ec2.SecurityGroup(self.stack, f"{construct_id}Sg", vpc=self.vpc),
            "encryption_key": self.key,
            "model_bucket": self.artifacts,
            "model_prefix": "models/summarizer/",
            "capture_bucket": self.artifacts,
            "capture_prefix": "capture/summarizer/",
            "alarm_topic": sns.Topic(self.stack, f"{construct_id}Alarms"),
            **props,
        }
        return GpuEndpoint(self.stack, construct_id, **settings)

    def release(self, registry_account: str, **props: Any) -> ModelRelease:
        settings: dict[str, Any] = {
            "role_name": "claims-model-release",
            "bus_name": "claims-model-release",
            "registry_account": registry_account,
            "models": {"claims-summarizer": [self.endpoint()]},
            "artifacts_bucket": self.artifacts,
            "encryption_key": self.key,
            "vpc": self.vpc,
            "log_retention": logs.RetentionDays.ONE_YEAR,
            **props,
        }
        return ModelRelease(self.stack, "Release", **settings)


# --- Studio -----------------------------------------------------------------------------------


def test_studio_is_vpc_only_encrypted_and_shuts_idle_apps_down() -> None:
    parts = Parts()
    parts.studio(users=["alice"], idle_minutes=120, mlflow=MlflowKind.NONE)
    template = Template.from_stack(parts.stack)
    template.has_resource_properties(
        "AWS::SageMaker::Domain",
        {
            "DomainName": "claims-lab",
            "AuthMode": "IAM",
            "AppNetworkAccessType": "VpcOnly",
            "KmsKeyId": Match.any_value(),
            "DefaultUserSettings": Match.object_like(
                {
                    "JupyterLabAppSettings": Match.object_like(
                        {
                            "AppLifecycleManagement": {
                                "IdleSettings": Match.object_like(
                                    {
                                        "LifecycleManagement": "ENABLED",
                                        "IdleTimeoutInMinutes": 120,
                                    }
                                )
                            }
                        }
                    )
                }
            ),
        },
    )
    template.resource_count_is("AWS::SageMaker::MlflowTrackingServer", 0)
    template.resource_count_is("AWS::SageMaker::MlflowApp", 0)
    template.resource_count_is("AWS::EC2::Route", 0)


def test_each_profile_is_tagged_with_the_person_it_belongs_to_and_mlflow_is_optional() -> None:
    parts = Parts()
    parts.studio(
        users=["alice", "bruno"],
        owners={"alice": "alice", "bruno": "bruno.costa@example.com"},
        shared_spaces={"claims-review": "alice"},
    )
    template = Template.from_stack(parts.stack)
    profiles = {
        profile["Properties"]["UserProfileName"]: profile["Properties"]["Tags"]
        for profile in template.find_resources("AWS::SageMaker::UserProfile").values()
    }
    assert {"Key": USER_TAG, "Value": "bruno.costa@example.com"} in profiles["bruno"]
    assert {"Key": USER_TAG, "Value": "alice"} in profiles["alice"]
    [space] = template.find_resources("AWS::SageMaker::Space").values()
    assert space["Properties"]["SpaceName"] == "claims-review"
    assert space["Properties"]["OwnershipSettings"] == {"OwnerUserProfileName": "alice"}
    # Serverless by default: an MLflow App, nothing billed while idle.
    template.resource_count_is("AWS::SageMaker::MlflowTrackingServer", 0)
    template.resource_count_is("AWS::SageMaker::MlflowApp", 1)


@pytest.mark.parametrize(
    ("kind", "resource", "arn", "actions"),
    [
        (
            MlflowKind.SERVERLESS,
            "AWS::SageMaker::MlflowApp",
            "Arn",
            [
                "sagemaker:CreatePresignedMlflowAppUrl",
                "sagemaker:CallMlflowAppApi",
                "sagemaker:DescribeMlflowApp",
            ],
        ),
        (
            MlflowKind.TRACKING_SERVER,
            "AWS::SageMaker::MlflowTrackingServer",
            "TrackingServerArn",
            ["sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker-mlflow:Create*"],
        ),
    ],
)
def test_a_grant_names_the_workspaces_own_mlflow(
    kind: MlflowKind, resource: str, arn: str, actions: list[str]
) -> None:
    parts = Parts()
    studio = parts.studio(users=["alice"], mlflow=kind)
    person = iam.Role(parts.stack, "Person", assumed_by=iam.AccountRootPrincipal())
    studio.grant_track_experiments(person)
    template = Template.from_stack(parts.stack)
    [mlflow_id] = template.find_resources(resource)
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Resource") == {"Fn::GetAtt": [mlflow_id, arn]}
    ]
    assert len(statements) == 1
    granted = statements[0]["Action"]
    assert set(actions) <= set(granted if isinstance(granted, list) else [granted])


def test_mlflow_is_a_kind_and_a_grant_needs_one() -> None:
    with pytest.raises(ValueError, match="mlflow False is not an MLflow kind; allowed: "):
        Parts().studio(users=["alice"], mlflow=False)
    studio = Parts().studio(users=["alice"], mlflow=MlflowKind.NONE)
    with pytest.raises(ValueError, match="grant_track_experiments needs MLflow"):
        studio.grant_track_experiments(iam.AnyPrincipal())


# --- the model release ------------------------------------------------------------------------


def test_a_release_in_the_registry_account_follows_the_registry_and_needs_no_second_approval() -> (
    None
):
    parts = Parts()
    release = parts.release(registry_account="555555555555")
    assert release.second_approval is False
    template = Template.from_stack(parts.stack)
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": "claims-model-release"})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {"detail-type": ["SageMaker Model Package State Change"]}
            )
        },
    )
    template.resource_count_is("AWS::Events::EventBus", 0)


def test_a_release_in_another_account_waits_for_its_own_approval_on_its_own_bus() -> None:
    parts = Parts(account="666666666666")
    release = parts.release(registry_account="555555555555")
    assert release.second_approval is True
    template = Template.from_stack(parts.stack)
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "claims-model-release"})


def recipe(**overrides: Any) -> FineTuningSpec:
    props: dict[str, Any] = {
        "name": "claims-summarizer",
        "base_model_prefix": "models/mistral-7b/base/",
        "dataset_prefix": "claims-summarizer/",
        "training_instance": "ml.g5.12xlarge",
        "serving_instance": "ml.g5.2xlarge",
    }
    return FineTuningSpec(**{**props, **overrides})


# --- every validation message -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Parts().endpoint(min_instances=2, max_instances=1),
            "GpuEndpoint: need 0 <= min_instances <= max_instances and max_instances >= 1 "
            "(got 2..1)",
        ),
        (
            lambda: Parts().endpoint(min_instances=0, max_instances=0),
            "GpuEndpoint: need 0 <= min_instances <= max_instances and max_instances >= 1 "
            "(got 0..0)",
        ),
        (
            lambda: Parts().endpoint(instance_type="g5.2xlarge"),
            "GpuEndpoint: 'g5.2xlarge' is not a SageMaker instance type",
        ),
        (
            lambda: Parts().studio(idle_minutes=30),
            "StudioWorkspace: idle_minutes must be 60-525600 (got 30)",
        ),
        (
            lambda: Parts().studio(users=["Alice Smith"]),
            "StudioWorkspace: 'Alice Smith' is not a valid SageMaker name",
        ),
        (
            lambda: Parts().studio(users=["alice"], shared_spaces={"review": "zoe"}),
            "StudioWorkspace: shared_spaces owners ['zoe'] are not among users ['alice']",
        ),
        (
            lambda: FineTuningPipeline(
                Parts().stack, "Tuning", **{**PIPELINE_PLACEHOLDERS, "vpc_subnets": []}
            ),
            "FineTuningPipeline: vpc_subnets must name at least one subnet",
        ),
        (
            lambda: FineTuningPipeline(
                Parts().stack, "Tuning", **PIPELINE_PLACEHOLDERS, code_dir=Path("/nonexistent")
            ),
            f"FineTuningPipeline: /nonexistent lacks {', '.join(CODE_FILES)}",
        ),
        (
            lambda: FineTuningPipeline(
                Parts().stack, "Tuning", **PIPELINE_PLACEHOLDERS, retrain_schedule="weekly"
            ),
            "FineTuningPipeline: retrain_schedule 'weekly' is not an EventBridge schedule; "
            "allowed: rate(N days) or cron(minutes hours day month weekday year), "
            "e.g. cron(0 3 ? * MON *)",
        ),
        (
            lambda: recipe(name="claims summarizer"),
            "FineTuningSpec: name 'claims summarizer' is not a pipeline and model package group "
            "name; allowed: 1-63 letters, digits and '-', starting and ending with a letter or "
            "digit",
        ),
        (
            lambda: recipe(method="full"),
            "FineTuningSpec claims-summarizer: method 'full' is not supported; allowed: "
            f"{', '.join(METHODS)} (the recipe trains adapters, never the full model)",
        ),
        (
            lambda: recipe(training_instance="ml.m5.xlarge"),
            "FineTuningSpec claims-summarizer: training_instance 'ml.m5.xlarge' is not a "
            "SageMaker GPU instance type the recipe knows; allowed: e.g. ml.g5.2xlarge, "
            "ml.g5.12xlarge",
        ),
        (
            lambda: recipe(training_instance="ml.g5.2xlarge", gpus=4),
            "FineTuningSpec claims-summarizer: gpus (of ml.g5.2xlarge) must be 1-1 (got 4)",
        ),
        (
            lambda: recipe(epochs=0),
            "FineTuningSpec claims-summarizer: epochs must be 1-20 (got 0)",
        ),
        (
            lambda: recipe(rouge_l_threshold=1.5),
            "FineTuningSpec claims-summarizer: rouge_l_threshold must be 0-1 (got 1.5)",
        ),
        (
            lambda: IntendedUse("Drafts claim summaries.", "Severe", "A person reviews."),
            "IntendedUse: risk_rating 'Severe' is not a model card rating; allowed: High, "
            "Medium, Low, Unknown",
        ),
        (
            lambda: IntendedUse("  ", "Low", "A person reviews."),
            "IntendedUse: purpose must say something",
        ),
        (
            lambda: recipe(batch_size=0),
            "FineTuningSpec claims-summarizer: batch_size must be at least 1 (got 0)",
        ),
        (
            lambda: Parts().release(registry_account="555555555555", models={}),
            "ModelRelease: models must map each group to at least one endpoint",
        ),
        (
            lambda: Parts().release(registry_account="555555555555", models={"claims": []}),
            "ModelRelease: models must map each group to at least one endpoint",
        ),
    ],
)
def test_each_prop_is_refused_with_its_message(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        build()


# --- a GPU endpoint behind the guardrail ------------------------------------------------------

GUARDRAIL_ARN = "arn:aws:bedrock:eu-west-1:555555555555:guardrail/gr7abc123def"


def guarded(parts: Parts, **props: Any) -> GuardedEndpoint:
    settings: dict[str, Any] = {
        "endpoint": parts.endpoint(),
        "guardrail": GovernedGuardrail.from_guardrail_attributes(
            parts.stack,
            "Guardrail",
            guardrail_arn=GUARDRAIL_ARN,
            version="4",
            encryption_key=parts.key,
        ),
        "max_input_chars": 20000,
        "encryption_key": parts.key,
        "vpc": parts.vpc,
        "log_retention": logs.RetentionDays.ONE_YEAR,
        **props,
    }
    return GuardedEndpoint(parts.stack, "Guarded", **settings)


def test_the_guarded_endpoint_calls_its_endpoint_with_the_guardrail_and_nothing_else() -> None:
    parts = Parts()
    endpoint_guard = guarded(parts)
    application = iam.Role(
        parts.stack, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    endpoint_guard.grant_invoke(application)
    template = Template.from_stack(parts.stack)
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM"})
    [function] = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "genai_constructs.handlers.guarded_endpoint.index.handler"
    ]
    assert function["Environment"]["Variables"]["GUARDRAIL_ID"] == GUARDRAIL_ARN
    assert function["Environment"]["Variables"]["GUARDRAIL_VERSION"] == "4"
    assert function["Environment"]["Variables"]["MAX_TOKENS"] == "1024"
    assert "VpcConfig" in function
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = sorted(
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    )
    assert actions == [
        "bedrock:ApplyGuardrail",
        "kms:Decrypt",
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    ]
    [url_call] = [s for s in statements if s["Action"] == "lambda:InvokeFunctionUrl"]
    assert url_call["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_input_chars": 0}, "GuardedEndpoint: max_input_chars must be 1-100000 (got 0)"),
        ({"max_tokens": 9000}, "GuardedEndpoint: max_tokens must be 1-8192 (got 9000)"),
        ({"concurrency": 0}, "GuardedEndpoint: concurrency must be 1-1000 (got 0)"),
    ],
)
def test_a_guarded_endpoint_prop_is_refused_with_its_message(
    props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        guarded(Parts(), **props)


def test_a_named_endpoint_is_called_from_another_stack_by_its_name() -> None:
    parts = Parts()
    served = parts.endpoint(endpoint_name="claims-prod-claims-summarizer")
    template = Template.from_stack(parts.stack)
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint", {"EndpointName": "claims-prod-claims-summarizer"}
    )
    template.has_resource_properties(
        "AWS::SageMaker::InferenceComponent",
        {"InferenceComponentName": "claims-prod-claims-summarizer"},
    )
    assert served.inference_component_name == "claims-prod-claims-summarizer"
    other = Stack(App(), "GenAI", env=Environment(account="555555555555", region="eu-west-1"))
    named = GpuEndpoint.from_endpoint_name(
        other,
        "Served",
        "Claims-Prod-Summarizer",
        inference_component_name="Claims-Prod-Summarizer",
    )
    application = iam.Role(other, "App", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    named.grant_invoke(application)
    [policy] = Template.from_stack(other).find_resources("AWS::IAM::ManagedPolicy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    partition = {"Ref": "AWS::Partition"}
    resources = [
        "".join("aws" if part == partition else part for part in arn["Fn::Join"][1])
        for arn in statement["Resource"]
    ]
    # SageMaker's endpoint ARNs hold the name in lower case; a component's keeps its own.
    assert resources == [
        "arn:aws:sagemaker:eu-west-1:555555555555:endpoint/claims-prod-summarizer",
        "arn:aws:sagemaker:eu-west-1:555555555555:inference-component/Claims-Prod-Summarizer",
    ]


@pytest.mark.parametrize("name", ["claims_summarizer", "-claims", "x" * 64, "x-" * 40 + "x"])
def test_an_endpoint_name_sagemaker_refuses_is_refused(name: str) -> None:
    message = (
        f"GpuEndpoint: endpoint_name '{name}' is not a SageMaker endpoint name; allowed: 1-63 "
        "letters, digits and '-', starting and ending with a letter or digit"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Parts().endpoint(endpoint_name=name)


def test_a_monitored_endpoint_announces_its_monitors_violations_and_failures() -> None:
    """The monitoring jobs run as the monitor's own role; a rule on their state changes
    publishes, through a notifier-tagged role, each job that found violations, failed or
    stopped on the endpoint's alarm topic, naming the job and its exit message."""
    parts = Parts()
    served = parts.endpoint(
        monitor=True, monitor_baseline_prefix="models/summarizer/serving/baseline/"
    )
    assert served.monitor is not None
    template = Template.from_stack(parts.stack)
    role = parts.stack.resolve(served.monitor.role.role_arn)
    publisher = parts.stack.resolve(served.monitor.publisher.role_arn)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Processing Job State Change"],
                "detail": {
                    "RoleArn": [role],
                    "$or": [
                        {"ProcessingJobStatus": ["Failed", "Stopped"]},
                        {"ExitMessage": [{"prefix": "CompletedWithViolations"}]},
                    ],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Ref": Match.string_like_regexp("^EndpointAlarms")},
                        "RoleArn": publisher,
                        "InputTransformer": Match.object_like(
                            {
                                "InputPathsMap": {
                                    "detail-ProcessingJobName": "$.detail.ProcessingJobName",
                                    "detail-ProcessingJobStatus": "$.detail.ProcessingJobStatus",
                                    "detail-ExitMessage": "$.detail.ExitMessage",
                                    "detail-FailureReason": "$.detail.FailureReason",
                                }
                            }
                        ),
                    }
                )
            ],
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "Description": Match.string_like_regexp("announces the data-quality monitor"),
            "Tags": Match.array_with([{"Key": "genai-platform:workload", "Value": "notifier"}]),
        },
    )
    [definition] = template.find_resources("AWS::SageMaker::DataQualityJobDefinition").values()
    properties = definition["Properties"]
    assert properties["RoleArn"] == role
    baseline = json.dumps(properties["DataQualityBaselineConfig"])
    assert "models/summarizer/serving/baseline/constraints.json" in baseline
    assert "models/summarizer/serving/baseline/statistics.json" in baseline


def test_an_endpoint_without_a_monitor_has_no_monitor_rule() -> None:
    parts = Parts()
    served = parts.endpoint()
    assert served.monitor is None
    template = Template.from_stack(parts.stack)
    template.resource_count_is("AWS::Events::Rule", 0)
    template.resource_count_is("AWS::SageMaker::MonitoringSchedule", 0)
