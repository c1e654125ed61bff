"""Replacement guard: stateful resources a new cloud assembly would delete or replace.

Compares two assemblies stack by stack. A stateful resource (a type that holds data, or any
resource retained on deletion) is at risk when its logical ID is gone, or when a property
that CloudFormation cannot update in place changed. Those create-only properties are read
from the resource schemas cfn-lint ships, never from a hand-written list. A resource whose
DeletionPolicy is Retain and whose logical ID is gone is orphaned, not lost: CloudFormation
leaves it in the account, no longer managed; the guard lists it apart and does not fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.reader import AssemblyError, read_assembly

STATEFUL_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::Glue::Database",
        "AWS::S3Vectors::VectorBucket",
        "AWS::S3Vectors::Index",
        "AWS::OpenSearchServerless::Collection",
        "AWS::OpenSearchServerless::Index",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::Domain",
        "AWS::SageMaker::MlflowTrackingServer",
        "AWS::SageMaker::MlflowApp",
        "AWS::DynamoDB::Table",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
    }
)


# Deletion policies under which CloudFormation leaves the resource in the account.
KEPT_ON_DELETION = frozenset({"Retain", "RetainExceptOnCreate"})


@dataclass(frozen=True)
class AtRisk:
    stack: str
    logical_id: str
    resource_type: str
    reason: str
    account: str = ""
    # Removed from the template but retained: orphaned in the account, its data kept.
    orphaned: bool = False

    @property
    def resource(self) -> str:
        """How an acceptance file names it: ``account/stack/logical ID``."""
        return f"{self.account}/{self.stack}/{self.logical_id}"

    def line(self) -> str:
        return f"{self.resource} ({self.resource_type}): {self.reason}"


StackKey = tuple[str, str, str]


def _stacks(assembly: Path) -> dict[StackKey, dict[str, Any]]:
    """(account, region, name) -> template: a stack of the same name in another account or
    region (an operating model's switch moves layers between accounts) is another stack."""
    return {
        (stack.account, stack.region, stack.name): stack.template
        for stack in read_assembly(assembly).stacks
    }


def deployed_with(candidate: Path, patterns: Sequence[str]) -> set[str]:
    """The stacks ``cdk deploy <patterns>`` deploys: those whose names match a pattern (``*``,
    ``?`` and ``[...]`` globs), and every stack they depend on. A pattern that matches no
    stack, or uses what the guard does not read the way the CDK does (``{a,b}``, ``!``), is an
    AssemblyError: the guard must never check less than is deployed."""
    assembly = read_assembly(candidate)
    names = {stack.artifact_id: stack.name for stack in assembly.stacks}
    depends = {
        stack.name: [names[d] for d in stack.depends_on if d in names] for stack in assembly.stacks
    }
    chosen: set[str] = set()
    for pattern in patterns:
        if pattern.startswith("!") or "{" in pattern or "}" in pattern:
            raise AssemblyError(
                f"--stacks: '{pattern}' is not a pattern the guard reads as cdk does; allowed: "
                "stack names with *, ? and [...], one per word (list each stack of a brace)"
            )
        matched = {name for name in depends if fnmatchcase(name, pattern)}
        if not matched:
            raise AssemblyError(
                f"--stacks: '{pattern}' matches no stack of {candidate}; allowed: the stack "
                "names of the assembly (blueprint summary lists them)"
            )
        chosen |= matched
    queue = list(chosen)
    while queue:
        for dependency in depends.get(queue.pop(), []):
            if dependency not in chosen:
                chosen.add(dependency)
                queue.append(dependency)
    return chosen


def _is_stateful(resource: dict[str, Any]) -> bool:
    return resource["Type"] in STATEFUL_TYPES or resource.get("DeletionPolicy") in KEPT_ON_DELETION


def _at(properties: dict[str, Any], pointer: str) -> Any:
    """The value at a schema pointer such as ``/properties/BucketName``; None when absent."""
    value: Any = {"properties": properties}
    for part in pointer.strip("/").split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def create_only_properties(region: str, resource_type: str) -> list[str]:
    # Imported here: cfn-lint takes seconds to import, and the audit imports this module for
    # a baseline it is seldom given.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
    except Exception:
        return []
    return list(schema.schema.get("createOnlyProperties", []))


def resources_at_risk(baseline: Path, candidate: Path, stacks: Sequence[str] = ()) -> list[AtRisk]:
    """Every stateful resource of ``baseline`` that deploying ``candidate`` deletes or replaces
    (those lost, not those orphaned)."""
    return [
        change for change in stateful_changes(baseline, candidate, stacks) if not change.orphaned
    ]


def stateful_changes(baseline: Path, candidate: Path, stacks: Sequence[str] = ()) -> list[AtRisk]:
    """Every stateful resource of ``baseline`` that deploying ``candidate`` deletes, orphans
    or replaces, in the stacks whose names match one of ``stacks`` (glob patterns, as
    ``cdk deploy`` takes them; none: every stack)."""
    before, after = _stacks(baseline), _stacks(candidate)
    chosen = deployed_with(candidate, stacks) if stacks else None
    found: list[AtRisk] = []
    for key, template in sorted(before.items()):
        account, region, stack = key
        if chosen is not None and stack not in chosen:
            continue
        new_resources = after.get(key, {}).get("Resources", {})
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            if not _is_stateful(resource):
                continue
            kind = resource["Type"]
            new = new_resources.get(logical_id)
            if new is None or new["Type"] != kind:
                reason = "stack removed" if key not in after else "logical ID removed or renamed"
                policy = resource.get("DeletionPolicy")
                if policy in KEPT_ON_DELETION:
                    found.append(
                        AtRisk(
                            stack,
                            logical_id,
                            kind,
                            f"orphaned ({reason}; DeletionPolicy {policy}: kept in the account "
                            "with its data, no longer managed by the stack)",
                            account,
                            orphaned=True,
                        )
                    )
                    continue
                found.append(AtRisk(stack, logical_id, kind, f"deleted ({reason})", account))
                continue
            old_props = resource.get("Properties", {})
            new_props = new.get("Properties", {})
            changed = [
                pointer.removeprefix("/properties/")
                for pointer in create_only_properties(region, kind)
                if _at(old_props, pointer) != _at(new_props, pointer)
            ]
            if changed:
                found.append(
                    AtRisk(
                        stack,
                        logical_id,
                        kind,
                        f"replaced (create-only {', '.join(changed)} changed)",
                        account,
                    )
                )
    return found


@dataclass(frozen=True)
class Acceptance:
    """A reviewed loss: ``resource`` (``account/stack/logical ID``) may be deleted or replaced,
    for ``reason``."""

    resource: str
    reason: str


def load_acceptances(path: Path) -> list[Acceptance]:
    """An acceptance file: a YAML list of ``{resource: account/stack/logical ID, reason: ...}``,
    each the outcome of a review; every mistake is an AssemblyError naming the entry."""
    try:
        entries = yaml.safe_load(path.read_text())
    except OSError as error:
        raise AssemblyError(f"{path}: cannot read the acceptance file: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise AssemblyError(f"{path}: invalid YAML: {error}") from None
    allowed = "allowed: a list of {resource: ACCOUNT/STACK/LOGICAL_ID, reason: why it may go}"
    if not isinstance(entries, list):
        raise AssemblyError(f"{path}: not a list; {allowed}")
    found: list[Acceptance] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if not isinstance(resource, str) or resource.count("/") != 2:
            raise AssemblyError(f"{path}: [{index}].resource: missing or not {allowed[9:]}")
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise AssemblyError(
                f"{path}: [{index}].reason: missing or shorter than 10 characters; allowed: "
                "what the review decided and why the data may go"
            )
        if resource in seen:
            raise AssemblyError(
                f"{path}: [{index}].resource: {resource} is accepted twice; allowed: each "
                "resource once, with one reason"
            )
        seen.add(resource)
        found.append(Acceptance(resource, reason.strip()))
    return found
