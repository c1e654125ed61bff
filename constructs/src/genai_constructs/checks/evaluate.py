"""The platform rules over synthesized templates: every result, and the acknowledged ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from genai_constructs.checks.rule import CheckSettings, Compliance, Json, Resource, Rule, Template
from genai_constructs.checks.rules import RULES
from genai_constructs.naming import PLATFORM_PACK

PACK = PLATFORM_PACK


@dataclass(frozen=True)
class Result:
    """One rule applied to one resource."""

    rule: Rule
    template: Template
    logical_id: str
    compliance: Compliance
    acknowledgment: str | None

    @property
    def rule_id(self) -> str:
        return rule_id(self.rule)

    @property
    def violation(self) -> bool:
        """Non-compliant and not acknowledged: this fails synthesis."""
        return self.compliance is Compliance.NON_COMPLIANT and self.acknowledgment is None


def rule_id(rule: Rule) -> str:
    return f"{PACK}-{rule.name}"


def acknowledgments(resource: Json) -> dict[str, str]:
    """Rule ID -> reason, as cdk-nag writes acknowledgments into the template's metadata."""
    suppressions = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    return {str(entry["id"]): str(entry.get("reason", "")) for entry in suppressions}


def evaluate(
    templates: Iterable[Template], settings: CheckSettings, rules: Iterable[Rule] = RULES
) -> Iterator[Result]:
    """Every applicable (rule, resource) pair of ``templates``."""
    rules = tuple(rules)
    for template in templates:
        for logical_id, body in template.resources.items():
            resource = Resource(logical_id, body, template)
            acknowledged = acknowledgments(body)
            for rule in rules:
                compliance = rule.check(resource, settings)
                if compliance is not Compliance.NOT_APPLICABLE:
                    yield Result(
                        rule, template, logical_id, compliance, acknowledged.get(rule_id(rule))
                    )


def read_templates(paths: Iterable[str | Path]) -> list[Template]:
    """Synthesized templates, each with the region its stack deploys to (from the manifest
    beside it)."""
    regions: dict[Path, dict[str, str]] = {}
    templates = []
    for path in map(Path, paths):
        if path.parent not in regions:
            regions[path.parent] = _regions(path.parent)
        templates.append(Template.read(path, regions[path.parent].get(path.name, "")))
    return templates


def _regions(directory: Path) -> dict[str, str]:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return {}
    artifacts = json.loads(manifest.read_text()).get("artifacts", {})
    return {
        artifact["properties"]["templateFile"]: artifact["environment"].rsplit("/", 1)[-1]
        for artifact in artifacts.values()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
