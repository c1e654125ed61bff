"""The platform's own controls as a cdk-nag pack: one rule per module in ``rules/``.

``rule`` and ``evaluate`` are plain Python over template JSON (the audit runs them over a
cloud assembly); ``GenAIPlatformChecks`` (the pack) loads the CDK on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genai_constructs.checks.evaluate import PACK, Result, evaluate, read_templates, rule_id
from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule, Template
from genai_constructs.checks.rules import RULES

if TYPE_CHECKING:
    from genai_constructs.checks.pack import GenAIPlatformChecks

__all__ = [
    "PACK",
    "RULES",
    "CheckSettings",
    "Compliance",
    "GenAIPlatformChecks",
    "Resource",
    "Result",
    "Rule",
    "Template",
    "evaluate",
    "read_templates",
    "rule_id",
]


def __getattr__(name: str) -> Any:
    if name == "GenAIPlatformChecks":
        from genai_constructs.checks.pack import GenAIPlatformChecks

        return GenAIPlatformChecks
    raise AttributeError(f"module 'genai_constructs.checks' has no attribute '{name}'")
