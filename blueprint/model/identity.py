"""What each stack is, written into the cloud assembly's metadata and read back by the tools.

Tools never parse a stack name: they read the stack's identity (its placement, kind of
placement, LOB, environment and layer) from the metadata entry ``IDENTITY_METADATA``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from blueprint.model.fields import EnvironmentName

IDENTITY_METADATA = "genai-platform:identity"


class Layer(StrEnum):
    """The job of a stack."""

    SECURITY = "security"
    FOUNDATION = "foundation"
    DATA = "data"
    GENAI = "genai"
    ML = "ml"
    ORGANIZATION = "organization"
    AUDIT = "audit"
    OVERSIGHT = "oversight"
    BUDGETS = "budgets"
    METRICS_SINK = "metrics-sink"
    PIPELINE = "pipeline"
    WORKFORCE = "workforce"


class PlacementKind(StrEnum):
    """Which kind of account a placement is."""

    LOB_ENVIRONMENT = "lob-environment"
    GOVERNANCE = "governance"
    TOOLING = "tooling"
    HUB = "hub"
    CENTRAL = "central"
    MANAGEMENT = "management"


@dataclass(frozen=True)
class StackIdentity:
    """A stack's placement (``claims-nonprod``, ``platform-governance``, ``management``), its
    kind, the LOB and environment it serves (none for platform stacks) and its layer."""

    placement: str
    kind: PlacementKind
    layer: Layer
    lob: str | None = None
    environment: EnvironmentName | None = None

    @property
    def is_lob(self) -> bool:
        return self.lob is not None

    def as_metadata(self) -> dict[str, str | None]:
        return {
            "placement": self.placement,
            "kind": self.kind.value,
            "layer": self.layer.value,
            "lob": self.lob,
            "environment": self.environment.value if self.environment else None,
        }

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> StackIdentity:
        environment = data.get("environment")
        return cls(
            placement=str(data["placement"]),
            kind=PlacementKind(data["kind"]),
            layer=Layer(data["layer"]),
            lob=data.get("lob"),
            environment=EnvironmentName(environment) if environment else None,
        )
