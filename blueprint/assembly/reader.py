"""The one reader of a synthesized cloud assembly: stacks, their identity, templates, assets,
order and the nag report.

Read from ``manifest.json``, the metadata and asset manifests only (no CDK import), so lint,
audit, cost, the replacement guard, the local emulated deployment, the Pulumi program and
the benchmarks share one reading of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from blueprint.model.identity import IDENTITY_METADATA, StackIdentity

Json = dict[str, Any]
STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_MANIFEST = "cdk:asset-manifest"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
PARTITION = "aws"
TEMPLATE_BODY_LIMIT = 51_200  # bytes CloudFormation takes inline; larger templates go by URL
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NAG_REPORT = "nag-report.json"
LOGICAL_ID_METADATA = "aws:cdk:logicalId"


class AssemblyError(Exception):
    """The cloud assembly cannot be read or ordered."""


@dataclass(frozen=True)
class FileAsset:
    """One file asset destination: ``source`` (a file or a directory to zip) at bucket/key."""

    asset_id: str
    source: Path
    packaging: str
    bucket: str
    key: str
    region: str


@dataclass(frozen=True)
class AssemblyStack:
    """One ``aws:cloudformation:stack`` artifact, with its template read."""

    artifact_id: str
    name: str
    account: str
    region: str
    template_path: Path
    depends_on: tuple[str, ...]
    assets: tuple[FileAsset, ...]
    termination_protection: bool
    execution_role_arn: str | None
    recorded_identity: StackIdentity | None
    # Each resource's logical ID, by construct path (as cdk-nag names resources).
    logical_ids: Mapping[str, str]
    # The records the stack itself carries, as (type, data): its identity, its AI systems.
    records: tuple[tuple[str, Any], ...] = ()

    def recorded(self, kind: str) -> list[Any]:
        """The data of each record of type ``kind`` on the stack's own construct path."""
        return [data for record_type, data in self.records if record_type == kind]

    @property
    def identity(self) -> StackIdentity:
        """What the stack is (placement, LOB, environment, layer), as synthesis recorded it."""
        if self.recorded_identity is None:
            raise AssemblyError(
                f"stack {self.name} carries no '{IDENTITY_METADATA}' metadata; synthesize it "
                "with this version of the blueprint (`make synth`)"
            )
        return self.recorded_identity

    @property
    def template_body(self) -> str:
        return self.template_path.read_text()

    @cached_property
    def template(self) -> Json:
        """The template, parsed once."""
        return dict(json.loads(self.template_body))

    @property
    def resources(self) -> dict[str, Json]:
        return dict(self.template.get("Resources", {}))

    @property
    def template_file(self) -> str:
        """The template's path relative to the assembly directory."""
        return self.template_path.name

    @property
    def needs_template_url(self) -> bool:
        """Whether the synthesized template is over the inline limit (as `cdk deploy` decides)."""
        return self.template_path.stat().st_size > TEMPLATE_BODY_LIMIT

    @property
    def template_asset(self) -> FileAsset | None:
        """The destination CDK publishes this stack's own template to, if any."""
        return next((a for a in self.assets if a.source == self.template_path), None)

    @property
    def code_assets(self) -> tuple[FileAsset, ...]:
        """File assets other than the template (Lambda code, ...)."""
        return tuple(a for a in self.assets if a.source != self.template_path)


@dataclass(frozen=True)
class Assembly:
    """A cloud assembly: its stacks in deployment order, and the nag report beside them."""

    directory: Path
    stacks: tuple[AssemblyStack, ...]

    @cached_property
    def nag_report(self) -> Json:
        path = self.directory / NAG_REPORT
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def stack(self, name: str) -> AssemblyStack:
        found = next((stack for stack in self.stacks if stack.name == name), None)
        if found is None:
            raise AssemblyError(f"{self.directory}: no stack named '{name}'")
        return found

    def resources(self, *types: str) -> Iterator[tuple[AssemblyStack, str, Json]]:
        """(stack, logical id, resource) for every resource of the given types (all if none)."""
        for stack in self.stacks:
            for logical_id, resource in stack.resources.items():
                if not types or resource.get("Type") in types:
                    yield stack, logical_id, resource


def require_baseline(directory: Path) -> None:
    """Refuse a baseline that is not a cloud assembly, before anything is printed."""
    if not (directory / "manifest.json").is_file():
        raise AssemblyError(
            f"{directory}: the baseline is not a cloud assembly (no manifest.json); allowed: "
            "the cdk.out the deployed release was synthesized into, kept from its `make synth`"
        )


def read_assembly(directory: Path) -> Assembly:
    """The assembly in ``directory``, stacks in deployment order (dependencies first)."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"{directory}: no manifest.json; run `make synth` first")
    try:
        stacks = _stacks(directory)
    except (OSError, ValueError, KeyError) as error:
        raise AssemblyError(
            f"{directory}: the cloud assembly is incomplete or damaged ({error}); "
            "run `make synth` again"
        ) from None
    return Assembly(directory, tuple(deployment_order(stacks)))


def _stacks(directory: Path) -> list[AssemblyStack]:
    """The stacks of the assembly in ``directory`` and of those nested in it (the stages of the
    delivery pipeline, each an assembly of its own)."""
    artifacts: dict[str, Any] = json.loads((directory / "manifest.json").read_text()).get(
        "artifacts", {}
    )
    stack_ids = {k for k, v in artifacts.items() if v.get("type") == STACK_ARTIFACT}
    names = {key: artifacts[key].get("properties", {}).get("stackName", key) for key in stack_ids}
    stacks = [
        _stack(directory, artifact_id, artifacts[artifact_id], artifacts, names)
        for artifact_id in sorted(stack_ids)
    ]
    for artifact in artifacts.values():
        if artifact.get("type") == NESTED_ASSEMBLY:
            stacks += _stacks(directory / artifact["properties"]["directoryName"])
    return stacks


def _stack(
    directory: Path,
    artifact_id: str,
    artifact: dict[str, Any],
    artifacts: dict[str, Any],
    names: dict[str, str],
) -> AssemblyStack:
    """The stack artifact ``artifact_id``; ``names``: every stack artifact's stack name."""
    properties = artifact.get("properties", {})
    account, region = artifact["environment"].removeprefix("aws://").split("/", 1)
    dependencies = artifact.get("dependencies", [])
    assets: list[FileAsset] = []
    for dependency in dependencies:
        if artifacts.get(dependency, {}).get("type") == ASSET_MANIFEST:
            manifest_file = artifacts[dependency]["properties"]["file"]
            assets += _file_assets(directory, directory / manifest_file)
    metadata = _metadata(directory, artifact)
    return AssemblyStack(
        artifact_id=artifact_id,
        name=names[artifact_id],
        account=account,
        region=region,
        template_path=directory / properties["templateFile"],
        depends_on=tuple(sorted(names[d] for d in dependencies if d in names)),
        assets=tuple(assets),
        termination_protection=bool(properties.get("terminationProtection", False)),
        execution_role_arn=_substitute(properties["cloudFormationExecutionRoleArn"])
        if "cloudFormationExecutionRoleArn" in properties
        else None,
        recorded_identity=_identity(metadata, artifact_id, artifact),
        records=tuple(
            (entry["type"], entry.get("data"))
            for entry in metadata.get(f"/{artifact.get('displayName', artifact_id)}", [])
        ),
        logical_ids={
            path.lstrip("/"): entry["data"]
            for path, entries in metadata.items()
            for entry in entries
            if entry.get("type") == LOGICAL_ID_METADATA
        },
    )


def _metadata(directory: Path, artifact: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The artifact's metadata by construct path, its additional metadata file included."""
    metadata = dict(artifact.get("metadata", {}))
    if "additionalMetadataFile" in artifact:
        metadata.update(json.loads((directory / artifact["additionalMetadataFile"]).read_text()))
    return metadata


def _identity(
    metadata: dict[str, list[dict[str, Any]]], artifact_id: str, artifact: dict[str, Any]
) -> StackIdentity | None:
    """The stack's identity, from the metadata of its own construct path (none in assemblies
    synthesized before identities were recorded: the replacement guard still reads those)."""
    for entry in metadata.get(f"/{artifact.get('displayName', artifact_id)}", []):
        if entry.get("type") == IDENTITY_METADATA:
            return StackIdentity.from_metadata(entry["data"])
    return None


def _file_assets(directory: Path, manifest_file: Path) -> list[FileAsset]:
    manifest = json.loads(manifest_file.read_text())
    assets = []
    for asset_id, asset in sorted(manifest.get("files", {}).items()):
        for destination in asset["destinations"].values():
            assets.append(
                FileAsset(
                    asset_id=asset_id,
                    source=directory / asset["source"]["path"],
                    packaging=asset["source"].get("packaging", "file"),
                    bucket=_substitute(destination["bucketName"]),
                    key=_substitute(destination["objectKey"]),
                    region=destination.get("region", ""),
                )
            )
    return assets


def _substitute(value: str) -> str:
    return value.replace("${AWS::Partition}", PARTITION)


def deployment_order(stacks: Iterable[AssemblyStack]) -> list[AssemblyStack]:
    """Stacks by dependency depth, then name; raises on a cycle or an unknown dependency."""
    by_name = {stack.name: stack for stack in stacks}
    depth = stack_depths(by_name.values())
    return sorted(by_name.values(), key=lambda stack: (depth[stack.name], stack.name))


def stack_depths(stacks: Iterable[AssemblyStack]) -> dict[str, int]:
    """Each stack's position on its longest dependency chain (1 for a stack with none)."""
    by_name = {stack.name: stack for stack in stacks}
    depth: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> int:
        if name in trail:
            raise AssemblyError(f"dependency cycle: {' -> '.join((*trail, name))}")
        if name not in by_name:
            raise AssemblyError(f"stack {trail[-1]} depends on {name}, not in the assembly")
        if name not in depth:
            parents = by_name[name].depends_on
            depth[name] = 1 + max((visit(p, (*trail, name)) for p in parents), default=0)
        return depth[name]

    for name in sorted(by_name):
        visit(name, ())
    return depth


def critical_path(stacks: Iterable[AssemblyStack]) -> list[str]:
    """The longest chain of stack dependencies, first stack to deploy first."""
    by_name = {stack.name: stack for stack in stacks}
    if not by_name:
        return []
    depth = stack_depths(by_name.values())
    name = max(sorted(by_name), key=lambda n: depth[n])
    chain = [name]
    while by_name[name].depends_on:
        name = max(by_name[name].depends_on, key=lambda n: depth[n])
        chain.append(name)
    return list(reversed(chain))
