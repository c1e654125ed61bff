"""The commands run with the collector's raised thresholds and give the caller's back."""

from __future__ import annotations

import argparse
import gc

import pytest

from blueprint import cli
from blueprint.assembly.reader import AssemblyError
from blueprint.collector import THRESHOLDS


@pytest.mark.parametrize("outcome", ["returns", "fails"])
def test_a_command_collects_less_and_restores_the_thresholds(
    monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    seen: list[tuple[int, int, int]] = []

    def run(args: argparse.Namespace) -> int:
        seen.append(gc.get_threshold())
        if outcome == "fails":
            raise AssemblyError("no assembly")
        return 0

    monkeypatch.setattr(cli, "_run", run)
    before = (700, 10, 10)
    gc.set_threshold(*before)
    try:
        status = cli.main(["summary", "nowhere"])
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)

    assert seen == [THRESHOLDS]
    assert after == before
    assert status == (0 if outcome == "returns" else 2)
