"""Deploy a synthesized cloud assembly with Pulumi: the stacks `cdk deploy` would create.

As ``cdk deploy`` does, each account's file publishing role uploads a stack's file assets
to the CDK bootstrap bucket, then its deploy role creates the stack as an
``aws.cloudformation.Stack``, after the stacks it depends on. The program entry point is
``deploy/pulumi/__main__.py``.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from blueprint.assembly.reader import (
    CAPABILITIES,
    TEMPLATE_BODY_LIMIT,
    AssemblyError,
    AssemblyStack,
    FileAsset,
    read_assembly,
)
from blueprint.model import names

DEFAULT_ROLE_NAME = names.cdk_role_name("deploy", "{account}", "{region}")
"""The CDK bootstrap deploy role; ``{account}`` and ``{region}`` are filled in per provider."""

DEFAULT_PUBLISHING_ROLE_NAME = names.cdk_role_name("file-publishing", "{account}", "{region}")
"""The CDK bootstrap role that may write the assets bucket (the deploy role may only read it)."""


def deploy_assembly(
    directory: Path,
    *,
    role_name: str = DEFAULT_ROLE_NAME,
    publishing_role_name: str = DEFAULT_PUBLISHING_ROLE_NAME,
) -> dict[str, aws.cloudformation.Stack]:
    """Declare every stack of the cloud assembly in ``directory``; returns them by stack name.

    Stacks are deployed through provider ``aws-<account>-<region>``, which assumes
    ``role_name`` (default: the CDK bootstrap deploy role); assets are uploaded through
    ``aws-<account>-<region>-publishing``, which assumes ``publishing_role_name`` (default:
    the CDK bootstrap file publishing role). With both names equal, one provider does both.
    Each stack's outputs are exported under the stack's name.

    ``aws.cloudformation.Stack`` has no termination protection setting, so a stack with
    termination protection is declared with ``protect=True`` instead: Pulumi then refuses to
    delete it until it is unprotected.
    """
    providers: dict[tuple[str, str, str], aws.Provider] = {}
    objects: dict[tuple[str, str], aws.s3.BucketObjectv2] = {}
    stacks: dict[str, aws.cloudformation.Stack] = {}

    def provider(stack: AssemblyStack, role: str) -> aws.Provider:
        key = (stack.account, stack.region, role)
        if key not in providers:
            name = f"aws-{stack.account}-{stack.region}"
            if role != role_name:
                name += "-publishing"
            providers[key] = _provider(name, stack.account, stack.region, role)
        return providers[key]

    def publish(asset: FileAsset, stack: AssemblyStack) -> aws.s3.BucketObjectv2:
        # Stacks of one account may share an asset (same hash, same key): upload it once.
        destination = (asset.bucket, asset.key)
        if destination not in objects:
            objects[destination] = aws.s3.BucketObjectv2(
                f"{asset.bucket}/{asset.key}",
                bucket=asset.bucket,
                key=asset.key,
                source=_source(asset),
                region=asset.region or None,
                opts=pulumi.ResourceOptions(provider=provider(stack, publishing_role_name)),
            )
        return objects[destination]

    for stack in read_assembly(directory).stacks:
        uploads = [publish(asset, stack) for asset in stack.code_assets]
        template_asset = _template_to_upload(stack)
        template_url = None
        if template_asset is not None:
            uploads.append(publish(template_asset, stack))
            template_url = _object_url(template_asset, stack.region)
        stacks[stack.name] = aws.cloudformation.Stack(
            stack.name,
            name=stack.name,
            template_body=None if template_url else stack.template_body,
            template_url=template_url,
            capabilities=CAPABILITIES,
            iam_role_arn=stack.execution_role_arn,
            opts=pulumi.ResourceOptions(
                provider=provider(stack, role_name),
                depends_on=[*(stacks[name] for name in stack.depends_on), *uploads],
                protect=stack.termination_protection,
            ),
        )
        pulumi.export(stack.name, stacks[stack.name].outputs)
    return stacks


def _role_arn(role_name: str, account: str, region: str) -> str:
    name = role_name.format(account=account, region=region)
    return f"arn:aws:iam::{account}:role/{name}"


def _provider(name: str, account: str, region: str, role_name: str) -> aws.Provider:
    return aws.Provider(
        name,
        region=region,
        allowed_account_ids=[account],
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=_role_arn(role_name, account, region))],
    )


def _source(asset: FileAsset) -> pulumi.Asset | pulumi.Archive:
    if asset.packaging == "zip" and asset.source.is_dir():
        return pulumi.FileArchive(str(asset.source))
    return pulumi.FileAsset(str(asset.source))


def _template_to_upload(stack: AssemblyStack) -> FileAsset | None:
    """The S3 destination of a template too large to pass inline; None for a small one."""
    if not stack.needs_template_url:
        return None
    if stack.template_asset is None:
        raise AssemblyError(f"{stack.name}: template over {TEMPLATE_BODY_LIMIT} bytes, no S3 asset")
    return stack.template_asset


def _object_url(asset: FileAsset, stack_region: str) -> str:
    region = asset.region or stack_region
    return f"https://{asset.bucket}.s3.{region}.amazonaws.com/{asset.key}"
