"""Buckets with the platform's baseline: encrypted, TLS only, private, versioned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genai_constructs.compliance import acknowledge, in_every_framework
from genai_constructs.validation import IAM_ROLE, check_arns, check_at_least

# The CDK feature flag that makes a bucket's server access logs use the target's bucket policy.
ACCESS_LOGS_BY_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class AccessLogBucket(Construct):
    """The target of S3 server access logs for one account.

    Encrypted with S3-managed keys because S3 log delivery does not support SSE-KMS target
    buckets; log delivery from any bucket of the same account is allowed. TLS only, public
    access blocked, versioned, owner-enforced objects. Noncurrent versions expire and logs move
    to Glacier Instant Retrieval after ``archive_after_days``.

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
        self.node.set_context(ACCESS_LOGS_BY_POLICY, True)
        check_at_least("AccessLogBucket", "archive_after_days", archive_after_days, 30)
        check_at_least("AccessLogBucket", "noncurrent_version_days", noncurrent_version_days, 1)

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
        # Buckets of other stacks of the account deliver here too; a per-source statement would
        # make this stateful stack depend on theirs.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAccessLogDeliveryFromThisAccount",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        acknowledge(
            self.bucket,
            ["AwsSolutions-S1", *in_every_framework("S3BucketLoggingEnabled"), "CKV_AWS_18"],
            "This bucket is the server access log target of its account; logging it to itself "
            "would create a delivery loop.",
        )
        acknowledge(
            self.bucket,
            in_every_framework("S3DefaultEncryptionKMS"),
            "S3 server access log delivery only supports SSE-S3 (AES256) on the target bucket; "
            "SSE-KMS targets are rejected by the log delivery service.",
        )
        acknowledge(
            self.bucket,
            in_every_framework("S3BucketReplicationEnabled"),
            "Cross-region replication would copy logs outside the LOB's configured region "
            "(data residency); versioning and the Retain policy protect against loss instead.",
        )


# Read-only actions that reveal which objects exist and how a bucket is set up, never content.
METADATA_READ_ACTIONS = (
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:GetBucketLocation",
    "s3:GetBucketTagging",
    "s3:GetEncryptionConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketVersioning",
)
OBJECT_ACCESS_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject")
OBJECT_WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:RestoreObject",
)


def encrypted_bucket(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    access_log_bucket: s3.IBucket,
    access_log_prefix: str,
    removal_policy: RemovalPolicy,
    object_lock: s3.ObjectLockRetention | None,
    lifecycle_rule: s3.LifecycleRule,
    no_replication_reason: str,
) -> s3.Bucket:
    """A bucket on one customer key (bucket keys on), TLS only, public access blocked,
    owner-enforced objects, versioned, with server access logs and one lifecycle rule.

    Replication is off on purpose; ``no_replication_reason`` says why, for the auditor.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=encryption_key,
        bucket_key_enabled=True,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=removal_policy,
        server_access_logs_bucket=access_log_bucket,
        server_access_logs_prefix=access_log_prefix,
        object_lock_enabled=object_lock is not None,
        object_lock_default_retention=object_lock,
        lifecycle_rules=[lifecycle_rule],
    )
    Validations.of(bucket).acknowledge(
        Acknowledgment(
            id="Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
            reason="The access-log bucket's own policy admits S3 log delivery from every "
            "bucket of its account, so no per-bucket statement is needed.",
        )
    )
    acknowledge(bucket, in_every_framework("S3BucketReplicationEnabled"), no_replication_reason)
    return bucket


class GovernedBucket(Construct):
    """A data bucket that only its own account can use, encrypted with one KMS key.

    SSE-KMS with bucket keys, TLS only, public access blocked, versioned, owner-enforced
    objects, server access logs, lifecycle rules for noncurrent versions and incomplete
    uploads. Its policy denies every principal outside the bucket's account (AWS services
    acting for the account excepted), uploads that ask for another key or another kind of
    encryption, and optionally object writes by principals without a workload tag and
    object reads by named principals.

    :param encryption_key: the customer-managed key of the data.
    :param access_log_bucket: where server access logs go; its policy must admit S3 log
        delivery from this account, as ``AccessLogBucket``'s does.
    :param access_log_prefix: default ``<construct id>/``.
    :param removal_policy: default ``RETAIN``; objects are never auto-deleted.
    :param noncurrent_version_days: default 90; how long an overwritten version is kept.
    :param object_lock_days: default ``None`` (no object lock); when set, object lock in
        governance mode with this default retention.
    :param metadata_reader_arns: default none; role ARNs of other accounts allowed to list
        objects and read bucket configuration (``METADATA_READ_ACTIONS``), never object content.
    :param writer_tag: default ``None`` (no restriction); when ``(key, value)``, only principals
        carrying that principal tag may write or delete objects.
    :param denied_reader_arns: default none; role ARNs of this account that may not read objects.
    :param denied_reader_workspaces: default none; key prefixes (ending in ``/``) where the
        denied readers may still read (what they write themselves: their jobs' outputs).
    :param send_events: default ``False``; send the bucket's events to EventBridge (set on the
        bucket itself: no notification custom resource).
    :param shared_prefixes: default none; per key prefix, role ARNs of other accounts that may
        list and read the objects under it, and nothing else in the bucket.
    :param tenant_tag: default ``None``; when ``(key, value)``, principals of this account
        without that principal tag may not list, read or write objects (for an account that
        several tenants share).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        access_log_prefix: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        noncurrent_version_days: int = 90,
        object_lock_days: int | None = None,
        metadata_reader_arns: Sequence[str] = (),
        writer_tag: tuple[str, str] | None = None,
        denied_reader_arns: Sequence[str] = (),
        denied_reader_workspaces: Sequence[str] = (),
        shared_prefixes: Mapping[str, Sequence[str]] | None = None,
        send_events: bool = False,
        tenant_tag: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Log delivery by bucket policy, whatever the app's feature flags: the ACL alternative
        # needs ObjectWriter ownership, which these owner-enforced buckets refuse.
        self.node.set_context(ACCESS_LOGS_BY_POLICY, True)
        shared = {prefix: list(arns) for prefix, arns in (shared_prefixes or {}).items() if arns}
        check_at_least("GovernedBucket", "noncurrent_version_days", noncurrent_version_days, 1)
        if object_lock_days is not None:
            check_at_least("GovernedBucket", "object_lock_days", object_lock_days, 1)
        for what, prefix in [
            *(("shared prefix", p) for p in shared),
            *(("denied readers' workspace", p) for p in denied_reader_workspaces),
        ]:
            if not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
                raise ValueError(
                    f"GovernedBucket: {what} '{prefix}' must end with '/' and hold no "
                    "leading '/' or '*'"
                )
        shared_readers = sorted({arn for arns in shared.values() for arn in arns})
        check_arns("GovernedBucket", "metadata_reader_arns", metadata_reader_arns, IAM_ROLE)
        check_arns("GovernedBucket", "denied_reader_arns", denied_reader_arns, IAM_ROLE)
        check_arns("GovernedBucket", "shared_prefixes", shared_readers, IAM_ROLE)

        account = Stack.of(self).account
        self.bucket = encrypted_bucket(
            self,
            "Bucket",
            encryption_key=encryption_key,
            access_log_bucket=access_log_bucket,
            access_log_prefix=access_log_prefix or f"{construct_id}/",
            removal_policy=removal_policy,
            object_lock=(
                s3.ObjectLockRetention.governance(Duration.days(object_lock_days))
                if object_lock_days is not None
                else None
            ),
            lifecycle_rule=s3.LifecycleRule(
                id="ExpireNoncurrentAndIncomplete",
                abort_incomplete_multipart_upload_after=Duration.days(7),
                noncurrent_version_expiration=Duration.days(noncurrent_version_days),
            ),
            no_replication_reason="Replication would copy LOB data to another region or "
            "account, against the LOB's data residency and ownership; versioning and the Retain "
            "policy protect against loss.",
        )
        # Read once (each read is a jsii round trip): the denies below name them ten times.
        self._bucket_arn = self.bucket.bucket_arn
        self._objects_arn = self.bucket.arn_for_objects("*")
        self._anyone = iam.AnyPrincipal()
        if send_events:
            resource = self.bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )
        not_aws_service = {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}
        outside_account: dict[str, Any] = {"StringNotEquals": {"aws:PrincipalAccount": account}}
        if shared_readers:
            outside_account["ArnNotEquals"] = {"aws:PrincipalArn": shared_readers}
            self._share(shared, shared_readers)
        if metadata_reader_arns:
            self._deny(
                "DenyOutsideAccountExceptMetadata",
                not_actions=list(METADATA_READ_ACTIONS),
                conditions={**outside_account, **not_aws_service},
            )
            self._deny(
                "DenyOutsideAccountMetadataUnlessNamed",
                actions=list(METADATA_READ_ACTIONS),
                conditions={
                    **outside_account,
                    **not_aws_service,
                    "ArnNotEquals": {"aws:PrincipalArn": [*metadata_reader_arns, *shared_readers]},
                },
            )
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowNamedMetadataReaders",
                    principals=[iam.ArnPrincipal(arn) for arn in metadata_reader_arns],
                    actions=list(METADATA_READ_ACTIONS),
                    resources=[self.bucket.bucket_arn],
                )
            )
        else:
            self._deny(
                "DenyOutsideAccount",
                actions=["s3:*"],
                conditions={**outside_account, **not_aws_service},
            )
        # An upload that names no key or encryption gets the bucket's default (SSE-KMS with
        # this key); one that names others is refused. ``Null: false`` keeps an absent header
        # from matching the negated test.
        key_header = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        self._deny(
            "DenyOtherKeys",
            actions=["s3:PutObject"],
            conditions={
                "StringNotEquals": {key_header: encryption_key.key_arn},
                "Null": {key_header: "false"},
            },
            objects_only=True,
        )
        encryption_header = "s3:x-amz-server-side-encryption"
        self._deny(
            "DenyOtherEncryption",
            actions=["s3:PutObject"],
            conditions={
                "StringNotEquals": {encryption_header: "aws:kms"},
                "Null": {encryption_header: "false"},
            },
            objects_only=True,
        )
        if writer_tag is not None:
            tag_key, tag_value = writer_tag
            self._deny(
                "DenyWritesWithoutWorkloadTag",
                actions=list(OBJECT_WRITE_ACTIONS),
                conditions={
                    "StringNotEquals": {f"aws:PrincipalTag/{tag_key}": tag_value},
                    **not_aws_service,
                },
                objects_only=True,
            )
        if tenant_tag is not None:
            tag_key, tag_value = tenant_tag
            self._deny(
                "DenyOtherTenants",
                actions=["s3:ListBucket", "s3:ListBucketVersions", *OBJECT_ACCESS_ACTIONS],
                conditions={
                    "StringEquals": {"aws:PrincipalAccount": account},
                    "StringNotEquals": {f"aws:PrincipalTag/{tag_key}": tag_value},
                    **not_aws_service,
                },
            )
        if denied_reader_arns:
            self._deny(
                "DenyNamedReaders",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                conditions={"ArnEquals": {"aws:PrincipalArn": list(denied_reader_arns)}},
                objects_only=True,
                except_prefixes=denied_reader_workspaces,
            )

    def _share(self, shared: dict[str, list[str]], readers: list[str]) -> None:
        """Each prefix to its readers, by their accounts narrowed to their ARNs (a role named
        as principal must exist already; theirs are deployed later); they may do nothing
        else."""
        for index, (prefix, arns) in enumerate(sorted(shared.items())):
            accounts = sorted({arn.split(":")[4] for arn in arns})
            principals = [iam.AccountPrincipal(account) for account in accounts]
            named = {"ArnEquals": {"aws:PrincipalArn": arns}}
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AllowSharedRead{index}",
                    principals=principals,
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(f"{prefix}*")],
                    conditions=named,
                )
            )
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AllowSharedList{index}",
                    principals=principals,
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={**named, "StringLike": {"s3:prefix": f"{prefix}*"}},
                )
            )
        readers_only = {"ArnEquals": {"aws:PrincipalArn": readers}}
        self._deny(
            "DenySharedReadersOtherActions",
            not_actions=["s3:GetObject", "s3:ListBucket"],
            conditions=readers_only,
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenySharedReadersOtherObjects",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                not_resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in shared],
                conditions=readers_only,
            )
        )

    def _deny(
        self,
        sid: str,
        *,
        conditions: dict[str, Any],
        actions: list[str] | None = None,
        not_actions: list[str] | None = None,
        objects_only: bool = False,
        except_prefixes: Sequence[str] = (),
    ) -> None:
        """A deny of every principal: on the objects (and the bucket unless
        ``objects_only``), or on the objects outside ``except_prefixes``."""
        resources = [self._objects_arn] if objects_only else [self._bucket_arn, self._objects_arn]
        outside = [self.bucket.arn_for_objects(f"{prefix}*") for prefix in except_prefixes]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                effect=iam.Effect.DENY,
                principals=[self._anyone],
                actions=actions,
                not_actions=not_actions,
                resources=None if outside else resources,
                not_resources=outside or None,
                conditions=conditions,
            )
        )


class DataLakeZones(Construct):
    """The zones of an LOB's data lake, one GovernedBucket each, sharing one key and policy.

    :param zones: default ``DATA_LAKE_ZONES`` (raw, curated, training, artifacts).
    :param object_lock_days: default none; per zone name, governance-mode retention in days.
    :param shared_prefixes: default none; per zone name, GovernedBucket's ``shared_prefixes``.
    :param denied_reader_workspaces: default none; per zone name, GovernedBucket's
        ``denied_reader_workspaces``.
    :param event_zones: default none; the zones that send their events to EventBridge.
    Every other keyword is passed to each GovernedBucket (see there for defaults).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        zones: Sequence[str] = ("raw", "curated", "training", "artifacts"),
        object_lock_days: Mapping[str, int] | None = None,
        denied_readers: Mapping[str, Sequence[str]] | None = None,
        denied_reader_workspaces: Mapping[str, Sequence[str]] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        noncurrent_version_days: int = 90,
        metadata_reader_arns: Sequence[str] = (),
        writer_tag: tuple[str, str] | None = None,
        shared_prefixes: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        event_zones: Sequence[str] = (),
        tenant_tag: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        locks = dict(object_lock_days or {})
        shares = dict(shared_prefixes or {})
        denied = dict(denied_readers or {})
        workspaces = dict(denied_reader_workspaces or {})
        if not zones or len(set(zones)) != len(zones):
            raise ValueError(f"DataLakeZones: zones must be unique and not empty (got {zones})")
        named = set(locks) | set(denied) | set(workspaces) | set(shares) | set(event_zones)
        unknown = sorted(named - set(zones))
        if unknown:
            raise ValueError(f"DataLakeZones: {unknown} are not zones of {list(zones)}")

        self.zones: dict[str, s3.Bucket] = {}
        for zone in zones:
            self.zones[zone] = GovernedBucket(
                self,
                zone.capitalize(),
                encryption_key=encryption_key,
                access_log_bucket=access_log_bucket,
                access_log_prefix=f"{zone}/",
                removal_policy=removal_policy,
                noncurrent_version_days=noncurrent_version_days,
                object_lock_days=locks.get(zone),
                metadata_reader_arns=metadata_reader_arns,
                writer_tag=writer_tag,
                denied_reader_arns=denied.get(zone, ()),
                denied_reader_workspaces=workspaces.get(zone, ()),
                shared_prefixes=shares.get(zone),
                send_events=zone in event_zones,
                tenant_tag=tenant_tag,
            ).bucket
