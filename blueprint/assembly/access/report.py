"""The access catalog's results as lines for the terminal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from blueprint.assembly.access.catalog import Outcome
from blueprint.assembly.access.chains import Reach


def catalog_lines(outcomes: Sequence[Outcome], *, every_check: bool = False) -> Iterator[str]:
    """Each mismatch (each check, with ``every_check``) with its deciding statements, then
    one summary line."""
    mismatches = [o for o in outcomes if not o.matches]
    for outcome in outcomes if every_check else mismatches:
        query = outcome.query
        step = f" step {query.number}" if query.entry.is_workflow else ""
        yield (
            f"{'ok' if outcome.matches else 'MISMATCH'} {query.entry.id}{step} in "
            f"{query.placement}: {query.actor.label} {query.action} {query.target.label}: "
            f"expected {query.entry.expect}, got {outcome.decision.decision}"
        )
        for hop in outcome.chain:
            yield f"    chain: {hop.describe()}"
            for reason in hop.decision.reasons:
                yield f"        {reason}"
        for reason in outcome.decision.reasons or ("no statement decides it",):
            yield f"    {reason}"
    steps = sum(1 for o in outcomes if o.query.entry.is_workflow)
    journeys = sum(1 for o in outcomes if o.query.entry.expect == "allow") - steps
    unknown = sum(1 for o in outcomes if o.decision.decision == "unknown")
    placements = len({o.query.placement for o in outcomes})
    workflows = len(
        {(o.query.entry.id, o.query.placement) for o in outcomes if o.query.entry.is_workflow}
    )
    failed = len(
        {(o.query.entry.id, o.query.placement) for o in mismatches if o.query.entry.is_workflow}
    )
    verdict = "every check as expected" if not mismatches else f"{len(mismatches)} mismatch(es)"
    yield (
        f"access catalog: {len(outcomes)} checks ({journeys} journeys, "
        f"{len(outcomes) - journeys - steps} attacks, {workflows} workflows of {steps} steps, "
        f"{failed} failed) in {placements} LOB environments: {verdict}, {unknown} unknown"
    )


def chain_lines(reach: Reach) -> Iterator[str]:
    """Each hop of a chain with its deciding statements, then the last request's."""
    for hop in reach.chain:
        yield hop.describe()
        for reason in hop.decision.reasons:
            yield f"    {reason}"
    if reach.request is not None:
        yield f"then {reach.request.action} on {reach.request.resource}"
    for reason in reach.decision.reasons:
        yield f"    {reason}"


def outcome_json(outcome: Outcome) -> dict[str, object]:
    """One check of the catalog, its chain hop by hop, for ``blueprint access --json``."""
    query = outcome.query
    return {
        "entry": query.entry.id,
        "placement": query.placement,
        "principal": query.actor.label,
        "step": query.number if query.entry.is_workflow else None,
        "action": query.action,
        "resource": query.target.label,
        "expect": query.entry.expect,
        "decision": outcome.decision.decision,
        "reasons": list(outcome.decision.reasons),
        "chain": [hop.as_json() for hop in outcome.chain],
    }
