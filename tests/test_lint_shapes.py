"""`blueprint lint` lints each template shape once: a shape's members get its findings in their
own names, a finding that depends on a name is still found, a template of no known shape is
linted alone, and the result is what linting every template would give."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.lint import lint_assembly, lint_templates
from blueprint.assembly.shapes import Shaper
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import IDENTITY_METADATA, Layer, PlacementKind, StackIdentity

REGION = "eu-west-1"
# S3 allows bucket names of 63 characters: LOB name, dash, 55 more is 63 for a seven-letter
# LOB (aaa-001) and 65 for a nine-letter one (aaaa-0001).
BUCKET_TAIL = "x" * 55


def bucket_template(lob: str, account: str, *, tail: str = BUCKET_TAIL) -> dict[str, Any]:
    """What a stack of ``lob`` might hold: its names, its account, a path hash of its name."""
    identifier = lob.replace("-", "")
    return {
        "Resources": {
            f"Zone{identifier}Bucket{_hash(lob)}": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": f"{lob}-{tail}"},
            },
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    }
                },
            },
        }
    }


def write_assembly(directory: Path, templates: dict[str, tuple[str, str, dict[str, Any]]]) -> Path:
    """An assembly of stacks ``name -> (lob, account, template)``."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name, (lob, account, template) in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template, indent=1))
        identity = StackIdentity(
            placement=f"{lob}-prod",
            kind=PlacementKind.LOB_ENVIRONMENT,
            layer=Layer.DATA,
            lob=lob,
            environment=EnvironmentName.PROD,
        )
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{account}/{REGION}",
            "properties": {"templateFile": f"{name}.template.json"},
            "metadata": {f"/{name}": [{"type": IDENTITY_METADATA, "data": identity.as_metadata()}]},
        }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return directory


def each_template_linted(directory: Path) -> list[dict[str, Any]]:
    """The truth: every template linted on its own."""
    manifest = json.loads((directory / "manifest.json").read_text())["artifacts"]
    findings = []
    for name, artifact in manifest.items():
        path = str(directory / artifact["properties"]["templateFile"])
        findings += [{"stack": name, **finding} for _, finding in lint_templates(REGION, [path])]
    return sorted(findings, key=lambda f: (f["stack"], f["line"], f["rule"]))


def _hash(lob: str) -> str:
    return hashlib.md5(lob.encode()).hexdigest()[:8].upper()


def org(*lobs: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    accounts = {lob: f"{100000000000 + number}" for number, lob in enumerate(lobs)}
    return {
        f"{lob}-prod-data": (lob, accounts[lob], bucket_template(lob, accounts[lob]))
        for lob in lobs
    }


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Three LOBs of one shape, one whose longer name is a shape of its own, one template
    unlike any other."""
    stacks = org("aaa-001", "bbb-002", "ccc-003", "aaaa-0001")
    extra = bucket_template("ddd-004", "100000000009")
    extra["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {"Nope": 1}}
    stacks["ddd-004-prod-data"] = ("ddd-004", "100000000009", extra)
    directory = write_assembly(tmp_path_factory.mktemp("shapes") / "cdk.out", stacks)
    return directory, lint_assembly(directory, workers=1)


def test_a_shape_is_linted_once_for_all_its_members(linted: tuple[Path, dict[str, Any]]) -> None:
    _, result = linted
    assert (result["templates"], result["linted"]) == (5, 3)


def test_a_name_dependent_finding_is_found_in_the_one_template_it_holds_for(
    linted: tuple[Path, dict[str, Any]],
) -> None:
    _, result = linted
    too_long = {(f["stack"], f["rule"]) for f in result["findings"] if f["rule"] == "E3033"}
    assert too_long == {("aaaa-0001-prod-data", "E3033")}
    [message] = [f["message"] for f in result["findings"] if f["rule"] == "E3033"]
    assert f"'aaaa-0001-{BUCKET_TAIL}' is longer than 63" in message


def test_a_template_of_no_known_shape_is_linted_alone(
    linted: tuple[Path, dict[str, Any]],
) -> None:
    _, result = linted
    assert {f["stack"] for f in result["findings"] if f["rule"] == "E3002"} == {"ddd-004-prod-data"}


def test_the_result_is_what_linting_every_template_gives(
    linted: tuple[Path, dict[str, Any]],
) -> None:
    directory, result = linted
    assert result["findings"] == each_template_linted(directory)


def test_the_findings_are_those_of_cfn_lints_own_command(
    linted: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Linting with rules loaded once per process (as here, after the fixture's lint) and on
    two workers finds what ``cfn-lint`` run on its own finds in every template."""
    directory, _ = linted
    templates = sorted(directory.glob("*.template.json"))
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    options = ["--format", "parseable", "--regions", REGION]
    run = subprocess.run([cfn_lint, *map(str, templates), *options], capture_output=True, text=True)
    assert not run.stderr, run.stderr
    by_command = sorted(
        (Path(file).name, int(line), rule, message)
        for file, line, _, _, _, rule, message in (
            row.split(":", 6) for row in run.stdout.splitlines()
        )
    )
    assert {rule for _, _, rule, _ in by_command} >= {"E3002", "E3033"}
    by_process = sorted(
        (Path(path).name, finding["line"], finding["rule"], _one_line(finding["message"]))
        for template in templates
        for path, finding in lint_templates(REGION, [str(template)])
    )
    assert by_process == by_command
    copy = tmp_path / "cdk.out"
    copy.mkdir()
    for file in directory.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    on_workers = lint_assembly(copy, workers=2, by_shape=False)["findings"]
    assert (
        sorted(
            (f"{f['stack']}.template.json", f["line"], f["rule"], _one_line(f["message"]))
            for f in on_workers
        )
        == by_command
    )


def test_settings_files_are_read_as_cfn_lint_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``.cfnlintrc`` with parameter files and a custom rule is read on every lint as
    ``cfn-lint`` reads it (the runner kept per process included); a lint where none is finds
    neither, though the last lint in this process had one."""
    template: dict[str, Any] = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Name"}}},
            "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "plain-name"}},
        },
    }
    stacks = {"aaa-001-prod-data": ("aaa-001", "100000000000", template)}
    with_settings, without = tmp_path / "with", tmp_path / "without"
    for directory in (with_settings, without):
        write_assembly(directory / "cdk.out", stacks)
    (with_settings / "parameters.json").write_text(
        json.dumps([{"ParameterKey": "Name", "ParameterValue": "B" * 80}])
    )
    (with_settings / "rules.txt").write_text("AWS::S3::Bucket BucketName == other ERROR\n")
    (with_settings / ".cfnlintrc").write_text(
        "parameter_files:\n  - parameters.json\ncustom_rules: rules.txt\n"
    )
    monkeypatch.chdir(with_settings)
    found = lint_assembly(with_settings / "cdk.out", workers=1, reuse=False)["findings"]
    rules = {finding["rule"] for finding in found}
    assert {"W1030", "E9001"} <= rules
    assert found == each_template_linted(with_settings / "cdk.out")
    monkeypatch.chdir(without)
    assert lint_assembly(without / "cdk.out", workers=1, reuse=False)["findings"] == []


def _one_line(message: str) -> str:
    """A message as cfn-lint's parseable output writes it."""
    return re.sub(r"(\r*\n)+", " ", message)


def test_a_members_findings_are_said_in_its_own_names(tmp_path: Path) -> None:
    """Every member's bucket name is too long: each finding names that member's bucket."""
    stacks = org("aaa-001", "bbb-002", "ccc-003")
    for lob, account, _ in list(stacks.values()):
        stacks[f"{lob}-prod-data"] = (lob, account, bucket_template(lob, account, tail="y" * 60))
    directory = write_assembly(tmp_path / "cdk.out", stacks)
    result = lint_assembly(directory, workers=1)
    assert result["linted"] == 1
    assert result["findings"] == each_template_linted(directory)
    messages = {f["stack"]: f["message"] for f in result["findings"] if f["rule"] == "E3033"}
    assert messages == {
        f"{lob}-prod-data": f"'{lob}-{'y' * 60}' is longer than 63"
        for lob in ("aaa-001", "bbb-002", "ccc-003")
    }


def test_a_second_lint_lints_only_the_shapes_it_has_not_seen(tmp_path: Path) -> None:
    stacks = org("aaa-001", "bbb-002", "ccc-003")
    directory = write_assembly(tmp_path / "cdk.out", stacks)
    assert lint_assembly(directory, workers=1)["linted"] == 1
    stacks["bbb-002-prod-data"] = (
        "bbb-002",
        "100000000001",
        bucket_template("bbb-002", "100000000001", tail="z" * 70),
    )
    write_assembly(directory, stacks)
    again = lint_assembly(directory, workers=1)
    assert again["linted"] == 1
    assert again["findings"] == each_template_linted(directory)
    assert {f["stack"] for f in again["findings"]} == {"bbb-002-prod-data"}
    assert lint_assembly(directory, workers=1, reuse=False)["linted"] == 2


def test_tokens_keep_their_length_and_character_classes() -> None:
    shaper = Shaper(["aaa-001", "bbb-002", "aaaa-0001", "AAA-001"])
    template = '{"Name": "%s", "Id": "Zone%sBucket1A2B3C4D", "Account": "%s"}'
    same = shaper.shape(REGION, template % ("aaa-001", "aaa001", "111111111111"))
    other = shaper.shape(REGION, template % ("bbb-002", "bbb002", "222222222222"))
    longer = shaper.shape(REGION, template % ("aaaa-0001", "aaaa0001", "111111111111"))
    upper = shaper.shape(REGION, template % ("AAA-001", "AAA001", "111111111111"))
    assert same.key == other.key
    assert len({same.key, longer.key, upper.key}) == 3
    assert (
        shaper.shape("us-east-1", template % ("aaa-001", "aaa001", "111111111111")).key != same.key
    )


def test_tokens_that_repeat_differently_are_another_shape() -> None:
    """One account twice is not two accounts: the renaming is one to one."""
    shaper = Shaper([])
    template = '{"A": "%s", "B": "%s"}'
    twice = shaper.shape(REGION, template % ("111111111111", "111111111111"))
    two = shaper.shape(REGION, template % ("111111111111", "222222222222"))
    assert twice.key != two.key
