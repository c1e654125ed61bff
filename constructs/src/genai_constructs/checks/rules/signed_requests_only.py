"""Function URLs authenticate their callers: unsigned requests never reach the function."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if resource.type != "AWS::Lambda::Url":
        return Compliance.NOT_APPLICABLE
    return Compliance.of(resource.properties.get("AuthType") == "AWS_IAM")


RULE = Rule(
    name="SignedRequestsOnly",
    control="authenticated APIs",
    info="The function URL does not use AWS_IAM auth.",
    explanation="A function URL is reachable from anywhere; with AWS_IAM auth, Lambda refuses "
    "every request that is not signed by a principal whose policies allow the call, so the "
    "answer APIs serve only the applications granted them.",
    controls={
        "NIST.800.53.R5": ("AC-3", "IA-2", "IA-9"),
        "HIPAA.Security": ("164.312(a)(1)", "164.312(d)"),
        "PCI.DSS.321": ("7.1.2", "8.1.1"),
    },
    check=check,
)
