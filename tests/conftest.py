"""Shared fixtures: the example organization is synthesized once per test session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blueprint.jsii_kernel import talk_to_kernel_directly

talk_to_kernel_directly()  # as app.py does, before the CDK is imported

import pytest
from aws_cdk import App, cx_api
from aws_cdk.assertions import Template

from blueprint.assembly.access.question import Questions
from blueprint.assembly.reader import read_assembly
from blueprint.model.config import OrgConfig
from blueprint.model.loader import load_config
from blueprint.model.names import ASSET_METADATA
from blueprint.model.personas import persona_named
from blueprint.model.plan import Plan
from blueprint.model.settings import TRAINING_CODE
from stacks import build_platform, synthesize
from stacks.compliance import app_props

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "environments" / "example.yaml"


def feature_flags() -> dict[str, Any]:
    """The context of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    return dict(json.loads((REPO / "cdk.json").read_text())["context"])


def joined(value: Any) -> str:
    """A Fn::Join string with each reference replaced by a readable marker."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(joined(part) for part in parts)
    if "Fn::ImportValue" in value:
        return f"<import:{value['Fn::ImportValue']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::Select" in value or "Fn::Split" in value:
        return "<derived>"
    raise AssertionError(f"unexpected intrinsic {value}")


@dataclass
class Synthesized:
    app: App
    plan: Plan
    assembly: cx_api.CloudAssembly
    outdir: Path

    def template_json(self, stack_name: str) -> dict[str, Any]:
        return dict(self.assembly.get_stack_by_name(stack_name).template)

    def template(self, stack_name: str) -> Template:
        return Template.from_json(self.template_json(stack_name))

    def stack_names(self) -> list[str]:
        return [stack.stack_name for stack in self.assembly.stacks]

    def templates(self) -> dict[str, dict[str, Any]]:
        return {name: self.template_json(name) for name in self.stack_names()}

    def marked(self, stack_name: str, asset: str) -> str:
        """The logical ID of the resource of ``stack_name`` the platform names ``asset``."""
        return marked(self.template_json(stack_name), asset)


def marked(template: dict[str, Any], asset: str) -> str:
    """The logical ID of the one resource of ``template`` the platform names ``asset``
    (``zone/curated``, ``key/data``: ``stacks.assets.mark``), never a hash copied from output."""
    [logical_id] = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get(ASSET_METADATA) == asset
    ]
    return logical_id


def synthesize_org(config: OrgConfig, outdir: Path) -> Synthesized:
    app = App(outdir=str(outdir), **app_props(feature_flags()))
    plan = build_platform(app, config, training_code=TRAINING_CODE)
    assembly = synthesize(app)
    return Synthesized(app=app, plan=plan, assembly=assembly, outdir=outdir)


def only_lobs(data: dict[str, Any], lobs: list[dict[str, Any]]) -> None:
    """Keep ``lobs`` of an organization file's ``data``, and the sign-in assignments to them
    (to those of their environments where the assignment's persona exists)."""
    data["lobs"] = lobs
    environments = {lob["name"]: set(lob["environments"]) for lob in lobs}
    hub = data["platform"].get("hub")
    if hub:
        # The hub's consumers and promotions of the LOBs kept.
        for key in ("consumers", "promoted_prompts", "promoted_knowledge_bases"):
            hub[key] = [entry for entry in hub.get(key, []) if entry["lob"] in environments]
    identity = data["organization"].get("identity")
    if not identity:
        return
    assignments = []
    for assignment in identity["assignments"]:
        exists_in = persona_named(assignment["persona"]).environments
        narrowed = {
            **assignment,
            "lobs": [
                lob
                for lob in assignment.get("lobs", [])
                if lob in environments
                and (not exists_in or environments[lob] & {e.value for e in exists_in})
            ],
        }
        if not narrowed["lobs"]:
            narrowed.pop("environments", None)
        if narrowed["lobs"] or narrowed.get("platform"):
            assignments.append(narrowed)
    identity["assignments"] = assignments


@pytest.fixture(scope="session")
def example_config() -> OrgConfig:
    return load_config(EXAMPLE)


@pytest.fixture(scope="session")
def example(example_config: OrgConfig, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize_org(example_config, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def example_access(example: Synthesized) -> Questions:
    """Access questions about the example's assembly, answered by the evaluator."""
    return Questions(read_assembly(example.outdir), example.plan.config.organization)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands its simulator counts to the controller."""
    from tests.simulator_requests import COUNTS

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["simulator_counts"] = {label: list(c) for label, c in COUNTS.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller gathers each worker's simulator counts for the summary."""
    from tests.simulator_requests import COUNTS

    counts = getattr(node, "workeroutput", {}).get("simulator_counts", {})
    COUNTS.update({label: (c[0], c[1], c[2]) for label, c in counts.items()})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many of the catalog's single requests the IAM simulator decided too."""
    from tests.simulator_requests import COUNTS

    for label, (compared, disagreeing, left_out) in COUNTS.items():
        terminalreporter.write_line(
            f"IAM simulator, {label}: {compared} single requests compared, "
            f"{disagreeing} disagreement(s), {left_out} left out"
        )
