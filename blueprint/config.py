"""The organization file, as typed pydantic models.

Field-level rules live on the models; rules that relate several parts of the file
(regions against ``allowed_regions``, accounts used twice, duplicate LOB names) live in
``blueprint.rules`` so that they run even when another part of the file is malformed.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ACCOUNT_ID = re.compile(r"^\d{12}$")
SLUG = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
ENVIRONMENT_NAMES = ("interactive", "nonprod", "prod")


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"'{value}' is not an AWS account id; allowed: exactly 12 digits, quoted")
    return value


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"'{value}' is not a valid name; allowed: 3-24 characters, lower-case letters, "
            "digits and '-', starting with a letter"
        )
    return value


def _region(value: str) -> str:
    if not REGION.match(value):
        raise ValueError(f"'{value}' is not an AWS region code; allowed: e.g. eu-west-1")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not an IPv4 CIDR block; allowed: e.g. 10.0.0.0/16"
        ) from None
    if not network.is_private or not 16 <= network.prefixlen <= 22:
        raise ValueError(f"'{value}' must be a private range with a prefix between /16 and /22")
    return value


def _unique(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries {duplicates}; allowed: each value once")
    return values


AccountId = Annotated[str, AfterValidator(_account_id)]
Slug = Annotated[str, AfterValidator(_slug)]
Region = Annotated[str, AfterValidator(_region)]
AvailabilityZones = Annotated[list[str], Field(min_length=2, max_length=6), AfterValidator(_unique)]


class DataClassification(StrEnum):
    """How sensitive an LOB's data is; drives model access and storage settings."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return list(DataClassification).index(self)


class EnvironmentName(StrEnum):
    """The three environments of the layered blueprint."""

    INTERACTIVE = "interactive"
    NONPROD = "nonprod"
    PROD = "prod"

    @property
    def operational(self) -> bool:
        return self is not EnvironmentName.INTERACTIVE


class Model(BaseModel):
    """Base for every section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OrganizationConfig(Model):
    name: Slug
    management_account: AccountId
    home_region: Region
    allowed_regions: Annotated[list[Region], Field(min_length=1), AfterValidator(_unique)]


class PlatformConfig(Model):
    """The central platform team's accounts, in the home region."""

    governance_account: AccountId
    tooling_account: AccountId
    azs: AvailabilityZones
    vpc_cidr: Annotated[str, AfterValidator(_cidr)] = "10.255.0.0/16"


class EnvironmentConfig(Model):
    account: AccountId
    region: Region
    azs: AvailabilityZones
    vpc_cidr: Annotated[str, AfterValidator(_cidr)] = "10.0.0.0/16"


class EnvironmentsConfig(Model):
    interactive: EnvironmentConfig | None = None
    nonprod: EnvironmentConfig | None = None
    prod: EnvironmentConfig | None = None

    def items(self) -> list[tuple[EnvironmentName, EnvironmentConfig]]:
        pairs = [(name, getattr(self, name.value)) for name in EnvironmentName]
        return [(name, env) for name, env in pairs if env is not None]


class LobConfig(Model):
    name: Slug
    cost_center: Annotated[str, Field(min_length=1, max_length=64)]
    data_classification: DataClassification
    budget_usd_month: Annotated[int, Field(gt=0)]
    retain_interactive_data: bool = True
    auditor_metadata_read: bool = False
    environments: EnvironmentsConfig


class OrgConfig(Model):
    """One organization: the whole input of the blueprint."""

    organization: OrganizationConfig
    platform: PlatformConfig
    lobs: Annotated[list[LobConfig], Field(min_length=1)]
