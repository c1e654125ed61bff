"""Before `cdk diff` or `cdk deploy`: credentials, and the bootstrap of every target account.

The CDK CLI's own messages for both say nothing about this platform's bootstrap (qualifier
``genai``, its own template) or about profiles; these do, before anything is called.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from blueprint.assembly.reader import Assembly
from blueprint.model import names

CREDENTIALS_HELP = (
    "set AWS_PROFILE to a profile of the target account (`aws configure sso`, then "
    "`aws sso login --profile NAME`), or export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
    "AWS_SESSION_TOKEN; the delivery pipeline deploys without them"
)


class PreflightError(RuntimeError):
    """Deploying now would fail: why, and what to do."""


@dataclass(frozen=True)
class Target:
    account: str
    region: str
    stacks: tuple[str, ...]


def targets(assembly: Assembly, patterns: Sequence[str]) -> list[Target]:
    """The accounts and regions of the stacks ``patterns`` select (CDK's glob patterns)."""
    chosen: dict[tuple[str, str], list[str]] = {}
    for stack in assembly.stacks:
        if any(fnmatch.fnmatchcase(stack.name, pattern) for pattern in patterns):
            chosen.setdefault((stack.account, stack.region), []).append(stack.name)
    if not chosen:
        raise PreflightError(
            f"no stack of the organization matches {', '.join(patterns)}; allowed: stack names "
            "or patterns such as 'claims-interactive-*' (`npx cdk list` lists them)"
        )
    return [Target(a, r, tuple(stacks)) for (a, r), stacks in sorted(chosen.items())]


def caller_account(session: Any) -> str:
    try:
        identity = session.client("sts").get_caller_identity()
    except (NoCredentialsError, ClientError, BotoCoreError) as error:
        raise PreflightError(f"no usable AWS credentials ({error}); {CREDENTIALS_HELP}") from None
    return str(identity["Account"])


# The CDK CLI refuses --trust without execution policies; the platform's template replaces them
# with its own policy of the assembly's services, so the one passed is never attached.
IGNORED_EXECUTION_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def check_bootstrap(session: Any, target: Target, tooling_account: str) -> str | None:
    """None when the target account and region hold the platform's bootstrap; else the fix."""
    ssm = session.client("ssm", region_name=target.region)
    try:
        ssm.get_parameter(Name=names.BOOTSTRAP_VERSION_PARAMETER)
    except ssm.exceptions.ParameterNotFound:
        return (
            f"aws://{target.account}/{target.region} has no bootstrap with qualifier "
            f"{names.BOOTSTRAP_QUALIFIER} (needed by {', '.join(target.stacks)}); run once, "
            f"with administrator access to it: npx cdk bootstrap aws://{target.account}/"
            f"{target.region} --template cdk.out/bootstrap-template.yaml --trust "
            f"{tooling_account} --trust-for-lookup {tooling_account} "
            f"--cloudformation-execution-policies {IGNORED_EXECUTION_POLICY}"
        )
    return None


def preflight(
    assembly: Assembly, tooling_account: str, patterns: Sequence[str], session: Any | None = None
) -> list[str]:
    """What is ready (one line per target); raises PreflightError with every problem."""
    session = session or boto3.Session()
    account = caller_account(session)
    lines, problems = [], []
    for target in targets(assembly, patterns):
        if target.account != account:
            lines.append(
                f"aws://{target.account}/{target.region}: not checked from account {account} "
                "(the CDK CLI assumes the bootstrap's deploy role there)"
            )
            continue
        problem = check_bootstrap(session, target, tooling_account)
        if problem:
            problems.append(problem)
        else:
            lines.append(f"aws://{target.account}/{target.region}: bootstrapped (qualifier genai)")
    if problems:
        raise PreflightError("\n".join(problems))
    return lines
