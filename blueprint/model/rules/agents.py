"""Cross-field rules of agents and tools: what they name exists, an agent's image is the
LOB's own (or the hub's), and the hub's consumers name hub agents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.names import agent_repository_name
from blueprint.model.operating_rules import operating_model
from blueprint.model.placing import HUB_LOB
from blueprint.model.raw import bedrock_catalog, mapping, sequence
from blueprint.model.rules.ml import SLUG_TEXT
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import DataClassification
from genai_constructs.naming import ImageRepository
from genai_constructs.organization import SCP_MAX_CHARS, policy_size
from genai_constructs.workload_policy import workload_scp


def agent_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """An LOB's agents: their use case, tools and image; its tools' knowledge bases."""
    central = mapping(mapping(data.get("platform")).get("central_accounts"))
    centralized = operating_model(data) is OperatingModel.CENTRALIZED
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        genai = mapping(lob.get("genai"))
        environments = mapping(lob.get("environments"))
        # The images' home: the nonprod environment's GenAI account, else the first one's.
        home_name = "nonprod" if "nonprod" in environments else next(iter(environments), "")
        home = mapping(environments.get(home_name))
        home_account = central.get(home_name) if centralized else home.get("account")
        where = f"lobs[{index}].genai"
        yield from _tool_problems(where, genai.get("tools"), _names(genai.get("knowledge_bases")))
        use_cases = _names(genai.get("use_cases"))
        for a_index, agent in enumerate(map(mapping, sequence(genai.get("agents")))):
            path = f"{where}.agents[{a_index}]"
            use_case = agent.get("use_case")
            if isinstance(use_case, str) and use_case not in use_cases:
                yield ConfigProblem(
                    f"{path}.use_case",
                    f"'{use_case}' is not in this LOB's genai.use_cases; allowed: "
                    f"{', '.join(use_cases) or 'none defined'}",
                )
            yield from _agent_common_problems(
                path,
                agent,
                _names(genai.get("tools")),
                lob=lob.get("name"),
                where=(home_account, home.get("region")),
                owner=f"the agents' repository of the LOB's {home_name} account",
            )
        yield from _duplicates(f"{where}.agents", genai.get("agents"))


def hub_agent_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The hub's agents: their model, tools and image (the hub's account, home region); the
    hub agents its consumers name."""
    hub = mapping(mapping(data.get("platform")).get("hub"))
    if not hub:
        return
    lobs = {lob.get("name"): lob for lob in map(mapping, sequence(data.get("lobs")))}
    knowledge_bases = _names(hub.get("knowledge_bases")) + [
        f"{p.get('lob')}-{p.get('name')}"
        for p in map(mapping, sequence(hub.get("promoted_knowledge_bases")))
    ]
    yield from _tool_problems("platform.hub", hub.get("tools"), knowledge_bases)
    for t_index, tool in enumerate(map(mapping, sequence(hub.get("tools")))):
        if tool.get("openapi") is not None:
            yield ConfigProblem(
                f"platform.hub.tools[{t_index}].openapi",
                "an API tool's key is set by the LOB's ML engineers, and the hub has none (the "
                "platform team never holds an API's key); allowed: knowledge_base tools in "
                "the hub",
            )
    catalog = bedrock_catalog(data)
    ranks = [c.value for c in DataClassification]
    classification = hub.get("data_classification", DataClassification.INTERNAL.value)
    usable = [
        m
        for m, spec in catalog.items()
        if spec.get("kind", "text") == "text"
        and classification in ranks
        and spec.get("max_classification") in ranks
        and ranks.index(spec["max_classification"]) >= ranks.index(classification)
    ]
    home = mapping(data.get("organization")).get("home_region")
    agents = _names(hub.get("agents"))
    for a_index, agent in enumerate(map(mapping, sequence(hub.get("agents")))):
        path = f"platform.hub.agents[{a_index}]"
        model = agent.get("model")
        if isinstance(model, str) and model not in usable:
            yield ConfigProblem(
                f"{path}.model",
                f"model '{model}' is not a text model of the catalog approved for the hub's "
                f"'{classification}' data; allowed: {', '.join(usable) or 'none'}",
            )
        yield from _agent_common_problems(
            path,
            agent,
            _names(hub.get("tools")),
            lob=HUB_LOB,
            where=(hub.get("account"), home),
            owner="the hub's agents' repository, in the home region",
        )
    yield from _duplicates("platform.hub.agents", hub.get("agents"))
    for c_index, consumer in enumerate(map(mapping, sequence(hub.get("consumers")))):
        for n_index, name in enumerate(sequence(consumer.get("agents"))):
            if isinstance(name, str) and name not in agents:
                yield ConfigProblem(
                    f"platform.hub.consumers[{c_index}].agents[{n_index}]",
                    f"'{name}' is not in platform.hub.agents; allowed: "
                    f"{', '.join(agents) or 'none defined'}",
                )
        lob = lobs.get(consumer.get("lob"))
        if consumer.get("agents") and lob and not mapping(lob.get("genai")).get("use_cases"):
            yield ConfigProblem(
                f"platform.hub.consumers[{c_index}].agents",
                f"LOB '{consumer['lob']}' has no use case whose application could invoke "
                "the hub's agents; allowed: agents for an LOB with genai.use_cases",
            )


def _tool_problems(where: str, tools: Any, knowledge_bases: list[str]) -> Iterator[ConfigProblem]:
    for t_index, tool in enumerate(map(mapping, sequence(tools))):
        name = tool.get("knowledge_base")
        if isinstance(name, str) and name not in knowledge_bases:
            yield ConfigProblem(
                f"{where}.tools[{t_index}].knowledge_base",
                f"'{name}' is not a knowledge base here; allowed: "
                f"{', '.join(knowledge_bases) or 'none defined'}",
            )
    yield from _duplicates(f"{where}.tools", tools)


def _agent_common_problems(
    path: str,
    agent: dict[str, Any],
    tools: list[str],
    *,
    lob: Any,
    where: tuple[Any, Any],
    owner: str,
) -> Iterator[ConfigProblem]:
    for t_index, tool in enumerate(sequence(agent.get("tools"))):
        if isinstance(tool, str) and tool not in tools:
            yield ConfigProblem(
                f"{path}.tools[{t_index}]",
                f"'{tool}' is not a tool here; allowed: {', '.join(tools) or 'none defined'}",
            )
    image, name = agent.get("image"), agent.get("name")
    if not isinstance(image, str) or ".dkr.ecr." not in image or not all(where):
        return
    repository = (
        agent_repository_name(lob, name)
        if isinstance(lob, str) and isinstance(name, str) and SLUG_TEXT.fullmatch(lob)
        else None
    )
    found = ImageRepository.of(image)
    expected = (
        f"{where[0]}.dkr.ecr.{where[1]}.amazonaws.com/"
        f"{repository or '<lob>-agents/<agent>'}@sha256:..."
    )
    if (found.account, found.region) != where or repository not in (None, found.name):
        yield ConfigProblem(
            f"{path}.image",
            f"the image is in {found.account}/{found.region}/{found.name}; allowed: {owner}, "
            f"{expected}, where every environment's agent pulls it",
        )
    elif "@sha256:" not in image:
        yield ConfigProblem(
            f"{path}.image",
            f"the image is named by tag; allowed: by digest, {expected} (a tag's image "
            "changes without a deployment)",
        )


def _duplicates(where: str, entries: Any) -> Iterator[ConfigProblem]:
    seen: dict[str, int] = {}
    for index, entry in enumerate(map(mapping, sequence(entries))):
        name = entry.get("name")
        if isinstance(name, str):
            if name in seen:
                yield ConfigProblem(
                    f"{where}[{index}].name",
                    f"'{name}' is already used by entry {seen[name]}; allowed: a unique name",
                )
            seen.setdefault(name, index)


def _names(entries: Any) -> list[str]:
    return [e["name"] for e in map(mapping, sequence(entries)) if isinstance(e.get("name"), str)]


def agent_policy_size_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The workload SCP, with the approved identity providers of agent gateways, fits an
    SCP's size (every workload account already carries five SCPs: it cannot be split)."""
    providers = [
        p
        for p in sequence(mapping(data.get("organization")).get("agent_identity_providers"))
        if isinstance(p, str)
    ]
    try:
        size = policy_size(
            workload_scp(require_volume_key=False, agent_identity_providers=providers)
        )
    except ValueError:
        return  # a malformed URL is reported on its own path
    if size > SCP_MAX_CHARS:
        yield ConfigProblem(
            "organization.agent_identity_providers",
            f"the workload SCP would be {size} characters with these identity providers; "
            f"allowed: at most {SCP_MAX_CHARS} (an SCP's quota): fewer or shorter discovery URLs",
        )
