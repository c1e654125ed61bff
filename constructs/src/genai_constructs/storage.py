"""Buckets with the platform's baseline: encrypted, TLS only, private, versioned."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3

from constructs import Construct
from genai_constructs.compliance import acknowledge


class AccessLogBucket(Construct):
    """The target of S3 server access logs for one account.

    Encrypted with S3-managed keys because S3 log delivery does not support SSE-KMS target
    buckets; TLS only, public access blocked, versioned, owner-enforced objects. Noncurrent
    versions expire and logs move to Glacier Instant Retrieval after ``archive_after_days``.

    :param removal_policy: default ``RETAIN``. Objects are never auto-deleted.
    :param archive_after_days: default 90.
    :param noncurrent_version_days: default 365; how long an overwritten log version is kept.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        archive_after_days: int = 90,
        noncurrent_version_days: int = 365,
    ) -> None:
        super().__init__(scope, construct_id)
        if archive_after_days < 30:
            raise ValueError(
                "AccessLogBucket: archive_after_days must be at least 30 "
                f"(got {archive_after_days})"
            )
        if noncurrent_version_days < 1:
            raise ValueError(
                "AccessLogBucket: noncurrent_version_days must be at least 1 "
                f"(got {noncurrent_version_days})"
            )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ArchiveAndExpireNoncurrent",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(archive_after_days),
                        )
                    ],
                )
            ],
        )
        acknowledge(
            self.bucket,
            [
                "AwsSolutions-S1",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "HIPAA.Security-S3BucketLoggingEnabled",
                "PCI.DSS.321-S3BucketLoggingEnabled",
            ],
            "This bucket is the server access log target of its account; logging it to itself "
            "would create a delivery loop.",
        )
        acknowledge(
            self.bucket,
            [
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
            ],
            "S3 server access log delivery only supports SSE-S3 (AES256) on the target bucket; "
            "SSE-KMS targets are rejected by the log delivery service.",
        )
        acknowledge(
            self.bucket,
            [
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "HIPAA.Security-S3BucketReplicationEnabled",
                "PCI.DSS.321-S3BucketReplicationEnabled",
            ],
            "Cross-region replication would copy logs outside the LOB's configured region "
            "(data residency); versioning and the Retain policy protect against loss instead.",
        )
