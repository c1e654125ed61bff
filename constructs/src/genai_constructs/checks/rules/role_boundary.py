"""Every role carries a permissions boundary."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if resource.type != "AWS::IAM::Role":
        return Compliance.NOT_APPLICABLE
    return Compliance.of("PermissionsBoundary" in resource.properties)


RULE = Rule(
    name="RoleBoundary",
    control="least privilege",
    info="The IAM role has no permissions boundary.",
    explanation="The account's permissions boundary caps every role the platform creates: "
    "only the services the platform uses, no escalation, no destruction of audit evidence.",
    controls={
        "NIST.800.53.R5": ("AC-3", "AC-6", "AC-6(10)"),
        "HIPAA.Security": ("164.308(a)(3)(i)", "164.308(a)(4)(ii)(B)", "164.312(a)(1)"),
        "PCI.DSS.321": ("7.1.2", "7.2.1"),
    },
    check=check,
)
