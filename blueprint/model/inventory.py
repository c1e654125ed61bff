"""The AI inventory's entries: each AI system an environment runs (a use case, a fine-tuned
model, a GPU endpoint), recorded by its stack in the assembly's metadata and read back by the
audit, so the inventory comes from what is synthesized and compares with a baseline."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

AI_SYSTEM_METADATA = "genai-platform:ai-system"


class SystemKind(StrEnum):
    USE_CASE = "use case"
    FINE_TUNED_MODEL = "fine-tuned model"
    GPU_ENDPOINT = "GPU endpoint"


@dataclass(frozen=True)
class AiSystem:
    """One AI system of an environment.

    :param model: the foundation model (Bedrock ID), the base model of a fine-tuned one, or
        what an endpoint serves.
    :param lineage: where its knowledge or training comes from (knowledge bases and their
        prefixes, the training data's prefix, the base weights).
    :param gates: what a version must pass before it serves (evaluation thresholds, approvals,
        the guardrail every call carries).
    :param uses: the other systems of its LOB it calls (``SystemKind: name``): a use case its
        GPU endpoints, an endpoint the fine-tuned model it serves.
    :param owner, escalation_contact, risk_tier, intended_use, human_review: a use case's
        record (empty where the organization file gives none: outside prod, or not a use case).
    """

    kind: SystemKind
    name: str
    model: str
    lineage: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    owner: str = ""
    escalation_contact: str = ""
    risk_tier: str = ""
    intended_use: str = ""
    human_review: bool | None = None

    @property
    def key(self) -> str:
        """How another system of the LOB names it in ``uses``."""
        return system_key(self.kind, self.name)

    def as_metadata(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "kind": self.kind.value,
            "lineage": list(self.lineage),
            "gates": list(self.gates),
            "uses": list(self.uses),
        }

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> AiSystem:
        return cls(
            **{
                **data,
                "kind": SystemKind(data["kind"]),
                "lineage": tuple(data.get("lineage", ())),
                "gates": tuple(data.get("gates", ())),
                "uses": tuple(data.get("uses", ())),
            }
        )


def system_key(kind: SystemKind, name: str) -> str:
    return f"{kind.value}: {name}"
