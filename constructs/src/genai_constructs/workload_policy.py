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
# A KMS key of the account the request is made in.
OWN_KEYS = "arn:*:kms:*:${aws:PrincipalAccount}:key/*"
_DISCOVERY_URL = re.compile(r"^https://\S+/\.well-known/openid-configuration$")


def agent_scp_statements(identity_providers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Deny agent gateways that authenticate nobody, that leave their tools to no policy
    engine in enforce mode, or that accept tokens of an identity provider not in
    ``identity_providers`` (their OpenID discovery URLs; none listed: every gateway
    authenticates with IAM); gateways and agent memory without a customer-managed key of
    their own account; agent runtimes, browsers and code interpreters outside a VPC.

    A negated operator is true where the request lacks the key, so a missing engine or key is
    denied too. The gateway keys are those AgentCore's developer guide documents for
    CreateGateway and UpdateGateway (security-gateway-condition-keys); ``KmsKeyArn`` on
    CreateMemory and ``subnets`` on the runtime actions are in the Service Authorization
    Reference.
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
        {
            "Sid": "DenyGatewaysWithoutAPolicyEngineThatEnforces",
            "Effect": "Deny",
            "Action": GATEWAY_CHANGES,
            "Resource": "*",
            "Condition": {"StringNotEquals": {"bedrock-agentcore:PolicyEngineMode": "ENFORCE"}},
        },
        {
            "Sid": "DenyGatewaysAndMemoryWithoutAKeyOfTheirAccount",
            "Effect": "Deny",
            "Action": [*GATEWAY_CHANGES, "bedrock-agentcore:CreateMemory"],
            "Resource": "*",
            "Condition": {"StringNotLike": {"bedrock-agentcore:KmsKeyArn": OWN_KEYS}},
        },
        {
            "Sid": "DenyGatewayIdentityProvidersNotApproved",
            "Effect": "Deny",
            "Action": GATEWAY_CHANGES,
            "Resource": "*",
            "Condition": providers,
        },
        deny_when_missing(
            "DenyAgentRuntimesOutsideAVpc",
            [
                "bedrock-agentcore:CreateAgentRuntime",
                "bedrock-agentcore:UpdateAgentRuntime",
                "bedrock-agentcore:CreateBrowser",
                "bedrock-agentcore:CreateCodeInterpreter",
            ],
            "bedrock-agentcore:subnets",
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
