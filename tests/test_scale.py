"""Structural figures of a generated 100-LOB organization (timings are `make bench`'s).

Every generated LOB is a clone of one of the example's three, so the real stacks of one LOB of
each kind, and of the last LOB, stand for all of them; every platform stack is built for the
whole organization, since those are the ones that could grow with it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from aws_cdk import App

from blueprint.assembly.access.world import build_world
from blueprint.assembly.reader import AssemblyStack, critical_path, read_assembly
from blueprint.model import names
from blueprint.model.config import OrgConfig
from blueprint.model.generate import generate_org
from blueprint.model.loader import load_config
from blueprint.model.settings import TRAINING_CODE
from stacks import build_platform, synthesize
from stacks.compliance import app_props
from stacks.governance import LOBS_PER_OVERSIGHT_STACK
from tests.conftest import EXAMPLE, feature_flags

LOBS = 100
SAMPLE = ("lob-001", "lob-002", "lob-003", f"lob-{LOBS:03d}")
MAX_RESOURCES, MAX_TEMPLATE_BYTES, MAX_DEPTH = 250, 500 * 1024, 4


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> list[AssemblyStack]:
    config = OrgConfig.model_validate(generate_org(LOBS, yaml.safe_load(EXAMPLE.read_text())))
    outdir = tmp_path_factory.mktemp("hundred-lobs.out")
    app = App(outdir=str(outdir), **app_props(feature_flags()))
    build_platform(app, config, training_code=TRAINING_CODE, lob_environments=SAMPLE)
    synthesize(app)
    return list(read_assembly(Path(outdir)).stacks)


@pytest.mark.parametrize("lobs", [6, LOBS])
def test_a_generated_organization_passes_validate(lobs: int, tmp_path: Path) -> None:
    """What `make bench` synthesizes is a valid organization file (cross-field rules too)."""
    org = generate_org(lobs, yaml.safe_load(EXAMPLE.read_text()))
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(org, sort_keys=False))
    config = load_config(path)
    assert [lob.name for lob in config.lobs][-1] == f"lob-{lobs:03d}"
    images = [t.recipe_image for lob in config.lobs for t in lob.ml.fine_tuning]
    nonprod = [lob.environments.nonprod for lob in config.lobs if lob.ml.fine_tuning]
    assert images and all(
        image.startswith(f"{env.account}.dkr.ecr.{env.region}.") if env else False
        for image, env in zip(images, nonprod, strict=True)
    )
    agents = [(a.image, lob.environments.nonprod) for lob in config.lobs for a in lob.genai.agents]
    assert agents and all(env and image.startswith(env.account) for image, env in agents)
    hub = config.platform.hub
    assert hub is not None and {c.lob for c in hub.consumers} == {"lob-001", "lob-003"}


def test_the_sample_and_every_platform_stack_are_built(hundred: list[AssemblyStack]) -> None:
    names = {stack.name for stack in hundred}
    lob_stacks = {name for name in names if name.startswith("lob-")}
    assert len(lob_stacks) == len(SAMPLE) * 3 * 5
    oversight = {name for name in names if "-oversight-" in name}
    assert len(oversight) == math.ceil(LOBS / LOBS_PER_OVERSIGHT_STACK)
    assert {"organization-policies", "platform-governance-audit"} <= names


def test_no_stack_is_near_the_resource_quota(hundred: list[AssemblyStack]) -> None:
    counts = {stack.name: len(stack.template["Resources"]) for stack in hundred}
    largest = max(counts, key=lambda name: counts[name])
    assert counts[largest] < MAX_RESOURCES, largest


def test_no_template_is_near_the_size_quota(hundred: list[AssemblyStack]) -> None:
    sizes = {stack.name: stack.template_path.stat().st_size for stack in hundred}
    largest = max(sizes, key=lambda name: sizes[name])
    assert sizes[largest] < MAX_TEMPLATE_BYTES, largest


def test_the_critical_path_does_not_grow_with_the_org(hundred: list[AssemblyStack]) -> None:
    path = critical_path(hundred)
    assert len(path) <= MAX_DEPTH, path
    assert path[-1].endswith(("-genai", "-ml")), path


def test_sign_in_assignments_are_split_and_each_finds_its_permission_set(
    hundred: list[AssemblyStack],
) -> None:
    workforce = [s for s in hundred if s.name.startswith(names.WORKFORCE_STACK)]
    assert len(workforce) > 1
    assignments = sum(
        1
        for stack in workforce
        for resource in stack.template["Resources"].values()
        if resource["Type"] == "AWS::SSO::Assignment"
    )
    assembly = hundred[0].template_path.parent
    doors = build_world(read_assembly(assembly)).sign_in_doors
    assert len(doors) == assignments
