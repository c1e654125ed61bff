"""`blueprint preflight` (make diff, make deploy): credentials and each target's bootstrap,
answered before the CDK CLI runs. AWS is moto's, in the account of the example's
claims-interactive environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from blueprint.cli import main
from blueprint.model import names
from tests.conftest import EXAMPLE, Synthesized

INTERACTIVE = "444444444444"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", INTERACTIVE)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def preflight(example: Synthesized, *stacks: str) -> int:
    return main(["preflight", "--assembly", str(example.outdir), "--org", str(EXAMPLE), *stacks])


def test_an_account_without_the_platforms_bootstrap_gets_the_command_to_run(
    aws: None, example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preflight(example, "claims-interactive-*") == 2
    error = capsys.readouterr().err
    assert f"aws://{INTERACTIVE}/eu-west-1 has no bootstrap with qualifier genai" in error
    assert (
        f"npx cdk bootstrap aws://{INTERACTIVE}/eu-west-1 --template "
        "cdk.out/bootstrap-template.yaml --trust 333333333333 --trust-for-lookup 333333333333 "
        "--cloudformation-execution-policies arn:aws:iam::aws:policy/ReadOnlyAccess"
    ) in error


def test_a_bootstrapped_account_is_ready_and_others_are_left_to_the_cli(
    aws: None, example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("ssm", region_name="eu-west-1").put_parameter(
        Name=names.BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String"
    )
    assert preflight(example, "claims-interactive-*", "claims-prod-data") == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"aws://{INTERACTIVE}/eu-west-1: bootstrapped (qualifier genai)",
        f"aws://666666666666/eu-west-1: not checked from account {INTERACTIVE} (the CDK CLI "
        "assumes the bootstrap's deploy role there)",
    ]


def test_no_credentials_says_how_to_get_them(
    example: Synthesized,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert preflight(example, "claims-interactive-*") == 2
    error = capsys.readouterr().err
    assert "no usable AWS credentials" in error
    assert "set AWS_PROFILE to a profile of the target account" in error
    assert "Traceback" not in error


def test_stacks_that_match_nothing_are_named(
    aws: None, example: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preflight(example, "claims-staging-*") == 2
    assert "no stack of the organization matches claims-staging-*" in capsys.readouterr().err
