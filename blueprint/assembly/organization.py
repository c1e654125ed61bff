"""Whether a cloud assembly was synthesized from an organization file."""

from __future__ import annotations

from blueprint.assembly.reader import Assembly, AssemblyError
from blueprint.model.identity import PlacementKind
from blueprint.model.plan import Plan


def require_same_organization(assembly: Assembly, plan: Plan, org_file: str) -> None:
    """Refuse to judge an assembly by another organization file: its placements (LOB
    environments, platform accounts, hub, central accounts) must be the file's, each in its
    account, with stacks in its region (a platform account also has some in other regions)."""
    regions: dict[tuple[str, str], set[str]] = {}
    for stack in assembly.stacks:
        if stack.identity.kind is not PlacementKind.MANAGEMENT:
            key = (stack.identity.placement, stack.account)
            regions.setdefault(key, set()).add(stack.region)
    planned = {(p.key, p.account): p.region for p in plan.placements}
    extra = sorted(f"{key} ({account})" for key, account in set(regions) - set(planned))
    missing = sorted(
        f"{key} ({account}, {region})"
        for (key, account), region in planned.items()
        if region not in regions.get((key, account), set())
    )
    if not extra and not missing:
        return
    parts = ([f"only in the assembly: {', '.join(extra)}"] if extra else []) + (
        [f"not in the assembly: {', '.join(missing)}"] if missing else []
    )
    raise AssemblyError(
        f"the assembly was not synthesized from {org_file} ({'; '.join(parts)}); allowed: the "
        "organization file the assembly was synthesized from (run `make synth ORG=...` again)"
    )
