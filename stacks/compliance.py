"""The compliance gate: four cdk-nag packs and the platform's own pack run as CDK
policy-validation plugins.

CDK's validation report lists only plugins that found something, so after a successful
synthesis the packs are run once more (cdk-nag's over the tree, a fraction of a second; the
platform's over the templates) and their results, with every acknowledgment and its reason,
are written to ``nag-report.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations, cx_api

from blueprint.model import names
from genai_constructs.checks import PACK, CheckSettings, evaluate, read_templates, rule_id
from genai_constructs.checks.pack import GenAIPlatformChecks
from genai_constructs.compliance import add_nag_packs, nag_pack_classes

NAG_PACKS = nag_pack_classes()
NAG_REPORT = "nag-report.json"
# Where the app records what the platform pack checked against (read back by the report).
CHECK_SETTINGS_METADATA = "genai-platform:checks"


# The synthesizer of every stack (pipeline stages included) reads the bootstrap qualifier
# from this context key.
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
NO_CREATION_STACK_TRACES = "aws:cdk:disable-creation-stack-traces"


def app_props(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Props of every App of the platform: ``context`` plus the platform's bootstrap
    qualifier, and CDK's built-in CloudFormation validation off (a WebAssembly linter run
    inside synth: cfn-lint lints every template after synth instead, `blueprint lint` on all
    cores, and the built-in pass cost about a second per LOB), and no JavaScript stack trace
    recorded for each resource (``cdk synth --debug`` still records them)."""
    return {
        "builtin_cloud_formation_validation": False,
        "context": {
            **(context or {}),
            QUALIFIER_CONTEXT: names.BOOTSTRAP_QUALIFIER,
            NO_CREATION_STACK_TRACES: True,
        },
    }


def add_compliance_gates(app: App, settings: CheckSettings | None = None) -> None:
    """Fail synthesis on any unacknowledged finding of the four cdk-nag packs and of the
    platform's pack (checked against ``settings``: allowed regions, unguarded models).

    Acknowledgments are copied into each resource's template metadata (``cdk_nag``).
    """
    checks = settings or CheckSettings()
    add_nag_packs(app, write_suppressions_to_cloud_formation=True)
    Validations.of(app).add_plugins(
        GenAIPlatformChecks(
            allowed_regions=checks.allowed_regions,
            unguarded_model_ids=checks.unguarded_model_ids,
        ),
    )
    app.node.add_metadata(
        CHECK_SETTINGS_METADATA,
        {
            "allowed_regions": list(checks.allowed_regions),
            "unguarded_model_ids": list(checks.unguarded_model_ids),
        },
    )


def synthesize(app: App, *, complete: Callable[[Path], None] | None = None) -> cx_api.CloudAssembly:
    """Synthesize ``app`` (the gates run here) and write the nag report beside the templates;
    ``complete`` first adds to the assembly what other processes or runs built."""
    assembly = app.synth()
    if complete:
        complete(Path(assembly.directory))
    report = nag_report(app, Path(assembly.directory))
    Path(assembly.directory, NAG_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return assembly


def nag_report(app: App, directory: Path) -> dict[str, Any]:
    """Each pack's unacknowledged findings (none after a passing synth) and all acknowledgments
    (read back from the assembly's metadata: walking the construct tree through jsii costs
    about a second per LOB)."""
    packs = []
    for pack_class in NAG_PACKS:
        pack = pack_class()
        result = pack.validate_scope(app)
        packs.append(
            {
                "pack": pack.read_pack_name,
                "unacknowledged": [
                    {
                        "rule": v.rule_name,
                        "resources": [r.construct_path for r in v.violating_resources],
                    }
                    for v in result.violations
                ],
            }
        )
    packs.append({"pack": PACK, "unacknowledged": _platform_findings(app, directory)})
    return {"packs": packs, "acknowledgments": list(_acknowledgments(directory))}


def _platform_findings(app: App, directory: Path) -> list[dict[str, Any]]:
    """The platform pack's unacknowledged findings, from the templates and its settings."""
    recorded = [e.data for e in app.node.metadata if e.type == CHECK_SETTINGS_METADATA]
    settings = (
        CheckSettings(
            tuple(recorded[0]["allowed_regions"]), tuple(recorded[0]["unguarded_model_ids"])
        )
        if recorded
        else CheckSettings()
    )
    findings: dict[str, list[str]] = {}
    artifacts = json.loads((directory / "manifest.json").read_text()).get("artifacts", {})
    templates = [
        directory / artifact["properties"]["templateFile"]
        for artifact in artifacts.values()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]
    for result in evaluate(read_templates(templates), settings):
        if result.violation:
            findings.setdefault(rule_id(result.rule), []).append(
                f"{result.template.name}/{result.logical_id}"
            )
    return [{"rule": rule, "resources": resources} for rule, resources in findings.items()]


def _acknowledgments(directory: Path) -> Iterator[dict[str, str]]:
    """Every acknowledged rule in the assembly and its nested (pipeline stage) assemblies."""
    acknowledged = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    artifacts = json.loads((directory / "manifest.json").read_text()).get("artifacts", {})
    for artifact in artifacts.values():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "cdk:cloud-assembly":
            yield from _acknowledgments(directory / properties["directoryName"])
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            metadata.update(
                json.loads((directory / artifact["additionalMetadataFile"]).read_text())
            )
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == acknowledged:
                    for rule, reason in entry["data"].items():
                        yield {"resource": path.lstrip("/"), "rule": rule, "reason": reason}
