"""Unit tests for the custom resource that creates a private collection's vector index.

The collection endpoint and CloudFormation's response URL are answered by a fake ``urlopen``;
credentials come from the environment, so requests are signed but nothing leaves the process.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from genai_constructs.handlers.vector_index import index

ENDPOINT = "https://abc123.eu-west-1.aoss.amazonaws.com"
RESPONSE_URL = "https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/r?sig=1"
BODY = json.dumps({"mappings": {"properties": {"v": {"type": "knn_vector", "dimension": 4}}}})


def make_event(request_type: str, **properties: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/data/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "VectorsIndex",
        "ResourceProperties": {
            "CollectionEndpoint": ENDPOINT,
            "IndexName": "bedrock-knowledge-base",
            "Body": BODY,
            **properties,
        },
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"{ENDPOINT}/bedrock-knowledge-base"
    return event


class Endpoints:
    """Answers the collection with queued statuses and records CloudFormation's response."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.response: dict[str, Any] | None = None

    def __call__(self, request: urllib.request.Request, timeout: float) -> Any:
        url = request.full_url
        if url == RESPONSE_URL:
            assert request.data is not None
            self.response = json.loads(request.data)
            return _Answer(200)
        self.calls.append((request.get_method(), url, dict(request.header_items())))
        status = self.statuses.pop(0)
        if status >= 400:
            raise urllib.error.HTTPError(url, status, "error", Message(), None)
        return _Answer(status)


class _Answer:
    def __init__(self, status: int) -> None:
        self.status = status

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *args: object) -> None:
        return None


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def run(monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], statuses: list[int]) -> Endpoints:
    endpoints = Endpoints(statuses)
    monkeypatch.setattr(urllib.request, "urlopen", endpoints)
    index.handler(event, None, sleep=lambda seconds: None)
    return endpoints


def test_create_puts_the_index_when_it_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = run(monkeypatch, make_event("Create"), [404, 200])
    url = f"{ENDPOINT}/bedrock-knowledge-base"
    assert [(method, called) for method, called, _ in endpoints.calls] == [
        ("HEAD", url),
        ("PUT", url),
    ]
    for _, _, headers in endpoints.calls:
        assert "/eu-west-1/aoss/aws4_request" in headers["Authorization"]
    assert endpoints.response is not None
    assert endpoints.response["Status"] == "SUCCESS"
    assert endpoints.response["PhysicalResourceId"] == url


def test_an_existing_index_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = run(monkeypatch, make_event("Update"), [200])
    assert [method for method, _, _ in endpoints.calls] == ["HEAD"]
    assert endpoints.response is not None and endpoints.response["Status"] == "SUCCESS"


def test_a_forbidden_request_is_retried_while_the_access_policy_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoints = run(monkeypatch, make_event("Create"), [403, 403, 404, 201])
    assert [method for method, _, _ in endpoints.calls] == ["HEAD", "HEAD", "HEAD", "PUT"]
    assert endpoints.response is not None and endpoints.response["Status"] == "SUCCESS"


def test_a_lasting_403_fails_naming_the_access_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = run(monkeypatch, make_event("Create"), [403] * index.RETRIES)
    assert endpoints.response is not None
    assert endpoints.response["Status"] == "FAILED"
    assert endpoints.response["Reason"].endswith(
        "still HTTP 403 after 8 attempts; is the function's role in the collection's data "
        "access policy?"
    )


def test_a_server_error_fails_with_its_status(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = run(monkeypatch, make_event("Create"), [404, 500])
    assert endpoints.response is not None
    assert endpoints.response["Reason"] == f"{ENDPOINT}/bedrock-knowledge-base: HTTP 500"


def test_delete_keeps_the_index_and_its_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = run(monkeypatch, make_event("Delete"), [])
    assert endpoints.calls == []
    assert endpoints.response is not None and endpoints.response["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"IndexName": ""}, "missing property IndexName"),
        ({"CollectionEndpoint": "http://plain"}, "CollectionEndpoint must be an https URL"),
        ({"Body": "{not json"}, "Body is not JSON"),
    ],
)
def test_bad_properties_fail_without_calling_the_collection(
    monkeypatch: pytest.MonkeyPatch, properties: dict[str, str], reason: str
) -> None:
    endpoints = run(monkeypatch, make_event("Create", **properties), [])
    assert endpoints.calls == []
    assert endpoints.response is not None
    assert endpoints.response["Status"] == "FAILED"
    assert endpoints.response["Reason"].startswith(reason)
