"""What the platform's function URLs share (payload format 2.0): a refused request, the body
read within a limit, a JSON object, and the reply."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any


class RequestError(Exception):
    """The request is refused with ``status`` and ``reason``."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})


def require_post(event: Mapping[str, Any]) -> None:
    method = event.get("requestContext", {}).get("http", {}).get("method")
    if method != "POST":
        raise RequestError(405, f"method {method} is not allowed; use POST", {"allow": "POST"})


def body_bytes(event: Mapping[str, Any], limit: int) -> bytes:
    """The body's bytes (decoded when Lambda encoded them), refused with 413 before any
    parsing when longer than ``limit``."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise RequestError(400, "the body is not valid base64") from None
    else:
        raw = body.encode()
    if len(raw) > limit:
        raise RequestError(413, f"the body is {len(raw)} bytes; the limit is {limit}")
    return raw


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        fields = None
    if not isinstance(fields, dict):
        raise RequestError(400, "the body must be a JSON object")
    return fields


def response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }
