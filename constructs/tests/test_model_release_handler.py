"""The release function: an approval in nonprod reaches the prod endpoint through prod's own
approval, and a rejection rolls back.

S3 is moto's (the copies are real objects); SageMaker is a boto3 client wrapped in a Stubber.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from genai_constructs.handlers.model_release import index

NONPROD, PROD = "555555555555", "666666666666"
GROUP = "claims-summarizer"
MERGED = f"pipelines/{GROUP}/merged/exec-7/"
FILES = ("config.json", "model.safetensors", "tokenizer.json")
IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:x"
ALARMS = ["claims-ep-5xx", "claims-ep-latency"]


def package(account: str, version: int, uri: str, status: str = "Approved") -> dict[str, Any]:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageName": GROUP,
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:{account}:model-package/{GROUP}/{version}",
        "ModelPackageVersion": version,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
        "CreationTime": "2026-11-27T00:00:00Z",
        "CustomerMetadataProperties": {"rouge_l": "0.41"},
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": uri,
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }


def event(account: str, version: int, status: str) -> dict[str, Any]:
    return {
        "account": account,
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": GROUP,
            "ModelPackageArn": (
                f"arn:aws:sagemaker:eu-west-1:{account}:model-package/{GROUP}/{version}"
            ),
            "ModelApprovalStatus": status,
        },
    }


def settings(bucket: str, registry: str, *, second_approval: bool, component: bool = False) -> str:
    target = {
        "endpoint": "claims-ep",
        "component": "claims-ep-component" if component else None,
        "alarms": ALARMS,
    }
    return json.dumps(
        {
            "bucket": bucket,
            "registry_account": registry,
            "second_approval": second_approval,
            "models": {
                GROUP: {
                    "releases": f"models/{GROUP}/releases/",
                    "serving": f"models/{GROUP}/serving/",
                    "endpoints": [target],
                }
            },
        }
    )


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in ("nonprod-artifacts", "prod-artifacts"):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
        for name in FILES:
            client.put_object(Bucket="nonprod-artifacts", Key=MERGED + name, Body=name.encode())
        client.put_object(Bucket="nonprod-artifacts", Key=f"pipelines/{GROUP}/models/x", Body=b"")
        yield client


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"].removeprefix(prefix) for item in listed)


def sagemaker() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sagemaker",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return client, Stubber(client)


def expect_serving_config(
    stub: Stubber, config: str, variant: dict[str, Any], **fields: Any
) -> None:
    """The endpoint runs ``config``, whose one variant is ``variant`` (and ``fields``)."""
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "claims-ep",
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint/claims-ep",
            "EndpointConfigName": config,
            "EndpointStatus": "InService",
            "CreationTime": "2026-11-27T00:00:00Z",
            "LastModifiedTime": "2026-11-27T00:00:00Z",
        },
        {"EndpointName": "claims-ep"},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": config,
            "EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint-config/{config}",
            "ProductionVariants": [variant],
            "CreationTime": "2026-11-27T00:00:00Z",
            **fields,
        },
        {"EndpointConfigName": config},
    )


def expect_serving(stub: Stubber, model_uri: str, version: int) -> None:
    """The classic variant: the current model's settings, a new model on ``model_uri``, a new
    endpoint config, a blue/green update that rolls back on the endpoint's alarms."""
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "claims-ep-model",
        "InstanceType": "ml.g5.2xlarge",
        "InitialInstanceCount": 1,
    }
    expect_serving_config(
        stub,
        "claims-ep-config",
        variant,
        DataCaptureConfig={
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://prod-artifacts/capture/claims-summarizer/",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    stub.add_response(
        "describe_model",
        {
            "ModelName": "claims-ep-model",
            "ModelArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:model/claims-ep-model",
            "ExecutionRoleArn": f"arn:aws:iam::{PROD}:role/endpoint-role",
            "EnableNetworkIsolation": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
            "PrimaryContainer": {"Image": IMAGE, "Environment": {"SM_NUM_GPUS": "1"}},
            "CreationTime": "2026-11-27T00:00:00Z",
        },
        {"ModelName": "claims-ep-model"},
    )
    new_name = f"claims-ep-v{version}"
    stub.add_client_error(
        "describe_model",
        "ValidationException",
        "Could not find model",
        400,
        {"ModelName": new_name},
    )
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:model/{new_name}"},
        {
            "ModelName": new_name,
            "ExecutionRoleArn": f"arn:aws:iam::{PROD}:role/endpoint-role",
            "EnableNetworkIsolation": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
            "PrimaryContainer": {
                "Image": IMAGE,
                "Environment": {"SM_NUM_GPUS": "1"},
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": model_uri,
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            },
        },
    )
    stub.add_client_error(
        "describe_endpoint_config",
        "ValidationException",
        "Could not find endpoint configuration",
        400,
        expected_params={"EndpointConfigName": new_name},
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint-config/{new_name}"},
        {
            "EndpointConfigName": new_name,
            "ProductionVariants": [{**variant, "ModelName": new_name}],
            "DataCaptureConfig": ANY,
        },
    )
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint/claims-ep"},
        {
            "EndpointName": "claims-ep",
            "EndpointConfigName": new_name,
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 0,
                    },
                    "TerminationWaitInSeconds": index.ROLLBACK_WAIT_SECONDS,
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in ALARMS]},
            },
        },
    )


def expect_newest(stub: Stubber, newest: dict[str, Any]) -> None:
    stub.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": newest["ModelPackageArn"],
                    "ModelPackageStatus": "Completed",
                    "CreationTime": "2026-11-27T00:00:00Z",
                }
            ]
        },
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },
    )
    stub.add_response(
        "describe_model_package", newest, {"ModelPackageName": newest["ModelPackageArn"]}
    )


def test_a_nonprod_approval_waits_for_prods_own(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    client, stub = sagemaker()
    approved = package(NONPROD, 7, f"s3://nonprod-artifacts/{MERGED}")
    stub.add_response(
        "describe_model_package", approved, {"ModelPackageName": approved["ModelPackageArn"]}
    )
    staged_uri = f"s3://prod-artifacts/models/{GROUP}/releases/v7/"
    stub.add_response(
        "create_model_package",
        {"ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:model-package/{GROUP}/1"},
        {
            "ModelPackageGroupName": GROUP,
            "ModelPackageDescription": f"Release of {approved['ModelPackageArn']}",
            "ModelApprovalStatus": "PendingManualApproval",
            "InferenceSpecification": {
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
                "Containers": [
                    {
                        "Image": IMAGE,
                        "ModelDataSource": {
                            "S3DataSource": {
                                "S3Uri": staged_uri,
                                "S3DataType": "S3Prefix",
                                "CompressionType": "None",
                            }
                        },
                    }
                ],
            },
            "CustomerMetadataProperties": {
                "rouge_l": "0.41",
                "source-model-package": approved["ModelPackageArn"],
            },
        },
    )
    with stub:
        result = index.handler(event(NONPROD, 7, "Approved"), clients=index.Clients(client, s3))
    assert result == {
        "staged": f"arn:aws:sagemaker:eu-west-1:{PROD}:model-package/{GROUP}/1",
        "files": 3,
    }
    assert keys(s3, "prod-artifacts", f"models/{GROUP}/releases/v7/") == sorted(FILES)
    assert keys(s3, "prod-artifacts", f"models/{GROUP}/serving/") == []  # nothing served yet


def test_prods_approval_serves_the_staged_release_and_keeps_serving_in_step(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    staged = f"models/{GROUP}/releases/v7/"
    for name in FILES:
        s3.put_object(Bucket="prod-artifacts", Key=staged + name, Body=name.encode())
    client, stub = sagemaker()
    newest = package(PROD, 1, f"s3://prod-artifacts/{staged}")
    expect_newest(stub, newest)
    expect_serving(stub, f"s3://prod-artifacts/{staged}", 1)
    with stub:
        result = index.handler(event(PROD, 1, "Approved"), clients=index.Clients(client, s3))
    stub.assert_no_pending_responses()
    assert result == {"released": newest["ModelPackageArn"], "models": ["claims-ep-v1"]}
    # Where the stack's own model reads: a later stack update serves the same release.
    assert keys(s3, "prod-artifacts", f"models/{GROUP}/serving/") == sorted(FILES)
    assert keys(s3, "prod-artifacts", f"models/{GROUP}/releases/") == [
        f"v7/{name}" for name in sorted(FILES)
    ]


def test_rejecting_the_serving_release_rolls_back_to_the_previous_one(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    previous = f"models/{GROUP}/releases/v5/"
    for name in FILES:
        s3.put_object(Bucket="prod-artifacts", Key=previous + name, Body=b"old " + name.encode())
    client, stub = sagemaker()
    expect_newest(stub, package(PROD, 1, f"s3://prod-artifacts/{previous}"))
    expect_serving(stub, f"s3://prod-artifacts/{previous}", 1)
    with stub:
        index.handler(event(PROD, 2, "Rejected"), clients=index.Clients(client, s3))
    stub.assert_no_pending_responses()
    body = s3.get_object(Bucket="prod-artifacts", Key=f"models/{GROUP}/serving/config.json")
    assert body["Body"].read() == b"old config.json"


def test_a_registry_rejection_changes_nothing_in_prod(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    client, stub = sagemaker()
    with stub:
        result = index.handler(event(NONPROD, 7, "Rejected"), clients=index.Clients(client, s3))
    assert result == {"ignored": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:model-package/{GROUP}/7"}


def test_in_nonprod_an_approval_serves_the_run_at_once(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "RELEASE_CONFIG",
        settings("nonprod-artifacts", NONPROD, second_approval=False, component=True),
    )
    client, stub = sagemaker()
    expect_newest(stub, package(NONPROD, 7, f"s3://nonprod-artifacts/{MERGED}"))
    release = f"s3://nonprod-artifacts/models/{GROUP}/releases/v7/"
    specification = {
        "ModelName": "claims-ep-model",
        "ComputeResourceRequirements": {
            "NumberOfAcceleratorDevicesRequired": 1,
            "MinMemoryRequiredInMb": 4096,
        },
    }
    stub.add_response(
        "describe_inference_component",
        {
            "InferenceComponentName": "claims-ep-component",
            "InferenceComponentArn": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:inference-component/c",
            "EndpointName": "claims-ep",
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:endpoint/claims-ep",
            "Specification": {**specification, "Container": {"ArtifactUrl": "s3://x/"}},
            "CreationTime": "2026-11-27T00:00:00Z",
            "LastModifiedTime": "2026-11-27T00:00:00Z",
        },
        {"InferenceComponentName": "claims-ep-component"},
    )
    stub.add_response(
        "describe_model",
        {
            "ModelName": "claims-ep-model",
            "ModelArn": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:model/claims-ep-model",
            "ExecutionRoleArn": f"arn:aws:iam::{NONPROD}:role/endpoint-role",
            "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
            "PrimaryContainer": {"Image": IMAGE},
            "CreationTime": "2026-11-27T00:00:00Z",
        },
        {"ModelName": "claims-ep-model"},
    )
    stub.add_client_error("describe_model", "ValidationException", "Could not find model", 400)
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:model/claims-ep-v7"},
        {
            "ModelName": "claims-ep-v7",
            "ExecutionRoleArn": f"arn:aws:iam::{NONPROD}:role/endpoint-role",
            "EnableNetworkIsolation": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
            "PrimaryContainer": {
                "Image": IMAGE,
                "Environment": {},
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": release,
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            },
        },
    )
    stub.add_response(
        "update_inference_component",
        {"InferenceComponentArn": f"arn:aws:sagemaker:eu-west-1:{NONPROD}:inference-component/c"},
        {
            "InferenceComponentName": "claims-ep-component",
            "Specification": {**specification, "ModelName": "claims-ep-v7"},
            "DeploymentConfig": {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 600,
                    "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100},
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm} for alarm in ALARMS]},
            },
        },
    )
    with stub:
        result = index.handler(event(NONPROD, 7, "Approved"), clients=index.Clients(client, s3))
    stub.assert_no_pending_responses()
    assert result["models"] == ["claims-ep-v7"]
    assert keys(s3, "nonprod-artifacts", f"models/{GROUP}/releases/v7/") == sorted(FILES)
    assert keys(s3, "nonprod-artifacts", f"models/{GROUP}/serving/") == sorted(FILES)


def test_nothing_is_served_before_a_first_approval(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    client, stub = sagemaker()
    stub.add_response("list_model_packages", {"ModelPackageSummaryList": []})
    with stub:
        result = index.handler(event(PROD, 1, "Rejected"), clients=index.Clients(client, s3))
    assert result == {"released": None, "reason": f"no approved package in {GROUP}"}


def test_packages_that_cannot_be_served_are_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    compressed = package(NONPROD, 1, "s3://nonprod-artifacts/x")
    source = compressed["InferenceSpecification"]["Containers"][0]["ModelDataSource"]
    source["S3DataSource"]["CompressionType"] = "Gzip"
    with pytest.raises(index.ReleaseError, match="not an uncompressed S3 prefix"):
        index.data_uri(compressed)
    with pytest.raises(index.ReleaseError, match="no files under"):
        index.copy_prefix(s3, "s3://nonprod-artifacts/empty/", "prod-artifacts", "models/x/")
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    other = event(NONPROD, 1, "Approved")
    other["detail"]["ModelPackageGroupName"] = "marketing-writer"
    with pytest.raises(index.ReleaseError, match="no endpoint serves model package group"):
        index.handler(other, clients=index.Clients(None, s3))


def test_a_package_the_registry_has_not_approved_is_never_staged(s3: Any) -> None:
    pending = package(NONPROD, 7, f"s3://nonprod-artifacts/{MERGED}", "PendingManualApproval")
    client, stub = sagemaker()
    stub.add_response(
        "describe_model_package", pending, {"ModelPackageName": pending["ModelPackageArn"]}
    )
    settings_of_prod = json.loads(settings("prod-artifacts", NONPROD, second_approval=True))
    with stub, pytest.raises(index.ReleaseError) as refused:
        index.stage_for_approval(
            index.Clients(client, s3), settings_of_prod, pending["ModelPackageArn"]
        )
    assert (
        str(refused.value) == f"{pending['ModelPackageArn']} is PendingManualApproval, not Approved"
    )
    assert keys(s3, "prod-artifacts", "models/") == []


@pytest.mark.parametrize(
    "uri", ["https://bucket/key/", "s3:///no-bucket/", "prod-artifacts/models/"]
)
def test_a_location_that_is_not_an_s3_uri_is_refused(uri: str) -> None:
    with pytest.raises(index.ReleaseError, match=f"^'{re.escape(uri)}' is not an s3:// URI$"):
        index.split(uri)


def test_a_rollback_serves_an_earlier_release_again_without_recreating_it(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its model and endpoint config exist from its first release: they are reused."""
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    previous = f"models/{GROUP}/releases/v5/"
    for name in FILES:
        s3.put_object(Bucket="prod-artifacts", Key=previous + name, Body=name.encode())
    client, stub = sagemaker()
    expect_newest(stub, package(PROD, 1, f"s3://prod-artifacts/{previous}"))
    variant = {"VariantName": "AllTraffic", "ModelName": "claims-ep-v2"}
    expect_serving_config(stub, "claims-ep-v2", variant)
    model = {
        "ModelName": "claims-ep-v2",
        "ModelArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:model/claims-ep-v2",
        "ExecutionRoleArn": f"arn:aws:iam::{PROD}:role/endpoint-role",
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "PrimaryContainer": {"Image": IMAGE},
        "CreationTime": "2026-11-27T00:00:00Z",
    }
    stub.add_response("describe_model", model, {"ModelName": "claims-ep-v2"})
    stub.add_response("describe_model", {**model, "ModelName": "claims-ep-v1"})
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "claims-ep-v1",
            "EndpointConfigArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint-config/v1",
            "ProductionVariants": [{**variant, "ModelName": "claims-ep-v1"}],
            "CreationTime": "2026-11-27T00:00:00Z",
        },
        {"EndpointConfigName": "claims-ep-v1"},
    )
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint/claims-ep"},
        {
            "EndpointName": "claims-ep",
            "EndpointConfigName": "claims-ep-v1",
            "DeploymentConfig": ANY,
        },
    )
    with stub:
        result = index.handler(event(PROD, 2, "Rejected"), clients=index.Clients(client, s3))
    stub.assert_no_pending_responses()
    assert result["models"] == ["claims-ep-v1"]


def test_a_release_already_served_is_left_alone(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASE_CONFIG", settings("prod-artifacts", NONPROD, second_approval=True))
    served = f"models/{GROUP}/releases/v7/"
    for name in FILES:
        s3.put_object(Bucket="prod-artifacts", Key=served + name, Body=name.encode())
    client, stub = sagemaker()
    expect_newest(stub, package(PROD, 1, f"s3://prod-artifacts/{served}"))
    expect_serving_config(
        stub, "claims-ep-v1", {"VariantName": "AllTraffic", "ModelName": "claims-ep-v1"}
    )
    with stub:  # no create or update call is stubbed: one would fail the test
        result = index.handler(event(PROD, 1, "Approved"), clients=index.Clients(client, s3))
    stub.assert_no_pending_responses()
    assert result["models"] == ["claims-ep-v1"]
