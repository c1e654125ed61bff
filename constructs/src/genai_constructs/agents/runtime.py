"""A governed agent (Amazon Bedrock AgentCore Runtime): the LOB's container image, run in
the VPC under a role of its own, with a memory under the LOB's key and its logs in a log
group of the LOB under its logs key.

What the agent may do is its role's: its model through the guardrail, its tools through the
gateway (whose policy engine names its role), its memory and knowledge bases. Callers reach
it with IAM (SigV4) only, by ``grant_invoke``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.agents.logs_delivery import AgentCoreLogs
from genai_constructs.compliance import acknowledge
from genai_constructs.grants import grant
from genai_constructs.naming import ImageRepository

RUNTIME_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
MEMORY_ACTIONS = (
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:GetEvent",
    "bedrock-agentcore:ListEvents",
    "bedrock-agentcore:ListSessions",
    "bedrock-agentcore:ListActors",
    "bedrock-agentcore:RetrieveMemoryRecords",
    "bedrock-agentcore:ListMemoryRecords",
    "bedrock-agentcore:GetMemoryRecord",
)
INVOKE_ACTIONS = ("bedrock-agentcore:InvokeAgentRuntime",)
# The endpoint every runtime has; its invocations' logs go to a group named after it.
DEFAULT_ENDPOINT = "DEFAULT"


class IGovernedAgent(Protocol):
    """An agent runtime of this app (``GovernedAgent``) or imported
    (``GovernedAgent.from_agent_runtime_arn``)."""

    @property
    def agent_runtime_arn(self) -> str: ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


def _grant_invoke(grantee: iam.IGrantable, runtime_arn: str) -> iam.Grant:
    """``InvokeAgentRuntime`` on the runtime and its endpoints (the action takes both)."""
    return grant(
        grantee=grantee,
        actions=list(INVOKE_ACTIONS),
        resource_arns=[runtime_arn, f"{runtime_arn}/runtime-endpoint/*"],
    )


class _ImportedAgent(Construct):
    def __init__(self, scope: Construct, construct_id: str, runtime_arn: str) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(runtime_arn) and ":runtime/" not in runtime_arn:
            raise ValueError(
                f"GovernedAgent.from_agent_runtime_arn: '{runtime_arn}' is not an agent runtime "
                "ARN (arn:aws:bedrock-agentcore:REGION:ACCOUNT:runtime/ID)"
            )
        self.agent_runtime_arn = runtime_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_invoke(grantee, self.agent_runtime_arn)


class GovernedAgent(Construct):
    """An AgentCore runtime of a container image, in private subnets, with its memory.

    :param name: the runtime's name (a letter, then letters, digits and '_', 48 at most); the
        memory takes it too.
    :param role: the role the agent runs as; it is granted the image, its memory and its logs
        here, and everything else by its owner (model access, the gateway, knowledge bases).
    :param image: the ECR image (``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` or
        ``@sha256:...``).
    :param vpc: the agent runs in its isolated subnets, HTTPS out only.
    :param encryption_key: encrypts the memory.
    :param logs_key: encrypts the agent's log group.
    :param memory_days: how long the memory keeps events, 3 to 365 days.
    :param log_retention: how long its logs are kept.
    :param environment: default none; variables the agent reads (IDs, never secrets).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        role: iam.IRole,
        image: str,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        logs_key: kms.IKey,
        memory_days: int,
        log_retention: logs.RetentionDays,
        environment: Mapping[str, str] | None = None,
        description: str = "An agent of the platform",
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(name) and not RUNTIME_NAME.match(name):
            raise ValueError(
                f"GovernedAgent: name '{name}' is not a runtime name (a letter, then letters, "
                "digits and '_', at most 48 characters)"
            )
        if not 3 <= memory_days <= 365:
            raise ValueError(
                f"GovernedAgent: memory_days {memory_days} is outside AgentCore's 3 to 365 days"
            )
        if not Token.is_unresolved(image) and ".dkr.ecr." not in image:
            raise ValueError(
                f"GovernedAgent: image '{image}' is not an ECR image "
                "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG)"
            )
        stack = Stack.of(self)
        self.role = role
        self.memory = agentcore.CfnMemory(
            self,
            "Memory",
            name=name,
            description=f"{description}: its memory",
            event_expiry_duration=memory_days,
            encryption_key_arn=encryption_key.key_arn,
        )
        # What AgentCore logs of the memory's operations, in a group of the LOB's.
        self.memory_logs = AgentCoreLogs(
            self,
            "MemoryLogs",
            name=f"memories/{name}",
            resource_arn=self.memory.attr_memory_arn,
            encryption_key=logs_key,
            retention=log_retention,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{name}: HTTPS out to AWS endpoints only",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "HTTPS to the VPC's endpoints"
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
        self.runtime = agentcore.CfnRuntime(
            self,
            "Runtime",
            agent_runtime_name=name,
            description=description,
            role_arn=role.role_arn,
            agent_runtime_artifact=agentcore.CfnRuntime.AgentRuntimeArtifactProperty(
                container_configuration=agentcore.CfnRuntime.ContainerConfigurationProperty(
                    container_uri=image
                )
            ),
            network_configuration=agentcore.CfnRuntime.NetworkConfigurationProperty(
                network_mode="VPC",
                network_mode_config=agentcore.CfnRuntime.VpcConfigProperty(
                    security_groups=[self.security_group.security_group_id], subnets=subnets
                ),
            ),
            protocol_configuration="HTTP",
            environment_variables={
                **(environment or {}),
                "MEMORY_ID": self.memory.attr_memory_id,
            },
        )
        self.agent_runtime_arn = self.runtime.attr_agent_runtime_arn
        # Where the runtime writes what each invocation logs: created here, under the LOB's
        # logs key and retention, before the runtime first writes.
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/bedrock-agentcore/runtimes/{self.runtime.attr_agent_runtime_id}"
            f"-{DEFAULT_ENDPOINT}",
            encryption_key=logs_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The role's own needs, on a managed policy of this agent (the role may be imported).
        self.policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description=f"{name}: its image, memory, key and logs",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteItsLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="PullItsImage",
                    actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[ImageRepository.of(image).arn(stack.partition)],
                ),
                iam.PolicyStatement(
                    sid="SignInToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="UseItsMemory", actions=list(MEMORY_ACTIONS), resources=[self.memory_arn]
                ),
                iam.PolicyStatement(
                    sid="UseTheMemoryKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"bedrock-agentcore.{stack.region}.amazonaws.com"
                        }
                    },
                ),
            ],
        )

        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken takes no resource; the image itself is pulled from its "
            "one repository.",
        )

    @property
    def memory_arn(self) -> str:
        return str(self.memory.attr_memory_arn)

    def grant_memory(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` write and read the agent's memory (events and records)."""
        return grant(grantee=grantee, actions=list(MEMORY_ACTIONS), resource_arns=[self.memory_arn])

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the agent (IAM, SigV4)."""
        return _grant_invoke(grantee, self.agent_runtime_arn)

    @staticmethod
    def from_agent_runtime_arn(
        scope: Construct, construct_id: str, agent_runtime_arn: str
    ) -> IGovernedAgent:
        """An agent made elsewhere (another stack, account or app), by its runtime's ARN."""
        return _ImportedAgent(scope, construct_id, agent_runtime_arn)


def environment_variables(
    *,
    model_arn: str,
    guardrail_arn: str,
    guardrail_version: str,
    gateway_url: str,
    knowledge_bases: Mapping[str, str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """What an agent of the platform is told: its model (an inference profile), the guardrail
    every call must name, its tools' gateway and its knowledge bases (``name=id`` pairs,
    comma-separated)."""
    return {
        "MODEL_ARN": model_arn,
        "GUARDRAIL_ARN": guardrail_arn,
        "GUARDRAIL_VERSION": guardrail_version,
        "GATEWAY_URL": gateway_url,
        "KNOWLEDGE_BASES": ",".join(f"{k}={v}" for k, v in sorted((knowledge_bases or {}).items())),
        **dict(extra),
    }
