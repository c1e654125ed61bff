"""A record of the catalog's answers is trusted only whole and under its own digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blueprint.assembly.access.reuse import RECORD, Answers, record, recorded


def test_a_record_is_read_back_under_its_key_only(tmp_path: Path) -> None:
    answers = Answers(["access catalog: 2 checks"], ["a problem"], 1)
    record(tmp_path, "key", answers)

    assert recorded(tmp_path, "key") == answers
    assert recorded(tmp_path, "another key") is None


@pytest.mark.parametrize(
    "content",
    [
        {"key": "key", "err": [], "status": 0},
        {"key": "key", "out": "one line", "err": [], "status": 0},
        {"key": "key", "out": [1], "err": [], "status": 0},
        {"key": "key", "out": [], "err": [], "status": "0"},
        ["key"],
    ],
    ids=["no-out", "out-not-a-list", "out-not-lines", "status-not-a-number", "not-a-mapping"],
)
def test_a_record_that_is_not_whole_is_ignored(tmp_path: Path, content: object) -> None:
    (tmp_path / RECORD).write_text(json.dumps(content))
    assert recorded(tmp_path, "key") is None


def test_a_truncated_record_is_ignored(tmp_path: Path) -> None:
    record(tmp_path, "key", Answers(["line"], [], 0))
    path = tmp_path / RECORD
    path.write_text(path.read_text()[:-5])
    assert recorded(tmp_path, "key") is None
