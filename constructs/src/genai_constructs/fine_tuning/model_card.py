"""The model card of a fine-tuning pipeline's models."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from genai_constructs.fine_tuning.spec import FineTuningSpec, IntendedUse


def model_card(scope: Construct, spec: FineTuningSpec, key: kms.IKey) -> sm.CfnModelCard:
    """The model card: intended use (``spec.intended_use``) and limitations; its evaluation
    is written by the pipeline's RecordEvaluation step for each registered model
    (``handlers/model_card``)."""
    card = sm.CfnModelCard
    use = spec.intended_use or IntendedUse(
        purpose=f"Assist the LOB's staff with {spec.name.replace('-', ' ')}",
        risk_rating="Unknown",
        risk_explanation="No use case's record rates the use of this model",
    )
    return sm.CfnModelCard(
        scope,
        "ModelCard",
        model_card_name=spec.name,
        model_card_status="Draft",
        security_config=card.SecurityConfigProperty(kms_key_id=key.key_arn),
        content=card.ContentProperty(
            model_overview=card.ModelOverviewProperty(
                model_description=(
                    f"{spec.base_model_prefix} with a {spec.method} adapter for {spec.name} "
                    "merged into its weights"
                ),
                algorithm_type=f"{spec.method.upper()} (parameter-efficient fine-tuning)",
                problem_type="Text generation",
            ),
            intended_uses=card.IntendedUsesProperty(
                purpose_of_model=use.purpose,
                intended_uses="LOB data of its classification; not for automated decisions",
                factors_affecting_model_efficiency=(
                    "Quality depends on the training zone sample; prompts far from it degrade"
                ),
                risk_rating=use.risk_rating,
                explanations_for_risk_rating=use.risk_explanation,
            ),
            additional_information=card.AdditionalInformationProperty(
                ethical_considerations="Trained on LOB data only; no data leaves the account",
                caveats_and_recommendations=(
                    f"Registered only at ROUGE-L >= {spec.rouge_l_threshold} on the validation "
                    "split; not for automated decisions; monitor drift with the endpoint's "
                    "data capture"
                ),
            ),
        ),
    )
