"""Broken references in a CloudFormation template, found before it is sent anywhere.

A ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` variable or ``DependsOn`` must name something the
template declares, and a literal ``Fn::ImportValue`` an export that already exists in the
stack's account and region. Each problem names the resource (or output) that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def broken_references(template: dict[str, Any], exports: set[str]) -> list[str]:
    """Every broken reference of ``template``; ``exports`` are the names importable."""
    resources: dict[str, Any] = template.get("Resources", {})
    declared = set(resources) | set(template.get("Parameters", {}))
    problems: list[str] = []
    for logical_id, resource in resources.items():
        where = f"resource {logical_id} ({resource.get('Type', '?')})"
        depends_on = resource.get("DependsOn", [])
        for target in [depends_on] if isinstance(depends_on, str) else depends_on:
            if target not in resources:
                problems.append(f"{where}: DependsOn {target}, which the template does not declare")
        problems += [f"{where}: {p}" for p in _problems(resource, declared, resources, exports)]
    for name, output in template.get("Outputs", {}).items():
        problems += [f"output {name}: {p}" for p in _problems(output, declared, resources, exports)]
    return problems


def _problems(
    value: Any, declared: set[str], resources: dict[str, Any], exports: set[str]
) -> Iterator[str]:
    for function, argument in _intrinsics(value):
        if function == "Ref" and isinstance(argument, str):
            if not argument.startswith("AWS::") and argument not in declared:
                yield f"Ref {argument}, which the template does not declare"
        elif function == "Fn::GetAtt":
            target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
            if isinstance(target, str) and target not in resources:
                yield f"Fn::GetAtt {target}, which the template does not declare"
        elif function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for variable in SUB_VARIABLE.findall(text):
                target = variable.split(".", 1)[0]
                known = target.startswith("AWS::") or target in declared or target in variables
                if not known:
                    yield f"Fn::Sub ${{{variable}}}, which the template does not declare"
        elif (
            function == "Fn::ImportValue" and isinstance(argument, str) and argument not in exports
        ):
            yield f"Fn::ImportValue {argument}: no stack in this account and region exports it"


def _intrinsics(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _intrinsics(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                yield key, argument
        for item in value.values():
            yield from _intrinsics(item)
