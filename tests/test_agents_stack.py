"""The example's agents as synthesized: claims' agent and its two tools in each claims
environment, the hub's agent that research invokes, the VPC endpoints agents call, the
published IDs, and the organization policy on gateways and memory. Each gateway's Cedar
policy, as the template writes it, is decided by Cedar's engine (cedarpy)."""

from __future__ import annotations

from typing import Any

import cedarpy
import pytest
from aws_cdk.assertions import Match

from tests.conftest import Synthesized, joined

GATEWAY = "arn:aws:bedrock-agentcore:eu-west-1:555555555555:gateway/claims-nonprod-tools-a1b2c3d4e5"
TRIAGE = "arn:aws:sts::555555555555:assumed-role/example-corp-agent-claims-triage/s1"


def _resources(example: Synthesized, stack: str, kind: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in example.template_json(stack)["Resources"].items()
        if resource["Type"] == kind
    }


@pytest.mark.parametrize("environment", ["interactive", "nonprod", "prod"])
def test_each_claims_environment_runs_its_agent_and_tools(
    example: Synthesized, environment: str
) -> None:
    stack = f"claims-{environment}-genai"
    template = example.template(stack)
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "Name": f"claims-{environment}-tools",
            "AuthorizerType": "AWS_IAM",
            "KmsKeyArn": Match.any_value(),
            "PolicyEngineConfiguration": {"Arn": Match.any_value(), "Mode": "ENFORCE"},
        },
    )
    targets = _resources(example, stack, "AWS::BedrockAgentCore::GatewayTarget")
    assert sorted(t["Properties"]["Name"] for t in targets.values()) == [
        "repair-shops",
        "search-policies",
    ]
    [runtime] = _resources(example, stack, "AWS::BedrockAgentCore::Runtime").values()
    properties = runtime["Properties"]
    assert properties["NetworkConfiguration"]["NetworkMode"] == "VPC"
    account = example.assembly.get_stack_by_name(stack).environment.account
    assert properties["RoleArn"] == f"arn:aws:iam::{account}:role/example-corp-agent-claims-triage"
    variables = properties["EnvironmentVariables"]
    # Its model is its use case's profile: its tokens count in the use case's budget.
    assert joined(variables["MODEL_ARN"]) == (
        f"<{example.marked(stack, 'profile/claims-assistant')}.InferenceProfileArn>"
    )
    assert set(variables) == {
        "MODEL_ARN",
        "GUARDRAIL_ARN",
        "GUARDRAIL_VERSION",
        "GATEWAY_URL",
        "KNOWLEDGE_BASES",
        "MEMORY_ID",
    }
    [memory] = _resources(example, stack, "AWS::BedrockAgentCore::Memory").values()
    assert memory["Properties"]["EventExpiryDuration"] == 30
    assert "EncryptionKeyArn" in memory["Properties"]


def test_only_the_use_cases_application_invokes_the_agent(example: Synthesized) -> None:
    stack = "claims-nonprod-genai"
    policies = _resources(example, stack, "AWS::IAM::ManagedPolicy")
    [invokers] = [p for i, p in policies.items() if i.startswith("AgentClaimsTriageInvokers")]
    assert invokers["Properties"]["Roles"] == ["example-corp-app-claims-assistant"]
    [statement] = invokers["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "bedrock-agentcore:InvokeAgentRuntime"


def _statement(example: Synthesized, stack: str) -> str:
    [policy] = _resources(example, stack, "AWS::BedrockAgentCore::Policy").values()
    text = joined(policy["Properties"]["Definition"]["Cedar"]["Statement"])
    gateway = example.marked(stack, "agent-gateway/tools")
    return text.replace(f"<{gateway}.GatewayArn>", GATEWAY)


def _decide(policy: str, caller: str, action: str) -> str:
    request = {
        "principal": f'AgentCore::IamEntity::"{caller}"',
        "action": f'AgentCore::Action::"{action}"',
        "resource": f'AgentCore::Gateway::"{GATEWAY}"',
        "context": {},
    }
    entities = [
        {
            "uid": {"type": "AgentCore::IamEntity", "id": caller},
            "attrs": {"id": caller},
            "parents": [],
        },
        {"uid": {"type": "AgentCore::Gateway", "id": GATEWAY}, "attrs": {}, "parents": []},
    ]
    return str(cedarpy.is_authorized(request, policy, entities).decision.value)


@pytest.mark.parametrize(
    ("caller", "action", "decision"),
    [
        (TRIAGE, "search-policies___search_knowledge_base", "Allow"),
        (TRIAGE, "repair-shops___findRepairShops", "Allow"),
        (TRIAGE, "repair-shops___deleteRepairShop", "Deny"),
        # The application, another role of the account, the platform admin.
        (
            "arn:aws:sts::555555555555:assumed-role/example-corp-app-claims-assistant/s",
            "search-policies___search_knowledge_base",
            "Deny",
        ),
        (
            "arn:aws:sts::555555555555:assumed-role/example-corp-platform-admin/s",
            "repair-shops___findRepairShops",
            "Deny",
        ),
        (
            "arn:aws:sts::666666666666:assumed-role/example-corp-agent-claims-triage/s",
            "repair-shops___findRepairShops",
            "Deny",
        ),
    ],
)
def test_the_policy_engine_allows_the_agent_its_tools_only(
    example: Synthesized, caller: str, action: str, decision: str
) -> None:
    assert _decide(_statement(example, "claims-nonprod-genai"), caller, action) == decision


def test_the_hub_runs_the_shared_agent_for_research(example: Synthesized) -> None:
    stack = "platform-hub-genai"
    [runtime] = _resources(example, stack, "AWS::BedrockAgentCore::Runtime").values()
    # A profile of its own: the hub's agent serves no LOB use case.
    assert joined(runtime["Properties"]["EnvironmentVariables"]["MODEL_ARN"]) == (
        f"<{example.marked(stack, 'profile/agent-policy-guide')}.InferenceProfileArn>"
    )
    policies = _resources(example, stack, "AWS::IAM::ManagedPolicy")
    [invokers] = [p for i, p in policies.items() if i.startswith("AgentPolicyGuideInvokers")]
    assert invokers["Properties"]["Roles"] == ["example-corp-app-research"]


def test_agents_reach_their_model_memory_and_tools_through_endpoints(example: Synthesized) -> None:
    endpoints = {
        joined(e["Properties"]["ServiceName"])
        for e in _resources(example, "claims-nonprod-foundation", "AWS::EC2::VPCEndpoint").values()
    }
    assert {
        "com.amazonaws.eu-west-1.bedrock-runtime",
        "com.amazonaws.eu-west-1.bedrock-agentcore",
        "com.amazonaws.eu-west-1.bedrock-agentcore.gateway",
    } <= endpoints


def test_the_application_finds_its_agent_under_the_published_path(example: Synthesized) -> None:
    parameters = {
        p["Properties"]["Name"]
        for p in _resources(example, "claims-prod-genai", "AWS::SSM::Parameter").values()
    }
    assert {
        "/genai-platform/claims/prod/agents/claims-triage/runtime-arn",
        "/genai-platform/claims/prod/agents/tools-gateway/url",
        "/genai-platform/claims/prod/agents/tools/repair-shops/api-key-secret",
    } <= parameters


def test_the_workload_scp_denies_open_gateways_and_memory_without_a_key(
    example: Synthesized,
) -> None:
    [policy] = [
        p
        for p in _resources(example, "organization-policies", "AWS::Organizations::Policy").values()
        if p["Properties"]["Name"].endswith("workload-isolation")
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["Content"]["Statement"]}
    assert statements["DenyGatewaysWithoutAuthentication"]["Condition"] == {
        "StringEquals": {"bedrock-agentcore:GatewayAuthorizerType": "NONE"}
    }
    # A missing engine or key is denied too: a negated operator holds where the key is absent.
    assert statements["DenyGatewaysWithoutAPolicyEngineThatEnforces"]["Condition"] == {
        "StringNotEquals": {"bedrock-agentcore:PolicyEngineMode": "ENFORCE"}
    }
    assert statements["DenyGatewaysAndMemoryWithoutAKeyOfTheirAccount"] == {
        "Sid": "DenyGatewaysAndMemoryWithoutAKeyOfTheirAccount",
        "Effect": "Deny",
        "Action": [
            "bedrock-agentcore:CreateGateway",
            "bedrock-agentcore:UpdateGateway",
            "bedrock-agentcore:CreateMemory",
        ],
        "Resource": "*",
        "Condition": {
            "StringNotLike": {
                "bedrock-agentcore:KmsKeyArn": "arn:*:kms:*:${aws:PrincipalAccount}:key/*"
            }
        },
    }
    # No identity provider is approved: no gateway takes tokens.
    assert statements["DenyGatewayIdentityProvidersNotApproved"]["Condition"] == {
        "Null": {"bedrock-agentcore:DiscoveryUrl": "false"}
    }
    assert statements["DenyAgentRuntimesOutsideAVpc"]["Condition"] == {
        "Null": {"bedrock-agentcore:subnets": "true"}
    }
    assert "888888888888" in policy["Properties"]["TargetIds"]


def test_the_agents_image_is_kept_in_nonprod_and_pulled_by_its_other_environments(
    example: Synthesized,
) -> None:
    [repository] = _resources(example, "claims-nonprod-genai", "AWS::ECR::Repository").values()
    properties = repository["Properties"]
    assert properties["RepositoryName"] == "claims-agents/claims-triage"
    assert properties["ImageTagMutability"] == "IMMUTABLE"
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    [statement] = properties["RepositoryPolicyText"]["Statement"]
    assert statement["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": [
                "arn:aws:iam::444444444444:role/example-corp-agent-claims-triage",
                "arn:aws:iam::666666666666:role/example-corp-agent-claims-triage",
            ]
        }
    }
    for stack in ("claims-interactive-genai", "claims-prod-genai"):
        assert _resources(example, stack, "AWS::ECR::Repository") == {}
    [hub] = _resources(example, "platform-hub-genai", "AWS::ECR::Repository").values()
    assert hub["Properties"]["RepositoryName"] == "hub-agents/policy-guide"
    assert "RepositoryPolicyText" not in hub["Properties"]
