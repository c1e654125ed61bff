"""The audit report's release section: when, from which commit, organization file and tools
the report was made."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

Json = dict[str, Any]


def release_metadata(org_file: Path | None = None) -> Json:
    """When, from which commit, organization file and tools the report was made."""
    repository = Path(__file__).resolve().parents[2]

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(
                ["git", *arguments], cwd=repository, capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    package = json.loads((repository / "package.json").read_text())
    pins = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "uncommitted_changes": bool(git("status", "--porcelain")),
        "organization_file": _organization_file(org_file, repository, git) if org_file else None,
        "tools": {
            "python": platform.python_version(),
            **{name: _version(name) for name in TOOL_PACKAGES},
            "aws-cdk (CLI)": pins.get("aws-cdk", "unknown"),
        },
    }


def _organization_file(path: Path, repository: Path, git: Callable[..., str]) -> Json:
    """The organization file: its path, SHA-256, and whether git holds it as it is."""
    resolved = path.resolve()
    if not resolved.is_relative_to(repository):
        state = "outside the repository: not under its version control"
    else:
        relative = str(resolved.relative_to(repository))
        if not git("ls-files", "--error-unmatch", "--", relative):
            state = "untracked: not in any commit"
        elif git("status", "--porcelain", "--", relative):
            state = "changed since the commit"
        else:
            state = "as committed"
    return {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "version_control": state,
    }


TOOL_PACKAGES = (
    "genai-platform-blueprint",
    "aws-cdk-lib",
    "cdk-nag",
    "cfn-lint",
    "sagemaker",
    "pydantic",
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
