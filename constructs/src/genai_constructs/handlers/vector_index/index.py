"""CloudFormation custom resource that creates the k-NN index of a private vector collection.

A collection whose network policy admits only its VPC endpoint (and Bedrock) cannot be
reached by CloudFormation's own index resource, so this function, running in the VPC, creates
the index through the endpoint with a SigV4-signed request. Create and Update put the index
when it does not exist yet (an existing index, and the vectors in it, are kept); Delete keeps
the index too: it holds the LOB's data and goes with the collection.

Data access policies take effect within about a minute, so a 403 is retried.

Runtime: Python 3.12+, standard library and the botocore shipped with Lambda.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from genai_constructs.handlers.cfn_response import respond

REQUIRED_PROPERTIES = ("CollectionEndpoint", "IndexName", "Body")
SERVICE = "aoss"
RETRIES = 8
RETRY_SECONDS = 15
REQUEST_TIMEOUT_SECONDS = 30


class InvalidPropertiesError(ValueError):
    """The resource properties cannot be turned into an index request."""


class IndexRequestError(RuntimeError):
    """The collection refused the index request."""


def _properties(event: Any) -> dict[str, str]:
    properties = event.get("ResourceProperties") or {}
    for name in REQUIRED_PROPERTIES:
        if not properties.get(name):
            raise InvalidPropertiesError(f"missing property {name}")
    endpoint = str(properties["CollectionEndpoint"])
    if not endpoint.startswith("https://"):
        raise InvalidPropertiesError(f"CollectionEndpoint must be an https URL, got {endpoint!r}")
    try:
        json.loads(properties["Body"])
    except ValueError as error:
        raise InvalidPropertiesError(f"Body is not JSON: {error}") from None
    return {name: str(properties[name]) for name in REQUIRED_PROPERTIES}


def signed(method: str, url: str, body: bytes | None, region: str) -> urllib.request.Request:
    """A request signed for OpenSearch Serverless with the function's credentials."""
    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise IndexRequestError("no AWS credentials in the function's environment")
    headers = {"content-type": "application/json"} if body is not None else {}
    aws_request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(aws_request)
    return urllib.request.Request(
        url, data=body, method=method, headers=dict(aws_request.headers.items())
    )


def _send(method: str, url: str, body: bytes | None, region: str) -> int:
    """The HTTP status of one signed request (4xx and 5xx included)."""
    try:
        with urllib.request.urlopen(
            signed(method, url, body, region), timeout=REQUEST_TIMEOUT_SECONDS
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def ensure_index(properties: dict[str, str], region: str, sleep: Any = time.sleep) -> None:
    """Create the index unless it exists; retry while the data access policy propagates."""
    url = f"{properties['CollectionEndpoint'].rstrip('/')}/{properties['IndexName']}"
    for attempt in range(RETRIES):
        status = _send("HEAD", url, None, region)
        if status == 200:
            return
        if status == 404:
            status = _send("PUT", url, properties["Body"].encode("utf-8"), region)
            if status in (200, 201):
                return
        if status != 403:
            raise IndexRequestError(f"{url}: HTTP {status}")
        if attempt < RETRIES - 1:
            sleep(RETRY_SECONDS)
    raise IndexRequestError(
        f"{url}: still HTTP 403 after {RETRIES} attempts; is the function's role in the "
        "collection's data access policy?"
    )


def _apply(event: Any, region: str, sleep: Any) -> str:
    request_type = event["RequestType"]
    if request_type in ("Create", "Update"):
        properties = _properties(event)
        ensure_index(properties, region, sleep)
        return f"{properties['CollectionEndpoint']}/{properties['IndexName']}"
    if request_type == "Delete":
        return str(event.get("PhysicalResourceId") or "")
    raise InvalidPropertiesError(f"unsupported RequestType {request_type!r}")


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, InvalidPropertiesError | IndexRequestError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def handler(event: Any, context: Any, sleep: Any = time.sleep) -> None:
    """Lambda entry point; ``sleep`` lets tests skip the waits between retries."""
    region = boto3.Session().region_name or ""
    respond(event, lambda request: _apply(request, region, sleep), _failure_reason)
