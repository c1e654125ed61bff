"""The agents of a GenAI placement, built into its GenAI stack: the tools gateway with its
policy engine and tools, and each agent's runtime, memory, model access and invokers.

Each agent's role (made by the foundation stack, fixed name) reaches its model through an
inference profile with the guardrail, its use case's knowledge bases, its memory and the
gateway, where the policy engine allows it its own tools only. Its use case's application (or,
in the hub, the consumers that list it) alone may invoke it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.inputs.agents import AgentInputs, AgentRepositoryInputs, AgentsInputs
from genai_constructs.agents import (
    ApiKey,
    GovernedAgent,
    KnowledgeBaseSearchTool,
    ToolGateway,
    environment_variables,
)
from genai_constructs.bedrock import (
    ApplicationInferenceProfiles,
    GovernedGuardrail,
    ModelAccessPolicy,
)
from genai_constructs.compliance import acknowledge, nag_reference
from genai_constructs.knowledge_base import IKnowledgeBase
from genai_constructs.naming import pascal
from stacks.assets import mark
from stacks.bedrock_models import approved_model


@dataclass(frozen=True)
class AgentsContext:
    """What the GenAI stack already holds that the agents use."""

    label: str
    prefix: str
    tags: Mapping[str, str]
    guardrail: GovernedGuardrail
    use_case_profiles: Mapping[str, str]
    knowledge_bases: Mapping[str, IKnowledgeBase]
    vpc: ec2.IVpc
    data_key: kms.IKey
    logs_key: kms.IKey
    log_retention: logs.RetentionDays


@dataclass
class BuiltAgents:
    gateway: ToolGateway
    agents: dict[str, GovernedAgent] = field(default_factory=dict)
    tool_keys: dict[str, secretsmanager.Secret] = field(default_factory=dict)
    repositories: dict[str, ecr.Repository] = field(default_factory=dict)

    def published(self) -> dict[str, tuple[str, str]]:
        """The IDs an application needs, by parameter path."""
        values = {
            "agents/tools-gateway/url": (self.gateway.gateway_url, "The agents' tools gateway"),
        }
        for name, agent in self.agents.items():
            values[f"agents/{name}/runtime-arn"] = (agent.agent_runtime_arn, f"Agent {name}")
        for name, repository in self.repositories.items():
            values[f"agents/{name}/image-repository"] = (
                repository.repository_uri,
                f"Where the {name} agent's image is pushed",
            )
        for name, secret in self.tool_keys.items():
            values[f"agents/tools/{name}/api-key-secret"] = (
                secret.secret_arn,
                f"Where the {name} tool's API key is set",
            )
        return values


def build_agents(
    stack: Stack,
    inputs: AgentsInputs,
    context: AgentsContext,
) -> BuiltAgents:
    """The gateway, its tools and the agents of ``inputs``, in ``stack``."""
    gateway = ToolGateway(
        stack,
        "AgentTools",
        name=inputs.gateway_name,
        encryption_key=context.data_key,
        description=f"The tools of the agents of {context.label}",
        logs_key=context.logs_key,
        log_retention=context.log_retention,
    )
    built = BuiltAgents(gateway)
    for tool in inputs.tools:
        if tool.knowledge_base is not None:
            search = KnowledgeBaseSearchTool(
                stack,
                f"Tool{pascal(tool.name)}",
                name=tool.name,
                description=tool.description,
                knowledge_base=context.knowledge_bases[tool.knowledge_base],
                gateway=gateway,
                vpc=context.vpc,
                encryption_key=context.logs_key,
                log_retention=context.log_retention,
            )
            mark(search.function.function, AssetKind.AGENT_TOOL_FUNCTION, tool.name)
            mark(search.function.role, AssetKind.AGENT_TOOL_ROLE, tool.name)
        elif tool.openapi is not None:
            secret = gateway.add_openapi_tool(
                tool.name,
                tool.openapi.spec,
                tool.openapi.operation_ids,
                ApiKey(
                    location=tool.openapi.api_key.location.value.upper().replace("-", "_"),
                    parameter=tool.openapi.api_key.parameter,
                ),
                secret_name=names.agent_tool_key_name(context.prefix, tool.name),
            )
            built.tool_keys[tool.name] = secret
            mark(secret, AssetKind.AGENT_TOOL_KEY, tool.name)
    for repository in inputs.repositories:
        built.repositories[repository.agent] = _repository(stack, repository)
    own_profiles = _agent_profiles(stack, inputs, context)
    for agent in inputs.agents:
        profile = (
            context.use_case_profiles[agent.use_case]
            if agent.use_case is not None
            else own_profiles[agent.name]
        )
        built.agents[agent.name] = _agent(stack, agent, profile, gateway, context)
    mark(gateway.gateway, AssetKind.AGENT_GATEWAY, "tools")
    mark(gateway.role, AssetKind.AGENT_GATEWAY_ROLE, "tools")
    return built


def _repository(stack: Stack, inputs: AgentRepositoryInputs) -> ecr.Repository:
    """An agent's image repository: tags immutable, scanned on push, its untagged layers
    expired; the agent roles of the LOB's other environments pull from it."""
    repository = ecr.Repository(
        stack,
        f"Agent{pascal(inputs.agent)}Images",
        repository_name=inputs.name,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        image_scan_on_push=True,
        # AES-256: the environments of other accounts pull it (a KMS key would need their
        # roles in its policy); an image is the LOB's code, not its data.
        encryption=ecr.RepositoryEncryption.AES_256,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            ecr.LifecycleRule(tag_status=ecr.TagStatus.UNTAGGED, max_image_age=Duration.days(14))
        ],
    )
    if inputs.pullers:
        repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PullFromTheLobsOtherEnvironments",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                principals=[
                    iam.AccountPrincipal(account)
                    for account in sorted({arn.split(":")[4] for arn in inputs.pullers})
                ],
                conditions={"ArnEquals": {"aws:PrincipalArn": list(inputs.pullers)}},
            )
        )
    acknowledge(
        repository,
        ["CKV_AWS_136"],
        "The LOB's other environments pull the agent's image across accounts; the image is "
        "the LOB's code, not its data, and AES-256 keeps it encrypted at rest.",
    )
    mark(repository, AssetKind.AGENT_REPOSITORY, inputs.agent)
    return repository


def _agent_profiles(stack: Stack, inputs: AgentsInputs, context: AgentsContext) -> dict[str, str]:
    """A profile of its own for each agent that serves no use case (the hub's)."""
    own = {a.name: approved_model(a.model) for a in inputs.agents if a.use_case is None}
    if not own:
        return {}
    profiles = ApplicationInferenceProfiles(
        stack,
        "Agents",
        use_cases=own,
        name_prefix=f"{context.label}-agent",
        tags=context.tags,
    )
    for name, profile in profiles.profiles.items():
        mark(profile, AssetKind.PROFILE, f"agent-{name}")
    return {name: p.attr_inference_profile_arn for name, p in profiles.profiles.items()}


def _agent(
    stack: Stack,
    agent: AgentInputs,
    profile_arn: str,
    gateway: ToolGateway,
    context: AgentsContext,
) -> GovernedAgent:
    construct_id = f"Agent{pascal(agent.name)}"
    role = iam.Role.from_role_name(stack, f"{construct_id}Role", agent.role)
    knowledge_bases = {kb: context.knowledge_bases[kb] for kb in agent.knowledge_bases}
    # Its model only through its profile, always with the guardrail; its knowledge bases.
    ModelAccessPolicy(
        stack,
        f"{construct_id}ModelAccess",
        models=[approved_model(agent.model)],
        application_profile_arns=[profile_arn],
        knowledge_bases=list(knowledge_bases.values()),
        roles=[role],
        guardrail=context.guardrail,
        through_profiles_only=True,
    )
    runtime = GovernedAgent(
        stack,
        construct_id,
        name=agent.runtime_name,
        role=role,
        image=agent.image,
        vpc=context.vpc,
        encryption_key=context.data_key,
        logs_key=context.logs_key,
        memory_days=agent.memory_days,
        log_retention=context.log_retention,
        environment=environment_variables(
            model_arn=profile_arn,
            guardrail_arn=context.guardrail.guardrail_arn,
            guardrail_version=context.guardrail.guardrail_version,
            gateway_url=gateway.gateway_url,
            knowledge_bases={n: kb.knowledge_base_id for n, kb in knowledge_bases.items()},
        ),
        description=f"The {agent.name} agent of {context.label}",
    )
    runtime.policy.add_statements(
        iam.PolicyStatement(
            sid="CallItsToolsGateway",
            actions=["bedrock-agentcore:InvokeGateway"],
            resources=[gateway.gateway_arn],
        )
    )
    if agent.tools:
        gateway.allow_tools(agent.name, agent.role, agent.tools)
    if agent.invokers:
        invokers = iam.ManagedPolicy(
            stack,
            f"{construct_id}Invokers",
            description=f"Who invokes the {agent.name} agent",
            roles=[
                iam.Role.from_role_name(stack, f"{construct_id}Invoker{index}", name)
                for index, name in enumerate(agent.invokers)
            ],
            statements=[
                iam.PolicyStatement(
                    sid=f"Invoke{pascal(agent.name)}",
                    actions=["bedrock-agentcore:InvokeAgentRuntime"],
                    resources=[
                        runtime.agent_runtime_arn,
                        f"{runtime.agent_runtime_arn}/runtime-endpoint/*",
                    ],
                )
            ],
        )
        acknowledge(
            invokers,
            f"AwsSolutions-IAM5[Resource::{nag_reference(stack, runtime.agent_runtime_arn)}"
            "/runtime-endpoint/*]",
            "InvokeAgentRuntime is authorized on the runtime and on the endpoint called; the "
            "endpoints are this one runtime's.",
        )
    mark(runtime.runtime, AssetKind.AGENT, agent.name)
    mark(runtime.memory, AssetKind.AGENT_MEMORY, agent.name)
    return runtime
