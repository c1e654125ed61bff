"""Reading the raw YAML data of an organization file, whatever its shape: the helpers the
cross-field rules (``rules``, ``operating_rules``) share. A part of the wrong type reads as
empty, so its own field check reports it and the other rules still run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.model.sections.environments import ENVIRONMENT_NAMES


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def bedrock_catalog(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Bedrock models of the organization's catalog, by ID (entries without one left out)."""
    models = sequence(mapping(data.get("catalog")).get("bedrock"))
    return {m["id"]: m for m in map(mapping, models) if isinstance(m.get("id"), str)}


def lob_environments(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, lob in enumerate(sequence(data.get("lobs"))):
        for env_name, env in mapping(mapping(lob).get("environments")).items():
            if env_name in ENVIRONMENT_NAMES:
                yield f"lobs[{index}].environments.{env_name}", mapping(env)


def strings(entries: Any) -> list[str]:
    """The text items of a list (items of another type have their own problems)."""
    return [entry for entry in sequence(entries) if isinstance(entry, str)]
