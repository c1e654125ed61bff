"""The audit report's IAM section: each role of the assembly, its boundary and what its policies
allow, and every Allow statement with a wildcard, with the acknowledgment that covers it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.world import World
from blueprint.assembly.reader import Assembly, AssemblyStack
from genai_constructs.checks.rule import as_list, render

Json = dict[str, Any]
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")


def ref(stack: AssemblyStack, logical_id: str) -> str:
    return f"{stack.name}/{logical_id}"


def policy_statements(resource: Json) -> Iterator[Json]:
    """The statements of an IAM policy, managed policy or role's inline policies."""
    properties = resource.get("Properties", {})
    if resource.get("Type") == "AWS::IAM::Role":
        for policy in properties.get("Policies", []):
            yield from as_list(policy.get("PolicyDocument", {}).get("Statement", []))
    else:
        yield from as_list(properties.get("PolicyDocument", {}).get("Statement", []))


def statement_actions(statement: Json) -> list[str]:
    return [render(a) for a in as_list(statement.get("Action", statement.get("NotAction", [])))]


def statement_resources(statement: Json) -> list[str]:
    resources = statement.get("Resource", statement.get("NotResource", []))
    return [render(r) for r in as_list(resources)]


def iam_summary(assembly: Assembly, world: World) -> Json:
    """Each role (its IAM name, boundary and what its policies allow) and every Allow
    statement with a wildcard, with the acknowledgment that covers it."""
    by_place = {role.where: role for role in world.roles}
    roles = [
        {
            "role": ref(stack, logical_id),
            "name": _role_name(stack, resource),
            "boundary": _boundary(stack, resource),
            "allows": allowed_actions(by_place[f"{stack.name}/{logical_id}"]),
        }
        for stack, logical_id, resource in assembly.resources("AWS::IAM::Role")
    ]
    acks_by_path = _acknowledgments_by_path(assembly)
    wildcards = [
        _wildcard_entry(stack, logical_id, resource, statement, acks_by_path)
        for stack, logical_id, resource in assembly.resources(*POLICY_TYPES)
        for statement in policy_statements(resource)
        if statement.get("Effect") == "Allow" and _wildcards(statement)
    ]
    return {
        "roles": roles,
        "roles_without_boundary": [r["role"] for r in roles if r["boundary"] is None],
        "wildcard_statements": wildcards,
        "unjustified_wildcards": sum(1 for w in wildcards if not w["acknowledgment"]),
    }


def allowed_actions(role: Role) -> str:
    """What the role's own policies (inline, customer and AWS managed) allow, by service:
    ``bedrock: ApplyGuardrail, Retrieve; kms: Decrypt``. Its boundary, its denies and the
    resources' policies may narrow it; the who-can-do-what tables decide with all of them."""
    by_service: dict[str, set[str]] = defaultdict(set)
    parts = []
    for statement in role.identity:
        if not statement.allow:
            continue
        if statement.not_actions:
            parts.append(f"every action but {', '.join(statement.actions)}")
            continue
        if not statement.actions_known:
            parts.append("actions decided at deploy time")
        for action in statement.actions:
            if action == "*":
                parts.append("every action")
                continue
            service, _, verb = action.partition(":")
            by_service[service].add(verb or "*")
    parts += [
        f"{service}: {', '.join(sorted(verbs))}" for service, verbs in sorted(by_service.items())
    ]
    if role.unreadable:
        parts.append(f"and what {', '.join(role.unreadable)} allows (not readable here)")
    return "; ".join(dict.fromkeys(parts)) or "nothing"


def _role_name(stack: AssemblyStack, resource: Json) -> str:
    """The role's name in IAM: its RoleName, or the one CloudFormation makes up on deploy."""
    name = resource.get("Properties", {}).get("RoleName")
    if name is None:
        return f"{stack.name}-<logical ID>-<random> (named by CloudFormation)"
    return (
        render(name)
        .replace("${AWS::AccountId}", stack.account)
        .replace("${AWS::Region}", stack.region)
    )


def _boundary(stack: AssemblyStack, resource: Json) -> str | None:
    """The boundary's policy name, however the template names it: a reference to a managed
    policy of the same stack (its ``ManagedPolicyName``) or the policy's ARN."""
    boundary = resource.get("Properties", {}).get("PermissionsBoundary")
    if boundary is None:
        return None
    if isinstance(boundary, dict) and set(boundary) == {"Ref"}:
        policy = stack.resources.get(boundary["Ref"], {})
        name = policy.get("Properties", {}).get("ManagedPolicyName")
        if name is not None:
            return render(name)
    return render(boundary).rsplit(":policy/", 1)[-1]


def _wildcards(statement: Json) -> list[str]:
    found = [f"Action::{a}" for a in statement_actions(statement) if "*" in a]
    return found + [f"Resource::{r}" for r in statement_resources(statement) if "*" in r]


def _acknowledgments_by_path(assembly: Assembly) -> dict[str, dict[str, str]]:
    by_path: dict[str, dict[str, str]] = defaultdict(dict)
    for ack in assembly.nag_report.get("acknowledgments", []):
        by_path[ack["resource"]][ack["rule"]] = ack["reason"]
    return by_path


def _suppressions(resource: Json, acks_by_path: dict[str, dict[str, str]]) -> dict[str, str]:
    metadata = resource.get("Metadata", {})
    rules = {
        rule["id"]: rule.get("reason", "")
        for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    return {**acks_by_path.get(metadata.get("aws:cdk:path", ""), {}), **rules}


def _wildcard_entry(
    stack: AssemblyStack,
    logical_id: str,
    resource: Json,
    statement: Json,
    acks_by_path: dict[str, dict[str, str]],
) -> Json:
    wildcards = _wildcards(statement)
    suppressions = _suppressions(resource, acks_by_path)
    reasons = {
        w: suppressions.get(f"AwsSolutions-IAM5[{w}]", suppressions.get("AwsSolutions-IAM5"))
        for w in wildcards
    }
    covered = all(reasons.values())
    return {
        "policy": ref(stack, logical_id),
        "type": resource["Type"],
        "sid": statement.get("Sid", ""),
        "wildcards": wildcards,
        "acknowledgment": sorted({r for r in reasons.values() if r}) if covered else [],
        "uncovered": [w for w, reason in reasons.items() if not reason],
    }
