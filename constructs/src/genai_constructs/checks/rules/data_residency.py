"""Resources deploy only to the organization's allowed regions."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule


def check(resource: Resource, settings: CheckSettings) -> Compliance:
    if not settings.allowed_regions:
        return Compliance.NOT_APPLICABLE
    return Compliance.of(resource.template.region in settings.allowed_regions)


RULE = Rule(
    name="DataResidency",
    control="data residency",
    info="The resource's stack deploys to a region outside the organization's allowed regions.",
    explanation="LOB data and its processing stay in the regions the organization allows "
    "(the region SCP denies the others at run time).",
    controls={"NIST.800.53.R5": ("SA-9(5)",)},
    check=check,
)
