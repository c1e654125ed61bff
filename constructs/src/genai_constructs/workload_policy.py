"""The organization policy of the accounts where workloads run (``workload_scp``): the
SageMaker SCP and the agents' statements in one policy, as every workload account already
carries five SCPs (``genai_constructs.organization`` holds the others)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from genai_constructs.organization import (
    PolicyDocument,
    deny_when_missing,
    policy_document,
    sagemaker_scp,
)

GATEWAY_CHANGES = ["bedrock-agentcore:CreateGateway", "bedrock-agentcore:UpdateGateway"]
_DISCOVERY_URL = re.compile(r"^https://\S+/\.well-known/openid-configuration$")


def agent_scp_statements(identity_providers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Deny agent gateways that authenticate nobody or hold their data under an AWS owned key,
    gateways that accept tokens of an identity provider not in ``identity_providers`` (their
    OpenID discovery URLs; none listed: every gateway authenticates with IAM), and agent
    memory without a customer-managed key.

    The gateway keys are those AgentCore's developer guide documents for CreateGateway and
    UpdateGateway (security-gateway-condition-keys); ``bedrock-agentcore:KmsKeyArn`` on
    CreateMemory is in the Service Authorization Reference.
    """
    for url in identity_providers:
        if not _DISCOVERY_URL.match(url):
            raise ValueError(
                f"agent_scp_statements: '{url}' is not an OpenID discovery URL "
                "(https://.../.well-known/openid-configuration)"
            )
    providers: dict[str, Any] = {"Null": {"bedrock-agentcore:DiscoveryUrl": "false"}}
    if identity_providers:
        providers["StringNotEquals"] = {"bedrock-agentcore:DiscoveryUrl": list(identity_providers)}
    return [
        {
            "Sid": "DenyGatewaysWithoutAuthentication",
            "Effect": "Deny",
            "Action": GATEWAY_CHANGES,
            "Resource": "*",
            "Condition": {"StringEquals": {"bedrock-agentcore:GatewayAuthorizerType": "NONE"}},
        },
        deny_when_missing(
            "DenyGatewaysWithoutCustomerKey", GATEWAY_CHANGES, "bedrock-agentcore:KmsKeyArn"
        ),
        {
            "Sid": "DenyGatewayIdentityProvidersNotApproved",
            "Effect": "Deny",
            "Action": GATEWAY_CHANGES,
            "Resource": "*",
            "Condition": providers,
        },
        deny_when_missing(
            "DenyAgentMemoryWithoutCustomerKey",
            ["bedrock-agentcore:CreateMemory"],
            "bedrock-agentcore:KmsKeyArn",
        ),
    ]


def workload_scp(
    *, require_volume_key: bool = True, agent_identity_providers: Sequence[str] = ()
) -> PolicyDocument:
    """The SCP of the accounts where workloads run: ``sagemaker_scp`` and
    ``agent_scp_statements`` in one policy (an account carries at most five SCPs)."""
    return policy_document(
        *sagemaker_scp(require_volume_key=require_volume_key)["Statement"],
        *agent_scp_statements(agent_identity_providers),
    )
