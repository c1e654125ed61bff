"""A tools gateway (Amazon Bedrock AgentCore Gateway): the one door from agents to tools.

Callers authenticate with IAM; a policy engine in enforce mode allows each agent's role its
own tools only; the gateway's data is encrypted with the given key; outbound credentials (an
API's key) stay with the gateway, in a secret no agent can read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from genai_constructs.agents.cedar import agent_tools_policy, assumed_role_pattern, tool_action
from genai_constructs.agents.logs_delivery import AgentCoreLogs
from genai_constructs.compliance import acknowledge, nag_reference
from genai_constructs.grants import grant, grants_policy

_TARGET = agentcore.CfnGatewayTarget
GATEWAY_NAME_MAX = 48
API_KEY_JSON_KEY = "api_key"


class IToolGateway(Protocol):
    """A tools gateway of this app (``ToolGateway``) or imported
    (``ToolGateway.from_gateway_arn``)."""

    @property
    def gateway_arn(self) -> str: ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


def _grant_invoke(grantee: iam.IGrantable, gateway_arn: str) -> iam.Grant:
    """``InvokeGateway``: list and call the gateway's tools (the policy engine decides which)."""
    return grant(
        grantee=grantee, actions=["bedrock-agentcore:InvokeGateway"], resource_arns=[gateway_arn]
    )


class _ImportedGateway(Construct):
    def __init__(self, scope: Construct, construct_id: str, gateway_arn: str) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(gateway_arn) and ":gateway/" not in gateway_arn:
            raise ValueError(
                f"ToolGateway.from_gateway_arn: '{gateway_arn}' is not a gateway ARN "
                "(arn:aws:bedrock-agentcore:REGION:ACCOUNT:gateway/ID)"
            )
        self.gateway_arn = gateway_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_invoke(grantee, self.gateway_arn)


@dataclass(frozen=True)
class LambdaTool:
    """A function's tool: its name, what it does, and its input's JSON Schema (``type``,
    ``properties`` with ``type`` and ``description``, ``required``)."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True)
class ApiKey:
    """Where the gateway puts an API's key: ``HEADER`` or ``QUERY_PARAMETER``, and its name."""

    location: str = "HEADER"
    parameter: str = "x-api-key"


@dataclass
class _Target:
    actions: list[str] = field(default_factory=list)
    resource: Construct | None = None


class ToolGateway(Construct):
    """An MCP gateway whose targets are tools, behind IAM and a Cedar policy engine.

    :param name: the gateway's name (letters, digits and single '-', 48 at most); the policy
        engine takes it with '_' for '-'.
    :param encryption_key: encrypts the gateway, its policy engine and the API keys' secrets.
    :param enforce: default ``True``; the policy engine's decisions apply (``False``: logged
        only, every tool of the gateway open to every caller IAM lets in).
    :param logs_key: default none; with ``log_retention``, what the gateway logs of each tool
        call goes to a log group of its own under this key (``AgentCoreLogs``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        encryption_key: kms.IKey,
        enforce: bool = True,
        description: str = "The agents' tools",
        logs_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(name) and not (
            len(name) <= GATEWAY_NAME_MAX and all(p for p in name.split("-")) and name.isascii()
        ):
            raise ValueError(
                f"ToolGateway: name '{name}' is not a gateway name (letters, digits and single "
                f"'-', at most {GATEWAY_NAME_MAX} characters)"
            )
        stack = Stack.of(self)
        self._encryption_key = encryption_key
        self._targets: dict[str, _Target] = {}
        self.role = iam.Role(
            self,
            "Role",
            description=f"The {name} gateway: calls its tools, asks its policy engine",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="bedrock-agentcore", resource="gateway", resource_name="*"
                        )
                    },
                },
            ),
        )
        self.policy_engine = agentcore.CfnPolicyEngine(
            self,
            "PolicyEngine",
            name=name.replace("-", "_"),
            description=f"Which agent may call which tool of the {name} gateway",
            encryption_key_arn=encryption_key.key_arn,
        )
        self.gateway = agentcore.CfnGateway(
            self,
            "Gateway",
            name=name,
            description=description,
            authorizer_type="AWS_IAM",
            protocol_type="MCP",
            role_arn=self.role.role_arn,
            kms_key_arn=encryption_key.key_arn,
            policy_engine_configuration=agentcore.CfnGateway.GatewayPolicyEngineConfigurationProperty(
                arn=self.policy_engine.attr_policy_engine_arn,
                mode="ENFORCE" if enforce else "LOG_ONLY",
            ),
        )
        self.gateway_arn = self.gateway.attr_gateway_arn
        self.gateway_url = self.gateway.attr_gateway_url
        self.logs: AgentCoreLogs | None = None
        if logs_key is not None and log_retention is not None:
            self.logs = AgentCoreLogs(
                self,
                "Logs",
                name=f"gateways/{name}",
                resource_arn=self.gateway_arn,
                encryption_key=logs_key,
                retention=log_retention,
            )
        own_arn = stack.format_arn(
            service="bedrock-agentcore", resource="gateway", resource_name=f"{name.lower()}-*"
        )
        # The gateway asks the engine about every call and every tool list; it needs this
        # before it is created with the engine (so its ARN is its name's: AgentCore adds a
        # suffix to the lower-cased name).
        grant(
            grantee=self.role,
            actions=[
                "bedrock-agentcore:AuthorizeAction",
                "bedrock-agentcore:PartiallyAuthorizeActions",
                "bedrock-agentcore:GetPolicyEngine",
            ],
            resource_arns=[self.policy_engine.attr_policy_engine_arn, own_arn],
        )
        acknowledge(
            grants_policy(self.role),
            f"AwsSolutions-IAM5[Resource::{nag_reference(self, own_arn)}]",
            "The gateway's own ARN: AgentCore adds a random suffix to its name, and the role "
            "needs the permission before the gateway exists.",
        )
        grant(
            grantee=self.role,
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resource_arns=[encryption_key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": [
                        f"bedrock-agentcore.{stack.region}.amazonaws.com",
                        f"secretsmanager.{stack.region}.amazonaws.com",
                    ]
                }
            },
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` reach the gateway; its policy engine then allows it its tools only
        (``allow_tools``)."""
        return _grant_invoke(grantee, self.gateway_arn)

    def add_lambda_tool(
        self, target: str, function: lambda_.IFunction, tools: Sequence[LambdaTool]
    ) -> None:
        """``function`` behind the target ``target``, offering ``tools``; the gateway invokes
        it with its own role."""
        self._check_new(target)
        resource = agentcore.CfnGatewayTarget(
            self,
            f"Target{_pascal(target)}",
            gateway_identifier=self.gateway.attr_gateway_identifier,
            name=target,
            description=tools[0].description[:200] if tools else target,
            target_configuration=_TARGET.TargetConfigurationProperty(
                mcp=_TARGET.McpTargetConfigurationProperty(
                    lambda_=_TARGET.McpLambdaTargetConfigurationProperty(
                        lambda_arn=function.function_arn,
                        tool_schema=_TARGET.ToolSchemaProperty(
                            inline_payload=[
                                _TARGET.ToolDefinitionProperty(
                                    name=tool.name,
                                    description=tool.description,
                                    input_schema=_schema(tool.input_schema),
                                )
                                for tool in tools
                            ]
                        ),
                    )
                )
            ),
            credential_provider_configurations=[
                _TARGET.CredentialProviderConfigurationProperty(
                    credential_provider_type="GATEWAY_IAM_ROLE"
                )
            ],
        )
        grant(
            grantee=self.role,
            actions=["lambda:InvokeFunction"],
            resource_arns=[function.function_arn],
        )
        self._add_target(target, [tool.name for tool in tools], resource)

    def add_openapi_tool(
        self,
        target: str,
        spec: Mapping[str, Any],
        operations: Sequence[str],
        api_key: ApiKey,
        secret_name: str | None = None,
    ) -> secretsmanager.Secret:
        """The API ``spec`` describes behind the target ``target``, each of ``operations`` (its
        operationIds) a tool. Its key is kept in the returned secret, under the gateway's key:
        the LOB sets the value once (``{"api_key": "..."}``); only the gateway reads it.
        ``secret_name``: default generated; a fixed name for policies that name the secret."""
        self._check_new(target)
        secret = secretsmanager.Secret(
            self,
            f"ApiKey{_pascal(target)}",
            secret_name=secret_name,
            description=f"The API key the gateway sends to the {target} tool's API",
            encryption_key=self._encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({}),
                generate_string_key=API_KEY_JSON_KEY,
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            secret,
            [
                "AwsSolutions-SMG4",
                "NIST.800.53.R5-SecretsManagerRotationEnabled",
                "HIPAA.Security-SecretsManagerRotationEnabled",
            ],
            "The secret holds a third party's API key, which its issuer rotates; the LOB puts "
            "each new key here.",
        )
        provider = agentcore.CfnApiKeyCredentialProvider(
            self,
            f"ApiKeyProvider{_pascal(target)}",
            name=f"{self.gateway.name}-{target}"[:128],
            api_key_secret_source="EXTERNAL",
            api_key_secret_config=agentcore.CfnApiKeyCredentialProvider.SecretReferenceProperty(
                secret_id=secret.secret_arn, json_key=API_KEY_JSON_KEY
            ),
        )
        resource = agentcore.CfnGatewayTarget(
            self,
            f"Target{_pascal(target)}",
            gateway_identifier=self.gateway.attr_gateway_identifier,
            name=target,
            description=str(spec.get("info", {}).get("title", target))[:200],
            target_configuration=_TARGET.TargetConfigurationProperty(
                mcp=_TARGET.McpTargetConfigurationProperty(
                    open_api_schema=_TARGET.ApiSchemaConfigurationProperty(
                        inline_payload=json.dumps(spec, sort_keys=True)
                    )
                )
            ),
            credential_provider_configurations=[
                _TARGET.CredentialProviderConfigurationProperty(
                    credential_provider_type="API_KEY",
                    credential_provider=_TARGET.CredentialProviderProperty(
                        api_key_credential_provider=_TARGET.ApiKeyCredentialProviderProperty(
                            provider_arn=provider.attr_credential_provider_arn,
                            credential_location=api_key.location,
                            credential_parameter_name=api_key.parameter,
                        )
                    ),
                )
            ],
        )
        # The gateway fetches the key through AgentCore Identity with its own role, as the
        # gateway's workload identity (named by the service, hence the wildcard).
        identities = Stack.of(self).format_arn(
            service="bedrock-agentcore",
            resource="workload-identity-directory",
            resource_name="default/workload-identity/*",
        )
        grant(
            grantee=self.role,
            actions=[
                "bedrock-agentcore:GetResourceApiKey",
                "bedrock-agentcore:GetWorkloadAccessToken",
            ],
            resource_arns=[
                provider.attr_credential_provider_arn,
                Stack.of(self).format_arn(
                    service="bedrock-agentcore",
                    resource="token-vault",
                    resource_name="default",
                ),
                identities,
                Stack.of(self).format_arn(
                    service="bedrock-agentcore",
                    resource="workload-identity-directory",
                    resource_name="default",
                ),
            ],
        )
        grant(
            grantee=self.role,
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resource_arns=[secret.secret_arn],
        )
        acknowledge(
            grants_policy(self.role),
            f"AwsSolutions-IAM5[Resource::{nag_reference(self, identities)}]",
            "AgentCore names the gateway's workload identity when it creates the gateway; the "
            "statement holds to the account's default directory and the API-key actions.",
        )
        self._add_target(target, list(operations), resource)
        return secret

    def allow_tools(self, policy_id: str, role_name: str, tools: Sequence[str]) -> None:
        """Permit the role ``role_name`` (of this account) the tools ``tools``, each
        ``<target>`` (all of its tools) or ``<target>___<tool>``."""
        actions: list[str] = []
        depends: list[Construct] = []
        for tool in tools:
            target_name, _, own = tool.partition("___")
            target = self._targets.get(target_name)
            if target is None:
                raise ValueError(
                    f"ToolGateway.allow_tools: '{tool}' is no tool of this gateway; allowed: "
                    f"{', '.join(sorted(self._targets)) or 'none added'}"
                )
            actions += [tool_action(target_name, own)] if own else target.actions
            if target.resource is not None:
                depends.append(target.resource)
        stack = Stack.of(self)
        policy = agentcore.CfnPolicy(
            self,
            f"Allow{_pascal(policy_id)}",
            policy_engine_id=self.policy_engine.attr_policy_engine_id,
            name=f"allow_{policy_id.replace('-', '_')}"[:48],
            description=f"{role_name} may call {', '.join(tools)}",
            definition=agentcore.CfnPolicy.PolicyDefinitionProperty(
                cedar=agentcore.CfnPolicy.CedarPolicyProperty(
                    statement=agent_tools_policy(
                        gateway_arn=self.gateway_arn,
                        caller_arn_pattern=assumed_role_pattern(
                            stack.partition, stack.account, role_name
                        ),
                        actions=actions,
                    )
                )
            ),
            validation_mode="FAIL_ON_ANY_FINDINGS",
        )
        for target_resource in depends:
            policy.node.add_dependency(target_resource)

    def _check_new(self, target: str) -> None:
        if target in self._targets:
            raise ValueError(f"ToolGateway: target '{target}' is added twice")

    def _add_target(self, target: str, tools: list[str], resource: Construct) -> None:
        self._targets[target] = _Target([tool_action(target, tool) for tool in tools], resource)

    @staticmethod
    def from_gateway_arn(scope: Construct, construct_id: str, gateway_arn: str) -> IToolGateway:
        """A gateway made elsewhere, by its ARN."""
        return _ImportedGateway(scope, construct_id, gateway_arn)


def _schema(schema: Mapping[str, Any]) -> agentcore.CfnGatewayTarget.SchemaDefinitionProperty:
    """A JSON Schema (``type``, ``description``, ``properties``, ``items``, ``required``) as
    the target's tool schema takes it."""
    properties = schema.get("properties")
    items = schema.get("items")
    return _TARGET.SchemaDefinitionProperty(
        type=str(schema["type"]),
        description=schema.get("description"),
        properties={name: _schema(sub) for name, sub in properties.items()} if properties else None,
        items=_schema(items) if items else None,
        required=list(schema["required"]) if schema.get("required") else None,
    )


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
