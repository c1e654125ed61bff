"""`blueprint lint`: cfn-lint on every template of the example, in parallel, reused by the audit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from blueprint.assembly.lint import LINT_RESULT, cached_lint, lint_assembly
from blueprint.cli import main
from tests.conftest import Synthesized


@pytest.fixture(scope="module")
def linted(example: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example's assembly, linted once."""
    copy = tmp_path_factory.mktemp("linted") / "cdk.out"
    shutil.copytree(example.outdir, copy)
    lint_assembly(copy, workers=2)
    return copy


def test_every_template_of_the_example_is_clean(linted: Path, example: Synthesized) -> None:
    result = json.loads((linted / LINT_RESULT).read_text())
    assert result["templates"] == len(example.stack_names())
    assert set(result["digests"]) == set(example.stack_names())
    assert result["findings"] == []


def test_a_changed_template_is_linted_again_and_its_finding_named(
    linted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cached_lint(linted) is not None
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    template_path = copy / "claims-nonprod-data.template.json"
    template = json.loads(template_path.read_text())
    template["Resources"]["Broken"] = {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}
    template_path.write_text(json.dumps(template))
    assert cached_lint(copy) is None
    assert main(["lint", str(copy)]) == 1
    out = capsys.readouterr().out
    templates = len(list(copy.glob("*.template.json")))
    assert f"cfn-lint: {templates} template(s), 1 finding(s) (1 linted;" in out
    result = cached_lint(copy)
    assert result is not None
    [finding] = result["findings"]
    assert (finding["stack"], finding["rule"]) == ("claims-nonprod-data", "E3002")
    assert "Nope" in finding["message"]
    assert f"claims-nonprod-data:{finding['line']}: E3002" in out
