"""Roles of the access world: a role and every policy that bears on it, and the CDK
bootstrap's roles, which no template of the assembly holds.

Each account and region the assembly deploys to holds the platform's bootstrap (``blueprint
bootstrap-template``): the deployment and file-publishing roles, which only roles tagged as
the delivery pipeline's may assume, and CloudFormation's execution role. The execution role
may use every service the assembly deploys, IAM among them, so it is modelled as an
administrator of its account that carries the delivery pipeline's tag (it may create a role
with any tag).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from blueprint.assembly.access.policies import (
    Condition,
    Origin,
    Principal,
    PrincipalRef,
    Statement,
)
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.reader import AssemblyStack
from blueprint.model import names
from genai_constructs.naming import DELIVERY_TAG

CLOUDFORMATION = "cloudformation.amazonaws.com"


@dataclass
class Role:
    """An IAM role of the assembly and every policy that bears on what it may do."""

    account: str
    region: str
    name: Symbol
    arn: Symbol
    where: str
    tags: dict[str, Symbol]
    trust: list[Statement]
    identity: list[Statement] = field(default_factory=list)
    boundary: list[Statement] | None = None
    boundary_arn: Symbol | None = None
    managed_policy_arns: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def principal(self) -> Principal:
        return Principal(self.account, self.arn, tags=tuple(sorted(self.tags.items())))


def bootstrap_roles(stacks: Iterable[AssemblyStack]) -> list[Role]:
    """The execution, deployment and file-publishing roles of every account and region."""
    targets = sorted({(stack.account, stack.region) for stack in stacks})
    accounts = sorted({account for account, _ in targets})
    roles = []
    for account, region in targets:
        roles += [
            execution_role(account, region),
            deployment_role(account, region, accounts),
            publishing_role(account, region, accounts),
        ]
    return roles


def execution_role(account: str, region: str) -> Role:
    trust = Statement(
        Origin("trust", "bootstrap template", "CloudFormation"),
        True,
        ("sts:AssumeRole",),
        False,
        None,
        False,
        (PrincipalRef("Service", text(CLOUDFORMATION)),),
        False,
        (),
    )
    return _role(
        account,
        region,
        "cfn-exec",
        [trust],
        [_allow(account, region, "ModelledAsAdministrator", ("*",), ("*",))],
        {DELIVERY_TAG[0]: DELIVERY_TAG[1]},
    )


def deployment_role(account: str, region: str, deliverers: list[str]) -> Role:
    execution = names.role_arn(account, names.cdk_role_name("cfn-exec", account, region))
    bucket = f"arn:aws:s3:::{names.asset_bucket_name(account, region)}"
    return _role(
        account,
        region,
        "deploy",
        [_delivery_only(tuple(deliverers))],
        [
            _allow(account, region, "CloudFormation", ("cloudformation:*",), ("*",)),
            _allow(account, region, "PassExecutionRole", ("iam:PassRole",), (execution,)),
            _allow(
                account,
                region,
                "ReadAssets",
                ("s3:GetObject*", "s3:List*"),
                (bucket, f"{bucket}/*"),
            ),
        ],
    )


def publishing_role(account: str, region: str, deliverers: list[str]) -> Role:
    bucket = f"arn:aws:s3:::{names.asset_bucket_name(account, region)}"
    return _role(
        account,
        region,
        "file-publishing",
        [_delivery_only(tuple(deliverers))],
        [
            _allow(
                account,
                region,
                "WriteAssets",
                ("s3:PutObject*", "s3:Get*", "s3:List*"),
                (f"{bucket}/*",),
            )
        ],
    )


def _role(
    account: str,
    region: str,
    purpose: str,
    trust: list[Statement],
    identity: list[Statement],
    tags: dict[str, str] | None = None,
) -> Role:
    name = names.cdk_role_name(purpose, account, region)
    return Role(
        account=account,
        region=region,
        name=text(name),
        arn=text(names.role_arn(account, name)),
        where=f"bootstrap {account}/{region}/{purpose}",
        tags={key: text(value) for key, value in (tags or {}).items()},
        trust=trust,
        identity=identity,
    )


@cache
def _delivery_only(accounts: tuple[str, ...]) -> Statement:
    """The bootstrap's trust: the accounts it trusts (modelled as every account of the
    assembly), on condition of the delivery pipeline's tag. One statement for every role
    that trusts the same accounts, so that its principals are indexed once."""
    return Statement(
        Origin("trust", "bootstrap template", "DeliveryPipelineOnly"),
        True,
        ("sts:AssumeRole", "sts:TagSession"),
        False,
        None,
        False,
        tuple(PrincipalRef("AWS", text(account)) for account in accounts),
        False,
        (
            Condition(
                "StringEquals", f"aws:PrincipalTag/{DELIVERY_TAG[0]}", (text(DELIVERY_TAG[1]),)
            ),
        ),
    )


def _allow(
    account: str, region: str, sid: str, actions: tuple[str, ...], resources: tuple[str, ...]
) -> Statement:
    return Statement(
        Origin("identity", f"bootstrap {account}/{region}", sid),
        True,
        actions,
        False,
        tuple(text(resource) for resource in resources),
        False,
        None,
        False,
        (),
    )
