"""Customer-managed KMS keys with rotation and a key policy kept inside one account."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from genai_constructs.validation import IAM_ROLE, arn_account, check_arns


class PlatformKey(Construct):
    """A symmetric KMS key with yearly rotation whose policy trusts only its own account.

    :param description: what the key protects; shown in the KMS console.
    :param removal_policy: default ``RETAIN``; ``DESTROY`` schedules deletion after 7 days.
    :param allow_cloudwatch_logs: default ``False``; when ``True`` the CloudWatch Logs service
        of this account and region may use the key for log groups of this account only.
    :param service_principals: default none; AWS services (e.g. ``bedrock.amazonaws.com``) that
        may encrypt and decrypt with the key when acting for this account (``aws:SourceAccount``).
    :param s3_reader_arns: default none; roles of other accounts that may decrypt through S3
        (the objects a bucket policy shares with them).
    :param allow_alarm_notifications: default ``False``; lets CloudWatch alarms publish to SNS
        topics encrypted with the key (CloudWatch sends no source account to KMS).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        allow_cloudwatch_logs: bool = False,
        service_principals: Sequence[str] = (),
        allow_alarm_notifications: bool = False,
        s3_reader_arns: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not description.strip():
            raise ValueError("PlatformKey: description must not be empty")
        check_arns("PlatformKey", "s3_reader_arns", s3_reader_arns, IAM_ROLE)

        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=None if removal_policy == RemovalPolicy.RETAIN else Duration.days(7),
        )
        if allow_cloudwatch_logs:
            stack = Stack.of(self)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchLogsOfThisAccount",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=[
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name="*",
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            )
                        }
                    },
                )
            )
        usage = ["kms:Decrypt", "kms:GenerateDataKey*"]
        if service_principals:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowAwsServicesActingForThisAccount",
                    principals=[iam.ServicePrincipal(service) for service in service_principals],
                    actions=usage,
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            )
        if s3_reader_arns:
            stack = Stack.of(self)
            accounts = sorted({arn_account(arn) for arn in s3_reader_arns})
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowNamedRolesToReadSharedObjects",
                    principals=[iam.AccountPrincipal(account) for account in accounts],
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        "ArnEquals": {"aws:PrincipalArn": list(s3_reader_arns)},
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                    },
                )
            )
        if allow_alarm_notifications:
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmsToEncryptedTopics",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=usage,
                    resources=["*"],
                )
            )
