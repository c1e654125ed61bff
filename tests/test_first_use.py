"""What a platform engineer meets on a fresh clone, at the level they meet it: the command
line's exit code and message, and what `make` runs (issue "Tried as each user would")."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from blueprint.assembly.audit_controls import acknowledgment_groups
from blueprint.assembly.audit_release import release_metadata
from blueprint.assembly.audit_tables import release_table
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from tests.conftest import REPO, Synthesized, only_lobs
from tests.docs import section
from tests.test_config import example_data, problems


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blueprint.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_deeply_nested_file_exits_2_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("organization:\n  name: " + "[" * 5000 + "]" * 5000 + "\n")
    result = validate(path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        f"{path}:2: <root>: lists and mappings nest more than 64 levels deep; allowed: an "
        "organization file (a few levels)" in result.stderr
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "organization:\n  name: x\n   id: 1\n",
            ":3: <root>: invalid YAML: a 'key: value' where none may start; check this line's "
            "indentation (the keys of one mapping line up)",
        ),
        ("organization:\n\tname: x\n", ":2: <root>: invalid YAML: a tab; YAML indents with spaces"),
        (
            "organization:\n  name: x\n id: 1\n",
            ":3: <root>: invalid YAML: this line's indentation matches no key above",
        ),
    ],
)
def test_bad_indentation_is_explained_in_plain_words(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    result = validate(path)
    assert result.returncode == 2
    assert f"{path}{expected}" in result.stderr


def test_a_fine_tuning_entry_without_its_recipe_image_is_refused(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["ml"]["fine_tuning"][0].pop("recipe_image")
    assert problems(data, tmp_path) == [
        "lobs[claims].ml.fine_tuning[0].recipe_image: missing: the SageMaker SDK's image lacks "
        "the recipe's pins and the jobs cannot install them (no internet); allowed: the image "
        "the platform builds into claims-training-recipe (the SSM parameter "
        ".../recipe-image/uri), by digest"
    ]


def test_a_region_typo_is_one_problem_with_the_region_meant(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["environments"]["prod"]["region"] = "eu-west1"
    assert problems(data, tmp_path) == [
        "lobs[claims].environments.prod.region: 'eu-west1' is not an AWS region code (did you "
        "mean 'eu-west-1'?); allowed: e.g. eu-west-1"
    ]


BASELINE_MESSAGE = (
    "the baseline is not a cloud assembly (no manifest.json); allowed: the cdk.out the "
    "deployed release was synthesized into"
)


def test_cost_compare_with_a_missing_baseline_prints_only_the_reason(
    example: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing"
    assert main(["cost", str(example.outdir), "--compare", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"blueprint cost: {missing}: {BASELINE_MESSAGE}")


def test_audit_with_a_missing_baseline_names_the_baseline(
    example: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing"
    argv = ["audit", str(example.outdir), "--org", str(REPO / "environments/example.yaml")]
    assert main([*argv, "--no-lint", "--baseline", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"blueprint audit: {missing}: {BASELINE_MESSAGE}")


@pytest.fixture(scope="module")
def two_lobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = example_data()
    only_lobs(data, data["lobs"][:2])
    path = tmp_path_factory.mktemp("two-lobs") / "two-lobs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("command", ["access", "audit"])
def test_an_organization_file_the_assembly_was_not_synthesized_from_is_refused(
    example: Synthesized, two_lobs: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, str(example.outdir), "--org", str(two_lobs)]
    assert main(argv + (["--no-lint"] if command == "audit" else [])) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"blueprint {command}: the assembly was not synthesized from {two_lobs} (only in the "
        "assembly: research-interactive (444444444446), research-nonprod (555555555557), "
        "research-prod (666666666668)); allowed: the organization file the assembly was "
        "synthesized from (run `make synth ORG=...` again)\n"
    )


def test_an_environment_moved_to_another_region_is_a_different_organization(
    example: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = example_data()
    prod = data["lobs"][0]["environments"]["prod"]
    prod.update(region="eu-central-1", azs=["eu-central-1a", "eu-central-1b"])
    moved = tmp_path / "moved.yaml"
    moved.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["access", str(example.outdir), "--org", str(moved)]) == 2
    assert "(not in the assembly: claims-prod (666666666666, eu-central-1))" in (
        capsys.readouterr().err
    )


def dry_run(target: str) -> str:
    """What ``make <target>`` would run on a fresh clone (every prerequisite out of date)."""
    result = subprocess.run(
        ["make", "-n", "-B", target], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_make_deploy_local_installs_the_emulator_before_deploying() -> None:
    commands = dry_run("deploy-local")
    development = commands.index("'.[dev,training,deploy,prices]'")
    assert "moto" in (REPO / "pyproject.toml").read_text()
    assert development < commands.index("blueprint deploy --local cdk.out")


def test_make_wheel_installs_neither_pytorch_nor_the_development_tools() -> None:
    commands = dry_run("wheel")
    assert "-m build --wheel" in commands
    assert "torch" not in commands
    assert "[dev" not in commands


def test_deploy_step_0_enables_what_the_templates_need(example: Synthesized) -> None:
    deploy = section("## Deploy to AWS")  # docs/platform-engineers.md
    step = deploy[: deploy.index("1. Bootstrap each account")]
    resources = example.template_json("organization-policies")["Resources"].values()
    attached = {
        r["Properties"]["Type"] for r in resources if r["Type"] == "AWS::Organizations::Policy"
    }
    enabled = re.search(r"for type in ([A-Z_ ]+); do", step)
    assert enabled is not None and set(enabled[1].split()) == attached
    trail = [
        r
        for r in example.template_json("platform-governance-audit")["Resources"].values()
        if r["Type"] == "AWS::CloudTrail::Trail"
    ]
    assert [t["Properties"]["IsOrganizationTrail"] for t in trail] == [True]
    assert f"--account-id {example.plan.governance.account}" in step
    assert "--service-principal cloudtrail.amazonaws.com" in step


def test_the_release_section_names_the_organization_file_and_its_digest(
    tmp_path: Path,
) -> None:
    example_file = REPO / "environments/example.yaml"
    elsewhere = tmp_path / "org.yaml"
    elsewhere.write_text(example_file.read_text())
    committed = release_metadata(example_file)["organization_file"]
    assert committed["path"] == str(example_file)
    assert committed["sha256"] == hashlib.sha256(example_file.read_bytes()).hexdigest()
    # A clean clone holds it as committed; a working copy may have changed it.
    assert committed["version_control"] in ("as committed", "changed since the commit")
    report = {"release": release_metadata(elsewhere)}
    rows = dict(map(tuple, release_table(report).rows))
    assert rows["organization file"] == str(elsewhere)
    assert rows["organization file SHA-256"] == committed["sha256"]
    assert rows["organization file under version control"] == (
        "outside the repository: not under its version control"
    )


def test_every_acknowledgment_of_the_example_has_an_owner_and_an_expiry(
    example: Synthesized,
) -> None:
    reviews = example.plan.config.platform.acknowledgment_reviews
    groups = acknowledgment_groups(read_assembly(example.outdir).nag_report, reviews)
    assert groups
    assert [g["reason"] for g in groups if not (g["owner"] and g["expires"])] == []
