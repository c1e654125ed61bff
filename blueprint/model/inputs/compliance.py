"""The compliance gates' inputs: what the platform's checks are measured against."""

from __future__ import annotations

from blueprint.model.plan import Plan
from genai_constructs.checks import CheckSettings


def check_settings(plan: Plan) -> CheckSettings:
    """What the platform's compliance pack checks against: the organization's regions and the
    models it lets callers invoke without a guardrail (the embedding models)."""
    return CheckSettings(
        allowed_regions=tuple(plan.config.organization.allowed_regions),
        unguarded_model_ids=plan.unguarded_model_ids(),
    )
