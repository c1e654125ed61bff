"""The personas (``Persona``) and their roles under the permissions boundary
(``PersonaRoles``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_constructs.compliance import acknowledge, in_every_framework
from genai_constructs.identity.boundary import BOUNDARY_SERVICES, TRAIL_READS, boundary_document
from genai_constructs.identity.trust import sign_in_principal, trusted_role_principal
from genai_constructs.naming import (
    IAM_NAME,
    USER_TAG,
    boundary_policy_name,
    pascal,
    permission_set_name,
    persona_role_name,
    sign_in_role_patterns,
)
from genai_constructs.principals import own_account_service
from genai_constructs.validation import BEDROCK_MODEL, IAM_ROLE, check_arns


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
        wildcard_reads = [a for a in TRAIL_READS if a.endswith("*")] if trail_readers else []
        for action in wildcard_reads:
            acknowledge(
                self.boundary,
                f"AwsSolutions-IAM5[Action::{action}]",
                "A permissions boundary grants nothing by itself: the auditors may read the "
                "trail's settings and history (read verbs only), if their own policy grants it.",
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
