"""Every policy statement the assembly's templates hold, with where it is.

Read from the templates, not from the access world: this also finds the policies the
evaluator does not model (VPC endpoint, event bus and OAM sink policies, managed policies
attached to nothing), and reads each policy once, not once per role it is attached to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from blueprint.assembly.access.policies import Origin, Statement
from blueprint.assembly.access.policy_documents import statements_of
from blueprint.assembly.access.resolve import Resolver
from blueprint.assembly.reader import AssemblyStack

# Per resource type, the properties that hold a policy document ("Policies" a list of
# {"PolicyDocument": ...}), and what kind of policy each is.
DOCUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "AWS::IAM::Role": (("AssumeRolePolicyDocument", "trust"), ("Policies", "identity")),
    "AWS::IAM::Policy": (("PolicyDocument", "identity"),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument", "identity"),),
    "AWS::S3::BucketPolicy": (("PolicyDocument", "bucket"),),
    "AWS::KMS::Key": (("KeyPolicy", "key"),),
    "AWS::SNS::TopicPolicy": (("PolicyDocument", "topic"),),
    "AWS::SQS::QueuePolicy": (("PolicyDocument", "queue"),),
    "AWS::SageMaker::ModelPackageGroup": (("ModelPackageGroupPolicy", "model-package-group"),),
    "AWS::EC2::VPCEndpoint": (("PolicyDocument", "endpoint"),),
    "AWS::Events::EventBus": (("Policy", "event-bus"),),
    "AWS::Oam::Sink": (("Policy", "oam-sink"),),
    "AWS::Organizations::Policy": (("Content", "organization"),),
}
# Organizations policies in IAM's grammar (tag, backup, AI opt-out and Bedrock policies are not).
IAM_ORGANIZATION_POLICIES = {
    "SERVICE_CONTROL_POLICY": "scp",
    "RESOURCE_CONTROL_POLICY": "rcp",
}


def policy_statements(resolver: Resolver, stacks: Iterable[AssemblyStack]) -> Iterator[Statement]:
    """The statements of ``stacks``, their values resolved by ``resolver`` (of their assembly)."""
    for stack in stacks:
        for logical_id, resource in stack.resources.items():
            for kind, document in _documents(resource):
                where = Origin(kind, f"{stack.name}/{logical_id}")
                yield from statements_of(document, where, _resolve(resolver, stack))


def _documents(resource: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    props = resource.get("Properties", {})
    for name, kind in DOCUMENTS.get(resource.get("Type", ""), ()):
        if name not in props:
            continue
        if kind == "organization":
            organization_kind = IAM_ORGANIZATION_POLICIES.get(props.get("Type", ""))
            if organization_kind is not None:
                yield organization_kind, _parsed(props[name])
        elif name == "Policies":
            for policy in props[name]:
                yield kind, _parsed(policy.get("PolicyDocument"))
        else:
            yield kind, _parsed(props[name])


def _parsed(document: Any) -> Any:
    """A document given as JSON text parsed (templates may give one so)."""
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return None
    return document


def _resolve(resolver: Resolver, stack: AssemblyStack) -> Any:
    return lambda value: resolver.values(stack, value)
