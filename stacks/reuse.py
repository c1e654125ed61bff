"""Synthesis narrowed to what changed and spread over the cores.

An LOB environment's stacks come from one of three places: this app; a worker process (this
app again, given a share of the LOBs and none of the platform's stacks) on another core; or
the previous assembly in the same output directory, for an LOB whose fingerprint and the
code's are those recorded by the run that wrote it (``blueprint.model.fingerprint``). Every
artifact is merged into the app's manifest in the order a full run writes (the LOBs' stacks in
the organization file's order, before the organization stack), and the run's fingerprints
are recorded once the assembly is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueprint.model import names
from blueprint.model.identity import PlacementKind
from blueprint.model.plan import Plan
from blueprint.model.settings import WORKER_LOBS

RECORD = "synth-inputs.json"
MANIFEST = "manifest.json"
LOG = "worker.log"
# Worker processes pay for their start (Python, the SageMaker SDK, the jsii runtime): below
# this many LOBs to build, the app builds them alone.
LOBS_PER_WORKER = 6
# The platform's stacks, which the app builds besides its share, cost about this many LOBs.
PLATFORM_IN_LOBS = 4

Json = dict[str, Any]


@dataclass(frozen=True)
class Synthesis:
    """Who builds which LOBs in one run, and what the run records."""

    build: tuple[str, ...]
    workers: tuple[tuple[str, ...], ...] = ()
    reuse: tuple[str, ...] = ()
    record: Json = field(default_factory=dict)


def plan_synthesis(
    plan: Plan,
    outdir: Path,
    *,
    code: str,
    lobs: Mapping[str, str],
    full: bool = False,
    cores: int = 1,
) -> Synthesis:
    """Reuse each LOB whose fingerprint in ``lobs`` and ``code`` are the previous run's (and
    whose artifacts are all still there), unless ``full``; share the others among ``cores``."""
    record = {"code": code, "lobs": dict(lobs)}
    previous = _read_json(outdir / RECORD)
    manifest = _read_json(outdir / MANIFEST)
    reusable: set[str] = set()
    if not full and previous.get("code") == code and manifest:
        stacks = lob_stacks(plan)
        artifacts = manifest.get("artifacts", {})
        for lob, fingerprint in lobs.items():
            own = [name for name, owner in stacks.items() if owner == lob]
            if previous.get("lobs", {}).get(lob) == fingerprint and all(
                _complete(outdir, artifacts, name, previous.get("files", {})) for name in own
            ):
                reusable.add(lob)
    order = [lob.name for lob in plan.config.lobs]
    to_build = [lob for lob in order if lob not in reusable]
    shares = _shares(to_build, cores)
    return Synthesis(
        build=shares[0],
        workers=shares[1:],
        reuse=tuple(lob for lob in order if lob in reusable),
        record=record,
    )


def lob_stacks(plan: Plan) -> dict[str, str]:
    """The LOB environments' stacks, each to its LOB."""
    return {
        placement.stack_name(layer): placement.lob.name
        for placement in plan.placements
        if placement.kind is PlacementKind.LOB_ENVIRONMENT and placement.lob is not None
        for layer in placement.layers
    }


def begin(synthesis: Synthesis, outdir: Path, app_file: Path) -> list[Worker]:
    """Withdraw the record of every LOB about to be built (a run that fails leaves nothing
    that vouches for its half-written templates), and start one worker per share of
    ``synthesis.workers``, each into a directory of its own."""
    kept = {lob: synthesis.record["lobs"][lob] for lob in synthesis.reuse}
    if (outdir / RECORD).exists():
        files = _read_json(outdir / RECORD).get("files", {})
        withdrawn = {**synthesis.record, "lobs": kept, "files": files}
        (outdir / RECORD).write_text(json.dumps(withdrawn, indent=1))
    return [Worker.start(lobs, app_file) for lobs in synthesis.workers]


@dataclass
class Worker:
    """The app run for ``lobs`` only, into ``outdir``."""

    lobs: tuple[str, ...]
    outdir: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, lobs: tuple[str, ...], app_file: Path) -> Worker:
        outdir = Path(tempfile.mkdtemp(prefix="blueprint-synth-"))
        optimize = ["-O"] if sys.flags.optimize else []
        with (outdir / LOG).open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *optimize, str(app_file)],
                env={**os.environ, "CDK_OUTDIR": str(outdir), WORKER_LOBS: ",".join(lobs)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return cls(lobs, outdir, process)

    def stop(self) -> None:
        """End the process if it still runs, and remove its directory."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.outdir, ignore_errors=True)

    def wait(self) -> Path:
        """The worker's assembly directory, once it has synthesized; an error otherwise."""
        if self.process.wait() != 0:
            output = (self.outdir / LOG).read_text(errors="replace")[-4000:]
            raise RuntimeError(f"synthesis of {', '.join(self.lobs)} failed:\n{output}")
        return self.outdir


def merge(
    plan: Plan,
    outdir: Path,
    synthesis: Synthesis,
    workers: Iterable[Worker],
    previous: Json,
) -> None:
    """Put the workers' and the reused LOBs' stacks into the assembly at ``outdir``, in the
    full run's order, remove what a stack no longer there left behind, and record the run."""
    manifest = _read_json(outdir / MANIFEST)
    stacks = lob_stacks(plan)
    built = list(manifest["artifacts"].items())
    by_lob: dict[str, list[tuple[str, Json]]] = {lob.name: [] for lob in plan.config.lobs}
    sources: list[tuple[Path, list[tuple[str, Json]], set[str]]] = [
        (outdir, built, set(synthesis.build))
    ]
    failures = []
    for worker in workers:
        try:
            directory = worker.wait()
        except RuntimeError as failure:
            failures.append(str(failure))
            continue
        artifacts = _read_json(directory / MANIFEST)["artifacts"]
        sources.append((directory, list(artifacts.items()), set(worker.lobs)))
    if failures:
        raise RuntimeError("\n".join(failures))
    sources.append((outdir, list(previous.get("artifacts", {}).items()), set(synthesis.reuse)))
    for directory, artifacts, lobs in sources:
        for name, artifact in artifacts:
            lob = stacks.get(name.removesuffix(".assets"))
            if lob in lobs:
                if directory != outdir:
                    _copy_files(directory, outdir, artifact)
                by_lob[lob].append((name, artifact))
    others = [(name, a) for name, a in built if name.removesuffix(".assets") not in stacks]
    anchor = next(
        (i for i, (name, _) in enumerate(others) if name.startswith(names.ORGANIZATION_STACK)),
        len(others),
    )
    ordered = [*others[:anchor], *(a for lob in by_lob.values() for a in lob), *others[anchor:]]
    manifest["artifacts"] = dict(ordered)
    _remove_left_behind(outdir, previous, manifest)
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    files = {
        path: _digest(outdir / path)
        for name, artifact in ordered
        if name.removesuffix(".assets") in stacks
        for path in _files(artifact)
    }
    record = {**synthesis.record, "files": files}
    (outdir / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    for worker in workers:
        worker.stop()


def stop(workers: Iterable[Worker]) -> None:
    """End every worker still running and remove their directories (after a failure)."""
    for worker in workers:
        worker.stop()


def forget(outdir: Path) -> None:
    """Withdraw the whole record (a run that writes another kind of assembly there)."""
    (outdir / RECORD).unlink(missing_ok=True)


def read_previous(outdir: Path) -> Json:
    """The manifest the last run wrote (read before this run's synthesis replaces it)."""
    return _read_json(outdir / MANIFEST)


def _shares(lobs: list[str], cores: int) -> tuple[tuple[str, ...], ...]:
    """The app's share first: fewer LOBs than a worker's, as it builds the platform too."""
    workers = min(max(cores, 1) - 1, len(lobs) // LOBS_PER_WORKER)
    if workers <= 0:
        return (tuple(lobs),)
    own = max(0, (len(lobs) - workers * PLATFORM_IN_LOBS) // (workers + 1))
    rest = lobs[own:]
    return (tuple(lobs[:own]), *(tuple(rest[i::workers]) for i in range(workers)))


def _files(artifact: Json) -> list[str]:
    properties = artifact.get("properties", {})
    return [
        name
        for name in (
            properties.get("templateFile"),
            properties.get("file"),
            artifact.get("additionalMetadataFile"),
        )
        if name
    ]


def _complete(outdir: Path, artifacts: Json, stack: str, digests: Json) -> bool:
    """Whether the stack's artifacts and every file they name are in ``outdir``, the
    manifest's files as the run that recorded them wrote them."""
    template, assets = artifacts.get(stack), artifacts.get(f"{stack}.assets")
    if template is None or assets is None:
        return False
    written = [*_files(template), *_files(assets)]
    if not all(
        (outdir / path).is_file() and digests.get(path) == _digest(outdir / path)
        for path in written
    ):
        return False
    return all((outdir / path).exists() for path in _asset_sources(outdir, assets))


def _asset_sources(directory: Path, assets_artifact: Json) -> list[str]:
    assets = directory / assets_artifact["properties"]["file"]
    if not assets.exists():
        return [assets_artifact["properties"]["file"]]
    files = json.loads(assets.read_text()).get("files", {})
    return [entry["source"]["path"] for entry in files.values() if "path" in entry["source"]]


def _copy_files(source: Path, target: Path, artifact: Json) -> None:
    paths = _files(artifact)
    if artifact.get("type") == "cdk:asset-manifest":
        paths += _asset_sources(source, artifact)
    for path in paths:
        if (target / path).exists() and (source / path).is_dir():
            continue
        if (source / path).is_dir():
            shutil.copytree(source / path, target / path)
        else:
            shutil.copy2(source / path, target / path)


def _remove_left_behind(outdir: Path, previous: Json, manifest: Json) -> None:
    """The files of the previous run's stacks that are no longer in the assembly."""
    kept = {path for artifact in manifest["artifacts"].values() for path in _files(artifact)}
    for artifact in previous.get("artifacts", {}).values():
        for path in _files(artifact):
            if path not in kept:
                (outdir / path).unlink(missing_ok=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_json(path: Path) -> Json:
    if not path.exists():
        return {}
    try:
        value: Json = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}
    return value
