"""Data stores are encrypted at rest, and customer keys rotate."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule

ENCRYPTED = {
    "AWS::S3::Bucket": lambda p: "BucketEncryption" in p,
    "AWS::KMS::Key": lambda p: p.get("EnableKeyRotation") is True,
    "AWS::Logs::LogGroup": lambda p: "KmsKeyId" in p,
    "AWS::SQS::Queue": lambda p: "KmsMasterKeyId" in p,
    "AWS::SNS::Topic": lambda p: "KmsMasterKeyId" in p,
}


def check(resource: Resource, _: CheckSettings) -> Compliance:
    encrypted = ENCRYPTED.get(resource.type)
    if encrypted is None:
        return Compliance.NOT_APPLICABLE
    return Compliance.of(encrypted(resource.properties))


RULE = Rule(
    name="EncryptionAtRest",
    control="encryption at rest",
    info="The data store is not encrypted at rest (or its customer key does not rotate).",
    explanation="S3 buckets need default encryption, KMS keys yearly rotation, log groups, SQS "
    "queues and SNS topics a KMS key, so that LOB data and logs are unreadable without the "
    "account's keys.",
    controls={
        "NIST.800.53.R5": ("SC-12", "SC-13", "SC-28", "SC-28(1)"),
        "HIPAA.Security": ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)"),
        "PCI.DSS.321": ("3.4", "3.5", "3.6.4"),
    },
    check=check,
)
