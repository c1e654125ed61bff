"""The monthly token chargeback of each LOB, in the governance account.

The reports bucket is the governance stack's; each oversight stack (a group of LOBs) runs one
chargeback function (``handlers/chargeback``) that an EventBridge rule per LOB starts on the
1st of each month with that LOB's environments, use cases and per-token prices (from the price
snapshot). The function reads the use cases' token metrics through the metrics-only sink and
writes ``<yyyy-mm>/<lob>.json`` and ``.csv``; the governance account's platform admin reads
them. It reads no log and cannot enter an LOB account.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, CfnResource, Duration, Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model.assets import AssetKind
from blueprint.model.inputs.governance import LobOversightInputs
from genai_constructs.compliance import nag_reference
from genai_constructs.function import PlatformFunction
from genai_constructs.naming import GOVERNANCE_CONFIGURATOR_TAG, pascal
from genai_constructs.principals import own_account_service
from genai_constructs.storage import encrypted_bucket
from genai_constructs.token_budget import token_metric_namespace
from stacks.assets import mark

# The export of the reports bucket's ARN (one governance account and region).
REPORTS_EXPORT = "genai-platform-chargeback-reports-arn"
# 06:00 UTC on the 1st: the month before is complete in the metrics.
MONTHLY = events.Schedule.cron(minute="0", hour="6", day="1", month="*", year="*")
OUTSIDE_VPC = (
    "Reads CloudWatch metrics (token counts, through the metrics-only sink) and writes its "
    "report to S3: the governance account's VPC runs nothing and has no CloudWatch endpoint, "
    "which this monthly call alone would need."
)


def chargeback_reports(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    access_log_bucket: s3.IBucket,
    removal_policy: RemovalPolicy,
    writer_names: str,
) -> s3.Bucket:
    """Where the monthly reports are kept (token counts and prices, no LOB data): written by
    the roles named ``writer_names`` (an IAM name pattern) alone, deleted by nobody."""
    bucket = encrypted_bucket(
        scope,
        "ChargebackReports",
        encryption_key=encryption_key,
        access_log_bucket=s3.Bucket.from_bucket_name(
            scope, "ChargebackAccessLogTarget", access_log_bucket.bucket_name
        ),
        access_log_prefix="chargeback/",
        removal_policy=removal_policy,
        object_lock=None,
        lifecycle_rule=s3.LifecycleRule(
            id="AbortIncomplete", abort_incomplete_multipart_upload_after=Duration.days(7)
        ),
        no_replication_reason="Monthly reports the chargeback function can write again for "
        "any month from the metrics (15 months of them); versioning keeps what it replaced.",
    )
    mark(bucket, AssetKind.ZONE, "chargeback")
    writers = f"arn:{Stack.of(scope).partition}:iam::{Stack.of(scope).account}:role/{writer_names}"
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyWritesButTheChargebacks",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects("*")],
            conditions={"ArnNotLike": {"aws:PrincipalArn": writers}},
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyReportDeletes",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
            resources=[bucket.arn_for_objects("*")],
        )
    )
    CfnOutput(
        scope,
        "ChargebackReportsArn",
        value=bucket.bucket_arn,
        export_name=REPORTS_EXPORT,
        description="The chargeback reports bucket (the oversight stacks import it)",
    )
    return bucket


def imported_reports(scope: Construct) -> s3.IBucket:
    """The reports bucket, imported by its export (so that the grants can name it)."""
    return s3.Bucket.from_bucket_arn(scope, "ChargebackReports", Fn.import_value(REPORTS_EXPORT))


def monthly_chargeback(
    scope: Construct,
    *,
    lobs: Sequence[LobOversightInputs],
    encryption_key: kms.IKey,
    role_name: str,
) -> PlatformFunction:
    """One function for the group of LOBs, one monthly rule per LOB with its plan. Its role has
    a fixed name (the reports bucket admits writes from it alone); the function carries the
    governance tag, so no role under the boundary may invoke or change it (its event says
    which LOB, month and prices a report holds): its rules alone start it."""
    reports = imported_reports(scope)
    role = iam.Role(
        scope,
        "ChargebackRole",
        role_name=role_name,
        description="The monthly token chargeback: token metrics in, reports out",
        assumed_by=own_account_service(scope, "lambda.amazonaws.com"),
    )
    function = PlatformFunction(
        scope,
        "Chargeback",
        description="Monthly token chargeback of a group of LOBs (metrics only)",
        handler="chargeback.index.handler",
        encryption_key=encryption_key,
        vpc=None,
        outside_vpc=OUTSIDE_VPC,
        log_retention=logs.RetentionDays.ONE_YEAR,
        timeout=Duration.minutes(5),
        environment={"REPORT_BUCKET": reports.bucket_name},
        reserved_concurrency=2,
        role=role,
    )
    cfn_function = function.function.node.default_child
    assert isinstance(cfn_function, CfnResource)
    Tags.of(cfn_function).add(*GOVERNANCE_CONFIGURATOR_TAG)
    mark(function.function, AssetKind.CHARGEBACK_FUNCTION, "monthly")
    reported = reports.arn_for_objects("*")
    for statement in (
        iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]),
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[reported]),
        iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[encryption_key.key_arn]),
    ):
        function.add_to_role_policy(statement)
    function.acknowledge_policy(
        "read metrics (GetMetricData has no resource-level permissions), write the reports",
        ["Resource::*", f"Resource::{nag_reference(scope, reported)}"],
    )
    mark(function.role, AssetKind.CHARGEBACK_ROLE, "monthly")
    for lob in lobs:
        events.Rule(
            scope,
            f"{pascal(lob.name)}Chargeback",
            description=f"Monthly token chargeback of {lob.name}",
            schedule=MONTHLY,
            targets=[
                targets.LambdaFunction(
                    function.function,
                    event=events.RuleTargetInput.from_object(_plan(lob)),
                    retry_attempts=2,
                )
            ],
        )
    return function


def _plan(lob: LobOversightInputs) -> dict[str, object]:
    return {
        "lob": lob.name,
        "environments": [
            {
                "environment": env.environment.value,
                "account": env.account,
                "region": lob.region,
                "use_cases": [
                    {
                        "name": name,
                        "model": model,
                        "namespace": token_metric_namespace(env.metric_namespace, name),
                    }
                    for name, model in env.use_cases
                ],
            }
            for env in lob.environments
        ],
        "prices": {model: dict(price) for model, price in lob.token_prices.items()},
        "price_source": lob.price_source,
    }
