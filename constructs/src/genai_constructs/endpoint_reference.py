"""How a GPU endpoint is called: its interface (``IGpuEndpoint``), the grant to call it, and an
endpoint another stack names (``GpuEndpoint.from_endpoint_name``)."""

from __future__ import annotations

import re
from typing import Protocol

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_constructs.grants import grant

# SageMaker's endpoint and inference component names.
ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ENDPOINT_NAME_LIMIT = 63


def is_endpoint_name(name: str) -> bool:
    return len(name) <= ENDPOINT_NAME_LIMIT and bool(ENDPOINT_NAME.match(name))


class IGpuEndpoint(Protocol):
    """A GPU endpoint, of this app (``GpuEndpoint``) or named
    (``GpuEndpoint.from_endpoint_name``, in another stack that names its endpoint)."""

    @property
    def endpoint_name(self) -> str: ...

    @property
    def inference_component_name(self) -> str | None:
        """The model's inference component (an endpoint that scales to zero); none on a
        classic variant."""
        ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


def grant_invoke(
    scope: Construct, grantee: iam.IGrantable, endpoint_arn: str, component: str | None
) -> iam.Grant:
    """``InvokeEndpoint`` (and its streaming form) on the endpoint and, when it has one, its
    inference component."""
    resources = [endpoint_arn]
    if component is not None:
        stack = Stack.of(scope)
        resources.append(
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:"
            f"inference-component/{component}"
        )
    return grant(
        grantee=grantee,
        actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
        resource_arns=resources,
    )


class NamedEndpoint(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, name: str, component: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self._name, self._component = name, component

    @property
    def endpoint_name(self) -> str:
        return self._name

    @property
    def inference_component_name(self) -> str | None:
        return self._component

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        stack = Stack.of(self)
        # SageMaker's ARNs hold the name in lower case.
        name = self._name if Token.is_unresolved(self._name) else self._name.lower()
        arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:endpoint/{name}"
        return grant_invoke(self, grantee, arn, self._component)
