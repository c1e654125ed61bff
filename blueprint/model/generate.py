"""Synthetic organizations of any size, cloned from an example (scale tests)."""

from __future__ import annotations

import copy
import re
from typing import Any

from blueprint.model import names

# An ECR image URI up to its digest: the account, region and repository it is pushed to.
_REPOSITORY = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[^@:]+")


def generate_org(lob_count: int, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a parsed organization file) with ``lob_count`` LOBs ``lob-001``, ...

    The LOBs cycle through the base's LOBs; every environment gets a fresh, unique 12-digit
    account id that collides with no account of the base; a recipe image moves to the LOB's
    recipe repository in its clone's nonprod account (where validate requires it), an agent's
    image to the same account; a sign-in assignment to a base LOB goes to each of its clones;
    what the hub promotes from or serves to a base LOB, its first clone.
    """
    if lob_count < 1:
        raise ValueError("lob_count must be at least 1")
    org = copy.deepcopy(base)
    templates = org["lobs"]
    next_account = 100_000_000_000
    lobs = []
    clones: dict[str, list[str]] = {}
    for index in range(lob_count):
        lob = copy.deepcopy(templates[index % len(templates)])
        clones.setdefault(lob["name"], []).append(f"lob-{index + 1:03d}")
        lob["name"] = f"lob-{index + 1:03d}"
        for env in lob["environments"].values():
            env["account"] = str(next_account)
            next_account += 1
        _move_recipe_images(lob)
        _move_agent_images(lob)
        lobs.append(lob)
    org["lobs"] = lobs
    hub = org.get("platform", {}).get("hub") or {}
    first = {lob: names[0] for lob, names in clones.items()}
    for key in ("promoted_prompts", "promoted_knowledge_bases", "consumers"):
        hub[key] = [
            {**entry, "lob": first[entry["lob"]]}
            for entry in hub.get(key, [])
            if entry["lob"] in first
        ]
    for consumer in hub.get("consumers", []):
        consumer["knowledge_bases"] = [
            _promoted(kb, first) for kb in consumer.get("knowledge_bases", [])
        ]
    for tool in hub.get("tools", []):
        if "knowledge_base" in tool:
            tool["knowledge_base"] = _promoted(tool["knowledge_base"], first)
    identity = org.get("organization", {}).get("identity") or {}
    for assignment in identity.get("assignments", []):
        assignment["lobs"] = [
            clone for lob in assignment.get("lobs", []) for clone in clones.get(lob, [])
        ]
    return org


def with_one_lob_changed(org: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``org`` after a day's change to one LOB (the second, or the only one): a use case's
    daily token budget raised; and that LOB's name."""
    changed = copy.deepcopy(org)
    lobs = changed["lobs"]
    candidates = lobs[1:] + lobs[:1]
    for lob in candidates:
        for use_case in lob.get("genai", {}).get("use_cases", []):
            if use_case.get("token_budget", {}).get("daily_tokens"):
                use_case["token_budget"]["daily_tokens"] += 250_000
                return changed, lob["name"]
    raise ValueError("no LOB has a use case with a daily token budget to change")


def _promoted(knowledge_base: str, first: dict[str, str]) -> str:
    """A hub knowledge base promoted from a base LOB (``<lob>-<name>``), as its first clone's."""
    return next(
        (
            f"{first[lob]}{knowledge_base[len(lob) :]}"
            for lob in first
            if knowledge_base.startswith(f"{lob}-")
        ),
        knowledge_base,
    )


def _move_agent_images(lob: dict[str, Any]) -> None:
    environment = next(iter(lob["environments"].values()))
    home = lob["environments"].get("nonprod", environment)
    for agent in lob.get("genai", {}).get("agents", []):
        repository = (
            f"{home['account']}.dkr.ecr.{home['region']}.amazonaws.com/"
            f"{names.agent_repository_name(lob['name'], agent['name'])}"
        )
        agent["image"] = _REPOSITORY.sub(repository, agent["image"])


def _move_recipe_images(lob: dict[str, Any]) -> None:
    nonprod = lob["environments"].get("nonprod")
    if nonprod is None:
        return
    repository = (
        f"{nonprod['account']}.dkr.ecr.{nonprod['region']}.amazonaws.com/"
        f"{names.recipe_repository_name(lob['name'])}"
    )
    for tuning in lob.get("ml", {}).get("fine_tuning", []):
        if "recipe_image" in tuning:
            tuning["recipe_image"] = _REPOSITORY.sub(repository, tuning["recipe_image"])
