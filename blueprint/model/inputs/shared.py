"""What the inputs of several layers share: an LOB environment's LOB and environment,
and the cross-account wiring of its stores (what an account shares with roles of
other accounts: prod's release role, the hub's ingestion role).
"""

from __future__ import annotations

from blueprint.model import names
from blueprint.model.config import LobConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.plan import Placement, Plan, promoted_models
from genai_constructs.naming import merged_models_prefix


def lob_environment(placement: Placement) -> tuple[LobConfig, EnvironmentName]:
    if placement.lob is None or placement.environment is None:
        raise ValueError(f"{placement.key} is not an LOB environment")
    return placement.lob, placement.environment


def prod_release_role(plan: Plan, lob: LobConfig) -> str | None:
    """Prod's release role, when prod serves a model the LOB's nonprod pipelines train."""
    prod = plan.workspace(lob, EnvironmentName.PROD)
    nonprod = plan.workspace(lob, EnvironmentName.NONPROD)
    if prod is None or nonprod is None or not promoted_models(lob):
        return None
    return names.role_arn(prod.account, names.release_role_name(prod.prefix))


def shared_artifacts(plan: Plan, placement: Placement) -> dict[str, tuple[str, ...]]:
    """Nonprod shares each promoted pipeline's merged models with prod's release role."""
    lob, environment = lob_environment(placement)
    reader = prod_release_role(plan, lob)
    if (
        environment is not EnvironmentName.NONPROD
        or reader is None
        or not placement.hosts(Layer.ML)
    ):
        return {}
    return {merged_models_prefix(model): (reader,) for model in promoted_models(lob)}


def shared_curated(plan: Plan, placement: Placement) -> dict[str, tuple[str, ...]]:
    """An LOB's prod shares the documents of its promoted knowledge bases with the hub's
    ingestion role."""
    hub, lob = plan.hub, placement.lob
    if hub is None or lob is None or placement.kind is not PlacementKind.LOB_ENVIRONMENT:
        return {}
    if placement.environment is not EnvironmentName.PROD:
        return {}
    reader = names.role_arn(hub.account, names.ingestion_role_name(hub.prefix))
    return {kb.source_prefix: (reader,) for kb in plan.promoted_knowledge_bases(lob)}
