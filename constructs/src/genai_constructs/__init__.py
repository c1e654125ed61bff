"""Reusable AWS CDK constructs for a governed generative-AI platform.

Import name ``genai_constructs``; the CDK's own package keeps the name ``constructs``.
Public names load on first use, so that ``genai_constructs.naming`` (plain Python) can be
imported without starting the CDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Every public name and the module that defines it; modules load on first use.
_MODULE_OF = {
    "AccessLogBucket": "storage",
    "DataLakeZones": "storage",
    "DataEtl": "etl",
    "DatasetSpec": "etl",
    "GovernedBucket": "storage",
    "PlatformKey": "encryption",
    "PrivateNetwork": "network",
    "PinnedZonesStack": "network",
    "Persona": "identity",
    "PersonaRoles": "identity",
    "GovernedGuardrail": "bedrock",
    "GuardrailSpec": "bedrock",
    "DeniedTopicSpec": "bedrock",
    "ApprovedModel": "bedrock",
    "ModelAccessPolicy": "bedrock",
    "PromptSpec": "bedrock",
    "PromptCatalog": "bedrock",
    "ApplicationInferenceProfiles": "bedrock",
    "ModelInvocationLogging": "invocation_logging",
    "S3VectorStore": "knowledge_base",
    "OpenSearchVectorStore": "knowledge_base",
    "GovernedKnowledgeBase": "knowledge_base",
    "Chunking": "knowledge_base",
    "KnowledgeBaseIngestion": "rag",
    "AnswerApi": "rag",
    "RagEvaluation": "rag",
    "StudioWorkspace": "studio",
    "MlflowKind": "mlflow_kind",
    "UseCaseTokens": "token_budget",
    "TokenBudget": "token_budget",
    "TokenBudgets": "token_budget",
    "FineTuningSpec": "fine_tuning",
    "FineTuningPipeline": "fine_tuning",
    "GpuEndpoint": "serving",
    "GuardedEndpoint": "guarded_endpoint",
    "IntendedUse": "fine_tuning",
    "ModelRelease": "model_release",
    "GovernedAgent": "agents",
    "ToolGateway": "agents",
    "KnowledgeBaseSearchTool": "agents",
    "LambdaTool": "agents",
    "ApiKey": "agents",
    "acknowledge": "compliance",
}

__all__ = [
    "AccessLogBucket",
    "AnswerApi",
    "ApiKey",
    "ApplicationInferenceProfiles",
    "ApprovedModel",
    "Chunking",
    "DataEtl",
    "DataLakeZones",
    "DatasetSpec",
    "DeniedTopicSpec",
    "FineTuningPipeline",
    "FineTuningSpec",
    "GovernedAgent",
    "GovernedBucket",
    "GovernedGuardrail",
    "GovernedKnowledgeBase",
    "GpuEndpoint",
    "GuardedEndpoint",
    "GuardrailSpec",
    "IntendedUse",
    "KnowledgeBaseIngestion",
    "KnowledgeBaseSearchTool",
    "LambdaTool",
    "MlflowKind",
    "ModelAccessPolicy",
    "ModelInvocationLogging",
    "ModelRelease",
    "OpenSearchVectorStore",
    "Persona",
    "PersonaRoles",
    "PinnedZonesStack",
    "PlatformKey",
    "PrivateNetwork",
    "PromptCatalog",
    "PromptSpec",
    "RagEvaluation",
    "S3VectorStore",
    "StudioWorkspace",
    "TokenBudget",
    "TokenBudgets",
    "ToolGateway",
    "UseCaseTokens",
    "acknowledge",
]

if TYPE_CHECKING:
    from genai_constructs.agents import (
        ApiKey,
        GovernedAgent,
        KnowledgeBaseSearchTool,
        LambdaTool,
        ToolGateway,
    )
    from genai_constructs.bedrock import (
        ApplicationInferenceProfiles,
        ApprovedModel,
        DeniedTopicSpec,
        GovernedGuardrail,
        GuardrailSpec,
        ModelAccessPolicy,
        PromptCatalog,
        PromptSpec,
    )
    from genai_constructs.compliance import acknowledge
    from genai_constructs.encryption import PlatformKey
    from genai_constructs.etl import DataEtl, DatasetSpec
    from genai_constructs.fine_tuning import FineTuningPipeline, FineTuningSpec, IntendedUse
    from genai_constructs.guarded_endpoint import GuardedEndpoint
    from genai_constructs.identity import Persona, PersonaRoles
    from genai_constructs.invocation_logging import ModelInvocationLogging
    from genai_constructs.knowledge_base import (
        Chunking,
        GovernedKnowledgeBase,
        OpenSearchVectorStore,
        S3VectorStore,
    )
    from genai_constructs.mlflow_kind import MlflowKind
    from genai_constructs.model_release import ModelRelease
    from genai_constructs.network import PinnedZonesStack, PrivateNetwork
    from genai_constructs.rag import AnswerApi, KnowledgeBaseIngestion, RagEvaluation
    from genai_constructs.serving import GpuEndpoint
    from genai_constructs.storage import AccessLogBucket, DataLakeZones, GovernedBucket
    from genai_constructs.studio import StudioWorkspace
    from genai_constructs.token_budget import TokenBudget, TokenBudgets, UseCaseTokens


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'genai_constructs' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"genai_constructs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
