"""Checks of construct props that leave unresolved tokens to deploy time.

A value from a CfnParameter, an import or another resource is a token at synthesis: its real
value is unknown, so it is not judged here (CloudFormation or the service will).
"""

from __future__ import annotations

from aws_cdk import Token, Tokenization


def check_range(owner: str, prop: str, value: float, low: float, high: float) -> None:
    """Refuse ``value`` outside [low, high]."""
    if not Token.is_unresolved(value) and not low <= value <= high:
        raise ValueError(f"{owner}: {prop} must be {low}-{high} (got {value})")


def check_at_least(owner: str, prop: str, value: float, low: float) -> None:
    """Refuse ``value`` below ``low``."""
    if not Token.is_unresolved(value) and value < low:
        raise ValueError(f"{owner}: {prop} must be at least {low} (got {value})")


def number_text(value: float) -> str:
    """``value`` as text for an environment variable or a property, tokens included."""
    return str(Tokenization.stringify_number(value))
