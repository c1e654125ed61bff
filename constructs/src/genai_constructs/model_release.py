"""Releases approved fine-tuned models to the endpoints that serve them (see
``handlers/model_release`` for the steps)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from genai_constructs.compliance import acknowledge_scoped_policy
from genai_constructs.function import PlatformFunction
from genai_constructs.naming import (
    merged_models_prefix,
    model_releases_prefix,
    release_models_prefix,
    served_model_prefix,
)
from genai_constructs.principals import own_account_service
from genai_constructs.serving import GpuEndpoint

STATE_CHANGE = "SageMaker Model Package State Change"


class ModelRelease(Construct):
    """A function that releases approved packages of fine-tuning pipelines to endpoints.

    In the registry's own account (nonprod) an approval releases the package to the
    endpoints at once. In another account (prod) ``second_approval`` applies: the approval in
    the registry account, forwarded to this account's ``bus_name`` event bus, stages the package
    here pending this account's approval, which then releases it. Rejecting the serving
    package releases the previous approved one (rollback); a release whose endpoint alarms
    fire during the blue/green update rolls back by itself.

    :param role_name: the function's role, named: the registry account's bucket, key and
        group policies name it.
    :param bus_name: the event bus the registry account forwards approvals to (created here
        when the registry is another account).
    :param registry_account: the account of the fine-tuning pipelines' registry.
    :param models: per pipeline (model package group), the endpoints that serve it.
    :param artifacts_bucket: this account's artifacts zone (releases are kept there).
    :param encryption_key: this account's data key (the zone, the logs, the queue).
    :param vpc: where the function runs. :param log_retention: of the function's logs.
    :param second_approval: default ``True`` when the registry is another account.
    :param workload_tag: principal tag that makes the role a writer of the artifacts zone.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        bus_name: str,
        registry_account: str,
        models: Mapping[str, Sequence[GpuEndpoint]],
        artifacts_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
        second_approval: bool | None = None,
        workload_tag: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not models or any(not endpoints for endpoints in models.values()):
            raise ValueError("ModelRelease: models must map each group to at least one endpoint")
        stack = Stack.of(self)
        own_account = stack.account
        remote = registry_account != own_account
        self.second_approval = remote if second_approval is None else second_approval
        self.registry_account = registry_account
        self.bus_name = bus_name
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Releases approved fine-tuned models to this account's endpoints",
            assumed_by=own_account_service(self, "lambda.amazonaws.com"),
        )
        if workload_tag:
            Tags.of(self.role).add(*workload_tag)
        self.function = PlatformFunction(
            self,
            "Release",
            description="Releases approved fine-tuned models to their endpoints",
            handler="model_release.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.minutes(15),
            role=self.role,
        )
        self.function.function.add_environment(
            "RELEASE_CONFIG",
            stack.to_json_string(
                {
                    "bucket": artifacts_bucket.bucket_name,
                    "registry_account": registry_account,
                    "second_approval": self.second_approval,
                    "models": {
                        group: {
                            "releases": model_releases_prefix(group),
                            "serving": served_model_prefix(group),
                            "endpoints": [
                                {
                                    "endpoint": endpoint.endpoint_name,
                                    "component": (
                                        endpoint.inference_component.inference_component_name
                                        if endpoint.inference_component
                                        else None
                                    ),
                                    "alarms": [alarm.alarm_name for alarm in endpoint.alarms],
                                }
                                for endpoint in endpoints
                            ],
                        }
                        for group, endpoints in models.items()
                    },
                }
            ),
        )

        groups = sorted(models)
        self.release_groups: dict[str, sm.CfnModelPackageGroup] = {}
        if self.second_approval:
            for group in groups:
                self.release_groups[group] = sm.CfnModelPackageGroup(
                    self,
                    f"Releases{len(self.release_groups)}",
                    model_package_group_name=group,
                    model_package_group_description=(
                        f"Releases of {group} from account {registry_account}, each pending "
                        "this account's approval"
                    ),
                )
        self._rules(groups, own_account, remote)
        self._grant(stack, models, artifacts_bucket, encryption_key, remote)
        acknowledge_scoped_policy(
            self.role, "releasing approved fine-tuned models to this account's endpoints"
        )

    def _rules(self, groups: list[str], own_account: str, remote: bool) -> None:
        target = targets.LambdaFunction(self.function.function, retry_attempts=2)
        if remote:
            region, partition = Stack.of(self).region, Stack.of(self).partition
            bus = events.CfnEventBus(
                self,
                "RegistryBus",
                name=self.bus_name,
                description=f"Approvals forwarded by the registry account {self.registry_account}",
                policy={
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "RegistryForwardsApprovals",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": f"arn:{partition}:iam::{self.registry_account}:root"
                            },
                            "Action": "events:PutEvents",
                            "Resource": f"arn:{partition}:events:{region}:{own_account}:"
                            f"event-bus/{self.bus_name}",
                            "Condition": {"StringEquals": {"events:source": "aws.sagemaker"}},
                        }
                    ],
                },
            )
            events.Rule(
                self,
                "RegistryApprovals",
                event_bus=events.EventBus.from_event_bus_arn(self, "Bus", bus.attr_arn),
                description="A package of the registry account was approved",
                event_pattern=events.EventPattern(
                    account=[self.registry_account],
                    source=["aws.sagemaker"],
                    detail_type=[STATE_CHANGE],
                    detail={"ModelPackageGroupName": groups, "ModelApprovalStatus": ["Approved"]},
                ),
                targets=[target],
            )
        events.Rule(
            self,
            "Decisions",
            description="A package was approved or rejected in this account",
            event_pattern=events.EventPattern(
                account=[own_account],
                source=["aws.sagemaker"],
                detail_type=[STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": groups,
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            ),
            targets=[target],
        )

    def _grant(
        self,
        stack: Stack,
        models: Mapping[str, Sequence[GpuEndpoint]],
        artifacts_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        remote: bool,
    ) -> None:
        role = self.role
        arn = f"arn:{stack.partition}:sagemaker:{stack.region}"
        own = f"{arn}:{stack.account}"
        registry = f"{arn}:{self.registry_account}"
        for group in models:
            artifacts_bucket.grant_read_write(role, f"{release_models_prefix(group)}*")
            if not remote:
                artifacts_bucket.grant_read(role, f"{merged_models_prefix(group)}*")
        encryption_key.grant_encrypt_decrypt(role)
        encryption_key.grant(role, "kms:CreateGrant", "kms:DescribeKey")
        if remote:
            self._grant_registry_reads(stack, list(models))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheRegistry",
                actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                resources=[
                    f"{prefix}:model-package/{group}/*"
                    for prefix in sorted({registry, own})
                    for group in models
                ],
            )
        )
        if self.second_approval:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="StageReleasesForApproval",
                    actions=["sagemaker:CreateModelPackage"],
                    resources=[f"{own}:model-package/{group}/*" for group in models],
                )
            )
        endpoints = [endpoint for group in models.values() for endpoint in group]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ServeReleases",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                ],
                resources=[f"{own}:model/*", f"{own}:endpoint-config/*"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UpdateItsEndpoints",
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeInferenceComponent",
                    "sagemaker:UpdateInferenceComponent",
                ],
                resources=[endpoint.endpoint.ref for endpoint in endpoints]
                + [
                    f"{own}:inference-component/{e.inference_component.inference_component_name}"
                    for e in endpoints
                    if e.inference_component
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassTheEndpointRoles",
                actions=["iam:PassRole"],
                resources=[endpoint.role.role_arn for endpoint in endpoints],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

    def _grant_registry_reads(self, stack: Stack, groups: list[str]) -> None:
        """The merged weights in the registry account's artifacts zone (whose bucket and key
        policies name this role for those prefixes only)."""
        registry = self.registry_account
        prefixes = [f"{merged_models_prefix(group)}*" for group in groups]
        in_registry = {"StringEquals": {"aws:ResourceAccount": registry}}
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadApprovedModels",
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::*/{prefix}" for prefix in prefixes],
                conditions=in_registry,
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListApprovedModels",
                actions=["s3:ListBucket"],
                resources=[f"arn:{stack.partition}:s3:::*"],
                conditions={**in_registry, "StringLike": {"s3:prefix": prefixes}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptApprovedModels",
                actions=["kms:Decrypt"],
                resources=[f"arn:{stack.partition}:kms:{stack.region}:{registry}:key/*"],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
