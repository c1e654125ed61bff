"""LoRA fine-tuning as a SageMaker pipeline: the recipe's settings (``spec``), what its jobs
run on (``jobs``), the pipeline definition built with the SageMaker SDK (``definition``), the
construct (``pipeline``) and the model card (``model_card``)."""

from genai_constructs.fine_tuning.pipeline import FineTuningPipeline
from genai_constructs.fine_tuning.spec import FineTuningSpec, IntendedUse

__all__ = ["FineTuningPipeline", "FineTuningSpec", "IntendedUse"]
