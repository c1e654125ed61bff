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


@dataclass(frozen=True)
class Settings:
    """The app's inputs besides the organization file's content.

    :param org_file: the organization file (``ORG``; default the example).
    :param org_given: whether ``ORG`` named it (the example's accounts are fictional).
    :param pipeline: build the delivery pipelines instead of deploying LOB environments
        directly (``-c pipeline=true``).
    :param training_code: the directory of the fine-tuning recipe.
    """

    org_file: Path = EXAMPLE_ORG
    org_given: bool = False
    pipeline: bool = False
    training_code: Path = TRAINING_CODE

    @classmethod
    def from_process(cls, environ: Mapping[str, str], context: Callable[[str], Any]) -> Settings:
        """From the environment (``ORG``) and the CDK context (``pipeline``)."""
        return cls(
            org_file=Path(environ.get("ORG") or EXAMPLE_ORG),
            org_given=bool(environ.get("ORG")),
            pipeline=str(context("pipeline")).lower() == "true",
        )
