"""Fingerprints of what the app builds from: the code, and each LOB's stack inputs.

An LOB environment's stacks are made from the keyword arguments the app passes them (their
inputs, the placement's account, region and tags) by the code of the app and its libraries.
Two runs whose code fingerprints are equal and whose fingerprints of an LOB are equal build
that LOB's templates the same, so the later run may read them back from the earlier assembly
(``stacks/reuse.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from importlib.metadata import version
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel

from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.inputs.compliance import check_settings
from blueprint.model.inputs.data import data_inputs
from blueprint.model.inputs.foundation import foundation_inputs
from blueprint.model.inputs.genai import genai_inputs
from blueprint.model.inputs.ml import ml_inputs
from blueprint.model.inputs.security import security_inputs
from blueprint.model.plan import Placement, Plan

# What the synthesized templates depend on besides the organization file.
LIBRARIES = ("aws-cdk-lib", "botocore", "cdk-nag", "constructs", "jsii", "sagemaker")
# Where the CDK CLI puts a context too large for CDK_CONTEXT_JSON.
CONTEXT_OVERFLOW = "CONTEXT_OVERFLOW_LOCATION_ENV"


def cdk_context(environ: Mapping[str, str]) -> str:
    """What the CDK CLI hands the app besides the files: its ``CDK_*`` variables (the context
    of cdk.json and of ``-c`` among them), a context too large for a variable, and the Node.js
    jsii runs (``JSII_NODE``)."""
    given = {
        key: value for key, value in environ.items() if key.startswith("CDK_") or key == "JSII_NODE"
    }
    given.pop("CDK_OUTDIR", None)
    overflow = environ.get(CONTEXT_OVERFLOW)
    if overflow and Path(overflow).is_file():
        given[CONTEXT_OVERFLOW] = Path(overflow).read_text()
    return json.dumps(given, sort_keys=True)


def code_fingerprint(roots: Iterable[Path], files: Iterable[Path] = (), context: str = "") -> str:
    """The source files under ``roots`` and ``files``, the libraries' versions and the CDK's
    ``context``."""
    digest = hashlib.sha256()
    digest.update(context.encode())
    digest.update(f"python {sys.version}\nnode {_node_version()}\n".encode())
    for library in LIBRARIES:
        digest.update(f"{library}=={version(library)}\n".encode())
    paths = sorted({*_sources(roots), *(Path(f) for f in files if Path(f).is_file())})
    for path in paths:
        digest.update(f"{path}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def lob_fingerprints(plan: Plan, training_code: Path) -> dict[str, str]:
    """Each LOB's fingerprint: the inputs of its environments' stacks, and the settings every
    stack's compliance gates check against."""
    shared = canonical(check_settings(plan))
    lobs: dict[str, list[Any]] = {lob.name: [shared] for lob in plan.config.lobs}
    for placement in plan.placements:
        if placement.kind is PlacementKind.LOB_ENVIRONMENT and placement.lob is not None:
            lobs[placement.lob.name].append(_placement_inputs(plan, placement, training_code))
    return {
        name: hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        for name, parts in lobs.items()
    }


def canonical(value: Any) -> Any:
    """``value`` as JSON data that is equal for equal values in every process (sets sorted,
    models and dataclasses by field); a type it does not know is an error, never a guess."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Enum):
        return canonical(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseModel):
        return [type(value).__name__, canonical(value.model_dump(mode="json"))]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return [type(value).__name__, fields]
    if isinstance(value, dict):
        return {str(canonical(k)): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((canonical(item) for item in value), key=json.dumps)
    raise TypeError(f"no fingerprint for {type(value).__name__}")


def _placement_inputs(plan: Plan, placement: Placement, training_code: Path) -> Any:
    layers: dict[str, Any] = {
        Layer.SECURITY: security_inputs(plan, placement),
        Layer.FOUNDATION: foundation_inputs(plan, placement),
    }
    if placement.hosts(Layer.DATA):
        layers[Layer.DATA] = data_inputs(plan, placement)
    if placement.hosts(Layer.GENAI):
        layers[Layer.GENAI] = genai_inputs(plan, placement)
    if placement.hosts(Layer.ML):
        layers[Layer.ML] = ml_inputs(plan, placement, training_code)
    return canonical({"placement": placement, "layers": layers})


def _sources(roots: Iterable[Path]) -> Iterator[Path]:
    """Every file under ``roots`` (an asset bundles whatever its folder holds)."""
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    done = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    return done.stdout.strip()
