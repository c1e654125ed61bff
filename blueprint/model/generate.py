"""Synthetic organizations of any size, cloned from an example (scale tests)."""

from __future__ import annotations

import copy
from typing import Any


def generate_org(lob_count: int, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a parsed organization file) with ``lob_count`` LOBs ``lob-001``, ...

    The LOBs cycle through the base's LOBs; every environment gets a fresh, unique 12-digit
    account id that collides with no account of the base; a sign-in assignment to a base LOB
    goes to each of its clones.
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
        lobs.append(lob)
    org["lobs"] = lobs
    identity = org.get("organization", {}).get("identity") or {}
    for assignment in identity.get("assignments", []):
        assignment["lobs"] = [
            clone for lob in assignment.get("lobs", []) for clone in clones.get(lob, [])
        ]
    return org
