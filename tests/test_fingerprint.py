"""The fingerprints that decide which LOBs a synthesis reads back: an LOB's changes with its
inputs only, the code's with any source file, library or CDK context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from blueprint.model.config import OrgConfig
from blueprint.model.fingerprint import canonical, cdk_context, code_fingerprint, lob_fingerprints
from blueprint.model.generate import with_one_lob_changed
from blueprint.model.placing import plan_for
from blueprint.model.settings import TRAINING_CODE
from tests.conftest import EXAMPLE


def fingerprints(org: dict[str, object]) -> dict[str, str]:
    return lob_fingerprints(plan_for(OrgConfig.model_validate(org)), TRAINING_CODE)


def test_a_change_to_one_lob_changes_its_fingerprint_only() -> None:
    before = yaml.safe_load(EXAMPLE.read_text())
    after, lob = with_one_lob_changed(before)
    old, new = fingerprints(before), fingerprints(after)
    assert set(old) == set(new) == {lob["name"] for lob in before["lobs"]}
    assert {name for name in old if old[name] != new[name]} == {lob}


def test_a_setting_every_lob_is_checked_against_changes_every_fingerprint() -> None:
    before = yaml.safe_load(EXAMPLE.read_text())
    after = yaml.safe_load(EXAMPLE.read_text())
    after["organization"]["allowed_regions"].append("eu-south-1")
    old, new = fingerprints(before), fingerprints(after)
    assert all(old[name] != new[name] for name in old)


def test_the_code_fingerprint_follows_sources_and_context(tmp_path: Path) -> None:
    source = tmp_path / "stacks" / "one.py"
    source.parent.mkdir()
    source.write_text("A = 1\n")
    first = code_fingerprint([tmp_path / "stacks"], context="{}")
    assert code_fingerprint([tmp_path / "stacks"], context="{}") == first
    assert code_fingerprint([tmp_path / "stacks"], context='{"flag": false}') != first
    source.write_text("A = 2\n")
    assert code_fingerprint([tmp_path / "stacks"], context="{}") != first


def test_the_cdk_context_includes_the_clis_variables_and_overflow_file(tmp_path: Path) -> None:
    overflow = tmp_path / "context.json"
    overflow.write_text('{"big": 1}')
    environ = {
        "CDK_CONTEXT_JSON": '{"a": 1}',
        "CDK_OUTDIR": "/somewhere",
        "CONTEXT_OVERFLOW_LOCATION_ENV": str(overflow),
        "HOME": "/root",
    }
    seen = json.loads(cdk_context(environ))
    assert seen == {"CDK_CONTEXT_JSON": '{"a": 1}', "CONTEXT_OVERFLOW_LOCATION_ENV": '{"big": 1}'}


def test_a_value_of_no_known_kind_has_no_fingerprint() -> None:
    with pytest.raises(TypeError, match="no fingerprint for object"):
        canonical(object())


def test_sets_are_fingerprinted_in_one_order() -> None:
    assert canonical({"b", "a", "c"}) == ["a", "b", "c"]
    assert canonical(frozenset({3, 1})) == [1, 3]
