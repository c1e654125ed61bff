"""The agents of a GenAI placement: an LOB environment's (``genai.agents``) or the hub's
(``platform.hub.agents``), their tools and who invokes them."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.agents import (
    AgentBase,
    AgentConfig,
    HubAgentConfig,
    OpenApiTool,
    ToolConfig,
)
from blueprint.model.sections.catalog import BedrockModel
from genai_constructs.naming import short_name

# AgentCore's longest gateway and runtime names.
GATEWAY_NAME_LENGTH = 48
RUNTIME_NAME_LENGTH = 48


@dataclass(frozen=True)
class ToolInputs:
    """A tool behind the gateway: a search of ``knowledge_base`` or an ``openapi`` API."""

    name: str
    description: str
    knowledge_base: str | None
    openapi: OpenApiTool | None


@dataclass(frozen=True)
class AgentInputs:
    """One agent: its role, image, model, tools and memory, and the roles that invoke it.

    :param use_case: the use case whose inference profile its model calls go through (its
        tokens and budget); none for a hub agent, which gets a profile of its own.
    :param knowledge_bases: the knowledge bases it retrieves from itself (its use case's).
    :param invokers: the roles of this account that may invoke it.
    """

    name: str
    runtime_name: str
    role: str
    image: str
    model: BedrockModel
    use_case: str | None
    knowledge_bases: tuple[str, ...]
    tools: tuple[str, ...]
    memory_days: int
    invokers: tuple[str, ...]


@dataclass(frozen=True)
class AgentRepositoryInputs:
    """An agent's image repository, in the placement where the LOB's agent images are kept,
    and the agent roles of the LOB's other placements that pull from it."""

    name: str
    agent: str
    pullers: tuple[str, ...]


@dataclass(frozen=True)
class AgentsInputs:
    """The agents of a placement, the gateway their tools sit behind, and (in the LOB's
    nonprod placement, or the hub) their image repositories."""

    gateway_name: str
    tools: tuple[ToolInputs, ...]
    agents: tuple[AgentInputs, ...]
    repositories: tuple[AgentRepositoryInputs, ...] = ()


def agents_inputs(plan: Plan, placement: Placement) -> AgentsInputs | None:
    """The placement's agents, or None where it runs none."""
    lob = placement.lob
    if lob is None or not placement.hosts(Layer.GENAI):
        return None
    hub = plan.config.platform.hub if placement.kind is PlacementKind.HUB else None
    configured: list[AgentBase] = list(hub.agents) if hub else list(lob.genai.agents)
    if not configured:
        return None
    present = {kb.name for kb in plan.knowledge_bases(placement)}
    tool_configs: list[ToolConfig] = list(hub.tools) if hub else list(lob.genai.tools)
    tools = tuple(
        ToolInputs(t.name, t.description, t.knowledge_base, t.openapi)
        for t in tool_configs
        if t.knowledge_base is None or t.knowledge_base in present
    )
    available = {t.name for t in tools}
    use_cases = {use.name: use for use in lob.genai.use_cases}
    agents = []
    for agent in configured:
        if isinstance(agent, AgentConfig):
            use = use_cases[agent.use_case]
            model, use_case = use.model, use.name
            knowledge_bases = tuple(kb for kb in use.knowledge_bases if kb in present)
            invokers: tuple[str, ...] = (names.app_role_name(placement.prefix, use.name),)
        else:
            assert isinstance(agent, HubAgentConfig)
            model, use_case, knowledge_bases = agent.model, None, ()
            invokers = tuple(
                names.app_role_name(placement.prefix, consumer.lob)
                for consumer in (hub.consumers if hub else [])
                if agent.name in consumer.agents
            )
        agents.append(
            AgentInputs(
                name=agent.name,
                # A letter, then letters, digits and '_'.
                runtime_name=short_name(
                    f"{placement.key}-{agent.name}", RUNTIME_NAME_LENGTH
                ).replace("-", "_"),
                role=names.agent_role_name(placement.prefix, agent.name),
                image=agent.image,
                model=plan.config.model(model),
                use_case=use_case,
                knowledge_bases=knowledge_bases,
                tools=tuple(t for t in agent.tools if t in available),
                memory_days=agent.memory_days,
                invokers=invokers,
            )
        )
    label = placement.key
    return AgentsInputs(
        gateway_name=short_name(f"{label}-tools", GATEWAY_NAME_LENGTH),
        tools=tools,
        agents=tuple(agents),
        repositories=_repositories(plan, placement, [a.name for a in configured]),
    )


def image_home(plan: Plan, placement: Placement) -> Placement | None:
    """Where the agent images of ``placement``'s LOB are kept: the hub's own, or the LOB's
    nonprod GenAI placement (its first one without nonprod)."""
    if placement.kind is PlacementKind.HUB or placement.lob is None:
        return placement
    lob = placement.lob
    homes = [
        p
        for environment in (EnvironmentName.NONPROD, *EnvironmentName)
        for p in [plan.workspace(lob, environment)]
        if p is not None
    ]
    return homes[0] if homes else None


def _repositories(
    plan: Plan, placement: Placement, agents: list[str]
) -> tuple[AgentRepositoryInputs, ...]:
    if image_home(plan, placement) != placement or placement.lob is None:
        return ()
    lob = placement.lob
    others = (
        []
        if placement.kind is PlacementKind.HUB
        else [
            p
            for environment in EnvironmentName
            for p in [plan.workspace(lob, environment)]
            if p is not None and p != placement
        ]
    )
    return tuple(
        AgentRepositoryInputs(
            name=names.agent_repository_name(lob.name, agent),
            agent=agent,
            pullers=tuple(
                names.role_arn(p.account, names.agent_role_name(p.prefix, agent)) for p in others
            ),
        )
        for agent in agents
    )


def agent_role_names(plan: Plan, placement: Placement) -> tuple[tuple[str, str], ...]:
    """(agent, role name) of each agent the placement runs."""
    inputs = agents_inputs(plan, placement)
    return tuple((a.name, a.role) for a in inputs.agents) if inputs else ()
