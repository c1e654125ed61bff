"""Answering CloudFormation from a custom resource function (no CDK Provider framework).

The function is the custom resource's ServiceToken itself, so it PUTs its result to the
presigned ``ResponseURL`` of the request. Standard library only.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

RESPONSE_TIMEOUT_SECONDS = 30
MAX_REASON_LENGTH = 1000


def send_response(event: Any, status: str, reason: str, physical_id: str) -> None:
    """PUT the custom resource response to CloudFormation's presigned URL."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:MAX_REASON_LENGTH],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": {},
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"content-type": "", "content-length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
        logger.info("CloudFormation accepted the response with HTTP %s", response.status)


def respond(
    event: Any, apply: Callable[[Any], str], failure_reason: Callable[[Exception], str]
) -> None:
    """Run ``apply`` (which returns the physical id) and report SUCCESS or FAILED with
    ``failure_reason``; a response that cannot be sent is raised, so Lambda retries."""
    request_type = event.get("RequestType")
    logical_id = event.get("LogicalResourceId")
    logger.info("%s request for %s", request_type, logical_id)
    try:
        physical_id = apply(event)
        status, reason = "SUCCESS", "OK"
    except Exception as exc:
        status, reason = "FAILED", failure_reason(exc)
        logger.error("%s of %s failed: %s", request_type, logical_id, reason)
        physical_id = event.get("PhysicalResourceId") or f"failed-{event.get('RequestId')}"
    try:
        send_response(event, status, reason, physical_id)
    except Exception as exc:
        logger.error(
            "could not send the %s response for %s: %s", status, logical_id, type(exc).__name__
        )
        raise
    logger.info("%s of %s: %s", request_type, logical_id, status)
