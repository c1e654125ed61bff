"""Reading the raw YAML data of an organization file, whatever its shape: the helpers the
cross-field rules (``rules``, ``operating_rules``) share. A part of the wrong type reads as
empty, so its own field check reports it and the other rules still run."""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def bedrock_catalog(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Bedrock models of the organization's catalog, by ID (entries without one left out)."""
    models = sequence(mapping(data.get("catalog")).get("bedrock"))
    return {m["id"]: m for m in map(mapping, models) if isinstance(m.get("id"), str)}
