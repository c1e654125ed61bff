"""The permissions boundary: the services it allows and the escalations it denies
(``boundary_document``)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from genai_constructs.naming import (
    DELIVERY_TAG,
    GOVERNANCE_CHANGES,
    GOVERNANCE_CONFIGURATOR_TAG,
    GOVERNANCE_FUNCTION_ACTIONS,
    NOTIFIER_TAG,
    OBSERVED_METRICS_SUFFIX,
)

# The services any platform role may use at all; a role's own policies narrow it further.
BOUNDARY_SERVICES = (
    "aoss",
    "athena",
    "bedrock",
    "bedrock-agentcore",
    "cloudformation",
    "cloudwatch",
    "ec2",
    "ecr",
    "events",
    "glue",
    "kms",
    "lakeformation",
    "lambda",
    "logs",
    "s3",
    "s3vectors",
    "sagemaker",
    "sagemaker-mlflow",
    "secretsmanager",
    "servicecatalog",
    "sqs",
    "ssm",
    "states",
    "sts",
    "tag",
)

# Read verbs by wildcard (the boundary must stay under IAM's 6,144 characters): the trails,
# their status and selectors, and the event history.
TRAIL_READS = (
    "cloudtrail:LookupEvents",
    "cloudtrail:Describe*",
    "cloudtrail:Get*",
    "cloudtrail:List*",
)

# Changing a stack makes CloudFormation act with the stack's service role (the bootstrap's
# execution role, outside the boundary), and an extension (a hook, a resource type) runs in
# every deployment: only the delivery pipeline changes them. (Verbs by wildcard: the boundary
# must stay under IAM's 6,144 characters.)
STACK_CHANGES = (
    "cloudformation:ActivateType",
    "cloudformation:CancelUpdateStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:Create*",
    "cloudformation:Delete*",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:ImportStacksToStackSet",
    "cloudformation:PublishType",
    "cloudformation:RegisterType",
    "cloudformation:RollbackStack",
    "cloudformation:SetStackPolicy",
    "cloudformation:SetType*",
    "cloudformation:Update*",
)


# What would open a path out of the private VPC or loosen its endpoints' data perimeter; only
# CloudFormation (whose execution role carries no boundary) changes the network.
NETWORK_PATH_CHANGES = (
    "ec2:AcceptVpcPeeringConnection",
    "ec2:AttachInternetGateway",
    "ec2:AttachVpnGateway",
    "ec2:CreateEgressOnlyInternetGateway",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateTransitGatewayVpcAttachment",
    "ec2:CreateVpcEndpoint",
    "ec2:CreateVpcPeeringConnection",
    "ec2:CreateVpnGateway",
    "ec2:ModifyVpcEndpoint",
)


def boundary_document(
    boundary_name: str,
    unguarded_model_arns: Sequence[str] = (),
    extra_services: Sequence[str] = (),
    deployment_role_pattern: str | None = None,
    deployment_bucket_pattern: str | None = None,
    release_approver: str | None = None,
    trail_readers: Sequence[str] = (),
) -> iam.PolicyDocument:
    """The permissions boundary: allowed services, and the escalations it denies."""
    boundary_arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:policy/{boundary_name}"
    own_guardrails = f"arn:{Aws.PARTITION}:bedrock:*:{Aws.ACCOUNT_ID}:guardrail/*"
    not_delivery = {"StringNotEquals": {f"aws:PrincipalTag/{DELIVERY_TAG[0]}": DELIVERY_TAG[1]}}
    deployment_roles = (
        [
            iam.PolicyStatement(
                sid="DenyDeploymentRolesExceptToDelivery",
                effect=iam.Effect.DENY,
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[pattern],
                conditions=not_delivery,
            )
            for pattern in [deployment_role_pattern]
            if pattern
        ]
        + [
            iam.PolicyStatement(
                sid="DenyDeploymentAssetChangesExceptByDelivery",
                effect=iam.Effect.DENY,
                actions=["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[f"{pattern}/*"],
                conditions=not_delivery,
            )
            for pattern in [deployment_bucket_pattern]
            if pattern
        ]
        + [
            iam.PolicyStatement(
                sid="DenyReleaseApprovalsExceptByTheApprover",
                effect=iam.Effect.DENY,
                actions=["codepipeline:PutApprovalResult"],
                resources=["*"],
                conditions={
                    "ArnNotEquals": {
                        "aws:PrincipalArn": f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{name}"
                    }
                },
            )
            for name in [release_approver]
            if name
        ]
    )
    return iam.PolicyDocument(
        statements=[
            *deployment_roles,
            iam.PolicyStatement(
                sid="AllowPlatformServices",
                actions=[f"{service}:*" for service in (*BOUNDARY_SERVICES, *extra_services)],
                resources=["*"],
            ),
            # Notifications only: the roles EventBridge rules announce through (approvals,
            # monitor findings) publish, to the topic their own policy names; nobody else
            # under the boundary publishes, and nobody creates, subscribes to or changes a
            # topic. (Any resource: the boundary must stay under IAM's 6,144 characters.)
            iam.PolicyStatement(
                sid="AllowNotifierPublish",
                actions=["sns:Publish"],
                resources=["*"],
                conditions={
                    "StringEquals": {f"aws:PrincipalTag/{NOTIFIER_TAG[0]}": NOTIFIER_TAG[1]}
                },
            ),
            # The trail's event history and settings, read only and by the auditors alone:
            # nobody under the boundary creates, changes or stops a trail.
            *(
                iam.PolicyStatement(
                    sid="AllowTrailReadsToAuditors",
                    actions=list(TRAIL_READS),
                    resources=["*"],
                    conditions={
                        "ArnEquals": {
                            "aws:PrincipalArn": [
                                f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{name}"
                                for name in trail_readers
                            ]
                        }
                    },
                )
                for _ in [trail_readers]
                if trail_readers
            ),
            iam.PolicyStatement(
                sid="AllowIamReadAndPassRole",
                actions=["iam:Get*", "iam:List*", "iam:PassRole"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyRoleOrUserWithoutThisBoundary",
                effect=iam.Effect.DENY,
                actions=[
                    "iam:CreateRole",
                    "iam:CreateUser",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutUserPermissionsBoundary",
                ],
                resources=["*"],
                conditions={"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
            ),
            iam.PolicyStatement(
                sid="DenyBoundaryRemoval",
                effect=iam.Effect.DENY,
                actions=[
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:DeleteUserPermissionsBoundary",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyBoundaryChange",
                effect=iam.Effect.DENY,
                actions=[
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                ],
                resources=[boundary_arn],
            ),
            iam.PolicyStatement(
                sid="DenyAuditEvidenceDestruction",
                effect=iam.Effect.DENY,
                actions=[
                    "cloudtrail:DeleteTrail",
                    "cloudtrail:StopLogging",
                    "cloudtrail:UpdateTrail",
                    "ec2:DeleteFlowLogs",
                    "logs:DeleteLogGroup",
                    "logs:DeleteLogStream",
                    "logs:DeleteRetentionPolicy",
                    "logs:PutRetentionPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:PutBucketPublicAccessBlock",
                    "s3:PutAccountPublicAccessBlock",
                    "s3:BypassGovernanceRetention",
                    "s3:PutBucketVersioning",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutBucketObjectLockConfiguration",
                    "s3:PutBucketLogging",
                    "s3:PutReplicationConfiguration",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyModelInvocationWithoutGuardrail",
                effect=iam.Effect.DENY,
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                not_resources=list(unguarded_model_arns) or None,
                resources=None if unguarded_model_arns else ["*"],
                # Absent, or a guardrail of another account: only this account's guardrails,
                # which no role under the boundary can create or change, pass.
                conditions={"StringNotLike": {"bedrock:GuardrailIdentifier": own_guardrails}},
            ),
            iam.PolicyStatement(
                sid="DenyGovernanceFunctionUse",
                effect=iam.Effect.DENY,
                actions=list(GOVERNANCE_FUNCTION_ACTIONS),
                resources=["*"],
                conditions={
                    "StringEquals": {
                        f"aws:ResourceTag/{GOVERNANCE_CONFIGURATOR_TAG[0]}": (
                            GOVERNANCE_CONFIGURATOR_TAG[1]
                        )
                    }
                },
            ),
            iam.PolicyStatement(
                sid="DenyGuardrailAndLoggingChanges",
                effect=iam.Effect.DENY,
                actions=list(GOVERNANCE_CHANGES),
                resources=["*"],
                conditions={
                    "StringNotEquals": {
                        f"aws:PrincipalTag/{GOVERNANCE_CONFIGURATOR_TAG[0]}": (
                            GOVERNANCE_CONFIGURATOR_TAG[1]
                        )
                    }
                },
            ),
            iam.PolicyStatement(
                sid="DenyStackChangesExceptByDelivery",
                effect=iam.Effect.DENY,
                actions=list(STACK_CHANGES),
                resources=["*"],
                conditions=not_delivery,
            ),
            iam.PolicyStatement(
                sid="DenyNetworkPathChanges",
                effect=iam.Effect.DENY,
                actions=list(NETWORK_PATH_CHANGES),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyObservedMetricForgery",
                effect=iam.Effect.DENY,
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": f"*{OBSERVED_METRICS_SUFFIX}"}},
            ),
            iam.PolicyStatement(
                sid="DenyKeyDestruction",
                effect=iam.Effect.DENY,
                actions=["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyKeyGrantsExceptForAwsServices",
                effect=iam.Effect.DENY,
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}},
            ),
        ]
    )
