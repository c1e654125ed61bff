"""The values the sections of the organization file share: names, account IDs, regions,
network ranges, zones, schedules, email addresses, classifications, and their checks."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from blueprint.model.fields import described, matching
from genai_constructs.naming import ACCOUNT_ID

# The longest name of an LOB, use case, endpoint... (names built from them rely on it).
SLUG_MAX_LENGTH = 24
SLUG = re.compile(rf"^[a-z][a-z0-9-]{{1,{SLUG_MAX_LENGTH - 2}}}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


OwnerSlashName = Annotated[
    str,
    matching(
        r"^[\w.-]+/[\w.-]+$",
        "OWNER/NAME",
    ),
]

KeyPrefix = Annotated[
    str,
    matching(
        r"^[a-zA-Z0-9!_.*'()/-]*/$",
        "an S3 key prefix ending with '/'",
    ),
]


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"'{value}' is not an AWS account id; allowed: exactly 12 digits, quoted")
    return value


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"'{value}' is not a valid name; allowed: 3-{SLUG_MAX_LENGTH} characters, lower-case "
            "letters, "
            "digits and '-', starting with a letter"
        )
    return value


def _region(value: str) -> str:
    if not REGION.match(value):
        parts = re.fullmatch(r"([a-z]{2})-?([a-z]+)-?(\d)", value)
        meant = f"{parts[1]}-{parts[2]}-{parts[3]}" if parts else None
        hint = f" (did you mean '{meant}'?)" if meant and REGION.match(meant) else ""
        raise ValueError(f"'{value}' is not an AWS region code{hint}; allowed: e.g. eu-west-1")
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


def unique(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries {duplicates}; allowed: each value once")
    return values


# Beside ``AfterValidator(unique)``: the JSON Schema says the same (editors flag a repeat).
UNIQUE_ITEMS = Field(json_schema_extra={"uniqueItems": True})


AccountId = Annotated[
    str,
    AfterValidator(_account_id),
    described(ACCOUNT_ID.pattern, "an AWS account ID: 12 digits, quoted"),
]
Slug = Annotated[
    str,
    AfterValidator(_slug),
    described(
        SLUG.pattern,
        f"a name: 3-{SLUG_MAX_LENGTH} lower-case letters, digits and '-', starting with a letter",
    ),
]
Region = Annotated[
    str, AfterValidator(_region), described(REGION.pattern, "an AWS region code such as eu-west-1")
]
Cidr = Annotated[
    str,
    AfterValidator(_cidr),
    described(
        r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-2])$",
        "a private IPv4 range, /16 to /22, such as 10.0.0.0/16",
    ),
]
AvailabilityZones = Annotated[
    list[str], Field(min_length=2, max_length=6), AfterValidator(unique), UNIQUE_ITEMS
]


class DataClassification(StrEnum):
    """How sensitive an LOB's data is; drives model access and storage settings."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return list(DataClassification).index(self)


EmailAddress = Annotated[
    str, matching(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address such as team@example.com")
]
AlertEmails = Annotated[
    list[EmailAddress], Field(min_length=1, max_length=10), AfterValidator(unique), UNIQUE_ITEMS
]


SCHEDULE = re.compile(r"^(rate\((1 day|([2-9]|[1-9]\d+) days)\)|cron\((\S+ ){5}\S+\))$")


def _schedule(value: str) -> str:
    if not SCHEDULE.match(value):
        raise ValueError(
            f"'{value}' is not an EventBridge schedule; allowed: rate(1 day), rate(N days) or "
            "cron(minutes hours day-of-month month day-of-week year), e.g. "
            "cron(0 3 ? * MON *)"
        )
    return value


Schedule = Annotated[
    str,
    AfterValidator(_schedule),
    described(SCHEDULE.pattern, "rate(1 day), rate(N days) or cron(...) of six fields"),
]
