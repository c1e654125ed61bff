"""A catalog model as the Bedrock constructs take it."""

from __future__ import annotations

from blueprint.model.sections.catalog import BedrockModel
from genai_constructs.bedrock import ApprovedModel


def approved_model(model: BedrockModel) -> ApprovedModel:
    profile = model.inference_profile
    return ApprovedModel(
        model_id=model.id,
        profile_prefix=profile.prefix if profile else None,
        profile_regions=tuple(profile.regions) if profile else (),
    )
