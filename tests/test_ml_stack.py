"""The ML layer: Studio, fine-tuning pipeline, registry, model card, GPU endpoints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match
from sagemaker import image_uris

from blueprint.assembly.access.question import Questions
from blueprint.assembly.cost import cost_markdown, estimate_costs
from blueprint.assembly.reader import read_assembly
from blueprint.model.config import OrgConfig
from blueprint.model.errors import ConfigError
from blueprint.model.loader import load_config
from blueprint.model.prices import load_prices
from genai_constructs import fine_tuning
from genai_constructs.fine_tuning import definition as sdk_definition
from genai_constructs.fine_tuning.jobs import preparation_image_uri, training_image_uri
from genai_constructs.studio import StudioWorkspace
from tests.conftest import EXAMPLE, REPO, Synthesized, joined, only_lobs, synthesize_org


@pytest.fixture(scope="module")
def definition(example: Synthesized) -> dict[str, Any]:
    template = example.template("claims-nonprod-ml")
    pipeline = next(iter(template.find_resources("AWS::SageMaker::Pipeline").values()))
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    return dict(json.loads(joined(body)))


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(step for step in definition["Steps"] if step["Name"] == name)


def _role(example: Synthesized, stack: str, logical_prefix: str) -> str:
    """``stack/<logical id>`` of the stack's role whose logical ID starts so."""
    resources = example.template_json(stack)["Resources"]
    return next(
        f"{stack}/{key}"
        for key, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role" and key.startswith(logical_prefix)
    )


def test_pipeline_steps(definition: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PrepareData", "Processing"),
        ("FineTune", "Training"),
        ("MergeAdapter", "Processing"),
        ("DataQualityBaseline", "QualityCheck"),
        ("Evaluate", "Processing"),
        ("EvaluationGate", "Condition"),
    ]
    gate = _step(definition, "EvaluationGate")["Arguments"]
    quality, bias = gate["Conditions"]
    assert quality["Type"] == "GreaterThanOrEqualTo"
    assert quality["RightValue"] == 0.35
    assert quality["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.rouge_l.value"
    assert bias["Type"] == "LessThanOrEqualTo"
    assert bias["RightValue"] == 0.1
    assert bias["LeftValue"]["Std:JsonGet"]["Path"] == "bias.max_gaps.rouge_l"
    assert [(s["Name"], s["Type"]) for s in gate["IfSteps"]] == [
        ("Register-RegisterModel", "RegisterModel"),
        ("RecordEvaluation", "Lambda"),
    ]
    [refusal] = gate["ElseSteps"]
    assert refusal["Arguments"]["ErrorMessage"] == (
        "ROUGE-L below 0.35 or a ROUGE-L gap between groups above 0.1; the model was not registered"
    )


def test_the_evaluation_scores_the_curated_bias_probes_and_registers_their_gaps(
    definition: dict[str, Any], example: Synthesized, example_access: Questions
) -> None:
    """The example's recipe sets ``bias``: Evaluate reads the probe dataset's curated rows, the
    package's bias metrics are the run's bias.json, and the pipeline's role reads those rows
    and nothing else of the curated zone."""
    evaluate = _step(definition, "Evaluate")["Arguments"]
    inputs = {i["S3Input"]["LocalPath"]: i["S3Input"] for i in evaluate["ProcessingInputs"]}
    probes = inputs["/opt/ml/processing/probes"]
    assert probes["S3Uri"].startswith("s3://") and probes["S3Uri"].endswith(
        "/datasets/claims-bias-probes/"
    )
    arguments = evaluate["AppSpecification"]["ContainerArguments"]
    assert arguments[-2:] == ["--probes-dir", "/opt/ml/processing/probes"]
    register = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][0]["Arguments"]
    report = register["ModelMetrics"]["Bias"]["Report"]
    assert report["ContentType"] == "application/json"
    assert report["S3Uri"]["Std:Join"]["Values"][1] == "bias.json"
    pipeline_role = _role(example, "claims-nonprod-ml", "FineTuningClaimsSummarizerExecutionRole")
    curated = f"claims-nonprod-data/{example.marked('claims-nonprod-data', 'zone/curated')}"
    for key, expected in (
        ("datasets/claims-bias-probes/probes.jsonl.jsonl", "allow"),
        ("datasets/claims/claims.csv.jsonl", "deny"),
        ("staging/datasets/claims-bias-probes/probes.jsonl.jsonl", "deny"),
    ):
        answer = example_access.ask(pipeline_role, "s3:GetObject", f"{curated}/{key}")
        assert answer.decision == expected, (key, answer.reasons)
    answer = example_access.ask(
        pipeline_role, "s3:PutObject", f"{curated}/datasets/claims-bias-probes/probes.jsonl.jsonl"
    )
    assert answer.decision == "deny", answer.reasons


def test_without_bias_probes_the_gate_is_rouge_l_alone() -> None:
    definition = json.loads(
        sdk_definition.pipeline_definition(small_spec(), region="eu-west-1", subnet_count=2)
    )
    gate = _step(definition, "EvaluationGate")["Arguments"]
    assert [c["Type"] for c in gate["Conditions"]] == ["GreaterThanOrEqualTo"]
    evaluate = _step(definition, "Evaluate")["Arguments"]
    assert "--probes-dir" not in evaluate["AppSpecification"]["ContainerArguments"]
    local_paths = [i["S3Input"]["LocalPath"] for i in evaluate["ProcessingInputs"]]
    assert "/opt/ml/processing/probes" not in local_paths
    register = gate["IfSteps"][0]["Arguments"]
    assert register["ModelMetrics"]["Bias"] == {}  # the SDK writes the section, empty


PROD_RELEASE_BUS = "arn:aws:events:eu-west-1:666666666666:event-bus/example-corp-model-releases"


def _run_prefix(value: dict[str, Any]) -> list[Any]:
    """The parts of a per-execution prefix (Std:Join of the runs prefix, a kind, the id)."""
    return list(value["Std:Join"]["Values"])


def test_training_uses_every_gpu_spot_capacity_and_its_own_checkpoints(
    definition: dict[str, Any],
) -> None:
    training = _step(definition, "FineTune")["Arguments"]
    hyperparameters = {k: json.loads(v) for k, v in training["HyperParameters"].items()}
    assert {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")} == {
        "method": "lora",
        "epochs": 2,
        "batch-size": 4,
        "max-length": 512,
        "lora-r": 16,
        "lora-alpha": 32,
        "target-modules": "q_proj,v_proj",
        "gradient-checkpointing": "true",
    }
    # ml.g5.12xlarge has 4 GPUs: torchrun starts a process on each.
    assert hyperparameters["sagemaker_torch_distributed_enabled"] is True
    assert training["EnableManagedSpotTraining"] is True
    assert training["StoppingCondition"]["MaxWaitTimeInSeconds"] == 2 * 8 * 3600
    checkpoints = training["CheckpointConfig"]
    assert checkpoints["LocalPath"] == "/opt/ml/checkpoints"
    prefix = _run_prefix(checkpoints["S3Uri"])
    assert prefix[0].endswith("/pipelines/claims-summarizer")
    assert prefix[1:] == ["checkpoints", {"Get": "Execution.PipelineExecutionId"}]


def test_the_merged_model_is_evaluated_and_registered_uncompressed(
    definition: dict[str, Any],
) -> None:
    merge = _step(definition, "MergeAdapter")["Arguments"]
    base, adapter = (i["S3Input"]["S3Uri"] for i in merge["ProcessingInputs"][:2])
    assert base.endswith("/models/mistral-7b-instruct/base/")
    assert adapter == {"Get": "Steps.FineTune.ModelArtifacts.S3ModelArtifacts"}
    assert merge["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert merge["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] == 200
    [output] = merge["ProcessingOutputConfig"]["Outputs"]
    assert _run_prefix(output["S3Output"]["S3Uri"])[1] == "merged"
    merged = {"Get": "Steps.MergeAdapter.ProcessingOutputConfig.Outputs['merged'].S3Output.S3Uri"}
    evaluate = _step(definition, "Evaluate")["Arguments"]
    assert evaluate["ProcessingInputs"][0]["S3Input"]["S3Uri"] == merged
    assert evaluate["AppSpecification"]["ContainerArguments"][:2] == [
        "--model-dir",
        "/opt/ml/processing/model",
    ]
    register = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][0]["Arguments"]
    [container] = register["InferenceSpecification"]["Containers"]
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["S3DataType"] == "S3Prefix"
    assert source["CompressionType"] == "None"
    assert source["S3Uri"]["Std:Join"]["Values"] == [merged, "/"]
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"][1] == "evaluation.json"


def test_the_evaluation_is_recorded_by_the_pipelines_own_function(
    definition: dict[str, Any], example: Synthesized
) -> None:
    record = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][1]
    assert record["FunctionArn"].startswith("<FineTuningClaimsSummarizerRecordEvaluationFunction")
    assert record["Arguments"]["model_card_name"] == "claims-summarizer"
    assert record["Arguments"]["model_package_arn"] == {
        "Get": "Steps.Register-RegisterModel.ModelPackageArn"
    }
    template = example.template("claims-nonprod-ml")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "genai_constructs.handlers.model_card.index.handler"},
    )


def test_each_run_records_the_data_and_base_weights_it_used(
    definition: dict[str, Any], example: Synthesized, example_access: Questions
) -> None:
    """Lineage: PrepareData writes dataset.json (each input file's SHA-256) under the run's
    own prefix; RecordEvaluation reads it and the base weights' import manifest into the card
    and package."""
    [lineage] = [
        o
        for o in _step(definition, "PrepareData")["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        if o["OutputName"] == "lineage"
    ]
    assert lineage["S3Output"]["LocalPath"] == "/opt/ml/processing/lineage"
    assert "Execution.PipelineExecutionId" in json.dumps(lineage["S3Output"]["S3Uri"])
    record = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][1]["Arguments"]
    assert "Steps.PrepareData.ProcessingOutputConfig.Outputs['lineage']" in json.dumps(
        record["dataset_uri"]
    )
    assert record["base_weights_uri"].endswith("/models/mistral-7b-instruct/base/manifest.json")
    function_role = _role(
        example, "claims-nonprod-ml", "FineTuningClaimsSummarizerRecordEvaluation"
    )
    artifacts = f"claims-nonprod-data/{example.marked('claims-nonprod-data', 'zone/artifacts')}"
    for key, expected in (
        ("pipelines/claims-summarizer/lineage/exec-1/dataset.json", "allow"),
        ("models/mistral-7b-instruct/base/manifest.json", "allow"),
        ("models/mistral-7b-instruct/base/model.safetensors", "deny"),
    ):
        answer = example_access.ask(function_role, "s3:GetObject", f"{artifacts}/{key}")
        assert answer.decision == expected, (key, answer.reasons)


RECIPE_IMAGE = (
    "555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-training-recipe@sha256:"
    "108d89e409020bc07dcb3e8c820ee02ea9ece67cd84be19316fddda6a2f1dac7"
)


def test_the_jobs_of_the_recipe_run_its_image(definition: dict[str, Any]) -> None:
    """The example names an image holding the recipe's packages (network-isolated jobs
    cannot install them): training, merge and evaluation run it."""
    training = _step(definition, "FineTune")["Arguments"]
    assert training["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert training["AlgorithmSpecification"]["TrainingImage"] == RECIPE_IMAGE
    for step in ("MergeAdapter", "Evaluate"):
        assert _step(definition, step)["Arguments"]["AppSpecification"]["ImageUri"] == RECIPE_IMAGE
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
    for name, volume_key in (("PrepareData", key), ("MergeAdapter", None), ("Evaluate", None)):
        job = _step(definition, name)["Arguments"]
        assert job["ProcessingResources"]["ClusterConfig"].get("VolumeKmsKeyId") == volume_key
        assert job["ProcessingOutputConfig"]["KmsKeyId"] == key
        assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert job["NetworkConfig"]["VpcConfig"]["Subnets"] == training["VpcConfig"]["Subnets"]
        assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 7200


def test_registration_waits_for_approval_with_the_sdk_serving_image(
    definition: dict[str, Any],
) -> None:
    register = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][0]
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


def test_registry_lets_prod_release_read_packages_and_forwards_approvals(
    example: Synthesized,
) -> None:
    template = example.template("claims-nonprod-ml")
    template.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "ModelPackageGroupName": "claims-summarizer",
            "ModelPackageGroupPolicy": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"AWS": ["arn:aws:iam::666666666666:root"]},
                            "Condition": {
                                "ArnEquals": {
                                    "aws:PrincipalArn": [
                                        "arn:aws:iam::666666666666:role/example-corp-model-release"
                                    ]
                                }
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
            },
            "Targets": Match.array_with([Match.object_like({"Arn": PROD_RELEASE_BUS})]),
        },
    )


def test_the_pipeline_retrains_on_its_schedule(example: Synthesized) -> None:
    template = example.template("claims-nonprod-ml")
    [rule] = [
        r
        for r in template.find_resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    [target] = rule["Properties"]["Targets"]
    assert joined(target["Arn"]).endswith(":pipeline/claims-summarizer")
    assert target["SageMakerPipelineParameters"] == {"PipelineParameterList": []}


def test_the_model_card_holds_no_made_up_metrics(example: Synthesized) -> None:
    """Its evaluation is written by the pipeline's RecordEvaluation step (handler tests)."""
    card = next(
        iter(
            example.template("claims-nonprod-ml")
            .find_resources("AWS::SageMaker::ModelCard")
            .values()
        )
    )["Properties"]
    assert "EvaluationDetails" not in card["Content"]
    caveats = card["Content"]["AdditionalInformation"]["CaveatsAndRecommendations"]
    assert "ROUGE-L >= 0.35" in caveats
    assert "KmsKeyId" in card["SecurityConfig"]


def test_the_model_card_rates_the_risk_of_the_use_cases_it_serves(example: Synthesized) -> None:
    """claims-summarizer is served by the endpoint claims-assistant calls, whose record is high
    risk with human review."""
    [card] = (
        example.template("claims-nonprod-ml").find_resources("AWS::SageMaker::ModelCard").values()
    )
    uses = card["Properties"]["Content"]["IntendedUses"]
    assert uses["RiskRating"] == "High"
    assert uses["PurposeOfModel"] == (
        "claims-assistant: Answers adjusters' questions on policy wording; never decides a claim."
    )
    assert uses["ExplanationsForRiskRating"] == (
        "EU AI Act tier high of claims-assistant; a person reviews flagged answers of "
        "claims-assistant"
    )


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
    # MLflow is serverless by default: an MLflow App, nothing billed while idle.
    template.resource_count_is("AWS::SageMaker::MlflowTrackingServer", 0)
    [app] = template.find_resources("AWS::SageMaker::MlflowApp").values()
    assert joined(app["Properties"]["ArtifactStoreUri"]) == "s3://<derived>/mlflow"
    assert app["Properties"]["ModelRegistrationMode"] == "AutoModelRegistrationDisabled"
    [app_id] = template.find_resources("AWS::SageMaker::MlflowApp")
    [tracking] = template.find_resources(
        "AWS::IAM::ManagedPolicy",
        {
            "Properties": {
                "Roles": [Match.any_value()],
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "TrackExperiments",
                            "Resource": {"Fn::GetAtt": [app_id, "Arn"]},
                            "Action": [
                                "sagemaker:CallMlflowAppApi",
                                "sagemaker:CreatePresignedMlflowAppUrl",
                                "sagemaker:DescribeMlflowApp",
                            ],
                            "Effect": "Allow",
                        }
                    ]
                },
            }
        },
    ).values()
    assert tracking["Properties"]["Roles"] == ["example-corp-data-scientist"]
    for env in ("nonprod", "prod"):
        example.template(f"claims-{env}-ml").resource_count_is("AWS::SageMaker::Domain", 0)


@pytest.mark.parametrize("env", ["nonprod", "prod"])
def test_each_endpoint_publishes_its_name(example: Synthesized, env: str) -> None:
    template = example.template(f"claims-{env}-ml")
    [endpoint] = template.find_resources("AWS::SageMaker::Endpoint")
    template.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": f"/genai-platform/claims/{env}/endpoints/claims-summarizer/name",
            "Value": {"Fn::GetAtt": [endpoint, "EndpointName"]},
        },
    )


def test_shared_spaces_are_the_declared_ones(example: Synthesized) -> None:
    template = example.template("claims-interactive-ml")
    [space] = template.find_resources("AWS::SageMaker::Space").values()
    assert space["Properties"]["SpaceName"] == "claims-review"
    assert space["Properties"]["OwnershipSettings"] == {"OwnerUserProfileName": "alice"}
    assert space["Properties"]["SpaceSharingSettings"] == {"SharingType": "Shared"}
    owner = next(
        logical_id
        for logical_id, profile in template.find_resources("AWS::SageMaker::UserProfile").items()
        if profile["Properties"]["UserProfileName"] == "alice"
    )
    assert owner in space["DependsOn"]
    example.template("research-interactive-ml").resource_count_is("AWS::SageMaker::Space", 0)


def test_a_shared_space_must_belong_to_a_user() -> None:
    stack = Stack(App(), "Studio", env=Environment(account="444444444444", region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, max_azs=1)
    with pytest.raises(ValueError, match=r"shared_spaces owners \['zoe'\] are not among users"):
        StudioWorkspace(
            stack,
            "Studio",
            domain_name="lab",
            vpc=vpc,
            vpc_subnets=vpc.isolated_subnets,
            encryption_key=kms.Key(stack, "Key"),
            execution_role=iam.Role.from_role_name(stack, "Role", "data-scientist"),
            artifacts_bucket=s3.Bucket(stack, "Artifacts"),
            users=["alice"],
            shared_spaces={"review": "zoe"},
        )


def test_studio_acts_for_its_user_in_their_own_private_spaces(example: Synthesized) -> None:
    template = example.template("claims-interactive-foundation")
    [work] = [
        policy["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, policy in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith("DataScientistWork")
    ]
    by_sid = {statement["Sid"]: statement for statement in work}
    own = (
        "arn:aws:sagemaker:eu-west-1:444444444444:user-profile/${sagemaker:DomainId}/"
        "${sagemaker:UserProfileName}"
    )
    for sid in ("OwnPrivateSpaces", "AppsOfOwnPrivateSpaces"):
        assert by_sid[sid]["Condition"] == {
            "ArnLike": {"sagemaker:OwnerUserProfileArn": own},
            "StringEquals": {"sagemaker:SpaceSharingType": "Private"},
        }
    assert by_sid["AppsOfSharedSpaces"]["Action"] == ["sagemaker:CreateApp", "sagemaker:DeleteApp"]
    assert by_sid["PullTheImages"]["Resource"] == sorted(
        {
            f"arn:aws:ecr:eu-west-1:{uri.split('.')[0]}:repository/{uri.split('/')[1].split(':')[0]}"
            for uri in (
                training_image_uri("eu-west-1", "ml.g5.2xlarge"),
                preparation_image_uri("eu-west-1"),
            )
        }
    )


def test_data_scientists_can_be_studio_execution_roles(example: Synthesized) -> None:
    example.template("claims-interactive-foundation").has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "example-corp-data-scientist",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": "444444444444"}},
                        }
                    ),
                    Match.object_like(
                        {
                            "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
                            "Condition": {"ArnLike": {"aws:PrincipalArn": Match.any_value()}},
                        }
                    ),
                    Match.object_like({"Action": "sts:TagSession"}),
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
        "instance type; allowed: ml.<family>.<size> of families g4dn, g5, g6, g6e, gr6, p3, "
        "p3dn, p4d, p4de, p5, p5e, p5en in the sizes SageMaker offers, e.g. ml.g5.2xlarge or "
        "ml.g5.12xlarge (4 GPUs)"
    ]


def test_max_instances_cover_min(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["endpoints"][0] |= {"min_instances": 3, "max_instances": 2}

    assert _problems(tmp_path, edit) == [
        "lobs[claims].ml.endpoints[0]: max_instances (2) is below min_instances (3); "
        "allowed: max_instances >= min_instances"
    ]


def test_endpoint_models_must_be_known(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["endpoints"][0]["model"] = "llama-3"

    assert _problems(tmp_path, edit) == [
        "lobs[claims].ml.endpoints[0].model: 'llama-3' is neither an open-weights model of the "
        "catalog nor a fine_tuning entry of this LOB; allowed: mistral-7b-instruct, "
        "claims-summarizer"
    ]


def test_fine_tuning_bases_must_be_open_weights_models(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["fine_tuning"][0]["base_model"] = "amazon.nova-pro-v1:0"

    assert _problems(tmp_path, edit) == [
        "lobs[claims].ml.fine_tuning[0].base_model: model 'amazon.nova-pro-v1:0' is not in "
        "catalog.open_weights; allowed: mistral-7b-instruct"
    ]


def test_bias_probes_must_be_a_dataset_of_the_lob(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["fine_tuning"][0]["bias"]["dataset"] = "probes"

    assert _problems(tmp_path, edit) == [
        "lobs[claims].ml.fine_tuning[0].bias.dataset: 'probes' is not a dataset of this LOB; "
        "allowed: a name of data.datasets (claims, claims-bias-probes)"
    ]


def test_bias_probes_need_the_probe_sets_string_columns(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        [probes] = [d for d in data["lobs"][0]["data"]["datasets"] if "probes" in d["name"]]
        probes["columns"] = [
            {"name": "attribute", "type": "string"},
            {"name": "groups", "type": "bigint"},
            {"name": "prompt", "type": "string"},
        ]
        probes["quality_rules"] = ["RowCount > 0"]

    assert _problems(tmp_path, edit) == [
        "lobs[claims].ml.fine_tuning[0].bias.dataset: dataset 'claims-bias-probes' lacks the "
        "string column(s) groups, completion; allowed: a dataset with string columns attribute, "
        "groups, prompt, completion"
    ]


@pytest.mark.parametrize(
    ("bias", "message"),
    [
        ({"max_rouge_l_gap": 0.1}, "bias.dataset: required key is missing"),
        ({"dataset": "claims-bias-probes", "max_rouge_l_gap": 1.5}, "bias.max_rouge_l_gap"),
    ],
)
def test_a_bias_section_names_its_dataset_and_a_gap_in_range(
    tmp_path: Path, bias: dict[str, Any], message: str
) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["lobs"][0]["ml"]["fine_tuning"][0]["bias"] = bias

    [problem] = _problems(tmp_path, edit)
    assert problem.startswith(f"lobs[claims].ml.fine_tuning[0].{message}"), problem


def test_a_fine_tuned_model_needs_an_approved_source(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        del data["catalog"]["open_weights"][0]["source"]

    assert _problems(tmp_path, edit) == [
        "catalog.open_weights[0].source: missing: lobs[claims].ml.fine_tuning[0] fine-tunes "
        "this model and its jobs have no internet path to fetch it; allowed: "
        "s3://bucket/prefix/ of the organization's approved copy of its weights"
    ]


def test_an_approved_source_needs_its_approved_digest(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        del data["catalog"]["open_weights"][0]["sha256"]

    assert _problems(tmp_path, edit) == [
        "catalog.open_weights[0].sha256: missing: an import stages only the approved weights, "
        "whoever starts it and whatever the source then holds; allowed: the digest the "
        "import's manifest.json gives the approved copy (64 lower-case hex digits)"
    ]


@pytest.mark.parametrize(
    "source", ["https://huggingface.co/mistralai/x/", "s3://intake/weights", "s3://intake/*/"]
)
def test_a_source_is_an_s3_prefix(tmp_path: Path, source: str) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["catalog"]["open_weights"][0]["source"] = source

    meaning = "an S3 prefix such as s3://bucket/prefix/ (ending with '/', no wildcards)"
    assert _problems(tmp_path, edit) == [
        f"catalog.open_weights[0].source: '{source}' is not {meaning}; allowed: {meaning}"
    ]


def test_each_fine_tuned_model_is_staged_by_its_import(example: Synthesized) -> None:
    template = example.template("claims-nonprod-ml")
    [pipeline] = [
        p
        for p in template.find_resources("AWS::SageMaker::Pipeline").values()
        if p["Properties"]["PipelineName"].startswith("import-")
    ]
    assert pipeline["Properties"]["PipelineName"] == "import-mistral-7b-instruct"
    body = joined(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"])
    assert "s3://example-corp-model-intake/mistralai/Mistral-7B-Instruct-v0.3/" in body
    assert "/models/mistral-7b-instruct/base" in body
    assert (
        '"--expected-sha256","5b2c6f1e0d9a8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"'
        in body
    )
    for env in ("interactive", "prod"):
        pipelines = example.template(f"claims-{env}-ml").find_resources("AWS::SageMaker::Pipeline")
        assert not pipelines


IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/lob-recipes/qlora@sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("image", "tags"),
    [(None, ()), (IMAGE, (("lob", "lob-042"), ("owner", 'a "quoted" owner')))],
    ids=["sdk-image", "own-image-and-tags"],
)
def test_recipes_under_other_names_share_one_sdk_definition(
    image: str | None, tags: tuple[tuple[str, str], ...]
) -> None:
    """The SDK builds a definition once per recipe; the name, the recipe image and the job
    tags' values are put in afterwards, and the result is what the SDK itself writes for
    them."""
    spec = fine_tuning.FineTuningSpec(
        name="a-recipe-named-for-this-test",
        base_model_prefix="models/base/",
        dataset_prefix="datasets/test/",
        training_instance="ml.g5.12xlarge",
        serving_instance="ml.g5.2xlarge",
        recipe_image=image,
        job_tags=tags,
    )
    shared = sdk_definition.pipeline_definition(spec, region="eu-west-1", subnet_count=2)
    with sdk_definition._sdk_config_validated_once():
        direct = sdk_definition._pipeline_definition(spec, region="eu-west-1", subnet_count=2)
    assert shared == direct
    assert sdk_definition.NAME not in shared and spec.name in shared
    assert "placeholder-recipe" not in shared and "placeholder-tag-value" not in shared
    assert image is None or image in shared


def test_the_pipeline_computes_the_monitors_baseline_beside_the_merged_model(
    definition: dict[str, Any],
) -> None:
    baseline = _step(definition, "DataQualityBaseline")
    assert baseline["Type"] == "QualityCheck"
    arguments = baseline["Arguments"]
    [source] = arguments["ProcessingInputs"]
    assert source["S3Input"]["S3Uri"] == {
        "Get": "Steps.PrepareData.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }
    assert json.loads(arguments["Environment"]["dataset_format"]) == {"json": {"lines": True}}
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][1] == "baseline"
    assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is True
    register = _step(definition, "EvaluationGate")["Arguments"]["IfSteps"][0]["Arguments"]
    drift = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert drift["Constraints"]["S3Uri"] == {
        "Get": "Steps.DataQualityBaseline.CalculatedBaselineConstraints"
    }


def test_the_prod_monitor_compares_captures_with_the_served_releases_baseline(
    example: Synthesized, example_access: Questions
) -> None:
    template = example.template_json("claims-prod-ml")
    [(logical_id, definition)] = [
        (k, r)
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::SageMaker::DataQualityJobDefinition"
    ]
    config = definition["Properties"]["DataQualityBaselineConfig"]
    for resource, name in (
        ("ConstraintsResource", "constraints.json"),
        ("StatisticsResource", "statistics.json"),
    ):
        assert joined(config[resource]["S3Uri"]).endswith(
            f"/models/claims-summarizer/serving/baseline/{name}"
        )
    monitor = next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("EndpointClaimsSummarizerMonitorRole")
    )
    artifacts = next(
        f"claims-prod-data/{k}"
        for k, r in example.template_json("claims-prod-data")["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and k.startswith("ZonesArtifacts")
    )
    decision = example_access.ask(
        f"claims-prod-ml/{monitor}",
        "s3:GetObject",
        f"{artifacts}/models/claims-summarizer/serving/baseline/constraints.json",
    )
    assert decision.decision == "allow", decision
    assert logical_id.startswith("EndpointClaimsSummarizer")


@pytest.fixture(scope="module")
def opted_out(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Marketing without Studio, research with Studio but without MLflow."""
    data = yaml.safe_load(EXAMPLE.read_text())
    marketing, research = data["lobs"][1], data["lobs"][2]
    marketing["ml"] = {"studio": {"enabled": False}}
    research.setdefault("ml", {})["studio"] = {"mlflow": "none", "users": ["ada"]}
    only_lobs(data, [marketing, research])
    return synthesize_org(OrgConfig.model_validate(data), tmp_path_factory.mktemp("opted-out"))


def test_studio_and_mlflow_can_be_left_out(opted_out: Synthesized) -> None:
    marketing = opted_out.template("marketing-interactive-ml")
    marketing.resource_count_is("AWS::SageMaker::Domain", 0)
    marketing.resource_count_is("AWS::SageMaker::MlflowApp", 0)
    research = opted_out.template("research-interactive-ml")
    research.resource_count_is("AWS::SageMaker::Domain", 1)
    research.resource_count_is("AWS::SageMaker::UserProfile", 1)
    research.resource_count_is("AWS::SageMaker::MlflowApp", 0)
    research.resource_count_is("AWS::SageMaker::MlflowTrackingServer", 0)


def test_mlflow_may_be_a_tracking_server(example: Synthesized) -> None:
    research = example.template("research-interactive-ml")
    research.resource_count_is("AWS::SageMaker::MlflowApp", 0)
    [server_id] = research.find_resources(
        "AWS::SageMaker::MlflowTrackingServer", {"Properties": {"TrackingServerSize": "Small"}}
    )
    [tracking] = research.find_resources(
        "AWS::IAM::ManagedPolicy",
        {
            "Properties": {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Sid": "TrackExperiments",
                                    "Resource": {"Fn::GetAtt": [server_id, "TrackingServerArn"]},
                                }
                            )
                        ]
                    )
                }
            }
        },
    ).values()
    assert tracking["Properties"]["Roles"] == ["example-corp-data-scientist"]


def test_the_readme_quotes_the_idle_cost_the_tool_prints(example: Synthesized) -> None:
    readme = (REPO / "README.md").read_text()
    quoted = readme.split("<!-- idle-cost: blueprint cost cdk.out --markdown -->\n")[1]
    table = cost_markdown(estimate_costs(read_assembly(example.outdir), load_prices()))
    assert quoted.split("\n<!-- /idle-cost -->")[0] == table, (
        "README.md: run blueprint cost --markdown"
    )
    # The interactive environment with Studio and serverless MLflow, under its target.
    [claims] = [line for line in table.splitlines() if line.startswith("| claims-interactive ")]
    assert float(claims.split("|")[3]) <= 150


def _mlflow_costs(synthesized: Synthesized) -> dict[str, float]:
    costs = estimate_costs(read_assembly(synthesized.outdir), load_prices())
    return {
        row["placement"]: line["monthly_usd"]
        for row in costs["placements"]
        for line in row["lines"]
        if line["item"].startswith("MLflow")
    }


def test_serverless_mlflow_costs_nothing_idle_and_a_tracking_server_does(
    example: Synthesized, opted_out: Synthesized
) -> None:
    # The example's claims and marketing have the default (an MLflow App), research a server.
    costs = _mlflow_costs(example)
    prices = load_prices()["regions"]["eu-west-1"]
    assert costs == {
        "claims-interactive": 0.0,
        "marketing-interactive": 0.0,
        "research-interactive": round(
            prices["mlflow_tracking_server_hour:Small"]["price"] * 730, 2
        ),
    }
    assert _mlflow_costs(opted_out) == {}


def small_spec(**overrides: Any) -> fine_tuning.FineTuningSpec:
    """A recipe on the catalog's training and serving instances."""
    settings: dict[str, Any] = {
        "name": "x",
        "base_model_prefix": "models/m/base/",
        "dataset_prefix": "x/",
        "training_instance": "ml.g5.12xlarge",
        "serving_instance": "ml.g5.2xlarge",
    }
    return fine_tuning.FineTuningSpec(**(settings | overrides))


def test_without_a_recipe_image_the_sdks_training_image_is_used() -> None:
    spec = small_spec()
    definition = json.loads(
        sdk_definition.pipeline_definition(spec, region="eu-west-1", subnet_count=2)
    )
    training = next(s for s in definition["Steps"] if s["Name"] == "FineTune")["Arguments"]
    assert training["AlgorithmSpecification"]["TrainingImage"] == image_uris.retrieve(
        framework="huggingface",
        region="eu-west-1",
        version="4.49.0",
        base_framework_version="pytorch2.5.1",
        py_version="py311",
        instance_type="ml.g5.12xlarge",
        image_scope="training",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Bad Name!"}, "FineTuningSpec: name 'Bad Name!' is not a pipeline and model"),
        ({"method": "full"}, "FineTuningSpec x: method 'full' is not supported; allowed: lora,"),
        ({"rouge_l_threshold": 2}, "FineTuningSpec x: rouge_l_threshold must be 0-1 (got 2)"),
        ({"epochs": 0}, "FineTuningSpec x: epochs must be 1-20 (got 0)"),
        ({"max_runtime_hours": 500}, "FineTuningSpec x: max_runtime_hours must be 1-72 (got 500)"),
        ({"gpus": 8}, "FineTuningSpec x: gpus (of ml.g5.12xlarge) must be 1-4 (got 8)"),
        (
            {"training_instance": "ml.m5.xlarge"},
            "FineTuningSpec x: training_instance 'ml.m5.xlarge' is not a SageMaker GPU",
        ),
        ({"max_bias_gap": 1.5}, "FineTuningSpec x: max_bias_gap must be 0-1 (got 1.5)"),
        (
            {"bias_probes_prefix": "../probes/"},
            "FineTuningSpec x: bias_probes_prefix '../probes/' is not a relative S3 key prefix",
        ),
        (
            {"bias_probes_prefix": "probes"},
            "FineTuningSpec x: bias_probes_prefix 'probes' is not a relative S3 key prefix",
        ),
    ],
)
def test_a_fine_tuning_spec_refuses_what_cannot_run(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        small_spec(**overrides)


def pipeline_without_resources(spec: fine_tuning.FineTuningSpec, **props: Any) -> None:
    """The pipeline construct on placeholders: for props it refuses before using any."""
    stack = Stack(App(), "Tuning", env=Environment(account="555555555555", region="eu-west-1"))
    unused: Any = None
    fine_tuning.FineTuningPipeline(
        stack,
        "Pipeline",
        spec=spec,
        vpc=unused,
        vpc_subnets=[unused],
        security_group=unused,
        encryption_key=unused,
        log_retention=unused,
        training_bucket=unused,
        artifacts_bucket=unused,
        **props,
    )


def test_a_retrain_schedule_must_be_an_eventbridge_schedule() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape("FineTuningPipeline: retrain_schedule 'every monday' is not an"),
    ):
        pipeline_without_resources(small_spec(), retrain_schedule="every monday")


def test_a_recipe_image_by_tag_is_refused() -> None:
    image = "555555555555.dkr.ecr.eu-west-1.amazonaws.com/genai-recipe:2026.11"
    with pytest.raises(
        ValueError,
        match=re.escape(f"FineTuningPipeline: recipe_image '{image}' is not pinned by digest"),
    ):
        pipeline_without_resources(small_spec(recipe_image=image))


def test_the_pipeline_role_pulls_the_recipe_image(
    example: Synthesized, example_access: Questions
) -> None:
    role = next(
        f"claims-nonprod-ml/{k}"
        for k, r in example.template_json("claims-nonprod-ml")["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and k.startswith("FineTuningClaimsSummarizerExecutionRole")
    )
    repository = "arn:aws:ecr:eu-west-1:555555555555:repository/claims-training-recipe"
    assert example_access.ask(role, "ecr:BatchGetImage", repository).decision == "allow"
    other = "arn:aws:ecr:eu-west-1:555555555555:repository/someone-else"
    assert example_access.ask(role, "ecr:BatchGetImage", other).decision == "deny"


def test_bias_probes_need_the_curated_zone() -> None:
    with pytest.raises(
        ValueError, match=r"^FineTuningPipeline x: bias_probes_prefix needs curated_bucket"
    ):
        pipeline_without_resources(small_spec(bias_probes_prefix="datasets/x/"))


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("cloudwatch:DisableAlarmActions", "EndpointClaimsSummarizerErrors5xx"),
        ("cloudwatch:SetAlarmState", "EndpointClaimsSummarizerLatency"),
        ("cloudwatch:DeleteAlarms", "EndpointClaimsSummarizerScalingScaleFromZeroUpperAlarm"),
        ("sagemaker:DeleteModel", "EndpointClaimsSummarizerModel"),
    ],
)
def test_people_cannot_silence_forge_or_break_what_watches_the_endpoint(
    example: Synthesized, example_access: Questions, action: str, resource: str
) -> None:
    """An alarm set or silenced by hand announces nothing true and rolls a release back; a
    served model deleted breaks the rollback: the persona guard denies them to the platform
    team (whose AWS managed policy allows them) and to the ML engineers."""
    resources = example.template_json("claims-prod-ml")["Resources"]
    [logical_id] = [k for k in resources if re.fullmatch(f"{resource}[0-9A-F]{{8}}", k)]
    for persona in ("platform-admin", "ml-engineer"):
        answer = example_access.ask(
            f"666666666666:example-corp-{persona}", action, f"claims-prod-ml/{logical_id}"
        )
        assert answer.decision == "deny", (persona, answer.reasons)
    admin = example_access.ask(
        "666666666666:example-corp-platform-admin", action, f"claims-prod-ml/{logical_id}"
    )
    assert any("PersonaGuard" in reason for reason in admin.reasons), admin.reasons
