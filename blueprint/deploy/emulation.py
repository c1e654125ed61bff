"""What moto's CloudFormation can create, and a template cut down to that, with the gaps listed.

moto skips resource types it does not model, and then fails on every ``Ref``/``Fn::GetAtt``
to them; custom resources would need a Lambda runtime (Docker). A template is therefore
prepared for the emulator: each resource it cannot create is removed, recorded as a gap, and
every reference to it becomes a placeholder ARN that says so (``...:not-emulated/<id>``).
Nothing about a removed resource is checked: gaps are reported, never counted as passes.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.parsing import NULL_MODELS, get_model_map

CUSTOM_RESOURCE_REASON = "custom resource: its Lambda handler would need Docker"
UNMODELLED_REASON = "not modelled by moto's CloudFormation"


@dataclass
class PreparedTemplate:
    """A template the emulator can create, and what was taken out of it."""

    template: dict[str, Any]
    gaps: dict[str, str] = field(default_factory=dict)  # logical id -> resource type
    reasons: dict[str, str] = field(default_factory=dict)  # resource type -> why

    def gap_types(self) -> Counter[str]:
        return Counter(self.gaps.values())


def emulation_gap(resource_type: str) -> str | None:
    """Why the emulator cannot create ``resource_type``, or None when it can."""
    if resource_type.startswith("Custom::") or resource_type == (
        "AWS::CloudFormation::CustomResource"
    ):
        return CUSTOM_RESOURCE_REASON
    if resource_type in NULL_MODELS or resource_type not in get_model_map():
        return UNMODELLED_REASON
    return None


def _unknown_instance_types(properties: dict[str, Any]) -> str | None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpointConfig

    for variant in properties.get("ProductionVariants", []):
        try:
            FakeEndpointConfig.validate_instance_type(None, variant.get("InstanceType"))  # type: ignore[arg-type]
        except ValidationError:
            return f"moto's SageMaker instance-type list lacks {variant.get('InstanceType')}"
    return None


def _tag_map(properties: dict[str, Any]) -> str | None:
    if isinstance(properties.get("Tags"), dict):
        return "moto's SSM parameters take tags as a list; CloudFormation (and CDK) write a map"
    return None


# Resource types moto models, but not with every value CDK writes: the reason, or None.
PROPERTY_GAPS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "AWS::SageMaker::EndpointConfig": _unknown_instance_types,
    "AWS::SSM::Parameter": _tag_map,
}
# Resources moto looks up by a property: not creatable when that property names a gap.
LOOKUPS = {"AWS::SageMaker::Endpoint": "EndpointConfigName"}


def prepare(template: dict[str, Any], *, account: str, region: str) -> PreparedTemplate:
    """``template`` without the resources the emulator cannot create, references replaced."""
    resources: dict[str, Any] = template.get("Resources", {})
    prepared = PreparedTemplate(template={})
    for logical_id, resource in resources.items():
        check = PROPERTY_GAPS.get(resource["Type"])
        properties = resource.get("Properties", {})
        reason = emulation_gap(resource["Type"]) or (check(properties) if check else None)
        if reason:
            prepared.gaps[logical_id] = resource["Type"]
            prepared.reasons[resource["Type"]] = reason
    for logical_id, resource in resources.items():
        looked_up = _references(
            resource.get("Properties", {}).get(LOOKUPS.get(resource["Type"], ""))
        )
        if looked_up & set(prepared.gaps):
            prepared.gaps[logical_id] = resource["Type"]
            prepared.reasons[resource["Type"]] = f"looks up {sorted(looked_up)[0]}, not emulated"
    removed = set(prepared.gaps)
    placeholders = {
        logical_id: f"arn:aws:{_service(kind)}:{region}:{account}:not-emulated/{logical_id}"
        for logical_id, kind in prepared.gaps.items()
    }
    body = copy.deepcopy(template)
    body["Resources"] = {
        logical_id: _without_dependencies(resource, removed)
        for logical_id, resource in body.get("Resources", {}).items()
        if logical_id not in removed
    }
    for resource in body["Resources"].values():
        adapt = ADAPTATIONS.get(resource["Type"])
        if adapt:
            adapt(resource.setdefault("Properties", {}))
    prepared.template = _replace_references(body, placeholders)
    return prepared


def _kms_key(properties: dict[str, Any]) -> None:
    properties["Tags"] = [
        {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags", [])
    ]
    if isinstance(properties.get("KeyPolicy"), dict):
        properties["KeyPolicy"] = {"Fn::ToJsonString": properties["KeyPolicy"]}


# moto 5.2.5 reads some resources' properties in its own API's shape (KMS tags as TagKey and
# TagValue, the key policy as a JSON string); the meaning is unchanged.
ADAPTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {"AWS::KMS::Key": _kms_key}


def _references(value: Any) -> set[str]:
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return {argument}
        if function == "Fn::GetAtt":
            return {_get_att(argument)[0]}
    return set()


def _service(resource_type: str) -> str:
    parts = resource_type.split("::")
    return parts[1].lower() if len(parts) == 3 else "custom"


def _without_dependencies(resource: dict[str, Any], removed: set[str]) -> dict[str, Any]:
    depends_on = resource.get("DependsOn")
    if depends_on is None:
        return resource
    kept = [d for d in ([depends_on] if isinstance(depends_on, str) else depends_on)]
    kept = [d for d in kept if d not in removed]
    resource = {key: value for key, value in resource.items() if key != "DependsOn"}
    if kept:
        resource["DependsOn"] = kept
    return resource


def _replace_references(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_replace_references(item, placeholders) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and argument in placeholders:
            return placeholders[argument]
        if function == "Fn::GetAtt":
            target, attribute = _get_att(argument)
            if target in placeholders:
                return f"{placeholders[target]}/{attribute}"
        if function == "Fn::Sub":
            return {"Fn::Sub": _substitute(argument, placeholders)}
    return {key: _replace_references(item, placeholders) for key, item in value.items()}


def _get_att(argument: Any) -> tuple[str, str]:
    if isinstance(argument, str):
        target, _, attribute = argument.partition(".")
        return target, attribute
    return str(argument[0]), str(argument[1])


def _substitute(argument: Any, placeholders: dict[str, str]) -> Any:
    def replace(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            target, _, attribute = match.group(1).partition(".")
            if target not in placeholders:
                return match.group(0)
            return placeholders[target] + (f"/{attribute}" if attribute else "")

        return re.sub(r"\$\{([^!}][^}]*)\}", one, text)

    if isinstance(argument, str):
        return replace(argument)
    text, variables = argument
    return [replace(text), _replace_references(variables, placeholders)]
