"""cfn-lint over every template of a cloud assembly, on every core, once per synthesis.

cfn-lint takes about half a second per template, so the templates are shared among worker
processes, and the result is written to ``cfn-lint.json`` with each template's digest: the
audit reuses it while the templates are unchanged instead of linting them again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from blueprint.assembly.reader import read_assembly

LINT_RESULT = "cfn-lint.json"
BATCHES_PER_WORKER = 4

Json = dict[str, Any]


def lint_assembly(
    directory: Path,
    *,
    workers: int | None = None,
    progress: Callable[[list[str]], None] | None = None,
) -> Json:
    """Lint every stack template in its own region; the result is also written to disk.

    ``progress`` is called with the templates of each batch as it is done.
    """
    stacks = read_assembly(directory).stacks
    workers = max(1, min(workers or os.cpu_count() or 1, len(stacks)))
    # One cfn-lint runner per batch of one region (building one costs about as much as linting
    # a template); a few batches per worker, so that progress shows.
    batches: list[tuple[str, list[str]]] = []
    for region in sorted({stack.region for stack in stacks}):
        paths = [str(stack.template_path) for stack in stacks if stack.region == region]
        count = min(len(paths), workers * BATCHES_PER_WORKER)
        batches += [(region, paths[index::count]) for index in range(count)]
    found: list[list[tuple[str, Json]]] = []
    if workers == 1:
        for region, paths in batches:
            found.append(lint_templates(region, paths))
            if progress:
                progress(paths)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(lint_templates, region, paths): paths for region, paths in batches
            }
            for future in as_completed(futures):
                found.append(future.result())
                if progress:
                    progress(futures[future])
    by_file = {str(stack.template_path): stack.name for stack in stacks}
    findings = sorted(
        ({"stack": by_file[path], **finding} for batch in found for path, finding in batch),
        key=lambda f: (f["stack"], f["line"], f["rule"]),
    )
    result = {
        "ran": True,
        "templates": len(stacks),
        "findings": findings,
        "digests": {stack.name: _digest(stack.template_path) for stack in stacks},
    }
    (directory / LINT_RESULT).write_text(json.dumps(result, indent=1) + "\n")
    return result


def cached_lint(directory: Path) -> Json | None:
    """The written result, when every template is still the one that was linted."""
    path = directory / LINT_RESULT
    if not path.exists():
        return None
    result: Json = json.loads(path.read_text())
    current = {
        stack.name: _digest(stack.template_path) for stack in read_assembly(directory).stacks
    }
    return result if result.get("digests") == current else None


def lint_templates(region: str, paths: list[str]) -> list[tuple[str, Json]]:
    """cfn-lint's findings in the templates at ``paths``, for ``region``."""
    from cfnlint.api import ManualArgs, lint_by_config

    matches = lint_by_config(ManualArgs(templates=paths, regions=[region]))
    return [
        (
            str(match.filename),
            {"rule": match.rule.id, "message": match.message, "line": match.linenumber},
        )
        for match in matches
    ]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
