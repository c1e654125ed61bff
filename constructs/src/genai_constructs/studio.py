"""Interactive ML workspace: a VPC-only SageMaker Studio domain and its MLflow (a serverless
MLflow App by default, or a managed tracking server)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import CfnTag, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from genai_constructs.compliance import acknowledge_scoped_policy
from genai_constructs.grants import grant_statements
from genai_constructs.mlflow_kind import MlflowKind
from genai_constructs.naming import MLFLOW_ARTIFACTS_PREFIX, USER_TAG, pascal
from genai_constructs.principals import own_account_service
from genai_constructs.validation import check_range

# A tracking server's MLflow actions by verb (its API has dozens): no Delete*.
MLFLOW_WORK = (
    "sagemaker-mlflow:Create*",
    "sagemaker-mlflow:Get*",
    "sagemaker-mlflow:List*",
    "sagemaker-mlflow:Log*",
    "sagemaker-mlflow:Search*",
    "sagemaker-mlflow:Set*",
    "sagemaker-mlflow:Update*",
)
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class StudioWorkspace(Construct):
    """SageMaker Studio in VPC-only mode, encrypted, with idle shutdown, plus MLflow.

    Apps have no internet path (the VPC has none) and reach AWS through its endpoints; the
    domain's storage is encrypted with the key; JupyterLab spaces stop after ``idle_minutes``
    (Studio's built-in idle shutdown). MLflow keeps its artifacts under ``mlflow/`` of the
    artifacts zone.

    :param domain_name: the domain's name (SageMaker requires one).
    :param execution_role: default execution role of users and spaces (the data-scientist
        persona; it must trust ``sagemaker.amazonaws.com``).
    :param users: user profile names, default none.
    :param owners: default none; the person each profile belongs to (profile name to the
        identity source's user name), tagged ``USER_TAG`` on the profile: an execution role's
        policy may then open only the profile whose tag equals the session's.
    :param idle_minutes: default 60.
    :param artifacts_bucket: the artifacts zone, for MLflow.
    :param mlflow: default ``MlflowKind.SERVERLESS``, an MLflow App (no charge while idle);
        ``TRACKING_SERVER``, a managed tracking server (Small, about 470 USD a month whether used
        or not); ``NONE``.
    :param shared_spaces: default none; spaces every user of the domain may open (space name
        to its owner's profile, one of ``users``). People create private spaces only; a shared
        space is declared here, so that who shares what is in the template.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        vpc: ec2.IVpc,
        vpc_subnets: Sequence[ec2.ISubnet],
        encryption_key: kms.IKey,
        execution_role: iam.IRole,
        artifacts_bucket: s3.IBucket,
        users: Sequence[str] = (),
        owners: Mapping[str, str] | None = None,
        idle_minutes: int = 60,
        mlflow: MlflowKind = MlflowKind.SERVERLESS,
        shared_spaces: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_range("StudioWorkspace", "idle_minutes", idle_minutes, 60, 525600)
        try:
            mlflow = MlflowKind(mlflow)
        except ValueError:
            raise ValueError(
                f"StudioWorkspace: mlflow {mlflow!r} is not an MLflow kind; allowed: "
                + ", ".join(kind.value for kind in MlflowKind)
            ) from None
        shared = dict(shared_spaces or {})
        for name in [domain_name, *users, *shared]:
            if not Token.is_unresolved(name) and not _NAME.match(name):
                raise ValueError(f"StudioWorkspace: '{name}' is not a valid SageMaker name")
        unknown_owners = sorted({owner for owner in shared.values() if owner not in users})
        if unknown_owners:
            raise ValueError(
                f"StudioWorkspace: shared_spaces owners {unknown_owners} are not among users "
                f"{list(users)}"
            )

        self.security_group = ec2.SecurityGroup(
            self,
            "AppsSecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description="Studio apps: HTTPS to AWS endpoints and NFS/app traffic among themselves",
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints"
        )
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp_range(8192, 65535), "Studio apps among themselves"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.tcp_range(8192, 65535), "Studio apps among themselves"
        )
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(2049), "Home directories (EFS)"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.tcp(2049), "Home directories (EFS)"
        )
        idle = sm.CfnDomain.AppLifecycleManagementProperty(
            idle_settings=sm.CfnDomain.IdleSettingsProperty(
                lifecycle_management="ENABLED",
                idle_timeout_in_minutes=idle_minutes,
                min_idle_timeout_in_minutes=60,
                max_idle_timeout_in_minutes=max(idle_minutes, 60),
            )
        )
        self.domain = sm.CfnDomain(
            self,
            "Domain",
            domain_name=domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in vpc_subnets],
            kms_key_id=encryption_key.key_arn,
            default_user_settings=sm.CfnDomain.UserSettingsProperty(
                execution_role=execution_role.role_arn,
                security_groups=[self.security_group.security_group_id],
                jupyter_lab_app_settings=sm.CfnDomain.JupyterLabAppSettingsProperty(
                    app_lifecycle_management=idle
                ),
            ),
            default_space_settings=sm.CfnDomain.DefaultSpaceSettingsProperty(
                execution_role=execution_role.role_arn,
                security_groups=[self.security_group.security_group_id],
            ),
        )
        self.users = [
            sm.CfnUserProfile(
                self,
                f"User{''.join(part.capitalize() for part in user.split('-'))}",
                domain_id=self.domain.attr_domain_id,
                user_profile_name=user,
                tags=[CfnTag(key=USER_TAG, value=(owners or {}).get(user, user))],
            )
            for user in users
        ]

        profiles = dict(zip(users, self.users, strict=True))
        self.shared_spaces = {
            space: self._shared_space(space, owner, profiles[owner])
            for space, owner in shared.items()
        }

        self.mlflow_role: iam.Role | None = None
        self.mlflow: sm.CfnMlflowApp | sm.CfnMlflowTrackingServer | None = None
        if mlflow is not MlflowKind.NONE:
            self._mlflow(domain_name, artifacts_bucket, encryption_key, mlflow)

    def _shared_space(self, name: str, owner: str, profile: sm.CfnUserProfile) -> sm.CfnSpace:
        space = sm.CfnSpace(
            self,
            f"SharedSpace{pascal(name)}",
            domain_id=self.domain.attr_domain_id,
            space_name=name,
            ownership_settings=sm.CfnSpace.OwnershipSettingsProperty(owner_user_profile_name=owner),
            space_sharing_settings=sm.CfnSpace.SpaceSharingSettingsProperty(sharing_type="Shared"),
            space_settings=sm.CfnSpace.SpaceSettingsProperty(app_type="JupyterLab"),
        )
        space.add_dependency(profile)
        return space

    def _mlflow(
        self, domain_name: str, artifacts_bucket: s3.IBucket, key: kms.IKey, kind: MlflowKind
    ) -> None:
        self.mlflow_role = iam.Role(
            self,
            "MlflowRole",
            description="MLflow: its artifact prefix and model registration",
            assumed_by=own_account_service(self, "sagemaker.amazonaws.com"),
        )
        artifacts_bucket.grant_read_write(self.mlflow_role, f"{MLFLOW_ARTIFACTS_PREFIX}*")
        key.grant_encrypt_decrypt(self.mlflow_role)
        artifacts = artifacts_bucket.s3_url_for_object(MLFLOW_ARTIFACTS_PREFIX.rstrip("/"))
        name = f"{domain_name}-mlflow"[:256]
        if kind is MlflowKind.SERVERLESS:
            self.mlflow = sm.CfnMlflowApp(
                self,
                "MlflowApp",
                name=name,
                artifact_store_uri=artifacts,
                role_arn=self.mlflow_role.role_arn,
                model_registration_mode="AutoModelRegistrationDisabled",
            )
        else:
            self.mlflow = sm.CfnMlflowTrackingServer(
                self,
                "Mlflow",
                tracking_server_name=name,
                artifact_store_uri=artifacts,
                role_arn=self.mlflow_role.role_arn,
                tracking_server_size="Small",
                automatic_model_registration=False,
            )
        self.mlflow.node.add_dependency(self.mlflow_role.node.find_child("DefaultPolicy"))
        acknowledge_scoped_policy(
            self.mlflow_role, "MLflow artifacts under mlflow/ of the artifacts zone"
        )

    def experiment_tracking_statements(self) -> list[iam.PolicyStatement]:
        """What a person needs to track experiments in this workspace's MLflow, on its ARN
        only (an MLflow App's permissions take no tag condition, so a shared account's
        tenancies are told apart by the ARN); none without MLflow. The artifacts themselves
        are the artifacts zone's to grant."""
        if isinstance(self.mlflow, sm.CfnMlflowApp):
            return [
                iam.PolicyStatement(
                    sid="TrackExperiments",
                    actions=[
                        "sagemaker:CreatePresignedMlflowAppUrl",
                        "sagemaker:CallMlflowAppApi",
                        "sagemaker:DescribeMlflowApp",
                    ],
                    resources=[self.mlflow.attr_arn],
                )
            ]
        if isinstance(self.mlflow, sm.CfnMlflowTrackingServer):
            return [
                iam.PolicyStatement(
                    sid="TrackExperiments",
                    actions=["sagemaker:CreatePresignedMlflowTrackingServerUrl", *MLFLOW_WORK],
                    resources=[self.mlflow.attr_tracking_server_arn],
                ),
                # The UI's action has no resource-level permissions.
                iam.PolicyStatement(
                    sid="OpenTheMlflowUi", actions=["sagemaker-mlflow:AccessUI"], resources=["*"]
                ),
            ]
        return []

    def grant_track_experiments(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` open this workspace's MLflow and log runs and models to it."""
        statements = self.experiment_tracking_statements()
        if not statements:
            raise ValueError("StudioWorkspace: grant_track_experiments needs MLflow")
        return grant_statements(grantee, statements)
