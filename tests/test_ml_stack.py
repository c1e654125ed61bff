"""The ML layer: Studio, fine-tuning pipeline, registry, model card, GPU endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk.assertions import Match
from sagemaker import image_uris

from blueprint.model.errors import ConfigError
from blueprint.model.loader import load_config
from tests.conftest import EXAMPLE, Synthesized


def _joined(value: Any) -> str:
    """A Fn::Join string with each reference replaced by a readable marker."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(_joined(part) for part in parts)
    if "Fn::ImportValue" in value:
        return f"<import:{value['Fn::ImportValue']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::Select" in value or "Fn::Split" in value:
        return "<derived>"
    raise AssertionError(f"unexpected intrinsic {value}")


@pytest.fixture(scope="module")
def definition(example: Synthesized) -> dict[str, Any]:
    template = example.template("claims-nonprod-ml")
    pipeline = next(iter(template.find_resources("AWS::SageMaker::Pipeline").values()))
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    return dict(json.loads(_joined(body)))


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in definition["Steps"] if step["Name"] == name)


def test_pipeline_steps(definition: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PrepareData", "Processing"),
        ("FineTune", "Training"),
        ("Evaluate", "Processing"),
        ("RougeLGate", "Condition"),
    ]
    gate = _step(definition, "RougeLGate")["Arguments"]["Conditions"][0]
    assert gate["Type"] == "GreaterThanOrEqualTo"
    assert gate["RightValue"] == 0.35
    assert gate["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.rouge_l.value"


def test_training_runs_on_the_catalog_gpu_with_the_sdk_image(definition: dict[str, Any]) -> None:
    training = _step(definition, "FineTune")["Arguments"]
    assert training["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert training["AlgorithmSpecification"]["TrainingImage"] == image_uris.retrieve(
        framework="huggingface",
        region="eu-west-1",
        version="4.49.0",
        base_framework_version="pytorch2.5.1",
        py_version="py311",
        instance_type="ml.g5.12xlarge",
        image_scope="training",
    )
    assert training["StoppingCondition"]["MaxRuntimeInSeconds"] == 8 * 3600
    assert training["EnableNetworkIsolation"] is True
    assert training["EnableInterContainerTrafficEncryption"] is True


def test_every_job_is_in_the_vpc_and_encrypted(definition: dict[str, Any]) -> None:
    key = "<import:claims-nonprod-security:ExportsOutputFnGetAttDataKey2A0DE9E6Arn11FE9379>"
    training = _step(definition, "FineTune")["Arguments"]
    # g5 instances have local NVMe storage, where SageMaker rejects a volume key.
    assert "VolumeKmsKeyId" not in training["ResourceConfig"]
    assert training["OutputDataConfig"]["KmsKeyId"] == key
    assert len(training["VpcConfig"]["Subnets"]) == 2
    assert all(
        s.startswith("<import:claims-nonprod-foundation:") for s in training["VpcConfig"]["Subnets"]
    )
    assert training["VpcConfig"]["SecurityGroupIds"] == ["<JobsSecurityGroup7B5B5E2B.GroupId>"]
    for name, volume_key in (("PrepareData", key), ("Evaluate", None)):
        job = _step(definition, name)["Arguments"]
        assert job["ProcessingResources"]["ClusterConfig"].get("VolumeKmsKeyId") == volume_key
        assert job["ProcessingOutputConfig"]["KmsKeyId"] == key
        assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert job["NetworkConfig"]["VpcConfig"]["Subnets"] == training["VpcConfig"]["Subnets"]
        assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200


def test_registration_waits_for_approval_with_the_sdk_serving_image(
    definition: dict[str, Any],
) -> None:
    register = _step(definition, "RougeLGate")["Arguments"]["IfSteps"][0]
    assert register["Type"] == "RegisterModel"
    arguments = register["Arguments"]
    assert arguments["ModelApprovalStatus"] == "PendingManualApproval"
    assert arguments["ModelPackageGroupName"] == "claims-summarizer"
    container = arguments["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == image_uris.retrieve(
        "huggingface-llm", "eu-west-1", version="3.3.6"
    )
    assert arguments["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        "ml.g5.2xlarge"
    ]


def test_no_placeholder_is_left(example: Synthesized) -> None:
    text = json.dumps(example.template_json("claims-nonprod-ml"))
    assert "placeholder" not in text


def test_registry_lets_prod_read_packages_and_announces_approvals(example: Synthesized) -> None:
    template = example.template("claims-nonprod-ml")
    template.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "ModelPackageGroupName": "claims-summarizer",
            "ModelPackageGroupPolicy": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {
                                "AWS": [
                                    "arn:aws:iam::666666666666:role/"
                                    "cdk-genai-cfn-exec-role-666666666666-eu-west-1"
                                ]
                            },
                            "Action": [
                                "sagemaker:DescribeModelPackage",
                                "sagemaker:ListModelPackages",
                                "sagemaker:DescribeModelPackageGroup",
                            ],
                        }
                    )
                ]
            },
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": ["claims-summarizer"],
                    "ModelApprovalStatus": ["Approved"],
                },
            }
        },
    )


def test_model_card_reports_the_guide_metrics(example: Synthesized) -> None:
    card = next(
        iter(
            example.template("claims-nonprod-ml")
            .find_resources("AWS::SageMaker::ModelCard")
            .values()
        )
    )["Properties"]
    metrics = card["Content"]["EvaluationDetails"][0]["MetricGroups"][0]["MetricData"]
    assert [m["Name"] for m in metrics] == [
        "rouge_l",
        "bleu",
        "eval_loss",
        "accuracy",
        "bias_disparity",
    ]
    assert card["Content"]["IntendedUses"]["RiskRating"] == "Medium"
    assert "KmsKeyId" in card["SecurityConfig"]


def test_pipeline_role_may_write_operational_data(example: Synthesized) -> None:
    example.template("claims-nonprod-ml").has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})
                    ]
                }
            ),
            "Tags": Match.array_with([{"Key": "genai-platform:workload", "Value": "pipeline"}]),
            "Description": Match.string_like_regexp("claims-summarizer fine-tuning pipeline"),
        },
    )


@pytest.mark.parametrize(("env", "monitored"), [("nonprod", 0), ("prod", 1)])
def test_scale_to_zero_endpoint(example: Synthesized, env: str, monitored: int) -> None:
    template = example.template(f"claims-{env}-ml")
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "InstanceType": "ml.g5.2xlarge",
                        "ManagedInstanceScaling": {
                            "Status": "ENABLED",
                            "MinInstanceCount": 0,
                            "MaxInstanceCount": 2,
                        },
                    }
                )
            ],
            "DataCaptureConfig": Match.object_like(
                {
                    "EnableCapture": True,
                    "KmsKeyId": Match.any_value(),
                    "DestinationS3Uri": Match.any_value(),
                }
            ),
            "EnableNetworkIsolation": True,
        },
    )
    template.resource_count_is("AWS::SageMaker::InferenceComponent", 1)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 0,
            "MaxCapacity": 2,
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        },
    )
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    names = {
        a["Properties"]["MetricName"] for a in alarms.values() if "MetricName" in a["Properties"]
    }
    assert {"Invocation5XXErrors", "ModelLatency"} <= names
    template.resource_count_is("AWS::SageMaker::MonitoringSchedule", monitored)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": Match.object_like(
                {"Image": image_uris.retrieve("huggingface-llm", "eu-west-1", version="3.3.6")}
            ),
        },
    )


def test_studio_is_vpc_only_encrypted_and_stops_idle_apps(example: Synthesized) -> None:
    template = example.template("claims-interactive-ml")
    template.has_resource_properties(
        "AWS::SageMaker::Domain",
        {
            "AppNetworkAccessType": "VpcOnly",
            "AuthMode": "IAM",
            "KmsKeyId": Match.any_value(),
            "DefaultUserSettings": Match.object_like(
                {
                    "ExecutionRole": "arn:aws:iam::444444444444:role/example-corp-data-scientist",
                    "JupyterLabAppSettings": {
                        "AppLifecycleManagement": {
                            "IdleSettings": Match.object_like(
                                {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 60}
                            )
                        }
                    },
                }
            ),
        },
    )
    profiles = template.find_resources("AWS::SageMaker::UserProfile")
    assert sorted(p["Properties"]["UserProfileName"] for p in profiles.values()) == [
        "alice",
        "bruno",
    ]
    mlflow = next(iter(template.find_resources("AWS::SageMaker::MlflowTrackingServer").values()))
    assert _joined(mlflow["Properties"]["ArtifactStoreUri"]) == "s3://<derived>/mlflow"
    assert mlflow["Properties"]["TrackingServerSize"] == "Small"
    for env in ("nonprod", "prod"):
        example.template(f"claims-{env}-ml").resource_count_is("AWS::SageMaker::Domain", 0)


def test_data_scientists_can_be_studio_execution_roles(example: Synthesized) -> None:
    example.template("claims-interactive-foundation").has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "example-corp-data-scientist",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like({"Principal": {"AWS": "arn:aws:iam::444444444444:root"}}),
                    Match.object_like(
                        {
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": "444444444444"}},
                        }
                    ),
                ]
            },
        },
    )


def _problems(tmp_path: Path, edit: Any) -> list[str]:
    data = yaml.safe_load(EXAMPLE.read_text())
    edit(data)
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return [line.split(": ", 1)[1] for line in raised.value.lines()]


def test_instances_must_be_sagemaker_gpu_types(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["catalog"]["open_weights"][0]["training_instance"] = "ml.m5.24xlarge"

    assert _problems(tmp_path, edit) == [
        "catalog.open_weights[0].training_instance: 'ml.m5.24xlarge' is not a SageMaker GPU "
        "instance type; allowed: ml.<family>.<size> with family one of g4dn, g5, g6, g6e, gr6, "
        "p3, p3dn, p4d, p4de, p5, p5e, p5en, e.g. ml.g5.2xlarge"
    ]


def test_max_instances_cover_min(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["endpoints"][0] |= {"min_instances": 3, "max_instances": 2}

    assert _problems(tmp_path, edit) == [
        "lobs[0].ml.endpoints[0]: max_instances (2) is below min_instances (3); "
        "allowed: max_instances >= min_instances"
    ]


def test_endpoint_models_must_be_known(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["endpoints"][0]["model"] = "llama-3"

    assert _problems(tmp_path, edit) == [
        "lobs[0].ml.endpoints[0].model: 'llama-3' is neither an open-weights model of the "
        "catalog nor a fine_tuning entry of this LOB; allowed: mistral-7b-instruct, "
        "claims-summarizer"
    ]


def test_fine_tuning_bases_must_be_open_weights_models(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["fine_tuning"][0]["base_model"] = "amazon.nova-pro-v1:0"

    assert _problems(tmp_path, edit) == [
        "lobs[0].ml.fine_tuning[0].base_model: model 'amazon.nova-pro-v1:0' is not in "
        "catalog.open_weights; allowed: mistral-7b-instruct"
    ]


def test_recipes_under_other_names_share_one_sdk_definition() -> None:
    """The SDK builds a definition once per recipe; the name is put in afterwards, and the
    result is what the SDK itself writes for that name."""
    from genai_constructs import fine_tuning

    spec = fine_tuning.FineTuningSpec(
        name="a-recipe-named-for-this-test",
        base_model_prefix="models/base/",
        dataset_prefix="datasets/test/",
        training_instance="ml.g5.12xlarge",
        serving_instance="ml.g5.2xlarge",
    )
    shared = fine_tuning.pipeline_definition(spec, region="eu-west-1", subnet_count=2)
    with fine_tuning._sdk_config_validated_once():
        direct = fine_tuning._pipeline_definition(spec, region="eu-west-1", subnet_count=2)
    assert shared == direct
    assert fine_tuning.NAME not in shared and spec.name in shared
