"""An LOB's environments: each one's account, region, zones and network."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from blueprint.model.fields import EnvironmentName, Model, one_of
from blueprint.model.sections.values import (
    UNIQUE_ITEMS,
    AccountId,
    AvailabilityZones,
    Cidr,
    Region,
    unique,
)
from genai_constructs.endpoint_types import endpoint_names

ENVIRONMENT_NAMES = ("interactive", "nonprod", "prod")


# Each environment of an LOB gets its own range unless the file names one: the environments'
# VPCs never overlap, so they can be connected later (shared endpoints, peering) without
# renumbering.
DEFAULT_VPC_CIDRS = {
    "interactive": "10.0.0.0/16",
    "nonprod": "10.1.0.0/16",
    "prod": "10.2.0.0/16",
}


def _endpoint(value: str) -> str:
    if value not in endpoint_names():
        raise ValueError(
            f"'{value}' is not an interface endpoint of the platform; allowed: "
            f"{', '.join(endpoint_names())}"
        )
    return value


class EnvironmentConfig(Model):
    """One environment's account and network."""

    account: AccountId
    """The environment's account, never shared with another LOB, environment or platform account."""
    region: Region
    """The environment's region, one of allowed_regions."""
    azs: AvailabilityZones
    """Availability zones of its VPC, 2-6 zones of its region."""
    vpc_cidr: Cidr | None = None
    """VPC range; default 10.0.0.0/16 interactive, 10.1.0.0/16 nonprod, 10.2.0.0/16 prod. The
    environments of one LOB do not overlap."""
    extra_endpoints: Annotated[
        list[Annotated[str, AfterValidator(_endpoint), one_of(endpoint_names())]],
        AfterValidator(unique),
        UNIQUE_ITEMS,
    ] = []
    """Interface endpoints beyond those the platform's own workloads use (e.g. Logs, EcrApi and
    EcrDocker for ECS tasks of the applications), each once."""
    endpoint_azs: Literal[1] | None = None
    """1 puts the interface endpoints in the first zone only (interactive environments: half the
    endpoint cost, no zone redundancy); default every zone."""


class EnvironmentsConfig(Model):
    interactive: EnvironmentConfig | None = None
    """The interactive environment (Studio, experiments), its own account."""
    nonprod: EnvironmentConfig | None = None
    """The nonprod environment (pipelines, evaluation), its own account."""
    prod: EnvironmentConfig | None = None
    """The prod environment (serving), its own account."""

    def items(self) -> list[tuple[EnvironmentName, EnvironmentConfig]]:
        pairs = [(name, getattr(self, name.value)) for name in EnvironmentName]
        return [(name, env) for name, env in pairs if env is not None]
