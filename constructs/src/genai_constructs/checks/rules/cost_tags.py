"""Taggable resources carry the cost-attribution tags."""

from __future__ import annotations

from typing import Any

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule

COST_TAGS = ("lob", "cost-center")


def _tag_keys(tags: Any) -> set[str]:
    if isinstance(tags, dict):
        return set(tags)
    if not isinstance(tags, list):
        return set()
    return {str(tag.get("Key")) for tag in tags if isinstance(tag, dict)}


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if "Tags" not in resource.properties:
        return Compliance.NOT_APPLICABLE
    return Compliance.of(set(COST_TAGS) <= _tag_keys(resource.properties["Tags"]))


RULE = Rule(
    name="CostTags",
    control="cost attribution",
    info="The resource takes tags but lacks 'lob' or 'cost-center'.",
    explanation="Spend is attributed to the LOB and cost center that cause it; budgets filter "
    "on these tags.",
    controls={"NIST.800.53.R5": ("CM-8", "CM-8(4)"), "PCI.DSS.321": ("2.4",)},
    check=check,
)
