"""The platform's agent tool ``search_knowledge_base``: passages of one knowledge base of the
LOB, for agents calling it through an AgentCore Gateway Lambda target.

The gateway invokes the function with the tool's arguments as the event (``query``, and
``results`` optional) and the tool's name, ``<target name>___<tool name>``, in the client
context's ``custom["bedrockAgentCoreToolName"]``. A direct invoke (a console test) has no
client context and is served too. As relied on from
https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/gateway-add-target-lambda.html
(Lambda function input format) and .../gateway-tool-naming.html.

The reply is JSON: ``{"passages": [{"text", "source", "score"}]}``, best first, or
``{"error"}`` for input it refuses (Bedrock is then not called) and for a failed search. The
logs hold the error code and counts, never the query or a passage.

Configuration (environment): ``KNOWLEDGE_BASE_ID``, and ``NUMBER_OF_RESULTS`` (1 to 10) for a
call without ``results``.

Runtime: Python 3.14, standard library and the boto3 shipped with Lambda.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from genai_constructs.handlers import retrieval
from genai_constructs.handlers.retrieval import (
    MAX_ATTEMPTS,
    RETRIEVE_RETRIED,
    bounded_int,
    is_throttling,
    passages_of,
    required,
    with_retries,
)

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

TOOL = "search_knowledge_base"
TOOL_NAME_KEY = "bedrockAgentCoreToolName"
# The gateway names a tool <target name>___<tool name>.
TOOL_SUFFIX = f"___{TOOL}"
MAX_QUERY_CHARS = 1000
MAX_RESULTS = 10
BUSY = "the knowledge base is busy; try again"
FAILED = "the knowledge base could not be searched"


class InputError(ValueError):
    """A call the tool refuses, with the message the agent is given."""


@dataclass(frozen=True)
class ToolSettings:
    knowledge_base_id: str
    number_of_results: int
    """The passages returned when a call does not say how many."""

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> ToolSettings:
        return cls(
            knowledge_base_id=required(env, "KNOWLEDGE_BASE_ID"),
            number_of_results=bounded_int(env, "NUMBER_OF_RESULTS", 1, MAX_RESULTS),
        )


def handler(event: Any, context: Any) -> dict[str, Any]:
    return search(event, context, client=retrieval.agent_client(), env=os.environ, sleep=time.sleep)


def search(
    event: Any,
    context: Any,
    *,
    client: Any,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    settings = ToolSettings.from_environment(env)
    try:
        check_tool(context)
        query, count = parse_input(event, settings)
    except InputError as refused:
        # The messages hold lengths and the tool's name, never the query.
        logger.info("refused: %s", refused)
        return {"error": str(refused)}
    try:
        response = with_retries(
            lambda: client.retrieve(
                knowledgeBaseId=settings.knowledge_base_id,
                retrievalQuery={"text": query},
                retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": count}},
            ),
            RETRIEVE_RETRIED,
            sleep,
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        # Only the code: a service message may quote the query.
        if is_throttling(error, RETRIEVE_RETRIED):
            logger.warning("Retrieve still throttled after %d attempts: %s", MAX_ATTEMPTS, code)
            return {"error": BUSY}
        logger.error("Retrieve failed: %s", code)
        return {"error": FAILED}
    except BotoCoreError as error:
        logger.error("Retrieve failed: %s", type(error).__name__)
        return {"error": FAILED}
    found = passages_of(response)
    logger.info("searched: query_chars=%d results=%d passages=%d", len(query), count, len(found))
    return {"passages": found}


def check_tool(context: Any) -> None:
    """Refuses a call through the gateway for another tool than this one."""
    client_context = getattr(context, "client_context", None)
    if client_context is None:
        return
    custom = getattr(client_context, "custom", None)
    name = custom.get(TOOL_NAME_KEY) if isinstance(custom, dict) else None
    if not isinstance(name, str) or not name.endswith(TOOL_SUFFIX):
        raise InputError(f"unknown tool {name!r}; this function serves {TOOL} only")


def parse_input(event: Any, settings: ToolSettings) -> tuple[str, int]:
    """The query, stripped, and the number of passages to return."""
    if not isinstance(event, dict):
        raise InputError("the tool's input must be a JSON object with 'query'")
    query = event.get("query")
    if query is None:
        raise InputError("'query' is required: the text to search the knowledge base for")
    if not isinstance(query, str):
        raise InputError("'query' must be a string")
    text = query.strip()
    if not text:
        raise InputError("'query' is empty; give the text to search the knowledge base for")
    if len(text) > MAX_QUERY_CHARS:
        raise InputError(f"'query' is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    return text, result_count(event.get("results"), settings)


def result_count(value: Any, settings: ToolSettings) -> int:
    if value is None:
        return settings.number_of_results
    # JSON Schema counts 3.0 as an integer; bool is an int to Python, not to JSON.
    if isinstance(value, float) and value.is_integer():
        count = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        count = value
    else:
        raise InputError(f"'results' must be an integer from 1 to {MAX_RESULTS}")
    if not 1 <= count <= MAX_RESULTS:
        raise InputError(f"'results' is {count}; it must be from 1 to {MAX_RESULTS}")
    return count
