"""CloudFormation custom resource that configures Bedrock model invocation logging.

The function is the custom resource's ServiceToken itself and answers through
``cfn_response``. Bedrock keeps a single invocation logging configuration per account and
region, so the physical id is derived from the region and Delete removes that configuration.

Runtime: Python 3.12, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from genai_constructs.handlers.cfn_response import respond

PHYSICAL_ID_PREFIX = "bedrock-invocation-logging-"
LARGE_DATA_FOLDER = "large-data/"
REQUIRED_PROPERTIES = ("LogGroupName", "RoleArn", "BucketName")
FLAG_PROPERTIES = {
    "TextDelivery": "textDataDeliveryEnabled",
    "ImageDelivery": "imageDataDeliveryEnabled",
    "EmbeddingDelivery": "embeddingDataDeliveryEnabled",
}


class InvalidPropertiesError(ValueError):
    """The resource properties cannot be turned into a logging configuration."""


def bedrock_client() -> Any:
    """Create the Bedrock control-plane client for the function's own region."""
    return boto3.client("bedrock")


def logging_config(properties: dict[str, Any]) -> dict[str, Any]:
    """Validate the resource properties and build Bedrock's ``loggingConfig``."""
    for name in REQUIRED_PROPERTIES:
        if not properties.get(name):
            raise InvalidPropertiesError(f"missing property {name}")
    flags: dict[str, bool] = {}
    for name, key in FLAG_PROPERTIES.items():
        value = properties.get(name)
        if value is None or value == "":
            raise InvalidPropertiesError(f"missing property {name}")
        if value not in ("true", "false"):
            raise InvalidPropertiesError(f"{name} must be 'true' or 'false', got {value!r}")
        flags[key] = value == "true"

    bucket = properties["BucketName"]
    prefix = str(properties.get("KeyPrefix") or "")
    large_data_prefix = f"{prefix.rstrip('/')}/{LARGE_DATA_FOLDER}" if prefix else LARGE_DATA_FOLDER
    s3_config: dict[str, str] = {"bucketName": bucket}
    if prefix:
        s3_config["keyPrefix"] = prefix
    return {
        "cloudWatchConfig": {
            "logGroupName": properties["LogGroupName"],
            "roleArn": properties["RoleArn"],
            "largeDataDeliveryS3Config": {"bucketName": bucket, "keyPrefix": large_data_prefix},
        },
        "s3Config": s3_config,
        **flags,
    }


def _apply(event: Any, client: Any) -> str:
    """Carry out the request and return the physical resource id; raises on failure."""
    request_type = event["RequestType"]
    if request_type in ("Create", "Update"):
        config = logging_config(event.get("ResourceProperties") or {})
        bedrock = client if client is not None else bedrock_client()
        bedrock.put_model_invocation_logging_configuration(loggingConfig=config)
        return f"{PHYSICAL_ID_PREFIX}{bedrock.meta.region_name}"
    if request_type == "Delete":
        physical_id = str(event.get("PhysicalResourceId") or "")
        if physical_id.startswith(PHYSICAL_ID_PREFIX):
            bedrock = client if client is not None else bedrock_client()
            bedrock.delete_model_invocation_logging_configuration()
        return physical_id
    raise InvalidPropertiesError(f"unsupported RequestType {request_type!r}")


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, InvalidPropertiesError):
        return str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "Bedrock call")
        return f"{operation} failed: {error.get('Code', 'Unknown')}: {error.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def handler(event: Any, context: Any, client: Any = None) -> None:
    """Lambda entry point; ``client`` lets tests inject a stubbed Bedrock client."""
    respond(event, lambda request: _apply(request, client), _failure_reason)
