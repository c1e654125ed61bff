"""The auditors' scanner: checkov on every template of the example, 0 unexplained failures.

checkov runs from its own virtual environment (`make test` creates `.venv-checkov`; its
pins conflict with the SageMaker SDK's). Each skip sits in the resource's metadata with a
reason, written by `genai_constructs.acknowledge`, and the audit report lists it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.audit_controls import checkov_skips
from blueprint.assembly.reader import read_assembly
from tests.conftest import REPO, Synthesized

CHECKOV = Path(os.environ.get("CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))


@pytest.fixture(scope="module")
def scan(example: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}; run `make test` (it creates it)")
    templates = tmp_path_factory.mktemp("templates")
    for template in example.outdir.glob("*.template.json"):
        shutil.copy(template, templates / template.name)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(templates),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_reports_no_failed_check(scan: list[dict[str, Any]]) -> None:
    failed = [
        (check["check_id"], check["file_path"], check["resource"])
        for report in scan
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(report["summary"]["passed"] for report in scan) > 2000


def test_every_skip_has_a_reason_and_is_in_the_audit(
    scan: list[dict[str, Any]], example: Synthesized
) -> None:
    skipped = {
        (check["file_path"].rsplit("/", 1)[-1].removesuffix(".template.json"), check["check_id"])
        for report in scan
        for check in report["results"]["skipped_checks"]
    }
    assert skipped
    audited = checkov_skips(read_assembly(example.outdir))
    assert {(s["stack"], s["check"]) for s in audited} == skipped
    assert all(len(s["reason"]) >= 40 for s in audited)
