"""Cross-field rules of accounts, regions, zones and networks: regions the organization allows,
zones of their region, one owner per account, unique LOB names, VPCs that do not overlap,
interface endpoints in every zone of operational environments, and the metrics sinks."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator
from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.operating_rules import central_accounts
from blueprint.model.raw import lob_environments, mapping, sequence, strings
from blueprint.model.sections.environments import DEFAULT_VPC_CIDRS, ENVIRONMENT_NAMES
from blueprint.model.sections.values import REGION


def region_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    organization = mapping(data.get("organization"))
    allowed = [r for r in sequence(organization.get("allowed_regions")) if isinstance(r, str)]
    if not allowed:
        return
    allowed_text = ", ".join(allowed)
    home = organization.get("home_region")
    if isinstance(home, str) and REGION.match(home) and home not in allowed:
        yield ConfigProblem(
            "organization.home_region",
            f"region '{home}' is not in organization.allowed_regions; allowed: {allowed_text}",
        )
    for path, env in lob_environments(data):
        region = env.get("region")
        # A region that is not a region code has its own problem (with a suggestion).
        if isinstance(region, str) and REGION.match(region) and region not in allowed:
            close = difflib.get_close_matches(region, allowed, n=1, cutoff=0.8)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield ConfigProblem(
                f"{path}.region",
                f"region '{region}' is not in organization.allowed_regions{hint}; "
                f"allowed: {allowed_text}",
            )


def zone_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    home = mapping(data.get("organization")).get("home_region")
    platform = mapping(data.get("platform"))
    placements = [
        ("platform", platform, home),
        ("platform.hub", mapping(platform.get("hub")), home),
    ]
    placements += [(path, env, env.get("region")) for path, env in lob_environments(data)]
    allowed = strings(mapping(data.get("organization")).get("allowed_regions"))
    for path, section, region in placements:
        # A region that is not a region code, or not allowed, has its own problem: its zones
        # would only repeat it with wrong advice.
        if not isinstance(region, str) or not REGION.match(region):
            continue
        if allowed and region not in allowed:
            continue
        for index, zone in enumerate(sequence(section.get("azs"))):
            if not isinstance(zone, str):
                continue
            suffix = zone.removeprefix(region)
            if suffix == zone or len(suffix) != 1 or not suffix.isalpha():
                yield ConfigProblem(
                    f"{path}.azs[{index}]",
                    f"availability zone '{zone}' is not in region '{region}'; "
                    f"allowed: {region}a, {region}b, ...",
                )


def account_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    owners: list[tuple[str, Any]] = [
        (
            "organization.management_account",
            mapping(data.get("organization")).get("management_account"),
        ),
        ("platform.governance_account", mapping(data.get("platform")).get("governance_account")),
        ("platform.tooling_account", mapping(data.get("platform")).get("tooling_account")),
        (
            "platform.hub.account",
            mapping(mapping(data.get("platform")).get("hub")).get("account"),
        ),
    ]
    owners += [(f"{path}.account", env.get("account")) for path, env in lob_environments(data)]
    owners += list(central_accounts(data))
    first_owner: dict[str, str] = {}
    for path, account in owners:
        if not isinstance(account, str):
            continue
        if account in first_owner:
            yield ConfigProblem(
                path,
                f"account {account} is already used by {first_owner[account]}; "
                "allowed: one account per LOB environment, per platform role and per "
                "central GenAI account",
            )
        else:
            first_owner[account] = path


def lob_name_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    seen: dict[str, int] = {}
    for index, lob in enumerate(sequence(data.get("lobs"))):
        name = mapping(lob).get("name")
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


def vpc_overlap_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The VPCs of one LOB's environments must not overlap (defaults included), so that they
    can be connected later without renumbering."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        ranges: list[tuple[str, ipaddress.IPv4Network]] = []
        for environment, env in mapping(lob.get("environments")).items():
            if environment not in ENVIRONMENT_NAMES:
                continue
            cidr = mapping(env).get("vpc_cidr") or DEFAULT_VPC_CIDRS[environment]
            try:
                network = ipaddress.IPv4Network(str(cidr))
            except ValueError:
                continue  # the field's own check reports it
            for other, other_network in ranges:
                if network.overlaps(other_network):
                    yield ConfigProblem(
                        f"lobs[{index}].environments.{environment}.vpc_cidr",
                        f"{network} overlaps {other_network} of the {other} environment; "
                        "allowed: a private range no other environment of the LOB uses",
                    )
            ranges.append((environment, network))


def endpoint_zone_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Operational environments keep an interface endpoint in every zone (a zone's outage
    must not cut their workloads off from AWS APIs)."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        for environment, env in mapping(lob.get("environments")).items():
            if environment in ("nonprod", "prod") and mapping(env).get("endpoint_azs"):
                yield ConfigProblem(
                    f"lobs[{index}].environments.{environment}.endpoint_azs",
                    "operational environments keep an interface endpoint in every zone; "
                    "allowed: endpoint_azs on the interactive environment only",
                )


def metrics_sink_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Each sink is the governance account's, in the region it is listed under, and once any
    is given every region with LOB environments has one (else dashboards stay half empty)."""
    platform = mapping(data.get("platform"))
    sinks = mapping(platform.get("metrics_sinks"))
    if not sinks:
        return
    governance = platform.get("governance_account")
    for region, arn in sinks.items():
        if not isinstance(arn, str) or arn.count(":") < 5:
            continue
        _, _, _, arn_region, account, _ = arn.split(":", 5)
        if arn_region != region:
            yield ConfigProblem(
                f"platform.metrics_sinks.{region}",
                f"the sink is in {arn_region}; allowed: a sink in {region} (links are regional)",
            )
        if isinstance(governance, str) and account != governance:
            yield ConfigProblem(
                f"platform.metrics_sinks.{region}",
                f"the sink belongs to account {account}; allowed: the governance account "
                f"{governance}",
            )
    allowed = strings(mapping(data.get("organization")).get("allowed_regions"))
    used = sorted(
        {env["region"] for _, env in lob_environments(data) if env.get("region") in allowed}
    )
    missing = [region for region in used if region not in sinks]
    if missing:
        yield ConfigProblem(
            "platform.metrics_sinks",
            f"no sink for {', '.join(missing)}, where LOB environments run; allowed: one sink "
            "per region with LOB environments (each governance sink stack outputs its ARN)",
        )
