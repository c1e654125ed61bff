"""Agents and their tools: an LOB's (``genai.agents``, ``genai.tools``) and the hub's shared
ones (``platform.hub.agents``, ``platform.hub.tools``).

An agent is an Amazon Bedrock AgentCore runtime running the LOB's container image under a
role of its own. It calls its model with the LOB's guardrail, keeps its memory under the
LOB's key, and reaches its tools only through the environment's gateway, whose policy engine
allows it its own tools and nothing else.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from blueprint.model.fields import Model, described
from blueprint.model.sections.values import UNIQUE_ITEMS, Slug, unique

# An ECR image by tag or digest: account.dkr.ecr.region.amazonaws.com/repository[:tag|@sha256:].
ECR_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9][a-z0-9._/-]{1,255}"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"
)
# What an OpenAPI operation's id becomes: part of the tool's name the policy engine allows.
OPERATION_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _ecr_image(value: str) -> str:
    if not ECR_IMAGE.match(value):
        raise ValueError(
            f"'{value}' is not an ECR image; allowed: "
            "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG or ...@sha256:DIGEST"
        )
    return value


EcrImage = Annotated[
    str,
    AfterValidator(_ecr_image),
    described(ECR_IMAGE.pattern, "an ECR image URI with a tag or a digest"),
]


class ApiKeyLocation(StrEnum):
    HEADER = "header"
    QUERY_PARAMETER = "query-parameter"


class ApiKeyConfig(Model):
    """The API key the gateway sends to the API. The platform keeps it in a Secrets Manager
    secret under the LOB's key; the LOB sets its value once, and no agent can read it."""

    location: ApiKeyLocation = ApiKeyLocation.HEADER
    """Where the key goes."""
    parameter: Annotated[str, Field(min_length=1, max_length=64)] = "x-api-key"
    """The header's or query parameter's name."""


class OpenApiTool(Model):
    """An HTTPS API described by an OpenAPI 3 document: each operation a tool."""

    spec: dict[str, Any]
    """The OpenAPI 3 document, inline: an https server and operations with an operationId."""
    api_key: ApiKeyConfig = ApiKeyConfig()
    """The outbound credential the gateway holds for the agents."""

    @model_validator(mode="after")
    def _is_an_https_openapi_3_document(self) -> OpenApiTool:
        version = self.spec.get("openapi")
        if not isinstance(version, str) or not version.startswith("3."):
            raise ValueError(
                "spec is not an OpenAPI 3 document; allowed: a mapping with openapi: 3.0.x or 3.1.x"
            )
        servers = self.spec.get("servers")
        urls = (
            [s.get("url") for s in servers if isinstance(s, dict)]
            if isinstance(servers, list)
            else []
        )
        if not urls or not all(isinstance(u, str) and u.startswith("https://") for u in urls):
            raise ValueError(
                "spec.servers must name the API's https URL; allowed: servers: [{url: https://...}]"
            )
        if not self.operation_ids:
            raise ValueError(
                "spec has no operation with an operationId; allowed: paths whose operations have "
                "an operationId such as findRepairShops"
            )
        bad = [o for o in self.operation_ids if not OPERATION_ID.match(o)]
        if bad:
            raise ValueError(
                f"operationId {bad[0]!r} is not a tool name; allowed: a letter, then letters, "
                "digits and '_', 64 at most"
            )
        return self

    @property
    def operation_ids(self) -> list[str]:
        paths = self.spec.get("paths")
        if not isinstance(paths, dict):
            return []
        return [
            str(operation["operationId"])
            for item in paths.values()
            if isinstance(item, dict)
            for method, operation in item.items()
            if method in HTTP_METHODS and isinstance(operation, dict) and "operationId" in operation
        ]


class ToolConfig(Model):
    """A tool behind the environment's gateway: a search of one of its knowledge bases (a
    function of the platform) or an HTTPS API (OpenAPI)."""

    name: Slug
    """The tool (the gateway's target)."""
    description: Annotated[str, Field(min_length=10, max_length=200)]
    """What the tool does, as the agent's model reads it."""
    knowledge_base: Slug | None = None
    """Searches this knowledge base of the LOB (or of the hub, for a hub tool)."""
    openapi: OpenApiTool | None = None
    """Calls this API."""

    @model_validator(mode="after")
    def _one_kind(self) -> ToolConfig:
        if (self.knowledge_base is None) == (self.openapi is None):
            raise ValueError(
                "a tool is either a knowledge base search or an API; allowed: exactly one of "
                "knowledge_base and openapi"
            )
        return self


class AgentBase(Model):
    name: Slug
    """The agent; its runtime, role, memory and policy are named after it."""
    image: EcrImage
    """The agent's container image (the LOB's code), in the ECR of one of the LOB's accounts
    in the environment's region; the runtime pulls it with the agent's role."""
    tools: Annotated[list[Slug], AfterValidator(unique), UNIQUE_ITEMS] = []
    """Its tools, by name; the gateway's policy engine allows it these only."""
    memory_days: Annotated[int, Field(ge=3, le=365)] = 30
    """How long its memory keeps events (AgentCore allows 3 to 365 days)."""


class AgentConfig(AgentBase):
    """An agent of the LOB, in every environment of its use case."""

    use_case: Slug
    """The use case it serves: it calls that use case's model through its inference profile
    (counted in its tokens and budget), retrieves from its knowledge bases, and only that use
    case's application may invoke it."""


class HubAgentConfig(AgentBase):
    """A shared agent of the hub; consumers that list it invoke it through their hub role."""

    model: str
    """A text model of the catalog approved for the hub's classification."""
