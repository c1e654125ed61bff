"""The organization file, as typed pydantic models.

Field-level rules live on the models; rules that relate several parts of the file
(regions against ``allowed_regions``, accounts used twice, duplicate LOB names) live in
``blueprint.model.rules`` so that they run even when another part of the file is malformed.
This module holds the whole file and an LOB; each section is a module of
``blueprint.model.sections``, and the guardrail policy is ``blueprint.model.guardrail``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blueprint.model.fields import Model
from blueprint.model.guardrail import GuardrailPolicy
from blueprint.model.sections.catalog import BedrockModel, CatalogConfig, OpenWeightsModel
from blueprint.model.sections.data import DataConfig
from blueprint.model.sections.environments import EnvironmentsConfig
from blueprint.model.sections.genai import GenAIConfig
from blueprint.model.sections.ml import MLConfig
from blueprint.model.sections.organization import OrganizationConfig
from blueprint.model.sections.platform import PlatformConfig
from blueprint.model.sections.values import AlertEmails, DataClassification, Slug


class LobConfig(Model):
    name: Slug
    """The line of business, each once."""
    cost_center: Annotated[str, Field(min_length=1, max_length=64)]
    """Tagged on every resource as cost-center."""
    data_classification: DataClassification
    """How sensitive the LOB's data is: model access, log retention, object versions and lock
    follow it; a text model of the catalog must be approved for it."""
    budget_usd_month: Annotated[int, Field(gt=0)]
    """Monthly budget over the LOB's accounts (management account)."""
    alert_emails: AlertEmails | None = None
    """Who gets the LOB's budget alerts and alarm notifications; default platform.alert_emails."""
    retain_interactive_data: bool = True
    """Keep keys, buckets and logs of the interactive environment when its stacks are deleted
    (nonprod and prod always retain)."""
    auditor_metadata_read: bool = False
    """Let the governance auditor list objects and read bucket settings, never content."""
    environments: EnvironmentsConfig
    """The LOB's environments, each its own account."""
    data: DataConfig = DataConfig()
    """The LOB's ETL."""
    genai: GenAIConfig = GenAIConfig()
    """The LOB's GenAI workloads."""
    ml: MLConfig = MLConfig()
    """The LOB's Studio, fine-tuning and GPU endpoints."""


class OrgConfig(Model):
    """One organization: the whole input of the blueprint."""

    organization: OrganizationConfig
    """The AWS organization."""
    platform: PlatformConfig
    """The central platform team's accounts."""
    catalog: CatalogConfig
    """The approved models."""
    guardrails: GuardrailPolicy
    """The central guardrail policy, applied in every LOB environment."""
    lobs: Annotated[list[LobConfig], Field(min_length=1)]
    """The lines of business."""

    def model(self, model_id: str) -> BedrockModel:
        return next(model for model in self.catalog.bedrock if model.id == model_id)

    def open_weights(self, model_id: str) -> OpenWeightsModel:
        return next(model for model in self.catalog.open_weights if model.id == model_id)
