"""The compliance gate: four cdk-nag packs run as CDK policy-validation plugins.

CDK's validation report lists only plugins that found something, so after a successful
synthesis the packs are run once more over the tree (a fraction of a second) and their
results, with every acknowledgment and its reason, are written to ``nag-report.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, CfnResource, Validations, cx_api
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
)

NAG_PACKS: tuple[type[NagPack], ...] = (
    AwsSolutionsChecks,
    NIST80053R5Checks,
    HIPAASecurityChecks,
    PCIDSS321Checks,
)
NAG_REPORT = "nag-report.json"


def add_compliance_gates(app: App) -> None:
    """Fail synthesis on any unacknowledged finding of the four packs.

    Acknowledgments are copied into each resource's template metadata (``cdk_nag``).
    """
    Validations.of(app).add_plugins(
        *(pack(app, write_suppressions_to_cloud_formation=True) for pack in NAG_PACKS)
    )


def synthesize(app: App) -> cx_api.CloudAssembly:
    """Synthesize ``app`` (the gates run here) and write the nag report beside the templates."""
    assembly = app.synth()
    report = nag_report(app)
    Path(assembly.directory, NAG_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return assembly


def nag_report(app: App) -> dict[str, Any]:
    """Each pack's unacknowledged findings (none after a passing synth) and all acknowledgments."""
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
    acknowledgments = [
        {"resource": construct.node.path, "rule": rule, "reason": reason}
        for construct in app.node.find_all()
        if CfnResource.is_cfn_resource(construct)
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    ]
    return {"packs": packs, "acknowledgments": acknowledgments}
