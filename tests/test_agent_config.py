"""The organization file's agents and tools: every refusal, with its YAML path and what is
allowed (``genai.agents``, ``genai.tools``, ``platform.hub.agents``, ``platform.hub.tools``,
``organization.agent_identity_providers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.test_config import example_data, problems

Json = dict[str, Any]
CLAIMS_IMAGE = (
    "555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-agents/claims-triage@sha256:" + "0" * 64
)


def claims_genai(data: Json) -> Json:
    genai: Json = data["lobs"][0]["genai"]
    return genai


def hub(data: Json) -> Json:
    found: Json = data["platform"]["hub"]
    return found


def api_tool(data: Json) -> Json:
    tool: Json = claims_genai(data)["tools"][1]
    return tool


def _set(getter: Callable[[Json], Json], key: str, value: object) -> Callable[[Json], None]:
    def edit(data: Json) -> None:
        getter(data)[key] = value

    return edit


def _spec(key: str, value: object) -> Callable[[Json], None]:
    def edit(data: Json) -> None:
        api_tool(data)["openapi"]["spec"][key] = value

    return edit


def _agent(key: str, value: object) -> Callable[[Json], None]:
    return _set(lambda d: claims_genai(d)["agents"][0], key, value)


def _hub_agent(key: str, value: object) -> Callable[[Json], None]:
    return _set(lambda d: hub(d)["agents"][0], key, value)


def _duplicate(getter: Callable[[Json], list[Json]]) -> Callable[[Json], None]:
    def edit(data: Json) -> None:
        entries = getter(data)
        entries.append(dict(entries[0]))

    return edit


def _both_kinds(data: Json) -> None:
    api_tool(data)["knowledge_base"] = "policies"


CASES: list[tuple[str, Callable[[Json], None], list[str]]] = [
    (
        "unknown-use-case",
        _agent("use_case", "claims-bot"),
        [
            "lobs[claims].genai.agents[0].use_case: 'claims-bot' is not in this LOB's "
            "genai.use_cases; allowed: claims-assistant"
        ],
    ),
    (
        "unknown-tool",
        _agent("tools", ["search-policies", "weather"]),
        [
            "lobs[claims].genai.agents[0].tools[1]: 'weather' is not a tool here; allowed: "
            "search-policies, repair-shops"
        ],
    ),
    (
        "image-of-another-account",
        _agent("image", CLAIMS_IMAGE.replace("555555555555", "555555555556")),
        [
            "lobs[claims].genai.agents[0].image: the image is in "
            "555555555556/eu-west-1/claims-agents/claims-triage; allowed: the agents' "
            "repository of the LOB's nonprod account, 555555555555.dkr.ecr.eu-west-1."
            "amazonaws.com/claims-agents/claims-triage@sha256:..., where every environment's "
            "agent pulls it"
        ],
    ),
    (
        "image-of-another-repository",
        _agent("image", CLAIMS_IMAGE.replace("claims-agents/claims-triage", "my-agent")),
        [
            "lobs[claims].genai.agents[0].image: the image is in 555555555555/eu-west-1/"
            "my-agent; allowed: the agents' repository of the LOB's nonprod account, "
            "555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-agents/claims-triage@sha256:"
            "..., where every environment's agent pulls it"
        ],
    ),
    (
        "image-by-tag",
        _agent("image", CLAIMS_IMAGE.split("@")[0] + ":1.0"),
        [
            "lobs[claims].genai.agents[0].image: the image is named by tag; allowed: by "
            "digest, 555555555555.dkr.ecr.eu-west-1.amazonaws.com/claims-agents/claims-triage"
            "@sha256:... (a tag's image changes without a deployment)"
        ],
    ),
    (
        "not-an-ecr-image",
        _agent("image", "docker.io/library/python:3.12"),
        [
            "lobs[claims].genai.agents[0].image: 'docker.io/library/python:3.12' is not an ECR "
            "image; allowed: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG or "
            "...@sha256:DIGEST"
        ],
    ),
    (
        "memory-too-short",
        _agent("memory_days", 1),
        [
            "lobs[claims].genai.agents[0].memory_days: input should be greater than or equal "
            "to 3 (got 1)"
        ],
    ),
    (
        "duplicate-agent",
        _duplicate(lambda d: claims_genai(d)["agents"]),
        [
            "lobs[claims].genai.agents[1].name: 'claims-triage' is already used by entry 0; "
            "allowed: a unique name"
        ],
    ),
    (
        "duplicate-tool",
        _duplicate(lambda d: claims_genai(d)["tools"]),
        [
            "lobs[claims].genai.tools[2].name: 'search-policies' is already used by entry 0; "
            "allowed: a unique name"
        ],
    ),
    (
        "unknown-knowledge-base",
        _set(lambda d: claims_genai(d)["tools"][0], "knowledge_base", "wording"),
        [
            "lobs[claims].genai.tools[0].knowledge_base: 'wording' is not a knowledge base here; "
            "allowed: policies"
        ],
    ),
    (
        "tool-of-both-kinds",
        _both_kinds,
        [
            "lobs[claims].genai.tools[1]: a tool is either a knowledge base search or an API; "
            "allowed: exactly one of knowledge_base and openapi"
        ],
    ),
    (
        "not-openapi-3",
        _spec("openapi", "2.0"),
        [
            "lobs[claims].genai.tools[1].openapi: spec is not an OpenAPI 3 document; allowed: a "
            "mapping with openapi: 3.0.x or 3.1.x"
        ],
    ),
    (
        "plain-http-server",
        _spec("servers", [{"url": "http://repairs.example.com"}]),
        [
            "lobs[claims].genai.tools[1].openapi: spec.servers must name the API's https URL; "
            "allowed: servers: [{url: https://...}]"
        ],
    ),
    (
        "no-operation-id",
        _spec("paths", {"/shops": {"get": {"summary": "shops"}}}),
        [
            "lobs[claims].genai.tools[1].openapi: spec has no operation with an operationId; "
            "allowed: paths whose operations have an operationId such as findRepairShops"
        ],
    ),
    (
        "operation-id-not-a-tool-name",
        _spec("paths", {"/shops": {"get": {"operationId": "find-shops"}}}),
        [
            "lobs[claims].genai.tools[1].openapi: operationId 'find-shops' is not a tool name; "
            "allowed: a letter, then letters, digits and '_', 64 at most"
        ],
    ),
    (
        "hub-agent-model-above-classification",
        _hub_agent("model", "amazon.titan-embed-text-v2:0"),
        [
            "platform.hub.agents[0].model: model 'amazon.titan-embed-text-v2:0' is not a text "
            "model of the catalog approved for the hub's 'confidential' data; allowed: "
            "amazon.nova-pro-v1:0, amazon.nova-lite-v1:0"
        ],
    ),
    (
        "hub-agent-image-of-an-lob",
        _hub_agent("image", CLAIMS_IMAGE),
        [
            "platform.hub.agents[0].image: the image is in 555555555555/eu-west-1/"
            "claims-agents/claims-triage; allowed: the hub's agents' repository, in the home "
            "region, 888888888888.dkr.ecr.eu-west-1.amazonaws.com/hub-agents/policy-guide@"
            "sha256:..., where every environment's agent pulls it"
        ],
    ),
    (
        "hub-agent-unknown-tool",
        _hub_agent("tools", ["dictionary"]),
        [
            "platform.hub.agents[0].tools[0]: 'dictionary' is not a tool here; allowed: "
            "search-shared-policies"
        ],
    ),
    (
        "consumer-names-an-unknown-hub-agent",
        _set(lambda d: hub(d)["consumers"][0], "agents", ["interpreter"]),
        [
            "platform.hub.consumers[0].agents[0]: 'interpreter' is not in platform.hub.agents; "
            "allowed: policy-guide"
        ],
    ),
    (
        "hub-tool-searches-an-unknown-knowledge-base",
        _set(lambda d: hub(d)["tools"][0], "knowledge_base", "terms"),
        [
            "platform.hub.tools[0].knowledge_base: 'terms' is not a knowledge base here; "
            "allowed: claims-policies"
        ],
    ),
    (
        "identity-provider-not-a-discovery-url",
        _set(
            lambda d: d["organization"], "agent_identity_providers", ["https://login.example.com"]
        ),
        [
            "organization.agent_identity_providers[0]: 'https://login.example.com' is not an "
            "OpenID discovery URL, https://.../.well-known/openid-configuration; allowed: an "
            "OpenID discovery URL, https://.../.well-known/openid-configuration"
        ],
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_agent_settings_are_refused_with_their_path(
    edit: Callable[[Json], None], expected: list[str], tmp_path: Path
) -> None:
    data = example_data()
    edit(data)
    assert problems(data, tmp_path) == expected


def test_the_hub_has_no_api_tools(tmp_path: Path) -> None:
    data = example_data()
    tool = hub(data)["tools"][0]
    del tool["knowledge_base"]
    tool["openapi"] = api_tool(data)["openapi"]
    assert problems(data, tmp_path) == [
        "platform.hub.tools[0].openapi: an API tool's key is set by the LOB's ML engineers, and "
        "the hub has none (the platform team never holds an API's key); allowed: "
        "knowledge_base tools in the hub"
    ]


def test_a_consumer_of_hub_agents_has_an_application(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][2]["genai"]["use_cases"] = []
    assert problems(data, tmp_path) == [
        "platform.hub.consumers[1].agents: LOB 'research' has no use case whose application "
        "could invoke the hub's agents; allowed: agents for an LOB with genai.use_cases"
    ]


def test_the_workload_scp_fits_with_the_identity_providers(tmp_path: Path) -> None:
    data = example_data()
    data["organization"]["agent_identity_providers"] = [
        f"https://login{n}.example.com/{'tenant/' * 40}.well-known/openid-configuration"
        for n in range(10)
    ]
    [problem] = problems(data, tmp_path)
    assert problem.startswith(
        "organization.agent_identity_providers: the workload SCP would be "
    ), problem
    assert problem.endswith(
        "characters with these identity providers; allowed: at most 5120 (an SCP's quota): "
        "fewer or shorter discovery URLs"
    )
