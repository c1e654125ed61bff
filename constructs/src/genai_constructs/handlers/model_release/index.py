"""Releases approved fine-tuned models to the endpoints that serve them.

Triggered by EventBridge on "SageMaker Model Package State Change" events:

- from the registry account (the pipeline's group in nonprod, forwarded to prod): the approved
  package's merged weights are copied into this account's artifacts zone under
  ``models/<model>/releases/v<version>/`` and registered in this account's group of the same
  name as PendingManualApproval: prod's own approval;
- from this account's group (approved or rejected): the newest approved package is what the
  endpoints serve. Its files are copied under ``releases/`` when they are elsewhere (in nonprod,
  the pipeline's run), each endpoint gets a new model with the same container, role and network
  and those files, then ``UpdateEndpoint`` with a blue/green policy that rolls back on the
  endpoint's alarms (for scale-to-zero endpoints, a rolling ``UpdateInferenceComponent`` that
  rolls back on the same alarms), and the files
  are copied under ``serving/``, where the stack's own model reads. Rejecting the serving
  package rolls back to the previous approved one.

Configuration (environment): ``RELEASE_CONFIG``, JSON ``{"bucket": ..., "registry_account": ...,
"second_approval": bool, "models": {group: {"releases": prefix, "serving": prefix, "endpoints":
[{"endpoint": name, "component": name | null, "alarms": [name]}]}}}``; the construct computes
the prefixes (``genai_constructs.naming``).

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

ROLLBACK_WAIT_SECONDS = 600


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any


class ReleaseError(RuntimeError):
    """The event or a package cannot be released as it is."""


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(os.environ["RELEASE_CONFIG"])
    return loaded


def data_uri(package: dict[str, Any]) -> str:
    container = package["InferenceSpecification"]["Containers"][0]
    source = container.get("ModelDataSource", {}).get("S3DataSource", {})
    if source.get("S3DataType") != "S3Prefix" or source.get("CompressionType") != "None":
        raise ReleaseError(f"{package['ModelPackageArn']}: not an uncompressed S3 prefix")
    return str(source["S3Uri"])


def split(uri: str) -> tuple[str, str]:
    location = urlparse(uri)
    if location.scheme != "s3" or not location.netloc:
        raise ReleaseError(f"'{uri}' is not an s3:// URI")
    return location.netloc, location.path.lstrip("/").rstrip("/") + "/"


def copy_prefix(s3: Any, source_uri: str, bucket: str, prefix: str) -> int:
    """Copies every object under ``source_uri`` to ``bucket``/``prefix``; returns the count."""
    source_bucket, source_prefix = split(source_uri)
    if (source_bucket, source_prefix) == (bucket, prefix):
        return 0
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=source_bucket, Prefix=source_prefix
    ):
        for item in page.get("Contents", []):
            key = prefix + item["Key"][len(source_prefix) :]
            s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": item["Key"]},
                # No encryption header: the target bucket's default (SSE-KMS with its key);
                # naming aws:kms without a key would use the AWS-managed aws/s3 key instead.
            )
            copied += 1
    if not copied:
        raise ReleaseError(f"no files under {source_uri}")
    return copied


def stage_for_approval(clients: Clients, settings: dict[str, Any], arn: str) -> dict[str, Any]:
    """Copies an approved package of the registry account here, pending this account's
    approval."""
    package = clients.sagemaker.describe_model_package(ModelPackageName=arn)
    if package["ModelApprovalStatus"] != "Approved":
        raise ReleaseError(f"{arn} is {package['ModelApprovalStatus']}, not Approved")
    group = package["ModelPackageGroupName"]
    prefix = f"{settings['models'][group]['releases']}v{package['ModelPackageVersion']}/"
    copied = copy_prefix(clients.s3, data_uri(package), settings["bucket"], prefix)
    container = package["InferenceSpecification"]["Containers"][0]
    staged = clients.sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"Release of {arn}",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            **{
                key: value
                for key, value in package["InferenceSpecification"].items()
                if key != "Containers"
            },
            "Containers": [
                {
                    "Image": container["Image"],
                    "ModelDataSource": {
                        "S3DataSource": {
                            "S3Uri": f"s3://{settings['bucket']}/{prefix}",
                            "S3DataType": "S3Prefix",
                            "CompressionType": "None",
                        }
                    },
                }
            ],
        },
        CustomerMetadataProperties={
            **package.get("CustomerMetadataProperties", {}),
            "source-model-package": arn,
        },
    )
    return {"staged": staged["ModelPackageArn"], "files": copied}


def newest_approved(clients: Clients, group: str) -> dict[str, Any] | None:
    listed = clients.sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    if not listed:
        return None
    package: dict[str, Any] = clients.sagemaker.describe_model_package(
        ModelPackageName=listed[0]["ModelPackageArn"]
    )
    return package


def exists(describe: Any, **name: str) -> bool:
    """Whether the named SageMaker resource exists (its Describe call succeeds)."""
    try:
        describe(**name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in (
            "ValidationException",
            "ResourceNotFound",
        ):
            return False
        raise
    return True


def serve(clients: Clients, target: dict[str, Any], model_uri: str, version: int) -> str:
    """Points one endpoint at ``model_uri``; returns the new model's name."""
    sagemaker = clients.sagemaker
    endpoint = target["endpoint"]
    component = target.get("component")
    if component:
        current = sagemaker.describe_inference_component(InferenceComponentName=component)
        model_name = current["Specification"]["ModelName"]
    else:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
        model_name = config["ProductionVariants"][0]["ModelName"]
    new_name = f"{endpoint[:50]}-v{version}"
    if model_name == new_name:
        return new_name  # already served
    model = sagemaker.describe_model(ModelName=model_name)
    container = model["PrimaryContainer"]
    # A rollback serves a release again: its model (and endpoint config) already exist.
    if not exists(sagemaker.describe_model, ModelName=new_name):
        sagemaker.create_model(
            ModelName=new_name,
            ExecutionRoleArn=model["ExecutionRoleArn"],
            EnableNetworkIsolation=model.get("EnableNetworkIsolation", True),
            VpcConfig=model["VpcConfig"],
            PrimaryContainer={
                "Image": container["Image"],
                "Environment": container.get("Environment", {}),
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": model_uri,
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            },
        )
    alarms = [{"AlarmName": alarm} for alarm in target.get("alarms", [])]
    if component:
        specification = {**current["Specification"], "ModelName": new_name}
        specification.pop("Container", None)
        sagemaker.update_inference_component(
            InferenceComponentName=component,
            Specification=specification,
            # One copy at a time, each watched before the next; an alarm rolls back.
            DeploymentConfig={
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": ROLLBACK_WAIT_SECONDS,
                    "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100},
                },
                "AutoRollbackConfiguration": {"Alarms": alarms},
            },
        )
        return str(new_name)
    variants = [{**variant, "ModelName": new_name} for variant in config["ProductionVariants"]]
    kept = ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")
    if not exists(sagemaker.describe_endpoint_config, EndpointConfigName=new_name):
        sagemaker.create_endpoint_config(
            EndpointConfigName=new_name,
            ProductionVariants=variants,
            **{key: config[key] for key in kept if key in config},
        )
    sagemaker.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=new_name,
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": ROLLBACK_WAIT_SECONDS,
            },
            "AutoRollbackConfiguration": {"Alarms": alarms},
        },
    )
    return str(new_name)


def release_newest(clients: Clients, settings: dict[str, Any], group: str) -> dict[str, Any]:
    package = newest_approved(clients, group)
    if package is None:
        return {"released": None, "reason": f"no approved package in {group}"}
    version = package["ModelPackageVersion"]
    model = settings["models"][group]
    bucket, source = settings["bucket"], data_uri(package)
    if split(source)[0] == bucket and split(source)[1].startswith(model["releases"]):
        release_uri = source  # staged here when it came from the registry account
    else:
        prefix = f"{model['releases']}v{version}/"
        copy_prefix(clients.s3, source, bucket, prefix)
        release_uri = f"s3://{bucket}/{prefix}"
    models = [serve(clients, target, release_uri, version) for target in model["endpoints"]]
    copy_prefix(clients.s3, release_uri, bucket, model["serving"])
    return {"released": package["ModelPackageArn"], "models": models}


def handler(event: dict[str, Any], context: Any = None, *, clients: Clients | None = None) -> Any:
    settings = config()
    clients = clients or Clients(boto3.client("sagemaker"), boto3.client("s3"))
    detail = event["detail"]
    group = detail["ModelPackageGroupName"]
    if group not in settings["models"]:
        raise ReleaseError(f"no endpoint serves model package group {group}")
    from_registry = event["account"] == settings["registry_account"]
    if from_registry and settings["second_approval"]:
        if detail["ModelApprovalStatus"] != "Approved":
            return {"ignored": detail["ModelPackageArn"]}
        return stage_for_approval(clients, settings, detail["ModelPackageArn"])
    return release_newest(clients, settings, group)
