"""The Cedar policies of a tools gateway's policy engine: each agent's role may call its own
tools and nothing else (no permit, no call: Cedar denies by default).

On a gateway that authenticates callers with IAM, the principal is an ``AgentCore::IamEntity``
whose ``id`` is the caller's ARN (an agent's runtime calls as
``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``), each tool is an action named
``<target>___<tool>`` and the resource is the gateway
(docs.aws.amazon.com/bedrock-agentcore/latest/devguide/policy-scope.html and
policy-conditions.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# The target and the tool's own name, as the gateway joins them.
TOOL_SEPARATOR = "___"
_CEDAR_TEXT = re.compile(r'^[^"\\]*$')


def tool_action(target: str, tool: str) -> str:
    """The Cedar action of ``tool`` behind the gateway target ``target``."""
    return f"{target}{TOOL_SEPARATOR}{tool}"


def agent_tools_policy(*, gateway_arn: str, caller_arn_pattern: str, actions: Sequence[str]) -> str:
    """Permit callers whose ARN matches ``caller_arn_pattern`` (Cedar ``like``, ``*`` any
    text) the tool ``actions`` on the gateway ``gateway_arn``."""
    if not actions:
        raise ValueError("agent_tools_policy: an agent without tools needs no policy")
    for text in (gateway_arn, caller_arn_pattern, *actions):
        if not _CEDAR_TEXT.match(text):
            raise ValueError(f"agent_tools_policy: {text!r} holds a quote or a backslash")
    listed = ", ".join(f'AgentCore::Action::"{action}"' for action in actions)
    return (
        "permit(\n"
        "  principal is AgentCore::IamEntity,\n"
        f"  action in [{listed}],\n"
        f'  resource == AgentCore::Gateway::"{gateway_arn}"\n'
        ") when {\n"
        f'  principal.id like "{caller_arn_pattern}"\n'
        "};"
    )


def assumed_role_pattern(partition: str, account: str, role_name: str) -> str:
    """Every session of the role ``role_name``, as the gateway names its caller."""
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/*"
