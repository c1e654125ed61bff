"""Where the constructs' ``grant_*`` methods write: a customer managed policy on the role.

CDK's ``Grant.add_to_principal`` writes a role's inline default policy, which the NIST, HIPAA
and PCI packs refuse (``IAMNoInlinePolicy``). Every grant of this package instead goes to one
managed policy per role, attached to that role only, so an LOB team's app stays clean. A role
imported by name or ARN cannot take a new attachment from this app: it keeps CDK's inline
policy in the importing stack, which is the team's to acknowledge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import aws_iam as iam
from constructs import DependencyGroup

from genai_constructs.tree import node_of

GRANTS_POLICY_ID = "GenAiConstructsGrants"


@jsii.implements(iam.IPrincipal)
class _GrantsPolicy:
    """The role as a grant sees it, with its statements added to the role's managed policy."""

    def __init__(self, role: iam.Role, policy: iam.ManagedPolicy) -> None:
        self._role = role
        self._policy = policy

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def assume_role_action(self) -> str:
        return str(self._role.assume_role_action)

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        account = self._role.principal_account
        return None if account is None else str(account)

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self._policy.add_statements(statement)
        # The role's ManagedPolicyArns attaches the policy: what depends on a grant waits
        # for both.
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=DependencyGroup(self._policy, self._role)
        )

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return bool(self.add_to_principal_policy(statement).statement_added)


def grants_policy(role: iam.Role) -> iam.ManagedPolicy:
    """The role's managed policy of grants from this package, made on first use."""
    existing = node_of(role).try_find_child(GRANTS_POLICY_ID)
    if isinstance(existing, iam.ManagedPolicy):
        return existing
    policy = iam.ManagedPolicy(
        role,
        GRANTS_POLICY_ID,
        description="Grants from genai_constructs, attached to this one role",
    )
    role.add_managed_policy(policy)
    return policy


def grant(
    grantee: iam.IGrantable,
    *,
    actions: Sequence[str],
    resource_arns: Sequence[str],
    conditions: Mapping[str, object] | None = None,
) -> iam.Grant:
    """``iam.Grant.add_to_principal``, written to the role's managed policy when ``grantee``
    is a role of this app."""
    principal = grantee.grant_principal
    target: iam.IGrantable = (
        _GrantsPolicy(principal, grants_policy(principal))
        if isinstance(principal, iam.Role)
        else grantee
    )
    return iam.Grant.add_to_principal(
        grantee=target,
        actions=list(actions),
        resource_arns=list(resource_arns),
        conditions=dict(conditions) if conditions is not None else None,
    )


def grant_statements(
    grantee: iam.IGrantable, statements: Sequence[iam.PolicyStatement]
) -> iam.Grant:
    """Each of ``statements`` granted to ``grantee`` (``grant``), as one grant."""
    grants = [
        grant(
            grantee=grantee,
            actions=statement.actions,
            resource_arns=statement.resources,
            conditions=statement.conditions or None,
        )
        for statement in statements
    ]
    combined = grants[0]
    for each in grants[1:]:
        combined = combined.combine(each)
    return combined
