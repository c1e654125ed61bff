from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import constructs
import pytest

import genai_constructs
from genai_constructs import sagemaker_sdk


def test_the_cdk_constructs_package_is_not_shadowed() -> None:
    assert importlib.metadata.distribution("constructs").metadata["Name"] == "constructs"
    assert constructs.Construct.__module__.startswith("constructs")
    assert "site-packages" in (constructs.__file__ or "")


def test_the_library_is_installed_under_its_own_name() -> None:
    assert importlib.metadata.version("genai-constructs") == "0.1.0"
    assert {
        "GovernedBucket",
        "GovernedGuardrail",
        "GovernedKnowledgeBase",
        "S3VectorStore",
        "ModelAccessPolicy",
        "FineTuningPipeline",
        "GpuEndpoint",
        "ModelRelease",
        "acknowledge",
    } <= set(genai_constructs.__all__)


def test_every_public_name_imports_from_the_package() -> None:
    assert sorted(genai_constructs.__all__) == genai_constructs.__all__
    for name in genai_constructs.__all__:
        value = getattr(genai_constructs, name)
        assert value.__name__ == name
        assert value.__module__.startswith("genai_constructs.")


def test_a_missing_sagemaker_sdk_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'genai-constructs\[sagemaker\]'"):
        sagemaker_sdk.require_sdk()


def test_the_built_wheel_ships_the_recipe_and_imports_every_public_name(tmp_path: Path) -> None:
    """Built as `make wheel` builds it (`python -m build`) and installed as an LOB team would:
    `pip install` of the wheel, with its declared dependencies, into a fresh virtual
    environment."""
    library = Path(genai_constructs.__file__).resolve().parents[2]
    subprocess.run(
        [
            *(sys.executable, "-m", "build", "--wheel", "--no-isolation"),
            *("--outdir", str(tmp_path / "dist"), str(library)),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("genai_constructs-0.1.0-*.whl")
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True
    )
    probe = (
        "import genai_constructs as g\n"
        "from genai_constructs.training import RECIPE\n"
        "names = [getattr(g, n).__name__ for n in g.__all__]\n"
        "assert (RECIPE / 'lora_finetune.py').is_file()\n"
        "assert (RECIPE / 'requirements.txt').is_file()\n"
        "print(g.__file__, len(names))\n"
    )
    done = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    location, count = done.stdout.split()
    assert location.startswith(str(venv))
    assert int(count) == len(genai_constructs.__all__)
    assert_cdk_synth_needs_no_credentials(tmp_path / "app", python)


# An LOB team's app as `cdk synth` runs it: a private network in explicit zones, and a role of
# the team's given a guardrail and a knowledge base made elsewhere, under the four nag packs.
NETWORK_APP = """
from aws_cdk import App, Environment
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from genai_constructs import (
    GovernedGuardrail, GovernedKnowledgeBase, PinnedZonesStack, PrivateNetwork,
)
from genai_constructs.compliance import add_nag_packs

app = App()
stack = PinnedZonesStack(
    app, "lob-network", availability_zones=["eu-west-1a", "eu-west-1b"],
    env=Environment(account="123456789012", region="eu-west-1"),
)
key = kms.Key(stack, "Key", enable_key_rotation=True)
flow_logs = logs.LogGroup(stack, "FlowLogs", encryption_key=key)
PrivateNetwork(
    stack, "Network", cidr="10.1.0.0/16", availability_zones=["eu-west-1a", "eu-west-1b"],
    flow_log_group=flow_logs,
)
application = iam.Role(
    stack, "Application", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
)
GovernedGuardrail.from_guardrail_attributes(
    stack, "Guardrail",
    guardrail_arn="arn:aws:bedrock:eu-west-1:123456789012:guardrail/abcdefghij12", version="3",
).grant_apply(application)
GovernedKnowledgeBase.from_knowledge_base_arn(
    stack, "Policies", "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/ABCDEFGHIJ"
).grant_retrieve(application)
add_nag_packs(app)
app.synth()
"""


def assert_cdk_synth_needs_no_credentials(folder: Path, python: Path) -> None:
    """The CDK CLI, as a process of its own, synthesizes the app with the wheel's library and
    no AWS credentials at all (a context lookup would need them); the nag packs fail it on any
    unacknowledged finding, the team's role included."""
    folder.mkdir()
    (folder / "app.py").write_text(NETWORK_APP)
    cdk = Path(genai_constructs.__file__).resolve().parents[3] / "node_modules" / ".bin" / "cdk"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [str(cdk), "synth", "--quiet", "--app", f"{python} app.py", "--output", "cdk.out"],
        cwd=folder,
        env={**clean, "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    template = json.loads((folder / "cdk.out" / "lob-network.template.json").read_text())
    resources = template["Resources"]
    [application] = [
        name
        for name in resources
        if name.startswith("Application") and resources[name]["Type"] == "AWS::IAM::Role"
    ]
    inline = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy"
        and {"Ref": application} in resource["Properties"]["Roles"]
    ]
    assert not inline, inline
    [grants] = resources[application]["Properties"]["ManagedPolicyArns"]
    statements = resources[grants["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    assert {statement["Action"] for statement in statements} == {
        "bedrock:ApplyGuardrail",
        "bedrock:Retrieve",
    }


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (Path(genai_constructs.__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "app.py").write_text(example)
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**os.environ, "CDK_OUTDIR": str(tmp_path / "cdk.out")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "cdk.out" / "lob-team.template.json").is_file()
