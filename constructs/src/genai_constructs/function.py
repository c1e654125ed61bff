"""A function of the platform: in the VPC, HTTPS out only, with encrypted logs and
environment, running a handler of ``genai_constructs.handlers`` (custom resources answer
CloudFormation themselves, ``handlers/cfn_response.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genai_constructs.compliance import (
    acknowledge,
    acknowledge_role_policy,
    ignore_cfn_lint,
    in_every_framework,
)

# The asset: the package's handlers only (and the package marker), imported by the same name
# in Lambda as in the tests.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
HANDLER_ASSET = [
    "*",
    "!genai_constructs/",
    "!genai_constructs/__init__.py",
    "!genai_constructs/handlers/",
    "!genai_constructs/handlers/**",
    "**/__pycache__/",
]
LAMBDA_POLICIES = (
    "service-role/AWSLambdaBasicExecutionRole",
    "service-role/AWSLambdaVPCAccessExecutionRole",
)


def dead_letter_queue(
    scope: Construct, construct_id: str, encryption_key: kms.IKey, of_what: str
) -> sqs.Queue:
    """An encrypted, TLS-only queue that keeps what ``of_what`` could not deliver 14 days."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        f"This queue is the dead-letter queue of {of_what}; a dead-letter queue of its own "
        "would only move the same failed messages again.",
    )
    return queue


class PlatformFunction(Construct):
    """A function running ``handler`` (a module of ``genai_constructs.handlers``, e.g.
    ``vector_index.index.handler``): a custom resource, a pipeline step, an API.

    :param description: what the function does.
    :param handler: the entry point, relative to ``genai_constructs.handlers``.
    :param encryption_key: encrypts the log group, the dead-letter queue and the environment.
    :param vpc: the function runs in its isolated subnets, HTTPS out only; ``None`` with
        ``outside_vpc``, for a function that calls AWS control-plane APIs only and whose VPC
        would otherwise need an interface endpoint for it alone.
    :param log_retention: how long the function's logs are kept.
    :param timeout: default two minutes.
    :param role: default a new role; the role the function runs as (a role with a fixed
        name, when other accounts name it). An imported role gets neither Lambda execution
        policy: its owner grants it the function's logs and network interfaces.
    :param environment: default none; its variables (encrypted with ``encryption_key``).
    :param memory_size: default 256 MiB.
    :param reserved_concurrency: default 2 (custom resources and pipeline steps); an API
        reserves what bounds its load.
    :param function_name: default generated; a fixed name (what a policy of its own role
        names it by, where the function's ARN would make a circular dependency).
    :param outside_vpc: why the function runs outside a VPC (required without ``vpc``; the
        acknowledgment of the frameworks' and checkov's in-VPC rules).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        handler: str,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc | None,
        log_retention: logs.RetentionDays,
        timeout: Duration | None = None,
        role: iam.IRole | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 256,
        reserved_concurrency: int = 2,
        function_name: str | None = None,
        outside_vpc: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (vpc is None) == (outside_vpc is None):
            raise ValueError(
                "PlatformFunction: give vpc, or outside_vpc (the reason it runs outside one); "
                "allowed: exactly one of them"
            )
        function_logs = logs.LogGroup(
            self,
            "FunctionLogs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.dead_letters = dead_letter_queue(self, "DeadLetters", encryption_key, "a function")
        self._security_group: ec2.SecurityGroup | None = None
        if vpc is not None:
            self._security_group = ec2.SecurityGroup(
                self,
                "FunctionSecurityGroup",
                vpc=vpc,
                description=f"{description}: HTTPS out to AWS endpoints only",
                allow_all_outbound=False,
            )
            self._security_group.add_egress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints"
            )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            function_name=function_name,
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler=f"genai_constructs.handlers.{handler}",
            code=lambda_.Code.from_asset(
                str(PACKAGE_ROOT), exclude=HANDLER_ASSET, ignore_mode=IgnoreMode.GIT
            ),
            timeout=timeout or Duration.minutes(2),
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=self.dead_letters,
            environment=dict(environment or {}),
            vpc=vpc,
            vpc_subnets=(
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED) if vpc else None
            ),
            security_groups=[self._security_group] if self._security_group else None,
            log_group=function_logs,
            environment_encryption=encryption_key,
            role=role,
        )
        execution_policies = LAMBDA_POLICIES if vpc is not None else LAMBDA_POLICIES[:1]
        if isinstance(role, iam.Role):
            # CDK adds the execution policies only to the roles it creates; an imported role
            # cannot take a managed policy here, and its owner grants what they hold.
            for policy_name in execution_policies:
                role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(policy_name))
        if outside_vpc is not None:
            acknowledge(
                self.function.node.default_child,
                [*in_every_framework("LambdaInsideVPC"), "CKV_AWS_117"],
                outside_vpc,
            )
        ignore_cfn_lint(
            self.function.node.default_child,
            ["W3005"],
            "The CDK Lambda construct adds DependsOn on its role beside the GetAtt so that the "
            "role's policy exists before the function runs.",
        )
        role = self.function.role
        assert role is not None
        self.role: iam.IRole = role
        for policy_name in execution_policies if isinstance(role, iam.Role) else ():
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy_name}]",
                f"{policy_name.split('/')[1]} is the AWS-maintained minimum for a Lambda function "
                "that logs (and runs in a VPC); the permissions boundary caps it.",
            )

    @property
    def security_group(self) -> ec2.SecurityGroup:
        """The function's security group (a function in a VPC only)."""
        if self._security_group is None:
            raise ValueError(f"{self.node.path} runs outside a VPC: it has no security group")
        return self._security_group

    @property
    def function_arn(self) -> str:
        return str(self.function.function_arn)

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        self.function.add_to_role_policy(statement)

    def acknowledge_policy(self, what: str, wildcard_findings: list[str]) -> None:
        """Acknowledge the findings of the role's generated policy, once it is complete."""
        acknowledge_role_policy(self.role, what, wildcard_findings)


def url_invoke_statements(
    function_arn: str, *, call_sid: str, invoke_sid: str, url_only: bool = False
) -> list[iam.PolicyStatement]:
    """What a caller of a function URL with IAM auth needs: a signed request needs both
    ``lambda:InvokeFunctionUrl`` and (for URLs created since October 2025)
    ``lambda:InvokeFunction``. With ``url_only``, the invocation must come through the URL:
    a direct Invoke, whose payload the caller writes (the request context with the caller's
    identity included), is refused."""
    return [
        iam.PolicyStatement(
            sid=call_sid,
            actions=["lambda:InvokeFunctionUrl"],
            resources=[function_arn],
            conditions={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        ),
        iam.PolicyStatement(
            sid=invoke_sid,
            actions=["lambda:InvokeFunction"],
            resources=[function_arn],
            conditions={"Bool": {"lambda:InvokedViaFunctionUrl": "true"}} if url_only else None,
        ),
    ]
