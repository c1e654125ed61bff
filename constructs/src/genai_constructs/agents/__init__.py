"""Agents on Amazon Bedrock AgentCore: a governed runtime with its memory
(``GovernedAgent``), the tools gateway with its policy engine (``ToolGateway``) and the
platform's knowledge base search tool (``KnowledgeBaseSearchTool``)."""

from genai_constructs.agents.cedar import agent_tools_policy, assumed_role_pattern, tool_action
from genai_constructs.agents.gateway import ApiKey, IToolGateway, LambdaTool, ToolGateway
from genai_constructs.agents.knowledge_base_tool import (
    SEARCH_TOOL,
    KnowledgeBaseSearchTool,
    search_tool,
)
from genai_constructs.agents.runtime import GovernedAgent, IGovernedAgent, environment_variables

__all__ = [
    "SEARCH_TOOL",
    "ApiKey",
    "GovernedAgent",
    "IGovernedAgent",
    "IToolGateway",
    "KnowledgeBaseSearchTool",
    "LambdaTool",
    "ToolGateway",
    "agent_tools_policy",
    "assumed_role_pattern",
    "environment_variables",
    "search_tool",
    "tool_action",
]
