"""What every section of the organization file is built from: the base model, the text
constraints whose messages and reference say what a value should be, the environment names."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

# What each pattern of the file's text fields means, for error messages and the reference.
PATTERN_MEANINGS: dict[str, str] = {}


def matching(pattern: str, meaning: str) -> Any:
    """A pattern constraint whose mismatch reads as ``meaning``."""
    PATTERN_MEANINGS[pattern] = meaning
    return Field(pattern=pattern)


def described(pattern: str, meaning: str, **bounds: int) -> WithJsonSchema:
    """The JSON Schema of text a validator checks (with its own message): the pattern it
    matches, which the reference reads as ``meaning``."""
    PATTERN_MEANINGS[pattern] = meaning
    return WithJsonSchema({"type": "string", "pattern": pattern, **bounds})


def one_of(values: Iterable[str]) -> WithJsonSchema:
    """The JSON Schema of text a validator checks against a list of names."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


class EnvironmentName(StrEnum):
    """The three environments of the layered blueprint."""

    INTERACTIVE = "interactive"
    NONPROD = "nonprod"
    PROD = "prod"

    @property
    def operational(self) -> bool:
        return self is not EnvironmentName.INTERACTIVE


class Model(BaseModel):
    """Base for every section: unknown keys are errors, values are immutable."""

    # Each field's docstring is its description in the JSON Schema and the reference.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )
