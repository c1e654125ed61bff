"""Central governance in the governance account: audit trail, metrics sink, LOB dashboards.

The governance account is the CloudTrail delegated administrator of the organization. It
keeps the organization trail in an object-locked archive, watches each LOB's model usage
(metrics only: no prompt or completion leaves an LOB account), and lets the
auditor read configuration and the audit trail, never LOB data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_oam as oam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.inputs.governance import LobOversightInputs
from genai_constructs.compliance import acknowledge, in_every_framework, nag_reference
from genai_constructs.naming import pascal
from genai_constructs.storage import encrypted_bucket
from stacks.assets import mark
from stacks.chargeback import chargeback_reports, monthly_chargeback
from stacks.foundation import use_account_boundary

# (widget title, namespace or None for the platform's own, metric, statistic)
LOB_METRICS: tuple[tuple[str, str | None, str, str], ...] = (
    ("Model invocations", "AWS/Bedrock", "Invocations", "Sum"),
    ("Invocation latency (p90, ms)", "AWS/Bedrock", "InvocationLatency", "p90"),
    ("Input tokens", "AWS/Bedrock", "InputTokenCount", "Sum"),
    ("Output tokens", "AWS/Bedrock", "OutputTokenCount", "Sum"),
    ("Client errors", "AWS/Bedrock", "InvocationClientErrors", "Sum"),
    ("Guardrail interventions", None, "GuardrailInterventions", "Sum"),
)
LOBS_PER_OVERSIGHT_STACK = 25


class GovernanceStack(Stack):
    """Organization trail and log archive, the metrics sink, auditor read access.

    :param org_name: name prefix, e.g. ``example-corp``.
    :param auditor_role: the name of this account's auditor role (its foundation stack
        creates it); the central audit read policy attaches to it.
    :param audited_roles: default ``auditor_role`` alone; the names of the auditor roles of
        the member accounts it may assume (several where tenancies share a central account;
        none in the decentralized model, where LOB accounts audit themselves).
    :param organization_id: ``o-...``; whose accounts may link metrics to the sink.
    :param management_account: the organization's management account. An organization trail
        created by the delegated administrator is owned by it, so its ARN carries that account.
    :param trail_retention_days: object-lock (compliance mode) retention of the trail's logs.
    :param encryption_key: key of the log archive and trail (this account's logs key). When it
        is a ``kms.Key`` of this app, the CloudTrail statements are added to its policy;
        otherwise its owner must add ``key_policy_statements``.
    :param access_log_bucket: target of the archive's server access logs; its policy must
        admit S3 log delivery from this account (``AccessLogBucket``'s does).
    :param removal_policy: default ``RETAIN``; of the log archive bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        auditor_role: str,
        organization_id: str,
        management_account: str,
        trail_retention_days: int,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        audited_roles: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._audited_roles = [auditor_role] if audited_roles is None else list(audited_roles)
        self.trail_name = f"{org_name}-organization-trail"
        self.trail_arn = (
            f"arn:{self.partition}:cloudtrail:{self.region}:{management_account}:"
            f"trail/{self.trail_name}"
        )
        self.log_archive = self._log_archive(
            encryption_key, access_log_bucket, trail_retention_days, removal_policy
        )
        self._allow_trail_delivery(management_account, organization_id)
        self._keep_the_record()
        self.key_policy_statements = self._trail_key_statements(management_account)
        if isinstance(encryption_key, kms.Key):
            for statement in self.key_policy_statements:
                encryption_key.add_to_resource_policy(statement)
        self.trail = cloudtrail.CfnTrail(
            self,
            "OrganizationTrail",
            trail_name=self.trail_name,
            is_logging=True,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            s3_bucket_name=self.log_archive.bucket_name,
            kms_key_id=encryption_key.key_arn,
            advanced_event_selectors=self._event_selectors(),
        )
        # The organization's record outlives its stack: removing the trail is a decision taken
        # in the management console, never a side effect of a template change.
        self.trail.apply_removal_policy(RemovalPolicy.RETAIN)
        mark(self.trail, AssetKind.TRAIL, "organization")
        mark(self.log_archive, AssetKind.ZONE, "log-archive")
        # CloudTrail checks the bucket policy when the trail is created.
        if self.log_archive.policy is not None:
            self.trail.node.add_dependency(self.log_archive.policy)
        acknowledge(
            self.trail,
            in_every_framework("CloudTrailCloudWatchLogsEnabled"),
            "The organization trail is owned by the management account, so its CloudWatch "
            "Logs group would live there; events go to the object-locked, KMS-encrypted "
            "archive of this account instead.",
        )

        self.observability_sink = metrics_sink(self, org_name, organization_id)
        self.audit_policy = self._audit_read_policy(org_name, auditor_role, encryption_key)
        self.chargeback_reports = chargeback_reports(
            self,
            encryption_key=encryption_key,
            access_log_bucket=access_log_bucket,
            removal_policy=removal_policy,
            writer_names=names.chargeback_role_name(org_name, "*"),
        )

    def _event_selectors(self) -> list[cloudtrail.CfnTrail.AdvancedEventSelectorProperty]:
        """Every management event, and the object reads and writes of every bucket of the
        organization (the LOB zones among them, PCI DSS 10.2.1) except this archive, whose own
        writes would only echo, and the reads of the CDK asset buckets; their writes are
        recorded, so that a swapped deployment asset leaves a data event."""
        selector = cloudtrail.CfnTrail.AdvancedEventSelectorProperty
        field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
        return [
            selector(
                name="Management events",
                field_selectors=[field(field="eventCategory", equal_to=["Management"])],
            ),
            selector(
                name="Object reads and writes of the organization's buckets",
                field_selectors=[
                    field(field="eventCategory", equal_to=["Data"]),
                    field(field="resources.type", equal_to=["AWS::S3::Object"]),
                    field(
                        field="resources.ARN",
                        not_starts_with=[
                            f"{self.log_archive.bucket_arn}/",
                            f"arn:{self.partition}:s3:::cdk-",
                        ],
                    ),
                ],
            ),
            selector(
                name="Writes of the CDK asset buckets",
                field_selectors=[
                    field(field="eventCategory", equal_to=["Data"]),
                    field(field="resources.type", equal_to=["AWS::S3::Object"]),
                    field(field="readOnly", equal_to=["false"]),
                    field(field="resources.ARN", starts_with=[f"arn:{self.partition}:s3:::cdk-"]),
                ],
            ),
        ]

    def _log_archive(
        self,
        encryption_key: kms.IKey,
        access_log_bucket: s3.IBucket,
        retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> s3.Bucket:
        # Imported by name so that the access-log bucket's own stack is left unchanged: its
        # policy already admits log delivery from every bucket of the account.
        access_log_target = s3.Bucket.from_bucket_name(
            self, "AccessLogTarget", access_log_bucket.bucket_name
        )
        return encrypted_bucket(
            self,
            "LogArchive",
            encryption_key=encryption_key,
            access_log_bucket=access_log_target,
            access_log_prefix="log-archive/",
            removal_policy=removal_policy,
            object_lock=s3.ObjectLockRetention.compliance(Duration.days(retention_days)),
            lifecycle_rule=s3.LifecycleRule(
                id="ArchiveAndAbortIncomplete",
                abort_incomplete_multipart_upload_after=Duration.days(7),
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                        transition_after=Duration.days(90),
                    )
                ],
            ),
            no_replication_reason="The audit archive stays in the organization's home region "
            "for data residency; compliance-mode object lock and versioning protect it against "
            "deletion instead.",
        )

    def _allow_trail_delivery(self, management_account: str, organization_id: str) -> None:
        """Bucket policy of an organization trail (management and member account prefixes)."""
        cloudtrail_service = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        from_trail = {"aws:SourceArn": self.trail_arn}
        self.log_archive.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailAclCheck",
                principals=[cloudtrail_service],
                actions=["s3:GetBucketAcl"],
                resources=[self.log_archive.bucket_arn],
                conditions={"StringEquals": from_trail},
            )
        )
        self.log_archive.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowOrganizationTrailDelivery",
                principals=[cloudtrail_service],
                actions=["s3:PutObject"],
                resources=[
                    self.log_archive.arn_for_objects(f"AWSLogs/{management_account}/*"),
                    self.log_archive.arn_for_objects(f"AWSLogs/{organization_id}/*"),
                ],
                conditions={
                    "StringEquals": {**from_trail, "s3:x-amz-acl": "bucket-owner-full-control"}
                },
            )
        )

    def _keep_the_record(self) -> None:
        """Only CloudTrail writes the archive and nobody deletes from it: no principal of the
        account forges a log file or hides one behind a delete marker (object lock keeps the
        versions, not their visibility)."""
        self.log_archive.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyWritesExceptByCloudTrail",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.log_archive.arn_for_objects("*")],
                conditions={
                    "StringNotEquals": {"aws:PrincipalServiceName": "cloudtrail.amazonaws.com"}
                },
            )
        )
        self.log_archive.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyDeletes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[self.log_archive.arn_for_objects("*")],
            )
        )

    def _trail_key_statements(self, management_account: str) -> list[iam.PolicyStatement]:
        """Key policy statements CloudTrail needs to encrypt the organization trail's logs."""
        cloudtrail_service = iam.ServicePrincipal("cloudtrail.amazonaws.com")
        from_trail = {"aws:SourceArn": self.trail_arn}
        return [
            iam.PolicyStatement(
                sid="AllowOrganizationTrailEncryption",
                principals=[cloudtrail_service],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": from_trail,
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{self.partition}:cloudtrail:*:{management_account}:trail/*"
                        )
                    },
                },
            ),
            iam.PolicyStatement(
                sid="AllowOrganizationTrailDescribeKey",
                principals=[cloudtrail_service],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": from_trail},
            ),
        ]

    def _audit_read_policy(
        self, org_name: str, auditor_role: str, encryption_key: kms.IKey
    ) -> iam.ManagedPolicy:
        """Read of configuration and the audit trail for the auditor; no LOB object reads."""
        archive_objects = self.log_archive.arn_for_objects("*")
        object_reads = ["s3:GetObject", "s3:GetObjectVersion"]
        policy = iam.ManagedPolicy(
            self,
            "CentralAuditRead",
            managed_policy_name=f"{org_name}-central-audit-read",
            description="Auditor: configuration, organization and audit-trail reads only",
            roles=[iam.Role.from_role_name(self, "Auditor", auditor_role)],
            statements=[
                iam.PolicyStatement(
                    sid="ReadTrailsAndEventHistory",
                    actions=[
                        "cloudtrail:DescribeTrails",
                        "cloudtrail:GetEventSelectors",
                        "cloudtrail:GetTrail",
                        "cloudtrail:GetTrailStatus",
                        "cloudtrail:ListTrails",
                        "cloudtrail:LookupEvents",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="ReadConfigurationHistory",
                    actions=["config:Describe*", "config:Get*", "config:List*"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="ReadOrganizationStructure",
                    actions=["organizations:Describe*", "organizations:List*"],
                    resources=["*"],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="AssumeTheAuditorOfEachAccount",
                            actions=["sts:AssumeRole"],
                            resources=[
                                f"arn:{self.partition}:iam::*:role/{name}"
                                for name in self._audited_roles
                            ],
                        )
                    ]
                    if self._audited_roles
                    else []
                ),
                iam.PolicyStatement(
                    sid="ListLogArchive",
                    actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"],
                    resources=[self.log_archive.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadLogArchiveObjects", actions=object_reads, resources=[archive_objects]
                ),
                iam.PolicyStatement(
                    sid="DecryptLogArchiveThroughS3",
                    actions=["kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
                    },
                ),
                iam.PolicyStatement(
                    sid="DenyObjectReadsOutsideLogArchive",
                    effect=iam.Effect.DENY,
                    actions=object_reads,
                    not_resources=[archive_objects],
                ),
            ],
        )
        reason = (
            "Read-only audit actions that do not support resource-level permissions or must "
            "cover every trail, rule and account; the policy grants no data-plane reads."
        )
        for action in ("config:Describe*", "config:Get*", "config:List*"):
            acknowledge(policy, f"AwsSolutions-IAM5[Action::{action}]", reason)
        for action in ("organizations:Describe*", "organizations:List*"):
            acknowledge(policy, f"AwsSolutions-IAM5[Action::{action}]", reason)
        acknowledge(policy, "AwsSolutions-IAM5[Resource::*]", reason)
        for name in self._audited_roles:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::arn:aws:iam::*:role/{name}]",
                "The central auditor reaches each account through its auditor role, one fixed "
                "name in every account; each of those roles trusts this exact role ARN only.",
            )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_reference(self, archive_objects)}]",
            "The auditor reads every object of the audit-trail archive and no other bucket; "
            "an explicit deny covers object reads everywhere else.",
        )
        return policy


class LobOversightStack(Stack):
    """Each LOB's metrics-only dashboard and monthly token chargeback, for a group of LOBs.

    Kept apart from the governance stack and sharded (``LOBS_PER_OVERSIGHT_STACK``) so that no
    template grows with the number of LOBs. The dashboards and the chargeback read the LOB
    accounts' metrics through the observability sink (each account's link, see
    ``MetricsLink``).

    :param org_name: name prefix of the dashboards, e.g. ``example-corp``.
    :param lobs: the LOBs watched: metrics region, and each environment's account, metric
        namespace and use cases, with their models' token prices.
    :param encryption_key: the governance account's logs key (the function's logs, and the
        reports bucket's, which the governance stack exports).
    :param account_prefix: the governance account's name prefix (its roles' boundary).
    :param group: default ``1``; the group's number (its chargeback role's name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        lobs: Sequence[LobOversightInputs],
        encryption_key: kms.IKey,
        account_prefix: str,
        group: str = "1",
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        use_account_boundary(self, account_prefix)
        self.dashboards = {lob.name: self._dashboard(org_name, lob) for lob in lobs}
        self.chargeback = monthly_chargeback(
            self,
            lobs=lobs,
            encryption_key=encryption_key,
            role_name=names.chargeback_role_name(org_name, group),
        )

    def _dashboard(self, org_name: str, lob: LobOversightInputs) -> cloudwatch.Dashboard:
        """Bedrock and guardrail metrics of the LOB's accounts, one line per environment."""
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=title,
                width=8,
                height=6,
                left=[
                    cloudwatch.Metric(
                        namespace=namespace or env.metric_namespace,
                        metric_name=metric,
                        statistic=statistic,
                        period=Duration.minutes(5),
                        account=env.account,
                        region=lob.region,
                        label=env.environment.value,
                    )
                    for env in lob.environments
                ],
            )
            for title, namespace, metric, statistic in LOB_METRICS
        ]
        return cloudwatch.Dashboard(
            self,
            f"{pascal(lob.name)}Dashboard",
            dashboard_name=f"{org_name}-{lob.name}-genai",
            widgets=[widgets[:3], widgets[3:]],
        )


class MetricsSinkStack(Stack):
    """The observability sink of one more region: LOB accounts there link their metrics to
    it (the home region's sink is the governance stack's).

    :param org_name: name prefix of the sink.
    :param organization_id: ``o-...``; whose accounts may link metrics to the sink.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        organization_id: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.sink = metrics_sink(self, org_name, organization_id)


def metrics_sink(scope: Construct, org_name: str, organization_id: str) -> oam.CfnSink:
    """A sink that accepts metric links from the organization's accounts, with its ARN as an
    output (``platform.metrics_sinks`` of the organization file takes it)."""
    sink = oam.CfnSink(
        scope,
        "ObservabilitySink",
        name=f"{org_name}-lob-metrics",
        policy=_metrics_only_sink_policy(organization_id),
    )
    CfnOutput(
        scope,
        "MetricsSinkArn",
        value=sink.attr_arn,
        description="platform.metrics_sinks.<region> of the organization file: LOB accounts "
        "of this region link their metrics here",
    )
    return sink


def _metrics_only_sink_policy(organization_id: str) -> dict[str, Any]:
    """Accounts of the organization may link their metrics (and nothing else) to the sink."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowOrganizationMetricLinks",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["oam:CreateLink", "oam:UpdateLink"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": organization_id},
                    "ForAllValues:StringEquals": {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]},
                },
            }
        ],
    }
