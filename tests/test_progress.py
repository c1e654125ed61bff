"""Progress of the long steps: a line now and then in a log, details with --verbose, and the
guards of make diff and make deploy."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from blueprint import progress
from blueprint.progress import Progress
from tests.conftest import REPO


def test_a_log_gets_a_line_now_and_then_and_none_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    stream = io.StringIO()
    with Progress("cfn-lint", 3, "templates", stream=stream) as bar:
        for _ in range(3):
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "cfn-lint: 1/3 templates",
        "cfn-lint: 2/3 templates",
    ]


def test_quick_steps_stay_quiet_and_verbose_names_each_item() -> None:
    quiet, verbose = io.StringIO(), io.StringIO()
    with Progress("cfn-lint", 2, "templates", stream=quiet) as bar:
        bar.advance(2, "linted a.template.json")
    with Progress("cfn-lint", 2, "templates", stream=verbose, verbose=True) as bar:
        bar.advance(1, "linted a.template.json")
    assert quiet.getvalue() == ""
    assert verbose.getvalue() == "linted a.template.json\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["own-org", "STACKS=claims-*"], "ORG is not set: diff and deploy need your organization"),
        (["own-org", "ORG=environments/example.yaml"], "STACKS is not set: name the stacks"),
    ],
)
def test_diff_and_deploy_need_an_organization_and_stacks(
    arguments: list[str], message: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("ORG", "STACKS")}
    result = subprocess.run(
        ["make", "-s", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_the_app_says_what_it_synthesizes_and_when_it_is_the_example(tmp_path: Path) -> None:
    """`npx cdk synth|diff|deploy` without ORG: the app names the example and its stacks."""
    cdk = shutil.which("cdk")
    assert cdk, "make test puts the pinned CDK CLI (node_modules/.bin) on PATH"
    environment = {k: v for k, v in os.environ.items() if k != "ORG"}
    result = subprocess.run(
        [cdk, "synth", "--quiet", "--output", str(tmp_path / "cdk.out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ORG is not set: this is the example organization" in result.stderr
    assert "synthesizing 59 stacks of environments/example.yaml" in result.stderr
    assert re.search(r"synthesized in \d+ s", result.stderr)
