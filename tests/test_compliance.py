"""The compliance gates: cdk-nag packs at synth, cfn-lint on every template, pure synthesis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, CfnResource, Environment, Stack, Validations
from aws_cdk import aws_s3 as s3

from stacks.compliance import NAG_REPORT, add_compliance_gates
from tests.conftest import REPO, Synthesized, feature_flags

PACKS = ["AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"]


def test_every_pack_reports_zero_unacknowledged_findings(example: Synthesized) -> None:
    report = json.loads((example.outdir / NAG_REPORT).read_text())
    assert [pack["pack"] for pack in report["packs"]] == [*PACKS, "GenAIPlatform"]
    assert all(pack["unacknowledged"] == [] for pack in report["packs"])


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context=feature_flags())
    stack = Stack(app, "probe", env=Environment(account="123456789012", region="eu-west-1"))
    s3.Bucket(stack, "PlainBucket")
    add_compliance_gates(app)
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    for pack in PACKS:
        assert f"{pack}-S3BucketSSLRequestsOnly" in str(raised.value) or (
            f"{pack}-S10" in str(raised.value)
        ), pack


def test_acknowledgments_are_narrow_and_reasoned(example: Synthesized) -> None:
    nag_rules = 0
    for construct in example.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                continue
            for rule, reason in entry.data.items():
                if not rule.startswith(tuple(PACKS)):
                    continue  # the CDK's own acknowledgments of its validation plugin
                nag_rules += 1
                assert CfnResource.is_cfn_resource(construct), construct.node.path
                assert len(reason) >= 40, (construct.node.path, rule)
    assert nag_rules > 0


def test_acknowledgments_are_written_to_template_metadata(example: Synthesized) -> None:
    resources = example.template_json("claims-prod-security")["Resources"]
    access_logs = example.marked("claims-prod-security", "access-logs/bucket")
    rules = resources[access_logs]["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert {
        "id": "AwsSolutions-S1",
        "reason": "This bucket is the server access log target of its account; logging it to "
        "itself would create a delivery loop.",
    } in rules


def test_one_template_per_stack_of_the_example(example: Synthesized) -> None:
    expected = (
        {
            f"{key}-{layer}"
            for key in ["platform-governance", "platform-tooling"]
            + [
                f"{lob}-{env}"
                for lob in ("claims", "marketing", "research")
                for env in ("interactive", "nonprod", "prod")
            ]
            for layer in ("security", "foundation")
        }
        | {
            f"{lob}-{env}-{layer}"
            for lob in ("claims", "marketing", "research")
            for env in ("interactive", "nonprod", "prod")
            for layer in ("data", "genai", "ml")
        }
        | {
            "organization-policies",
            "organization-budgets-1",
            "organization-workforce",
            "platform-governance-audit",
            "platform-governance-metrics-sink-eu-central-1",
            "platform-governance-oversight-1",
        }
        | {f"platform-hub-{layer}" for layer in ("security", "foundation", "data", "genai")}
    )
    assert set(example.stack_names()) == expected
    for name in expected:
        assert (example.outdir / f"{name}.template.json").is_file()


def test_synthesis_needs_no_context_lookup(example: Synthesized) -> None:
    manifest = json.loads((example.outdir / "manifest.json").read_text())
    assert manifest.get("missing", []) == []
    assert not (REPO / "cdk.context.json").exists()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_synth_without_credentials_or_network(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "CDK_OUTDIR": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps(feature_flags()),
    }
    result = subprocess.run(
        ["unshare", "--net", "--map-root-user", sys.executable, "-O", "app.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(tmp_path.glob("*.template.json"))) == 59


def test_a_bad_organization_file_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (REPO / "environments/example.yaml").read_text().replace('"111111111111"', '"1111"')
    )
    outdir = tmp_path / "out"
    outdir.mkdir()
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"ORG": str(bad), "CDK_OUTDIR": str(outdir)},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = (
        (REPO / "environments/example.yaml")
        .read_text()
        .splitlines()
        .index('  management_account: "111111111111"')
    )
    assert result.stderr.splitlines()[0] == (
        f"{bad}:{line + 1}: organization.management_account: '1111' is not an AWS account id; "
        "allowed: exactly 12 digits, quoted"
    )
    assert list(outdir.iterdir()) == []
