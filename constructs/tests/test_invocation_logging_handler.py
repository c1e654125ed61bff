"""Unit tests for the Bedrock invocation logging custom resource handler.

Bedrock is a real boto3 client wrapped in a Stubber and CloudFormation's presigned response URL
is answered by a fake ``urlopen``, so nothing here reaches the network.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from genai_constructs.handlers.invocation_logging import index

RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/"
    "arn%3Aaws%3Acloudformation/request-1?X-Amz-Signature=abc123"
)
PHYSICAL_ID = "bedrock-invocation-logging-eu-west-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/bedrock-invocation-logging"
PUT = "put_model_invocation_logging_configuration"
DELETE = "delete_model_invocation_logging_configuration"


def make_event(request_type: str, **properties: str) -> dict[str, Any]:
    resource_properties = {
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:invocation-logging",
        "LogGroupName": "/aws/bedrock/invocations",
        "RoleArn": ROLE_ARN,
        "BucketName": "invocation-logs-bucket",
        "KeyPrefix": "bedrock/",
        "TextDelivery": "true",
        "ImageDelivery": "false",
        "EmbeddingDelivery": "true",
    }
    resource_properties.update(properties)
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/platform/guid",
        "RequestId": "request-1",
        "ResourceType": "Custom::BedrockInvocationLogging",
        "LogicalResourceId": "InvocationLogging",
        "ResourceProperties": resource_properties,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = PHYSICAL_ID
    return event


def expected_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "cloudWatchConfig": {
            "logGroupName": "/aws/bedrock/invocations",
            "roleArn": ROLE_ARN,
            "largeDataDeliveryS3Config": {
                "bucketName": "invocation-logs-bucket",
                "keyPrefix": "bedrock/large-data/",
            },
        },
        "s3Config": {"bucketName": "invocation-logs-bucket", "keyPrefix": "bedrock/"},
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": True,
    }
    config.update(overrides)
    return config


class FakeResponse:
    status = 200

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: object) -> None:
        return None


class CloudFormationEndpoint:
    """Stands in for ``urllib.request.urlopen`` and records every response sent."""

    def __init__(self) -> None:
        self.requests: list[urllib.request.Request] = []
        self.error: Exception | None = None

    def __call__(self, request: urllib.request.Request, timeout: float | None = None) -> Any:
        assert timeout is not None, "the response PUT must not wait forever"
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return FakeResponse()

    @property
    def body(self) -> dict[str, Any]:
        assert len(self.requests) == 1, "exactly one response must be sent"
        data = self.requests[0].data
        assert isinstance(data, bytes)
        body: dict[str, Any] = json.loads(data)
        return body


@pytest.fixture
def bedrock() -> Iterator[Any]:
    client = boto3.client(
        "bedrock",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> CloudFormationEndpoint:
    endpoint = CloudFormationEndpoint()
    monkeypatch.setattr(urllib.request, "urlopen", endpoint)
    return endpoint


def test_create_puts_the_logging_configuration_and_reports_success(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    bedrock.stubber.add_response(PUT, {}, {"loggingConfig": expected_config()})

    index.handler(make_event("Create"), None, client=bedrock)

    request = cloudformation.requests[0]
    assert request.full_url == RESPONSE_URL
    assert request.get_method() == "PUT"
    assert request.get_header("Content-type") == ""
    assert isinstance(request.data, bytes)
    assert request.get_header("Content-length") == str(len(request.data))
    assert cloudformation.body == {
        "Status": "SUCCESS",
        "Reason": "OK",
        "PhysicalResourceId": PHYSICAL_ID,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/platform/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "InvocationLogging",
        "NoEcho": False,
        "Data": {},
    }


def test_create_without_prefix_omits_key_prefixes_except_for_large_data(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    config = expected_config(s3Config={"bucketName": "invocation-logs-bucket"})
    config["cloudWatchConfig"]["largeDataDeliveryS3Config"]["keyPrefix"] = "large-data/"
    bedrock.stubber.add_response(PUT, {}, {"loggingConfig": config})
    event = make_event("Create")
    del event["ResourceProperties"]["KeyPrefix"]

    index.handler(event, None, client=bedrock)

    assert cloudformation.body["Status"] == "SUCCESS"


def test_update_puts_the_new_configuration_and_keeps_the_physical_id(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    config = expected_config(
        s3Config={"bucketName": "invocation-logs-bucket", "keyPrefix": "logs"},
        imageDataDeliveryEnabled=True,
    )
    config["cloudWatchConfig"]["largeDataDeliveryS3Config"]["keyPrefix"] = "logs/large-data/"
    bedrock.stubber.add_response(PUT, {}, {"loggingConfig": config})

    index.handler(make_event("Update", KeyPrefix="logs", ImageDelivery="true"), None, bedrock)

    assert cloudformation.body["Status"] == "SUCCESS"
    assert cloudformation.body["PhysicalResourceId"] == PHYSICAL_ID


def test_delete_removes_the_configuration(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    bedrock.stubber.add_response(DELETE, {}, {})

    index.handler(make_event("Delete"), None, client=bedrock)

    assert cloudformation.body["Status"] == "SUCCESS"
    assert cloudformation.body["PhysicalResourceId"] == PHYSICAL_ID


def test_delete_after_a_failed_create_calls_nothing_and_succeeds(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    create = make_event("Create", TextDelivery="yes")
    index.handler(create, None, client=bedrock)
    failed_id = cloudformation.body["PhysicalResourceId"]
    assert cloudformation.body["Status"] == "FAILED"
    assert not failed_id.startswith(index.PHYSICAL_ID_PREFIX)

    cloudformation.requests.clear()
    delete = make_event("Delete")
    delete["PhysicalResourceId"] = failed_id
    index.handler(delete, None, client=bedrock)  # an unstubbed Bedrock call would fail it

    assert cloudformation.body["Status"] == "SUCCESS"
    assert cloudformation.body["PhysicalResourceId"] == failed_id


@pytest.mark.parametrize("missing", ["LogGroupName", "RoleArn", "BucketName", "EmbeddingDelivery"])
def test_a_missing_property_fails_without_calling_bedrock(
    bedrock: Any, cloudformation: CloudFormationEndpoint, missing: str
) -> None:
    event = make_event("Create")
    del event["ResourceProperties"][missing]

    index.handler(event, None, client=bedrock)

    assert cloudformation.body["Status"] == "FAILED"
    assert cloudformation.body["Reason"] == f"missing property {missing}"


def test_a_flag_other_than_true_or_false_fails(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    index.handler(make_event("Update", TextDelivery="yes"), None, client=bedrock)

    assert cloudformation.body["Status"] == "FAILED"
    assert cloudformation.body["Reason"] == "TextDelivery must be 'true' or 'false', got 'yes'"
    assert cloudformation.body["PhysicalResourceId"] == PHYSICAL_ID


@pytest.mark.parametrize(
    ("code", "status"), [("ValidationException", 400), ("AccessDeniedException", 403)]
)
def test_a_bedrock_error_fails_with_its_code_and_message(
    bedrock: Any, cloudformation: CloudFormationEndpoint, code: str, status: int
) -> None:
    bedrock.stubber.add_client_error(
        PUT,
        service_error_code=code,
        service_message="Bedrock cannot assume the role",
        http_status_code=status,
        expected_params={"loggingConfig": expected_config()},
    )

    index.handler(make_event("Create"), None, client=bedrock)

    body = cloudformation.body
    assert body["Status"] == "FAILED"
    assert code in body["Reason"]
    assert "Bedrock cannot assume the role" in body["Reason"]
    assert not body["PhysicalResourceId"].startswith(index.PHYSICAL_ID_PREFIX)


def test_a_bedrock_error_on_delete_fails(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    bedrock.stubber.add_client_error(DELETE, "AccessDeniedException", "denied", 403)

    index.handler(make_event("Delete"), None, client=bedrock)

    assert cloudformation.body["Status"] == "FAILED"
    assert "AccessDeniedException: denied" in cloudformation.body["Reason"]


def test_a_failed_response_put_is_raised(
    bedrock: Any, cloudformation: CloudFormationEndpoint
) -> None:
    bedrock.stubber.add_response(DELETE, {}, {})
    cloudformation.error = urllib.error.URLError("connection reset")

    with pytest.raises(urllib.error.URLError):
        index.handler(make_event("Delete"), None, client=bedrock)
    assert len(cloudformation.requests) == 1


def test_the_presigned_response_url_never_reaches_the_logs(
    bedrock: Any, cloudformation: CloudFormationEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bedrock.stubber.add_response(PUT, {}, {"loggingConfig": expected_config()})
    bedrock.stubber.add_client_error(DELETE, "AccessDeniedException", "denied", 403)

    index.handler(make_event("Create"), None, client=bedrock)
    index.handler(make_event("Delete"), None, client=bedrock)
    index.handler(make_event("Create", BucketName=""), None, client=bedrock)
    bedrock.stubber.add_response(PUT, {}, {"loggingConfig": expected_config()})
    cloudformation.error = urllib.error.HTTPError(RESPONSE_URL, 403, "Forbidden", Message(), None)
    with pytest.raises(urllib.error.HTTPError):
        index.handler(make_event("Update"), None, client=bedrock)

    assert "Create request for InvocationLogging" in caplog.text
    assert "Delete of InvocationLogging failed" in caplog.text
    assert "missing property BucketName" in caplog.text
    assert "could not send the SUCCESS response for InvocationLogging" in caplog.text
    assert RESPONSE_URL not in caplog.text
    assert "X-Amz-Signature" not in caplog.text
