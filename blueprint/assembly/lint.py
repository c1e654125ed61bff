"""cfn-lint over a cloud assembly: each template shape once, on every core.

Templates of LOB environments built from the same settings differ only in names, account IDs
and hashes (``shapes.py``): one representative of each shape is linted and its findings are
said of every member. The result, written to ``cfn-lint.json`` with each template's digest
and shape and each shape's findings, is reused twice: by the audit while the templates are
unchanged, and by the next lint of the same directory, which shapes only the templates that
changed and lints only the shapes it has not seen (after a change to one LOB, that LOB's
new shapes alone).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import Any

from blueprint.assembly.access.parallel import in_processes
from blueprint.assembly.reader import Assembly, AssemblyStack, read_assembly
from blueprint.assembly.records import write_whole
from blueprint.assembly.shapes import Shape, Shaper, translate

LINT_RESULT = "cfn-lint.json"

Json = dict[str, Any]


def lint_assembly(
    directory: Path,
    *,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
    reuse: bool = True,
    by_shape: bool = True,
    assembly: Assembly | None = None,
) -> Json:
    """Lint every stack template in its own region; the result is also written to disk.

    Shapes linted by the last run in ``directory`` (same ``linter()``) are not linted again unless
    ``reuse`` is false; ``by_shape=False`` renames nothing (only exact copies share a result).
    ``progress`` is called with each template linted as it is done; ``assembly``, the
    one in ``directory`` when the caller has read it already.
    """
    stacks = (assembly or read_assembly(directory)).stacks
    _runner.cache_clear()
    # A stack synthesized without identities (an older assembly) just renames no LOB name.
    identities = [stack.recorded_identity for stack in stacks]
    lobs = sorted({identity.lob for identity in identities if identity and identity.lob})
    shaped_with = {"names": lobs, "renaming": by_shape}
    digests = {stack.name: _digest(stack.template_path) for stack in stacks}
    previous = _written(directory) if reuse else None
    if previous is not None and previous.get("linter") != linter():
        previous = None
    members = _known_members(previous, shaped_with)
    remembered = {
        stack.name: _member_shape(members.get(stack.name), digests[stack.name], stack.region)
        for stack in stacks
    }
    known = _known_shapes(previous)
    workers = max(1, min(workers or os.cpu_count() or 1, len(stacks)))
    unshaped = [stack for stack in stacks if remembered[stack.name] is None]
    found = _shape(unshaped, lobs, by_shape, workers)
    shaped = dict(zip((stack.name for stack in unshaped), found, strict=True))
    shapes = {stack.name: remembered[stack.name] or shaped[stack.name] for stack in stacks}
    representatives: dict[str, AssemblyStack] = {}
    for stack in stacks:
        if shapes[stack.name].key not in known:
            representatives.setdefault(shapes[stack.name].key, stack)
    linted = _lint(list(representatives.values()), workers, progress)
    for key, stack in representatives.items():
        known[key] = {"tokens": list(shapes[stack.name].tokens), "findings": linted[stack.name]}
    findings = sorted(
        (
            {
                "stack": stack.name,
                **_said_of(known[shapes[stack.name].key], shapes[stack.name], finding),
            }
            for stack in stacks
            for finding in known[shapes[stack.name].key]["findings"]
        ),
        key=lambda f: (f["stack"], f["line"], f["rule"]),
    )
    used = {shape.key for shape in shapes.values()}
    result = {
        "ran": True,
        "cfn_lint": version("cfn-lint"),
        "linter": linter(),
        "templates": len(stacks),
        "linted": len(representatives),
        "findings": findings,
        "digests": digests,
        "shapes": {key: known[key] for key in sorted(used)},
        "shaped_with": shaped_with,
        "members": {
            stack.name: {
                "digest": digests[stack.name],
                "region": stack.region,
                "key": shapes[stack.name].key,
                "tokens": list(shapes[stack.name].tokens),
            }
            for stack in stacks
        },
    }
    write_whole(directory / LINT_RESULT, result)
    return result


def cached_lint(directory: Path, assembly: Assembly | None = None) -> Json | None:
    """The written result, when every template is still the one that was linted
    (``assembly``: the one in ``directory``, when the caller has read it)."""
    result = _written(directory)
    if result is None:
        return None
    stacks = (assembly or read_assembly(directory)).stacks
    current = {stack.name: _digest(stack.template_path) for stack in stacks}
    return result if result.get("digests") == current else None


def lint_templates(region: str, paths: list[str]) -> list[tuple[str, Json]]:
    """cfn-lint's findings in the templates at ``paths``, for ``region``."""
    from cfnlint.api import ManualArgs, lint_by_config

    matches = lint_by_config(ManualArgs(templates=paths, regions=[region]))
    return [(str(match.filename), _finding(match)) for match in matches]


def lint_one(region: str, path: str) -> tuple[str, list[Json]]:
    """``lint_templates(region, [path])``'s findings, by this process's runner for ``region``
    (building one loads cfn-lint's rules, which costs about as much as linting a template;
    cfn-lint runs one runner over every template it is given)."""
    from cfnlint.config import ConfigMixIn, ManualArgs

    config = ConfigMixIn(**ManualArgs(templates=[path], regions=[region]))
    try:
        config.validate()
    except ValueError:
        return path, [finding for _, finding in lint_templates(region, [path])]
    runner = _runner(region)
    runner.config = config
    return path, [_finding(match) for match in runner.run()]


@cache
def _runner(region: str) -> Any:
    """A runner for ``region`` with the settings files as they are now (``lint_assembly``
    forgets them as it starts: a settings file may have changed since)."""
    from cfnlint.config import ConfigMixIn, ManualArgs
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=[region])))


def _finding(match: Any) -> Json:
    return {"rule": match.rule.id, "message": match.message, "line": match.linenumber}


def _shape(
    stacks: list[AssemblyStack], names: list[str], renaming: bool, workers: int
) -> list[Shape]:
    """The shapes of ``stacks``, for LOB ``names``, a share of them on each worker."""
    shaper = Shaper(names, renaming=renaming)
    return in_processes(
        stacks, lambda stack: shaper.shape(stack.region, stack.template_body), workers, _name
    )


def _name(stack: AssemblyStack) -> str:
    return stack.name


def _lint(
    stacks: list[AssemblyStack], workers: int, progress: Callable[[str], None] | None
) -> dict[str, list[Json]]:
    """Each stack's findings, a template at a time to whichever worker is free, the largest
    first (so that no large one is left to the end)."""
    by_file = {str(stack.template_path): stack.name for stack in stacks}
    linted: dict[str, list[Json]] = {}
    for path, findings in _lint_each(stacks, workers):
        linted[by_file[path]] = findings
        if progress:
            progress(path)
    return linted


def _lint_each(stacks: list[AssemblyStack], workers: int) -> Iterator[tuple[str, list[Json]]]:
    largest_first = sorted(stacks, key=lambda stack: -stack.template_path.stat().st_size)
    tasks = [(stack.region, str(stack.template_path)) for stack in largest_first]
    if workers == 1 or len(tasks) < 2:
        yield from (lint_one(*task) for task in tasks)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(lint_one, *task) for task in tasks]
        yield from (future.result() for future in as_completed(futures))


def _said_of(linted: Json, member: Shape, finding: Json) -> Json:
    """``finding`` of a shape's representative, said of ``member``: same rule and line (a
    shape's members differ only in tokens, never in lines), the message's tokens swapped."""
    source = Shape(member.key, tuple(linted["tokens"]))
    return {**finding, "message": translate(finding["message"], source, member)}


def linter() -> str:
    """What a shape's findings depend on besides the template: cfn-lint and the libraries it
    judges with, its settings files (``.cfnlintrc`` here and in the home directory), and this
    module and the shapes'."""
    digest = hashlib.sha256()
    for library in ("cfn-lint", *_requirements("cfn-lint")):
        digest.update(f"{library}=={version(library)}\n".encode())
    for path in (
        Path(".cfnlintrc"),
        Path(".cfnlintrc.yaml"),
        Path(".cfnlintrc.yml"),
        Path.home() / ".cfnlintrc",
        Path.home() / ".cfnlintrc.yaml",
        Path.home() / ".cfnlintrc.yml",
        Path(__file__),
        Path(__file__).with_name("shapes.py"),
    ):
        digest.update(f"{path}\n".encode())
        digest.update(path.read_bytes() if path.is_file() else b"absent")
    return digest.hexdigest()


def _requirements(distribution: str) -> list[str]:
    """The installed libraries ``distribution`` requires (not those of its extras)."""
    names = [
        re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        for requirement in requires(distribution) or []
        if "extra ==" not in requirement
    ]
    return sorted(name for name in names if _installed(name))


def _installed(name: str) -> bool:
    try:
        version(name)
    except PackageNotFoundError:
        return False
    return True


def _known_shapes(result: Json | None) -> dict[str, Json]:
    """The shapes the last lint found, with their findings (a damaged one is linted again)."""
    shapes = result.get("shapes") if result is not None else None
    if not isinstance(shapes, dict):
        return {}
    return {key: shape for key, shape in shapes.items() if _whole_shape(shape)}


def _whole_shape(shape: object) -> bool:
    return (
        isinstance(shape, dict)
        and isinstance(shape.get("tokens"), list)
        and all(isinstance(token, str) for token in shape["tokens"])
        and isinstance(shape.get("findings"), list)
        and all(
            isinstance(finding, dict)
            and isinstance(finding.get("rule"), str)
            and isinstance(finding.get("message"), str)
            and isinstance(finding.get("line"), int)
            for finding in shape["findings"]
        )
    )


def _known_members(result: Json | None, shaped_with: Json) -> dict[str, Json]:
    """Each template's shape as the last lint (``result``, by the same ``linter()``) found
    it, when it shaped with the same LOB names."""
    if result is None or result.get("shaped_with") != shaped_with:
        return {}
    members = result.get("members")
    return members if isinstance(members, dict) else {}


def _member_shape(member: Json | None, digest: str, region: str) -> Shape | None:
    """A remembered shape, while its template and region are the ones it was found for (a
    shape depends on nothing else but the names and the code, which ``_known_members``
    compares)."""
    if not isinstance(member, dict) or member.get("digest") != digest:
        return None
    key, tokens = member.get("key"), member.get("tokens")
    if member.get("region") != region or not isinstance(key, str) or not isinstance(tokens, list):
        return None
    return Shape(key, tuple(str(token) for token in tokens))


def _written(directory: Path) -> Json | None:
    """The last result written in ``directory`` (None: none, or one that cannot be read)."""
    try:
        result = json.loads((directory / LINT_RESULT).read_text())
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
