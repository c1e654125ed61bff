"""Rules that relate several parts of an organization file.

They read the raw YAML data rather than the models, so a typo in one LOB does not hide a
shared account in another: every problem is reported in one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.config import ENVIRONMENT_NAMES
from blueprint.errors import ConfigProblem


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _environments(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, lob in enumerate(_sequence(data.get("lobs"))):
        for env_name, env in _mapping(_mapping(lob).get("environments")).items():
            if env_name in ENVIRONMENT_NAMES:
                yield f"lobs[{index}].environments.{env_name}", _mapping(env)


def cross_field_problems(data: dict[str, Any]) -> list[ConfigProblem]:
    """Every cross-field problem in ``data``, the parsed organization file."""
    return [
        *_region_problems(data),
        *_zone_problems(data),
        *_account_problems(data),
        *_lob_name_problems(data),
    ]


def _region_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    organization = _mapping(data.get("organization"))
    allowed = [r for r in _sequence(organization.get("allowed_regions")) if isinstance(r, str)]
    if not allowed:
        return
    allowed_text = ", ".join(allowed)
    home = organization.get("home_region")
    if isinstance(home, str) and home not in allowed:
        yield ConfigProblem(
            "organization.home_region",
            f"region '{home}' is not in organization.allowed_regions; allowed: {allowed_text}",
        )
    for path, env in _environments(data):
        region = env.get("region")
        if isinstance(region, str) and region not in allowed:
            yield ConfigProblem(
                f"{path}.region",
                f"region '{region}' is not in organization.allowed_regions; "
                f"allowed: {allowed_text}",
            )


def _zone_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    home = _mapping(data.get("organization")).get("home_region")
    placements = [("platform", _mapping(data.get("platform")), home)]
    placements += [(path, env, env.get("region")) for path, env in _environments(data)]
    for path, section, region in placements:
        if not isinstance(region, str):
            continue
        for index, zone in enumerate(_sequence(section.get("azs"))):
            if not isinstance(zone, str):
                continue
            suffix = zone.removeprefix(region)
            if suffix == zone or len(suffix) != 1 or not suffix.isalpha():
                yield ConfigProblem(
                    f"{path}.azs[{index}]",
                    f"availability zone '{zone}' is not in region '{region}'; "
                    f"allowed: {region}a, {region}b, ...",
                )


def _account_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    owners: list[tuple[str, Any]] = [
        (
            "organization.management_account",
            _mapping(data.get("organization")).get("management_account"),
        ),
        ("platform.governance_account", _mapping(data.get("platform")).get("governance_account")),
        ("platform.tooling_account", _mapping(data.get("platform")).get("tooling_account")),
    ]
    owners += [(f"{path}.account", env.get("account")) for path, env in _environments(data)]
    first_owner: dict[str, str] = {}
    for path, account in owners:
        if not isinstance(account, str):
            continue
        if account in first_owner:
            yield ConfigProblem(
                path,
                f"account {account} is already used by {first_owner[account]}; "
                "allowed: one account per LOB environment and per platform role",
            )
        else:
            first_owner[account] = path


def _lob_name_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    seen: dict[str, int] = {}
    for index, lob in enumerate(_sequence(data.get("lobs"))):
        name = _mapping(lob).get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            yield ConfigProblem(
                f"lobs[{index}].name",
                f"LOB name '{name}' is already used by lobs[{seen[name]}]; "
                "allowed: a unique name per LOB",
            )
        else:
            seen[name] = index
