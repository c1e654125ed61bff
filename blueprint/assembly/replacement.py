"""Replacement guard: stateful resources a new cloud assembly would delete or replace.

Compares two assemblies stack by stack. A stateful resource (a type that holds data, or any
resource retained on deletion) is at risk when its logical ID is gone, or when a property
that CloudFormation cannot update in place changed. Those create-only properties are read
from the resource schemas cfn-lint ships, never from a hand-written list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from blueprint.assembly.reader import read_assembly

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
        "AWS::DynamoDB::Table",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::EFS::FileSystem",
    }
)


@dataclass(frozen=True)
class AtRisk:
    stack: str
    logical_id: str
    resource_type: str
    reason: str
    account: str = ""

    def line(self) -> str:
        return (
            f"{self.account}/{self.stack}/{self.logical_id} ({self.resource_type}): {self.reason}"
        )


StackKey = tuple[str, str, str]


def _stacks(assembly: Path) -> dict[StackKey, dict[str, Any]]:
    """(account, region, name) -> template: a stack of the same name in another account or
    region (an operating model's switch moves layers between accounts) is another stack."""
    return {
        (stack.account, stack.region, stack.name): stack.template
        for stack in read_assembly(assembly).stacks
    }


def _is_stateful(resource: dict[str, Any]) -> bool:
    return resource["Type"] in STATEFUL_TYPES or resource.get("DeletionPolicy") == "Retain"


def _at(properties: dict[str, Any], pointer: str) -> Any:
    """The value at a schema pointer such as ``/properties/BucketName``; None when absent."""
    value: Any = {"properties": properties}
    for part in pointer.strip("/").split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def create_only_properties(region: str, resource_type: str) -> list[str]:
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
    except Exception:
        return []
    return list(schema.schema.get("createOnlyProperties", []))


def resources_at_risk(baseline: Path, candidate: Path) -> list[AtRisk]:
    """Every stateful resource of ``baseline`` that deploying ``candidate`` deletes or replaces."""
    before, after = _stacks(baseline), _stacks(candidate)
    found: list[AtRisk] = []
    for key, template in sorted(before.items()):
        account, region, stack = key
        new_resources = after.get(key, {}).get("Resources", {})
        for logical_id, resource in sorted(template.get("Resources", {}).items()):
            if not _is_stateful(resource):
                continue
            kind = resource["Type"]
            new = new_resources.get(logical_id)
            if new is None or new["Type"] != kind:
                reason = "stack removed" if key not in after else "logical ID removed or renamed"
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
