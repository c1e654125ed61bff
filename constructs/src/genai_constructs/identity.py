"""Persona roles under one permissions boundary.

The boundary is the ceiling for every role the platform creates in an account: it allows
the services a GenAI platform uses, and denies escalation (roles without the boundary,
tampering with it), the destruction of audit evidence and keys, bucket-policy changes, lifting
object lock and key grants that no AWS service asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_constructs.compliance import acknowledge, in_every_framework
from genai_constructs.naming import (
    DELIVERY_TAG,
    GOVERNANCE_CHANGES,
    GOVERNANCE_CONFIGURATOR_TAG,
    GOVERNANCE_FUNCTION_ACTIONS,
    IAM_NAME,
    USER_TAG,
    boundary_policy_name,
    pascal,
    permission_set_name,
    persona_role_name,
    sign_in_role_patterns,
)
from genai_constructs.principals import own_account_service
from genai_constructs.validation import BEDROCK_MODEL, IAM_ROLE, arn_account, check_arns

# The services any platform role may use at all; a role's own policies narrow it further.
BOUNDARY_SERVICES = (
    "aoss",
    "athena",
    "bedrock",
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
    "servicecatalog",
    "sqs",
    "ssm",
    "states",
    "sts",
    "tag",
)

TRAIL_READS = (
    "cloudtrail:LookupEvents",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrail",
    "cloudtrail:ListTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
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


@dataclass(frozen=True)
class Persona:
    """A human role of the platform.

    :param name: role name suffix, e.g. ``data-scientist``.
    :param description: what the persona does; becomes the role description.
    :param managed_policies: AWS managed policy names attached to the role.
    :param trusted_accounts: accounts whose principals may assume the role; default the
        role's own account only; empty: none (only ``trusted_role_arns`` and
        ``service_principals``).
    :param service_principals: default none; AWS services that may also assume the role,
        e.g. ``sagemaker.amazonaws.com`` for a Studio execution role.
    :param trusted_role_arns: default none; roles of other accounts that may assume it, each
        by its exact ARN (its account trusted on the condition ``aws:PrincipalArn``, so the
        role need not exist when this one is created).
    :param sign_in_roles: ARN patterns of the roles people of the trusted accounts sign in
        with (tested on ``aws:PrincipalArn``); default the IAM Identity Center role of the
        permission set ``permission_set_name(name)`` in each trusted account. No other
        principal of those accounts, another persona among them, may assume the role.
    """

    name: str
    description: str
    managed_policies: tuple[str, ...] = ()
    trusted_accounts: tuple[str, ...] | None = None
    service_principals: tuple[str, ...] = ()
    trusted_role_arns: tuple[str, ...] = ()
    sign_in_roles: tuple[str, ...] | None = None


class PersonaRoles(Construct):
    """A permissions boundary (customer managed policy) and one IAM role per persona.

    Role and boundary names are fixed (``{prefix}-{persona}``, ``{prefix}-permissions-boundary``)
    because identity federation, cross-account trust and every other stack of the account refer
    to them by name.

    :param prefix: name prefix, e.g. the organization name.
    :param personas: the personas to create, at least one.
    :param max_session: default one hour.
    :param extra_services: default none; services the boundary allows besides
        ``BOUNDARY_SERVICES`` in this account (e.g. CodeBuild for a delivery pipeline).
    :param unguarded_model_arns: default none; models that may be invoked without a guardrail
        (embedding models, which produce vectors, not text). Every other model invocation by a
        role under the boundary must name a guardrail.
    :param deployment_role_pattern: default none; ARN pattern of the deployment roles (the CDK
        bootstrap's). Only roles tagged as the delivery workload (``DELIVERY_TAG``) may assume
        them: no person and no workload deploys around the pipeline.
    :param deployment_bucket_pattern: default none; ARN pattern of the buckets that stage
        what CloudFormation deploys (templates, Lambda code). Only the delivery workload may
        write them: nobody swaps an asset between its upload and its deployment.
    :param release_approver: default none; the name of the one role of the account that may
        approve a pipeline's release (separation of duties: nobody who builds or deploys).
    :param trail_readers: default none; the names of the roles of the account that may read
        the trail's event history and settings (the auditors; it names people, their session
        tags and request parameters).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        personas: list[Persona],
        max_session: Duration | None = None,
        unguarded_model_arns: Sequence[str] = (),
        extra_services: Sequence[str] = (),
        deployment_role_pattern: str | None = None,
        deployment_bucket_pattern: str | None = None,
        release_approver: str | None = None,
        trail_readers: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        session = max_session or Duration.hours(1)
        if not personas:
            raise ValueError("PersonaRoles: personas must name at least one persona")
        names = [persona.name for persona in personas]
        if len(set(names)) != len(names):
            raise ValueError(f"PersonaRoles: persona names must be unique (got {names})")
        check_arns("PersonaRoles", "unguarded_model_arns", unguarded_model_arns, BEDROCK_MODEL)
        for persona in personas:
            check_arns(
                "PersonaRoles",
                f"the trusted_role_arns of persona '{persona.name}'",
                persona.trusted_role_arns,
                IAM_ROLE,
            )
        for name in [*(persona_role_name(prefix, n) for n in names), boundary_policy_name(prefix)]:
            if not Token.is_unresolved(name) and not IAM_NAME.match(name):
                raise ValueError(
                    f"PersonaRoles: '{name}' is not a valid IAM name "
                    "(1-64 characters of letters, digits and +=,.@_-)"
                )

        self.boundary_name = boundary_policy_name(prefix)
        self.boundary = iam.ManagedPolicy(
            self,
            "PermissionsBoundary",
            managed_policy_name=self.boundary_name,
            description="Ceiling for every role created by the GenAI platform in this account",
            document=boundary_document(
                self.boundary_name,
                unguarded_model_arns,
                extra_services,
                deployment_role_pattern,
                deployment_bucket_pattern,
                release_approver,
                trail_readers,
            ),
        )
        acknowledge(
            self.boundary,
            [
                *in_every_framework("IAMPolicyNoStatementsWithFullAccess"),
                # checkov reads a boundary as a grant: credentials exposure, exfiltration,
                # permissions management, privilege escalation, unconstrained writes.
                *(f"CKV_AWS_{check}" for check in range(107, 112)),
            ],
            "A permissions boundary grants nothing by itself: it is the ceiling of the "
            "services platform roles may use; each role's own policy is scoped to resources.",
        )
        for service in (*BOUNDARY_SERVICES, *extra_services):
            acknowledge(
                self.boundary,
                f"AwsSolutions-IAM5[Action::{service}:*]",
                "A permissions boundary grants nothing by itself: it lists the services platform "
                "roles may use; each role's own policy is scoped to resources.",
            )
        for action in ("iam:Get*", "iam:List*"):
            acknowledge(
                self.boundary,
                f"AwsSolutions-IAM5[Action::{action}]",
                "A permissions boundary grants nothing by itself: platform roles may read IAM "
                "metadata, and their own policies decide which of it they actually read.",
            )
        acknowledge(
            self.boundary,
            "GenAIPlatform-ModelGuardrail",
            "A permissions boundary grants nothing by itself: its bedrock:* is the ceiling, and "
            "its DenyModelInvocationWithoutGuardrail statement denies every unguarded call.",
        )
        acknowledge(
            self.boundary,
            "AwsSolutions-IAM5[Resource::*]",
            "A permissions boundary grants nothing by itself; resource scoping belongs in the "
            "identity policies it caps, and its deny statements must cover every resource.",
        )

        self.roles: dict[str, iam.Role] = {}
        for persona in personas:
            principals: list[iam.IPrincipal] = [
                own_account_service(self, s) for s in persona.service_principals
            ]
            doors = [
                *(
                    sign_in_principal(account, _sign_in_roles(persona, account))
                    for account in _trusted_accounts(persona)
                ),
                *(trusted_role_principal(arn) for arn in persona.trusted_role_arns),
            ]
            if not principals and not doors:
                raise ValueError(
                    f"PersonaRoles: persona '{persona.name}' trusts nobody; allowed: "
                    "trusted_accounts (None for the role's own account), trusted_role_arns or "
                    "service_principals"
                )
            every_door = list(doors)
            if not principals:
                principals.append(doors.pop(0))
            role = iam.Role(
                self,
                pascal(persona.name),
                role_name=persona_role_name(prefix, persona.name),
                description=persona.description,
                assumed_by=(
                    principals[0] if len(principals) == 1 else iam.CompositePrincipal(*principals)
                ),
                max_session_duration=session,
                permissions_boundary=self.boundary,
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(policy)
                    for policy in persona.managed_policies
                ],
            )
            for principal in doors:
                role.assume_role_policy.add_statements(
                    iam.PolicyStatement(
                        actions=["sts:AssumeRole"],
                        principals=[principal],
                        conditions=principal.policy_fragment.conditions,
                    )
                )
            for principal in every_door:
                role.assume_role_policy.add_statements(_user_tag_carried(principal))
            for policy in persona.managed_policies:
                acknowledge(
                    role,
                    f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                    f"{policy} is an AWS-maintained job-function policy kept current by AWS; the "
                    "permissions boundary caps it and it grants no data-plane reads of LOB data.",
                )
            self.roles[persona.name] = role


def _user_tag_carried(door: iam.PrincipalWithConditions) -> iam.PolicyStatement:
    """Whoever comes through ``door`` may tag the session with one tag, ``USER_TAG``, and only
    with its own value: who signed in follows the person into the role, and nobody can claim
    to be someone else (a session without it opens nothing that is a person's own)."""
    return iam.PolicyStatement(
        sid=None,
        actions=["sts:TagSession"],
        principals=[door],
        conditions={
            **door.policy_fragment.conditions,
            "StringEquals": {
                **door.policy_fragment.conditions.get("StringEquals", {}),
                f"aws:RequestTag/{USER_TAG}": f"${{aws:PrincipalTag/{USER_TAG}}}",
            },
            "ForAllValues:StringEquals": {"aws:TagKeys": [USER_TAG]},
        },
    )


def _trusted_accounts(persona: Persona) -> tuple[str, ...]:
    """The accounts whose principals may assume a persona: those given, by default its own."""
    if persona.trusted_accounts is None:
        return (Aws.ACCOUNT_ID,)
    return tuple(persona.trusted_accounts)


def _sign_in_roles(persona: Persona, account: str) -> list[str]:
    """The roles people of ``account`` sign in with to become ``persona``."""
    if persona.sign_in_roles is not None:
        return list(persona.sign_in_roles)
    return sign_in_role_patterns(Aws.PARTITION, account, permission_set_name(persona.name))


def sign_in_principal(account: str, sign_in_roles: Sequence[str]) -> iam.PrincipalWithConditions:
    """The people of ``account`` who sign in with one of ``sign_in_roles`` (ARN patterns): the
    account, on condition of the role (never every principal of the account)."""
    return iam.AccountPrincipal(account).with_conditions(
        {"ArnLike": {"aws:PrincipalArn": list(sign_in_roles)}}
    )


def trusted_role_principal(arn: str) -> iam.PrincipalWithConditions:
    """One role of another account, by its ARN: the account, on condition of the role (a
    principal naming the role would need it to exist before the trust is written)."""
    return iam.AccountPrincipal(arn_account(arn)).with_conditions(
        {"ArnEquals": {"aws:PrincipalArn": arn}}
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
                sid="AllowIamReadAndPassRoleToPlatformServices",
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
