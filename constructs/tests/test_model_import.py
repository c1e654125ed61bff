"""BaseModelImport: the pipeline that stages an open-weights model's base weights, and the
script its job runs (run here on a small tree of files)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs.importer.import_model import MANIFEST, UnfitSource, import_model, main
from genai_constructs.model_import import SCRIPT, BaseModelImport

SOURCE = "s3://model-intake/mistralai/Mistral-7B-Instruct-v0.3/"


def staged(**overrides: Any) -> tuple[Template, BaseModelImport]:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, max_azs=2)
    arguments: dict[str, Any] = {
        "model_id": "mistral-7b",
        "source_uri": SOURCE,
        "hf_model_id": "mistralai/Mistral-7B-Instruct-v0.3",
        "vpc_subnets": vpc.isolated_subnets,
        "security_group": ec2.SecurityGroup(stack, "Jobs", vpc=vpc),
        "encryption_key": kms.Key(stack, "Key", enable_key_rotation=True),
        "artifacts_bucket": s3.Bucket(stack, "Artifacts"),
        **overrides,
    }
    staging = BaseModelImport(stack, "Import", **arguments)
    return Template.from_stack(stack), staging


@pytest.fixture(scope="module")
def template() -> Template:
    return staged()[0]


def definition(template: Template) -> dict[str, Any]:
    [pipeline] = template.find_resources("AWS::SageMaker::Pipeline").values()
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    parts = body["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_one_network_isolated_job_copies_the_source_under_the_base_prefix(
    template: Template,
) -> None:
    [step] = definition(template)["Steps"]
    job = step["Arguments"]
    assert step["Type"] == "Processing"
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert job["NetworkConfig"]["VpcConfig"]["Subnets"] == ["TOKEN", "TOKEN"]
    weights, code = job["ProcessingInputs"]
    assert weights["S3Input"]["S3Uri"] == SOURCE
    assert code["S3Input"]["LocalPath"] == "/opt/ml/processing/code"
    [output] = job["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == "s3://TOKEN/models/mistral-7b/base"
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == "TOKEN"
    assert job["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/sh",
        "-c",
        'exec python3 /opt/ml/processing/code/*.py "$@"',
        "import_model",
        "--model-id",
        "mistral-7b",
        "--origin",
        SOURCE,
        "--hf-model-id",
        "mistralai/Mistral-7B-Instruct-v0.3",
    ]
    template.has_resource_properties(
        "AWS::SageMaker::Pipeline", {"PipelineName": "import-mistral-7b"}
    )


def test_the_role_reads_its_source_and_only_adds_the_base_weights(template: Template) -> None:
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s.get("Sid"): s for s in statements}
    assert by_sid["ReadTheApprovedSource"]["Resource"] == (
        "arn:aws:s3:::model-intake/mistralai/Mistral-7B-Instruct-v0.3/*"
    )
    assert by_sid["ListTheApprovedSource"]["Condition"] == {
        "StringLike": {"s3:prefix": "mistralai/Mistral-7B-Instruct-v0.3/*"}
    }
    on_artifacts = [s for s in statements if "Artifacts" in json.dumps(s["Resource"])]
    [write] = on_artifacts
    assert write["Resource"]["Fn::Join"][1][1] == "/models/mistral-7b/base/*"
    assert "s3:PutObject" in write["Action"]
    assert not [a for a in write["Action"] if a.startswith(("s3:Get", "s3:Delete", "s3:List"))]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source_uri": "s3://model-intake/weights"}, "is not an S3 prefix"),
        ({"source_uri": "https://huggingface.co/mistralai/x/"}, "is not an S3 prefix"),
        ({"source_uri": "s3://model-intake/*/"}, "is not an S3 prefix"),
        ({"vpc_subnets": []}, "vpc_subnets must name at least one subnet"),
        ({"model_id": "Mistral_7B"}, "makes no valid pipeline name"),
        ({"expected_sha256": "ABC"}, "is not a SHA-256 digest"),
    ],
    ids=["no-trailing-slash", "not-s3", "wildcard", "no-subnets", "bad-id", "bad-digest"],
)
def test_bad_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        staged(**overrides)


def test_grant_start_names_only_the_import_pipeline() -> None:
    _, staging = staged()
    role = iam.Role(staging, "Engineer", assumed_by=iam.AccountRootPrincipal())
    grant = staging.grant_start(role)
    assert grant.success
    statement = grant.principal_statement
    assert statement is not None
    assert statement.resources == [staging.pipeline_arn]


# --- the job's script --------------------------------------------------------------------


def weights(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    (source / "tokenizer").mkdir(parents=True)
    (source / "config.json").write_text('{"model_type": "mistral"}')
    (source / "tokenizer" / "tokenizer.json").write_text("{}")
    (source / "model.safetensors").write_bytes(bytes(range(256)) * 1000)
    return source


def test_the_script_copies_every_file_and_records_each_checksum(tmp_path: Path) -> None:
    source, destination = weights(tmp_path), tmp_path / "out"
    manifest = import_model(source, destination, model_id="m", origin=SOURCE, hf_model_id="org/m")
    files = manifest["files"]
    assert isinstance(files, list)
    assert [f["path"] for f in files] == [
        "config.json",
        "model.safetensors",
        "tokenizer/tokenizer.json",
    ]
    for entry in files:
        content = (destination / entry["path"]).read_bytes()
        assert content == (source / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["bytes"] == len(content)
    written = json.loads((destination / MANIFEST).read_text())
    assert written == manifest
    lines = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
    assert written["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert (written["source"], written["hf_model_id"]) == (SOURCE, "org/m")


def test_the_digest_changes_with_any_byte(tmp_path: Path) -> None:
    source = weights(tmp_path)
    first = import_model(source, tmp_path / "a", model_id="m", origin=SOURCE, hf_model_id=None)
    (source / "config.json").write_text('{"model_type": "mistral "}')
    second = import_model(source, tmp_path / "b", model_id="m", origin=SOURCE, hf_model_id=None)
    assert first["sha256"] != second["sha256"]


def test_an_unfit_source_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    arguments = ["--destination", str(tmp_path / "out"), "--model-id", "m", "--origin", SOURCE]
    assert main(["--source", str(empty), *arguments]) == 2
    assert capsys.readouterr().err == (
        f"import_model: {SOURCE} holds no files: nothing to stage for m\n"
    )
    clash = weights(tmp_path)
    (clash / MANIFEST).write_text("{}")
    assert main(["--source", str(clash), *arguments]) == 2
    assert "holds a manifest.json of its own" in capsys.readouterr().err
    assert not (tmp_path / "out" / "config.json").exists()


def test_the_script_runs_as_the_job_runs_it(tmp_path: Path) -> None:
    source = weights(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--source",
            str(source),
            "--destination",
            str(tmp_path / "out"),
            "--model-id",
            "m",
            "--origin",
            SOURCE,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    digest = json.loads((tmp_path / "out" / MANIFEST).read_text())["sha256"]
    assert result.stdout == f"staged 3 file(s) of m: sha256 {digest}\n"


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    source = weights(tmp_path)
    (source / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(UnfitSource, match=r"pickled files \(pytorch_model.bin\)"):
        import_model(source, tmp_path / "out", model_id="m", origin=SOURCE, hf_model_id=None)
    assert not (tmp_path / "out").exists()


def test_a_source_that_changed_since_its_approval_is_refused(tmp_path: Path) -> None:
    source = weights(tmp_path)
    approved = import_model(source, tmp_path / "a", model_id="m", origin=SOURCE, hf_model_id=None)
    digest = str(approved["sha256"])
    again = import_model(
        source, tmp_path / "b", model_id="m", origin=SOURCE, hf_model_id=None, expected=digest
    )
    assert again["sha256"] == digest
    (source / "config.json").write_text('{"model_type": "other"}')
    with pytest.raises(UnfitSource, match=f"not the approved {digest}"):
        import_model(
            source, tmp_path / "c", model_id="m", origin=SOURCE, hf_model_id=None, expected=digest
        )
    assert not (tmp_path / "c").exists()
