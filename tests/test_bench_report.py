"""`make bench` keeps its figures, so the report can be written again (notes edited) without
measuring again."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bench.run import RESULTS, STEPS, Run, Size, main, render


def test_the_report_is_written_again_from_the_recorded_figures(tmp_path: Path) -> None:
    size = Size(
        "example",
        3,
        runs=[Run(dict(zip(STEPS, (0.3, 20.0, 21.0, 0.3, 3.6, 2.2), strict=True)), 354.0, 3.7)],
        changes=[Run(dict(zip(STEPS, (0.4, 11.0, 2.6, 0.4, 1.4, 1.5), strict=True)), 300.0, 1.6)],
        floor=[5.0],
        stacks=59,
        resources=2028,
        largest_stack=("claims-nonprod-genai", 149),
        largest_template=("claims-nonprod-genai", 229_531),
        path=["a", "b"],
    )
    recorded = {"runs": 1, "large_runs": 1, "sizes": [asdict(size)]}
    (tmp_path / RESULTS).write_text(json.dumps(recorded))
    out = tmp_path / "BENCHMARKS.md"

    assert main(["--render", "--workdir", str(tmp_path), "--out", str(out)]) == 0

    expected = render([size], argparse.Namespace(runs=1, large_runs=1))
    assert out.read_text() == expected
    assert "| example | 3 | 59 | 2028 |" in expected
