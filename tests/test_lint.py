"""`blueprint lint`: cfn-lint on every template of the example, in parallel, reused by the audit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.access.resolve import Resolver
from blueprint.assembly.iam_reference import remembered
from blueprint.assembly.iam_reference.check import assembly_problems
from blueprint.assembly.iam_reference.documents import policy_statements
from blueprint.assembly.iam_reference.reference import Reference, load_reference
from blueprint.assembly.iam_reference.remembered import checked
from blueprint.assembly.lint import LINT_RESULT, cached_lint, lint_assembly
from blueprint.assembly.reader import AssemblyStack, read_assembly
from blueprint.assembly.shapes import Shape, Shaper
from blueprint.cli import main
from tests.access_worlds import allow, role
from tests.conftest import Synthesized

Json = dict[str, Any]
REFERENCE = load_reference()


@pytest.fixture(scope="module")
def linted(example: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example's assembly, linted once."""
    copy = tmp_path_factory.mktemp("linted") / "cdk.out"
    shutil.copytree(example.outdir, copy)
    lint_assembly(copy, workers=2)
    return copy


# Three stacks of two LOBs that depend on no other: enough for what a lint record keeps.
FEW = ("claims-interactive-security", "claims-prod-security", "marketing-prod-security")


@pytest.fixture(scope="module")
def few_linted(linted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the linted example narrowed to the stacks ``FEW`` (and their assets),
    linted once: the tests of a damaged record lint it again, twice."""
    copy = tmp_path_factory.mktemp("few") / "cdk.out"
    shutil.copytree(linted, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["artifacts"] = {
        name: artifact
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] != "aws:cloudformation:stack" or name in FEW
        if artifact["type"] != "cdk:asset-manifest" or name.removesuffix(".assets") in FEW
    }
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert sorted(stack.name for stack in read_assembly(copy).stacks) == sorted(FEW)
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


def test_a_second_lint_shapes_only_the_templates_that_changed(
    linted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    identities = [stack.recorded_identity for stack in read_assembly(copy).stacks]
    lobs = sorted({identity.lob for identity in identities if identity and identity.lob})
    members = json.loads((copy / LINT_RESULT).read_text())["members"]
    fresh = Shaper(lobs)
    for stack in read_assembly(copy).stacks:
        shape = fresh.shape(stack.region, stack.template_body)
        assert (members[stack.name]["key"], members[stack.name]["tokens"]) == (
            shape.key,
            list(shape.tokens),
        )
    shaped: list[str] = []
    original = Shaper.shape

    def counted(self: Shaper, region: str, text: str) -> Shape:
        shaped.append(text)
        return original(self, region, text)

    monkeypatch.setattr(Shaper, "shape", counted)
    assert lint_assembly(copy, workers=1)["linted"] == 0
    assert shaped == []
    template_path = copy / "claims-nonprod-data.template.json"
    template = json.loads(template_path.read_text())
    template["Resources"]["Broken"] = {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}
    template_path.write_text(json.dumps(template))
    result = lint_assembly(copy, workers=1)
    assert shaped == [template_path.read_text()]
    assert [(f["stack"], f["rule"]) for f in result["findings"]] == [
        ("claims-nonprod-data", "E3002")
    ]


def test_remembered_shapes_are_not_used_for_other_lob_names(linted: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    result = json.loads((copy / LINT_RESULT).read_text())
    result["shaped_with"]["names"] = ["another-lob"]
    # A remembered key no template has: were it used, the template would be linted again.
    for member in result["members"].values():
        member["key"] = "not-a-shape"
    (copy / LINT_RESULT).write_text(json.dumps(result))
    again = lint_assembly(copy, workers=1)
    assert again["linted"] == 0
    assert "not-a-shape" not in {m["key"] for m in again["members"].values()}


def test_the_iam_reference_check_reads_again_only_the_account_and_region_that_changed(
    linted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    assert checked(REFERENCE, read_assembly(copy)) == (
        len(list(policy_statements(Resolver(read_assembly(copy)), read_assembly(copy).stacks))),
        [],
    )
    read: list[str] = []
    original = remembered._stack_problems

    def counted(reference: Reference, resolver: Resolver, stack: AssemblyStack) -> Json:
        read.append(stack.name)
        return original(reference, resolver, stack)

    monkeypatch.setattr(remembered, "_stack_problems", counted)
    assert checked(REFERENCE, read_assembly(copy))[1] == []
    assert read == []
    template_path = copy / "claims-nonprod-data.template.json"
    template = json.loads(template_path.read_text())
    template["Resources"]["Mistaken"] = role("mistaken", statements=[allow("s3:GetObjekt")])
    template_path.write_text(json.dumps(template))
    changed = read_assembly(copy)
    found = checked(REFERENCE, changed)
    stack = next(s for s in changed.stacks if s.name == "claims-nonprod-data")
    assert sorted(read) == sorted(
        s.name for s in changed.stacks if (s.account, s.region) == (stack.account, stack.region)
    )
    statements, problems = assembly_problems(REFERENCE, changed)
    assert found == (statements, [str(p) for p in problems])
    assert len(found[1]) == 1 and "claims-nonprod-data/Mistaken" in found[1][0]


def test_a_damaged_iam_reference_record_is_checked_again(linted: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    expected = checked(REFERENCE, read_assembly(copy))
    record = json.loads((copy / remembered.RECORD).read_text())
    for group in record["groups"].values():
        for entry in group.values():
            entry["statements"] = "many"
    (copy / remembered.RECORD).write_text(json.dumps(record))
    assert checked(REFERENCE, read_assembly(copy)) == expected
    (copy / remembered.RECORD).write_text("{")
    assert checked(REFERENCE, read_assembly(copy)) == expected


def test_a_group_kept_without_one_of_its_stacks_is_checked_again(
    linted: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(linted, copy)
    expected = checked(REFERENCE, read_assembly(copy))
    record = json.loads((copy / remembered.RECORD).read_text())
    for group in record["groups"].values():
        group.popitem()
    (copy / remembered.RECORD).write_text(json.dumps(record))
    assert checked(REFERENCE, read_assembly(copy)) == expected


def test_a_truncated_lint_record_is_linted_again_and_fresh_keeps_nothing(
    few_linted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(few_linted, copy)
    expected = json.loads((copy / LINT_RESULT).read_text())["findings"]
    (copy / LINT_RESULT).write_text('{"findings": [')
    assert cached_lint(copy) is None
    result = lint_assembly(copy, workers=2)
    assert result["findings"] == expected
    assert result["linted"] > 0
    assert main(["lint", str(copy)]) == 0
    assert "(0 linted;" in capsys.readouterr().out
    assert main(["lint", str(copy), "--fresh"]) == 0
    assert "(0 linted;" not in capsys.readouterr().out


def test_a_kept_shape_without_its_findings_is_linted_again(
    few_linted: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "cdk.out"
    shutil.copytree(few_linted, copy)
    record = json.loads((copy / LINT_RESULT).read_text())
    expected = record["findings"]
    for shape in record["shapes"].values():
        del shape["findings"]
    (copy / LINT_RESULT).write_text(json.dumps(record))
    result = lint_assembly(copy, workers=2)
    assert result["linted"] == len(record["shapes"])
    assert result["findings"] == expected
