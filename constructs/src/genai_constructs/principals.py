"""AWS service principals that act only for their own account (no confused deputy).

A role or key that trusts a service as such can be used by that service on behalf of any
customer; the ``aws:SourceAccount`` condition (and ``aws:SourceArn`` where the service sends
it) holds the service to requests made for this account.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


def own_account_service(
    scope: Construct, service: str, source_arn: str | None = None
) -> iam.PrincipalWithConditions:
    """``service`` acting for the account of ``scope``'s stack (and, with ``source_arn``, for
    the resources that ARN pattern matches)."""
    conditions: dict[str, dict[str, str]] = {
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account}
    }
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    return iam.ServicePrincipal(service).with_conditions(conditions)
