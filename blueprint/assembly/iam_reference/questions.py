"""The access catalog's questions checked against the reference: each entry's action exists
(an API operation without an IAM action of its own is asked as the action AWS authorizes it
as), its context keys are current and apply to the action, and every resource it is asked
about in the assembly is of a type the action takes. A question that fails here would be
answered about a request AWS never sees.
"""

from __future__ import annotations

from blueprint.assembly.access.catalog import Entry, Query, catalog_queries, load_catalog
from blueprint.assembly.access.world import World
from blueprint.assembly.iam_reference.check import Written, key_messages, takes_message
from blueprint.assembly.iam_reference.operations import authorized_as
from blueprint.assembly.iam_reference.reference import NotInReference, Reference
from blueprint.model.plan import Plan


def catalog_problems(
    reference: Reference,
    world: World,
    plan: Plan,
    entries: list[Entry] | None = None,
    queries: list[Query] | None = None,
) -> list[str]:
    """What is wrong with the entries' questions (``queries``: those asked of ``world``)."""
    entries = entries if entries is not None else load_catalog()
    queries = catalog_queries(world, plan, entries) if queries is None else queries
    problems: list[str] = []
    asked: dict[tuple[str, int], Written] = {}
    for entry in entries:
        for number, step in enumerate(entry.requests, start=1):
            where = f"catalog entry {entry.id}" + (f" step {number}" if entry.is_workflow else "")
            try:
                written = Written(step.action, tuple(reference.actions(authorized_as(step.action))))
            except NotInReference as error:
                problems.append(f"{where}: {error}")
                continue
            asked[(entry.id, number)] = written
            problems += [
                f"{where}: {message}"
                for key in step.context
                for message in key_messages(reference, key, [written], every_action=False)
            ]
    wrong: dict[tuple[str, str], str] = {}
    for query in queries:
        known = asked.get((query.entry.id, query.number))
        message = takes_message(known, query.target.arn) if known else None
        if message is not None:
            wrong.setdefault((query.entry.id, query.target.label), message)
    problems += [
        f"catalog entry {entry_id} ({label}): {message}"
        for (entry_id, label), message in wrong.items()
    ]
    return problems
