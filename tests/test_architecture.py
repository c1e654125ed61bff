"""The import drawing: packages by job, dependencies in one direction, no cycle.

Read from the source with ``ast`` (type-only imports included), so a new import that breaks
the layering fails here before anyone has to untangle it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

LIBRARY = REPO / "constructs" / "src"
INPUTS = REPO / "blueprint" / "model" / "inputs"
FIRST_PARTY = ("blueprint", "stacks", "genai_constructs", "app")
# Each layer and the first-party layers it may import (besides itself).
ALLOWED = {
    "genai_constructs": set(),
    "blueprint": set(),  # the package's docstring only
    "blueprint.model": {"genai_constructs"},
    "blueprint.assembly": {"blueprint.model", "genai_constructs"},
    "blueprint.deploy": {"blueprint.assembly", "blueprint.model", "genai_constructs"},
    "blueprint.progress": set(),  # what the command line shows of long steps
    "blueprint.collector": set(),  # how often the app and the commands collect garbage
    "blueprint.jsii_kernel": set(),  # how the app starts the jsii kernel
    "blueprint.cli": {
        "blueprint.deploy",
        "blueprint.assembly",
        "blueprint.model",
        "blueprint.progress",
        "blueprint.collector",
    },
    "stacks": {"blueprint.model", "genai_constructs"},
    "app": {"stacks", "blueprint.model", "blueprint.collector", "blueprint.jsii_kernel"},
}


def module_name(path: Path) -> str:
    root = LIBRARY if path.is_relative_to(LIBRARY) else REPO
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> Iterator[Path]:
    yield REPO / "app.py"
    for package in (REPO / "blueprint", REPO / "stacks", LIBRARY / "genai_constructs"):
        yield from sorted(package.rglob("*.py"))


def first_party_imports(path: Path) -> set[str]:
    """Modules of this repository that ``path`` imports, at any depth of the file."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        imported |= {name for name in names if name.split(".")[0] in FIRST_PARTY}
    return imported


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in sources()}
    return {
        name: {target for target in first_party_imports(path) if target in modules} - {name}
        for name, path in modules.items()
    }


def layer(module: str) -> str:
    return next(
        prefix
        for prefix in sorted(ALLOWED, key=len, reverse=True)
        if module == prefix or module.startswith(f"{prefix}.")
    )


def test_every_module_belongs_to_a_layer() -> None:
    assert {layer(module) for module in graph()} == set(ALLOWED)


def test_dependencies_point_one_way() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]
    )
    assert wrong == []


def test_the_import_drawing_has_no_cycle() -> None:
    edges = graph()
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_command_line_starts_without_the_cdk() -> None:
    """`blueprint validate` and the assembly tools never load the CDK (or start node)."""
    inputs = ", ".join(module_name(path) for path in sorted(INPUTS.glob("*.py")))
    probe = (
        f"import sys, blueprint.cli, {inputs}, blueprint.assembly.audit; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'cdk_nag', 'jsii')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


LONGEST_MODULE = 500
LONG_ON_PURPOSE = "Over 500 lines on purpose"


def test_no_module_of_the_blueprint_or_the_library_is_long_without_saying_why() -> None:
    long = [
        str(path.relative_to(REPO))
        for path in sources()
        if path.parts[len(REPO.parts)] in ("blueprint", "constructs")
        and len(path.read_text().splitlines()) > LONGEST_MODULE
        and LONG_ON_PURPOSE not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert long == []
