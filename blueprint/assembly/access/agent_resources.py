"""The catalog's selectors of agents: each agent's runtime and memory, with ``own`` for the
asking application (its use case's agent) or agent role (its own). A part of
``resources.RESOURCES``; one function per kind, its docstring the grammar's entry."""

from __future__ import annotations

from blueprint.assembly.access.ml_resources import MARKED, ResourceResolver
from blueprint.assembly.access.registry import OWN, Registry
from blueprint.assembly.access.selection import Actor, Selection, Target
from blueprint.model.assets import AssetKind

AGENT_RESOURCES: Registry[ResourceResolver] = Registry("resource")


def _own_agents(selection: Selection, actor: Actor | None) -> list[str]:
    """The agents an actor owns: an agent role's own, an application's use case's."""
    if actor is None:
        return []
    lob = selection.placement.lob
    use = actor.use_case
    if use is not None and lob is not None and actor.serves == use.name:
        return [a.name for a in lob.genai.agents if a.use_case == use.name]
    return [actor.serves] if actor.serves else []


def _agents_own(kind: AssetKind) -> ResourceResolver:
    def resolve(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
        if name != OWN:
            return selection.marked(kind, name)
        return [t for agent in _own_agents(selection, actor) for t in selection.marked(kind, agent)]

    return resolve


for _kind, _doc in (
    (AssetKind.AGENT, "An agent's AgentCore runtime (`agent/<agent>`)"),
    (AssetKind.AGENT_MEMORY, "An agent's memory (`agent-memory/<agent>`)"),
    (
        AssetKind.AGENT_REPOSITORY,
        "An agent's image repository, in its LOB's nonprod account or the hub "
        "(`agent-repository/<agent>`; an agent of another environment pulls its image there)",
    ),
):
    AGENT_RESOURCES.add(
        _kind,
        (*MARKED, OWN),
        _agents_own(_kind),
        f"{_doc}: each, or the one named; `own` the asking agent role's, or that of the agent "
        "of the asking application's use case.",
    )
