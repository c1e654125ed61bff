"""Governed Bedrock access: guardrails, model access policies, prompts, inference profiles.

The guardrail policy, its construct and importer (``guardrail``), the approved models and the
policy that invokes them only with the guardrail (``model_access``), application inference
profiles per use case (``profiles``), managed prompts (``prompts``) and the content hash that
names each published version (``versions``).
"""

from genai_constructs.bedrock.guardrail import (
    DeniedTopicSpec,
    GovernedGuardrail,
    GuardrailSpec,
    IGuardrail,
)
from genai_constructs.bedrock.model_access import ApprovedModel, ModelAccessPolicy
from genai_constructs.bedrock.profiles import ApplicationInferenceProfiles
from genai_constructs.bedrock.prompts import PromptCatalog, PromptSpec

__all__ = [
    "ApplicationInferenceProfiles",
    "ApprovedModel",
    "DeniedTopicSpec",
    "GovernedGuardrail",
    "GuardrailSpec",
    "IGuardrail",
    "ModelAccessPolicy",
    "PromptCatalog",
    "PromptSpec",
]
