"""Activity is recorded: VPC flow logs, and trails that log."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if resource.type == "AWS::EC2::VPC":
        flow_logs = resource.template.referencing(
            "AWS::EC2::FlowLog", "ResourceId", resource.logical_id
        )
        return Compliance.of(bool(flow_logs))
    if resource.type == "AWS::CloudTrail::Trail":
        return Compliance.of(resource.properties.get("IsLogging") is True)
    return Compliance.NOT_APPLICABLE


RULE = Rule(
    name="AuditLogging",
    control="logging and audit trail",
    info="The VPC has no flow log, or the trail does not log.",
    explanation="Network flows of every VPC and the API activity of the organization are "
    "recorded, so that an auditor can reconstruct who reached what.",
    controls={
        "NIST.800.53.R5": ("AU-2b", "AU-3", "AU-12a", "AU-12c"),
        "HIPAA.Security": ("164.312(b)",),
        "PCI.DSS.321": ("10.1", "10.2", "10.3"),
    },
    check=check,
)
