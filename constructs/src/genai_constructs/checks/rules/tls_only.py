"""Buckets refuse requests that do not use TLS."""

from __future__ import annotations

import json

from genai_constructs.checks.rule import CheckSettings, Compliance, Json, Resource, Rule, statements


def _denies_insecure_transport(statement: Json) -> bool:
    condition = json.dumps(statement.get("Condition", {}))
    return statement.get("Effect") == "Deny" and "aws:SecureTransport" in condition


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if resource.type != "AWS::S3::Bucket":
        return Compliance.NOT_APPLICABLE
    policies = resource.template.referencing("AWS::S3::BucketPolicy", "Bucket", resource.logical_id)
    return Compliance.of(
        any(
            _denies_insecure_transport(statement)
            for policy in policies
            for statement in statements(policy.properties.get("PolicyDocument"))
        )
    )


RULE = Rule(
    name="TlsOnly",
    control="encryption in transit",
    info="The bucket's policy does not deny requests without aws:SecureTransport.",
    explanation="Every bucket of the platform holds LOB data or logs; its policy refuses "
    "plain-HTTP requests so that data is encrypted in transit.",
    controls={
        "NIST.800.53.R5": ("AC-17(2)", "SC-8", "SC-8(1)", "SC-23"),
        "HIPAA.Security": ("164.312(e)(1)", "164.312(e)(2)(i)"),
        "PCI.DSS.321": ("4.1", "8.2.1"),
    },
    check=check,
)
