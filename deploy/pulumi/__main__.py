"""Pulumi program: deploy the cloud assembly that `cdk synth` wrote (see README.md)."""

from pathlib import Path

import pulumi

from blueprint.deploy.pulumi_program import (
    DEFAULT_PUBLISHING_ROLE_NAME,
    DEFAULT_ROLE_NAME,
    deploy_assembly,
)

config = pulumi.Config()
deploy_assembly(
    Path(__file__).resolve().parent / (config.get("assembly") or "../../cdk.out"),
    role_name=config.get("roleName") or DEFAULT_ROLE_NAME,
    publishing_role_name=config.get("publishingRoleName") or DEFAULT_PUBLISHING_ROLE_NAME,
)
