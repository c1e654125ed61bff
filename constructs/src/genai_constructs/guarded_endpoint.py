"""A GPU endpoint behind a guardrail: the function applications call instead of the endpoint,
so that a self-hosted (fine-tuned) model answers under the same content controls as Bedrock's
models (``handlers/guarded_endpoint``)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.bedrock.guardrail import IGuardrail
from genai_constructs.compliance import acknowledge_role_policy
from genai_constructs.endpoint_reference import IGpuEndpoint
from genai_constructs.function import PlatformFunction, url_invoke_statements
from genai_constructs.grants import grant_statements
from genai_constructs.validation import check_range, number_text

# ApplyGuardrail's bound on the text of one request.
MAX_INPUT_CHARS = 100_000
MAX_TOKENS = 8192


class GuardedEndpoint(Construct):
    """``endpoint`` behind ``guardrail``: a function URL with IAM auth, in the VPC, that checks
    each request with the guardrail before the endpoint sees it and each answer before the
    caller does; a blocked request never reaches the model. Grant applications
    ``grant_invoke`` here and not the endpoint's own ``grant_invoke``: then no application
    calls the model around the guardrail.

    :param endpoint: the GPU endpoint (``GpuEndpoint``, or ``GpuEndpoint.from_endpoint_name``
        for one another stack names).
    :param guardrail: the guardrail version every request and answer is checked with.
    :param max_input_chars: 1-100000; the longest conversation a request may carry.
    :param max_tokens: default 1024 (1-8192); the longest answer a request may ask for.
    :param concurrency: default 10; the function's reserved concurrency.
    :param role: default a new role; the role the function runs as.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: IGpuEndpoint,
        guardrail: IGuardrail,
        max_input_chars: int,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
        max_tokens: int = 1024,
        concurrency: int = 10,
        role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_range("GuardedEndpoint", "max_input_chars", max_input_chars, 1, MAX_INPUT_CHARS)
        check_range("GuardedEndpoint", "max_tokens", max_tokens, 1, MAX_TOKENS)
        check_range("GuardedEndpoint", "concurrency", concurrency, 1, 1000)
        self.function = PlatformFunction(
            self,
            "Function",
            description="A GPU endpoint behind the guardrail",
            handler="guarded_endpoint.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.seconds(90),
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                **(
                    {"INFERENCE_COMPONENT_NAME": component}
                    if (component := endpoint.inference_component_name)
                    else {}
                ),
                "GUARDRAIL_ID": guardrail.guardrail_arn,
                "GUARDRAIL_VERSION": guardrail.guardrail_version,
                "MAX_INPUT_CHARS": number_text(max_input_chars),
                "MAX_TOKENS": number_text(max_tokens),
            },
            memory_size=256,
            reserved_concurrency=concurrency,
            role=role,
        )
        endpoint.grant_invoke(self.function.role)
        guardrail.grant_apply(self.function.role)
        self.url = self.function.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
        self.url_text: str = self.url.url
        acknowledge_role_policy(
            self.function.role,
            "invoke its one endpoint, apply its one guardrail, send to its dead-letter queue",
            [],
        )

    @property
    def role(self) -> iam.IRole:
        return self.function.role

    def invoke_statements(self, sid: str) -> list[iam.PolicyStatement]:
        """What a caller needs (``url_invoke_statements``), the statements' IDs starting with
        ``sid`` (unique within a caller's policy)."""
        return url_invoke_statements(
            self.function.function_arn,
            call_sid=f"Call{sid}",
            invoke_sid=f"Invoke{sid}Function",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the endpoint through the guardrail."""
        return grant_statements(grantee, self.invoke_statements("TheGuardedEndpoint"))
