"""What the CDK app takes from its process, read once by ``app.py`` and passed on explicitly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai_constructs.training import RECIPE

EXAMPLE_ORG = Path("environments/example.yaml")
# The fine-tuning recipe the pipelines upload, shipped with the construct library.
TRAINING_CODE = RECIPE
# A worker process's LOBs (comma-separated), set by the app that starts it (stacks/reuse.py).
WORKER_LOBS = "BLUEPRINT_SYNTH_LOBS"


@dataclass(frozen=True)
class Settings:
    """The app's inputs besides the organization file's content.

    :param org_file: the organization file (``ORG``; default the example).
    :param org_given: whether ``ORG`` named it (the example's accounts are fictional).
    :param pipeline: build the delivery pipelines instead of deploying LOB environments
        directly (``-c pipeline=true``).
    :param training_code: the directory of the fine-tuning recipe.
    :param full: build every stack, reusing nothing of the previous assembly (``FULL=1``).
    :param worker_lobs: in a worker process of ``stacks/reuse.py``, the LOBs it builds.
    """

    org_file: Path = EXAMPLE_ORG
    org_given: bool = False
    pipeline: bool = False
    training_code: Path = TRAINING_CODE
    full: bool = False
    worker_lobs: tuple[str, ...] | None = None

    @classmethod
    def from_process(cls, environ: Mapping[str, str], context: Callable[[str], Any]) -> Settings:
        """From the environment (``ORG``, ``FULL``, a worker's LOBs) and the CDK context
        (``pipeline``)."""
        worker = environ.get(WORKER_LOBS)
        return cls(
            org_file=Path(environ.get("ORG") or EXAMPLE_ORG),
            org_given=bool(environ.get("ORG")),
            pipeline=str(context("pipeline")).lower() == "true",
            full=environ.get("FULL", "") not in ("", "0"),
            worker_lobs=tuple(lob for lob in worker.split(",") if lob)
            if worker is not None
            else None,
        )
