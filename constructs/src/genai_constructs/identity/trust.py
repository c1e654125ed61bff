"""Who may assume a role from another account: the people who sign in with given roles
(``sign_in_principal``) or one role by its ARN (``trusted_role_principal``), each the account
on condition of the principal's ARN."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam

from genai_constructs.validation import arn_account


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
