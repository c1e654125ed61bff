"""A run narrowed to what changed, shared with a worker and linted by shape equals a full run.

Six LOBs (two clones of each of the example's) are synthesized by the app as `cdk synth` runs
it: cold, where a worker process builds five LOBs; then after a change to one LOB, where the
five others are read back from the first run. A plain synthesis of the changed organization
in one process, and cfn-lint on each of its templates, are the full run. The assemblies are
the same byte for byte (so every tool reading them, the catalog and the audit included, says
the same), and the lint findings are the same.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.assembly.lint import lint_assembly
from blueprint.assembly.reader import read_assembly
from blueprint.model.config import OrgConfig
from blueprint.model.generate import generate_org, with_one_lob_changed
from stacks.reuse import RECORD
from tests.conftest import EXAMPLE, REPO, feature_flags, synthesize_org

LOBS = 6
CHANGED = "lob-002"


def run_app(org: dict[str, Any], outdir: Path) -> str:
    """The app as `cdk synth` runs it (cdk.json's context, optimized Python); its stderr."""
    org_file = outdir.parent / f"{outdir.name}.org.yaml"
    org_file.write_text(yaml.safe_dump(org, sort_keys=False))
    env = {
        **os.environ,
        "ORG": str(org_file),
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(feature_flags()),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("FULL", None)
    done = subprocess.run(
        [sys.executable, "-O", "app.py"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("incremental")
    before = generate_org(LOBS, yaml.safe_load(EXAMPLE.read_text()))
    after, lob = with_one_lob_changed(before)
    assert lob == CHANGED
    incremental = root / "cdk.out"
    cold = run_app(before, incremental)
    cold_lint = lint_assembly(incremental)
    snapshot = root / "cold.out"
    shutil.copytree(incremental, snapshot)
    again = run_app(after, incremental)
    full = root / "full.out"
    synthesize_org(OrgConfig.model_validate(after), full)
    return {
        "cold": cold,
        "cold_lint": cold_lint,
        "snapshot": snapshot,
        "again": again,
        "incremental": incremental,
        "incremental_lint": lint_assembly(incremental),
        "full": full,
        "full_lint": lint_assembly(full, by_shape=False),
    }


def test_the_cold_run_shares_the_lobs_with_a_worker(runs: dict[str, Any]) -> None:
    assert "1 worker(s) building 5 more LOBs, 0 LOBs unchanged" in runs["cold"]


def test_after_a_change_to_one_lob_only_that_lob_is_built(runs: dict[str, Any]) -> None:
    assert "0 worker(s) building 0 more LOBs, 5 LOBs unchanged" in runs["again"]
    snapshot, incremental = runs["snapshot"], runs["incremental"]
    rebuilt = {
        stack.name
        for stack in read_assembly(incremental).stacks
        if stack.identity.lob
        and not filecmp.cmp(stack.template_path, snapshot / stack.template_path.name, False)
    }
    assert rebuilt and {name.split("-")[0] + "-" + name.split("-")[1] for name in rebuilt} == {
        CHANGED
    }
    record = json.loads((incremental / RECORD).read_text())
    assert len(record["lobs"]) == LOBS


def test_the_incremental_assembly_is_the_full_runs(runs: dict[str, Any]) -> None:
    incremental, full = runs["incremental"], runs["full"]
    ours = json.loads((incremental / "manifest.json").read_text())["artifacts"]
    theirs = json.loads((full / "manifest.json").read_text())["artifacts"]
    assert list(ours) == list(theirs)
    assert ours == theirs
    # tree.json is the construct tree of the process that wrote the manifest (only its stacks).
    files = [
        path
        for artifact in theirs.values()
        if artifact["type"] != "cdk:tree"
        for path in (
            artifact.get("properties", {}).get("templateFile"),
            artifact.get("properties", {}).get("file"),
            artifact.get("additionalMetadataFile"),
        )
        if path
    ]
    assert len(files) > 3 * 100
    different = [path for path in files if not filecmp.cmp(incremental / path, full / path, False)]
    assert different == []
    nag_report = "nag-report.json"
    assert (incremental / nag_report).read_text() == (full / nag_report).read_text()


def test_lint_by_shape_and_incremental_equals_every_template_linted(
    runs: dict[str, Any],
) -> None:
    cold, again, full = runs["cold_lint"], runs["incremental_lint"], runs["full_lint"]
    assert cold["linted"] < cold["templates"] == full["templates"] == full["linted"]
    own_templates = sum(1 for name in full["digests"] if name.startswith(f"{CHANGED}-"))
    assert again["linted"] <= own_templates
    assert again["findings"] == full["findings"]
    assert again["digests"] == full["digests"]
