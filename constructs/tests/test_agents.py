"""The agent constructs: the tools gateway (IAM, its key, the policy engine in enforce mode,
Lambda and API tools, each agent's Cedar policy), the governed agent (its runtime in the VPC,
its memory under the key, its role's own policy) and the knowledge base search tool; the
validation of their props, the importers and the grants. The Cedar policies are decided by
Cedar's own engine (cedarpy), as AgentCore's policy engine would."""

from __future__ import annotations

from typing import Any

import cedarpy
import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.agents import (
    ApiKey,
    GovernedAgent,
    KnowledgeBaseSearchTool,
    LambdaTool,
    ToolGateway,
    agent_tools_policy,
    assumed_role_pattern,
    environment_variables,
    tool_action,
)
from genai_constructs.knowledge_base import GovernedKnowledgeBase

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/triage-agent:1.0"
KB_ARN = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/KBPOLICY01"
GATEWAY_ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/claims-tools-abcdefghij"
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Repair shops", "version": "1"},
    "servers": [{"url": "https://repairs.example.com"}],
    "paths": {"/shops": {"get": {"operationId": "findRepairShops"}}},
}
RETENTION = logs.RetentionDays.ONE_YEAR


class Parts:
    """A stack with a key, a VPC, a gateway, a search tool, an API tool and one agent."""

    def __init__(self, *, enforce: bool = True) -> None:
        self.stack = stack = new_stack()
        self.key = kms.Key(stack, "Key", enable_key_rotation=True)
        self.vpc = ec2.Vpc(
            stack,
            "Vpc",
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        self.gateway = ToolGateway(
            stack, "Gateway", name="claims-tools", encryption_key=self.key, enforce=enforce
        )
        self.search = KnowledgeBaseSearchTool(
            stack,
            "Search",
            name="search-policies",
            description="Searches the policy wording.",
            knowledge_base=GovernedKnowledgeBase.from_knowledge_base_arn(stack, "Kb", KB_ARN),
            gateway=self.gateway,
            vpc=self.vpc,
            encryption_key=self.key,
            log_retention=RETENTION,
        )
        self.secret = self.gateway.add_openapi_tool(
            "repair-shops", SPEC, ["findRepairShops"], ApiKey(), secret_name="claims/key"
        )
        self.role = iam.Role(
            stack, "AgentRole", assumed_by=iam.ServicePrincipal("bedrock-agentcore.amazonaws.com")
        )
        self.agent = GovernedAgent(
            stack,
            "Agent",
            name="claims_triage",
            role=self.role,
            image=IMAGE,
            vpc=self.vpc,
            encryption_key=self.key,
            logs_key=self.key,
            memory_days=30,
            log_retention=RETENTION,
            environment={"MODEL_ARN": "profile"},
        )
        self.gateway.allow_tools(
            "claims-triage", "triage-role", ["search-policies", "repair-shops"]
        )

    def template(self) -> Template:
        return Template.from_stack(self.stack)


@pytest.fixture(scope="module")
def parts() -> Parts:
    return Parts()


def test_the_gateway_authenticates_with_iam_under_its_key_and_enforces_its_policies(
    parts: Parts,
) -> None:
    template = parts.template()
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "Name": "claims-tools",
            "AuthorizerType": "AWS_IAM",
            "ProtocolType": "MCP",
            "KmsKeyArn": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
            "PolicyEngineConfiguration": {
                "Arn": {
                    "Fn::GetAtt": [Match.string_like_regexp("PolicyEngine"), "PolicyEngineArn"]
                },
                "Mode": "ENFORCE",
            },
        },
    )
    template.has_resource_properties(
        "AWS::BedrockAgentCore::PolicyEngine",
        {"Name": "claims_tools", "EncryptionKeyArn": Match.any_value()},
    )


def test_log_only_when_not_enforced() -> None:
    Parts(enforce=False).template().has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {"PolicyEngineConfiguration": {"Arn": Match.any_value(), "Mode": "LOG_ONLY"}},
    )


def test_the_search_tool_is_a_lambda_target_called_with_the_gateways_role(parts: Parts) -> None:
    template = parts.template()
    template.has_resource_properties(
        "AWS::BedrockAgentCore::GatewayTarget",
        {
            "Name": "search-policies",
            "CredentialProviderConfigurations": [{"CredentialProviderType": "GATEWAY_IAM_ROLE"}],
            "TargetConfiguration": {
                "Mcp": {
                    "Lambda": {
                        "LambdaArn": Match.any_value(),
                        "ToolSchema": {
                            "InlinePayload": [
                                Match.object_like(
                                    {
                                        "Name": "search_knowledge_base",
                                        "InputSchema": Match.object_like(
                                            {"Type": "object", "Required": ["query"]}
                                        ),
                                    }
                                )
                            ]
                        },
                    }
                }
            },
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "genai_constructs.handlers.agent_tools.index.handler",
            "Environment": {
                "Variables": {"KNOWLEDGE_BASE_ID": "KBPOLICY01", "NUMBER_OF_RESULTS": "5"}
            },
        },
    )


def test_an_api_tool_sends_the_key_the_gateway_holds(parts: Parts) -> None:
    template = parts.template()
    template.has_resource_properties(
        "AWS::BedrockAgentCore::ApiKeyCredentialProvider",
        {
            "ApiKeySecretSource": "EXTERNAL",
            "ApiKeySecretConfig": {
                "SecretId": {"Ref": Match.string_like_regexp("ApiKeyRepairShops")},
                "JsonKey": "api_key",
            },
        },
    )
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "claims/key",
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
        },
    )
    template.has_resource_properties(
        "AWS::BedrockAgentCore::GatewayTarget",
        {
            "Name": "repair-shops",
            "CredentialProviderConfigurations": [
                {
                    "CredentialProviderType": "API_KEY",
                    "CredentialProvider": {
                        "ApiKeyCredentialProvider": {
                            "ProviderArn": Match.any_value(),
                            "CredentialLocation": "HEADER",
                            "CredentialParameterName": "x-api-key",
                        }
                    },
                }
            ],
        },
    )


def test_the_agent_runs_in_the_vpc_with_its_memory_under_the_key(parts: Parts) -> None:
    template = parts.template()
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Runtime",
        {
            "AgentRuntimeName": "claims_triage",
            "AgentRuntimeArtifact": {"ContainerConfiguration": {"ContainerUri": IMAGE}},
            "NetworkConfiguration": {
                "NetworkMode": "VPC",
                "NetworkModeConfig": {
                    "SecurityGroups": Match.any_value(),
                    "Subnets": Match.any_value(),
                },
            },
            "EnvironmentVariables": {"MODEL_ARN": "profile", "MEMORY_ID": Match.any_value()},
        },
    )
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Memory",
        {
            "EventExpiryDuration": 30,
            "EncryptionKeyArn": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
        },
    )
    statements = _policy_statements(template, "AgentPermissions")
    assert (
        statements["PullItsImage"]["Resource"]
        == "arn:aws:ecr:eu-west-1:123456789012:repository/triage-agent"
    )
    assert set(statements["UseItsMemory"]["Action"]) >= {
        "bedrock-agentcore:CreateEvent",
        "bedrock-agentcore:RetrieveMemoryRecords",
    }


def test_each_agent_gets_a_cedar_policy_of_its_tools(parts: Parts) -> None:
    policies = parts.template().find_resources("AWS::BedrockAgentCore::Policy")
    [policy] = policies.values()
    statement = _joined(policy["Properties"]["Definition"]["Cedar"]["Statement"])
    assert 'AgentCore::Action::"search-policies___search_knowledge_base"' in statement
    assert 'AgentCore::Action::"repair-shops___findRepairShops"' in statement
    assert policy["Properties"]["ValidationMode"] == "FAIL_ON_ANY_FINDINGS"
    # Created after the targets, whose tools the policy names.
    assert len(policy["DependsOn"]) == 2


def _cedar(policy: str, caller: str, action: str, gateway: str = GATEWAY_ARN) -> str:
    request = {
        "principal": f'AgentCore::IamEntity::"{caller}"',
        "action": f'AgentCore::Action::"{action}"',
        "resource": f'AgentCore::Gateway::"{gateway}"',
        "context": {},
    }
    entities = [
        {
            "uid": {"type": "AgentCore::IamEntity", "id": caller},
            "attrs": {"id": caller},
            "parents": [],
        },
        {"uid": {"type": "AgentCore::Gateway", "id": gateway}, "attrs": {}, "parents": []},
    ]
    return str(cedarpy.is_authorized(request, policy, entities).decision.value)


AGENT_SESSION = "arn:aws:sts::123456789012:assumed-role/claims-agent-triage/session-1"
POLICY = agent_tools_policy(
    gateway_arn=GATEWAY_ARN,
    caller_arn_pattern=assumed_role_pattern("aws", "123456789012", "claims-agent-triage"),
    actions=[tool_action("search-policies", "search_knowledge_base")],
)


@pytest.mark.parametrize(
    ("caller", "action", "gateway", "decision"),
    [
        (AGENT_SESSION, "search-policies___search_knowledge_base", GATEWAY_ARN, "Allow"),
        # Another agent's role, the role's name as a prefix of another's, another account.
        (
            "arn:aws:sts::123456789012:assumed-role/claims-agent-other/s",
            "search-policies___search_knowledge_base",
            GATEWAY_ARN,
            "Deny",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/claims-agent-triage-2/s",
            "search-policies___search_knowledge_base",
            GATEWAY_ARN,
            "Deny",
        ),
        (
            "arn:aws:sts::999999999999:assumed-role/claims-agent-triage/s",
            "search-policies___search_knowledge_base",
            GATEWAY_ARN,
            "Deny",
        ),
        # A tool it is not given, and its tool on another gateway.
        (AGENT_SESSION, "repair-shops___findRepairShops", GATEWAY_ARN, "Deny"),
        (AGENT_SESSION, "search-policies___search_knowledge_base", GATEWAY_ARN + "x", "Deny"),
    ],
)
def test_cedar_allows_each_agent_its_own_tools_only(
    caller: str, action: str, gateway: str, decision: str
) -> None:
    assert _cedar(POLICY, caller, action, gateway) == decision


def test_cedar_text_is_refused_when_it_could_break_out_of_a_string() -> None:
    with pytest.raises(ValueError, match="holds a quote or a backslash"):
        agent_tools_policy(gateway_arn='x" || true || "', caller_arn_pattern="*", actions=["a"])
    with pytest.raises(ValueError, match="an agent without tools needs no policy"):
        agent_tools_policy(gateway_arn=GATEWAY_ARN, caller_arn_pattern="*", actions=[])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda s, k, v: ToolGateway(s, "G", name="bad--name", encryption_key=k),
            "is not a gateway name",
        ),
        (
            lambda s, k, v: GovernedAgent(s, "A", **_agent_props(k, v, name="1agent")),
            "is not a runtime name",
        ),
        (
            lambda s, k, v: GovernedAgent(s, "A", **_agent_props(k, v, memory_days=2)),
            "outside AgentCore's 3 to 365 days",
        ),
        (
            lambda s, k, v: GovernedAgent(s, "A", **_agent_props(k, v, image="nginx:latest")),
            "is not an ECR image",
        ),
        (
            lambda s, k, v: ToolGateway.from_gateway_arn(s, "I", "arn:aws:s3:::bucket"),
            "is not a gateway ARN",
        ),
        (
            lambda s, k, v: GovernedAgent.from_agent_runtime_arn(s, "I", "arn:aws:s3:::bucket"),
            "is not an agent runtime ARN",
        ),
    ],
)
def test_props_are_validated(build: Any, message: str) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="I", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    with pytest.raises(ValueError, match=message):
        build(stack, key, vpc)


def test_a_policy_names_tools_of_the_gateway_and_a_target_is_added_once() -> None:
    stack = new_stack()
    gateway = ToolGateway(stack, "G", name="tools", encryption_key=kms.Key(stack, "Key"))
    function = lambda_.Function.from_function_arn(
        stack, "F", "arn:aws:lambda:eu-west-1:123456789012:function:tool"
    )
    gateway.add_lambda_tool(
        "lookup", function, [LambdaTool("find", "Finds things.", {"type": "object"})]
    )
    with pytest.raises(ValueError, match="'other' is no tool of this gateway; allowed: lookup"):
        gateway.allow_tools("agent", "role", ["other"])
    with pytest.raises(ValueError, match="target 'lookup' is added twice"):
        gateway.add_lambda_tool("lookup", function, [])
    gateway.allow_tools("agent", "role", ["lookup___find"])
    [policy] = Template.from_stack(stack).find_resources("AWS::BedrockAgentCore::Policy").values()
    assert 'AgentCore::Action::"lookup___find"' in _joined(
        policy["Properties"]["Definition"]["Cedar"]["Statement"]
    )


def test_the_grants_and_importers() -> None:
    stack = new_stack()
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    imported = GovernedAgent.from_agent_runtime_arn(
        stack,
        "Agent",
        "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/claims_triage-abcdefghij",
    )
    imported.grant_invoke(caller)
    ToolGateway.from_gateway_arn(stack, "Gateway", GATEWAY_ARN).grant_invoke(caller)
    statements = _policy_statements(
        Template.from_stack(stack), "CallerGenAiConstructsGrants", by="Action"
    )
    assert statements["bedrock-agentcore:InvokeAgentRuntime"]["Resource"] == [
        "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/claims_triage-abcdefghij",
        "arn:aws:bedrock-agentcore:eu-west-1:123456789012:runtime/claims_triage-abcdefghij/runtime-endpoint/*",
    ]
    assert statements["bedrock-agentcore:InvokeGateway"]["Resource"] == GATEWAY_ARN


def test_the_environment_an_agent_is_told() -> None:
    assert environment_variables(
        model_arn="m",
        guardrail_arn="g",
        guardrail_version="1",
        gateway_url="u",
        knowledge_bases={"b": "2", "a": "1"},
    ) == {
        "MODEL_ARN": "m",
        "GUARDRAIL_ARN": "g",
        "GUARDRAIL_VERSION": "1",
        "GATEWAY_URL": "u",
        "KNOWLEDGE_BASES": "a=1,b=2",
    }


def _agent_props(key: kms.IKey, vpc: ec2.IVpc, **override: object) -> dict[str, Any]:
    stack = Stack.of(key)
    props: dict[str, Any] = {
        "name": "agent",
        "role": iam.Role.from_role_name(stack, "R", "agent-role"),
        "image": IMAGE,
        "vpc": vpc,
        "encryption_key": key,
        "logs_key": key,
        "memory_days": 30,
        "log_retention": RETENTION,
    }
    return {**props, **override}


def _policy_statements(template: Template, prefix: str, by: str = "Sid") -> dict[str, Any]:
    [policy] = [
        resource
        for logical_id, resource in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(prefix)
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    if by == "Sid":
        return {s["Sid"]: s for s in statements}
    return {
        a: s
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }


def _joined(value: Any) -> str:
    """A string of the template, with each reference as ``<ref>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_joined(part) for part in value["Fn::Join"][1])
    return "<ref>"
