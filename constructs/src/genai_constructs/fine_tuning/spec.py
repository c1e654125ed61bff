"""The fine-tuning recipe's settings (``FineTuningSpec``), checked before anything is built."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Token

from genai_constructs.gpu_memory import GPU_INSTANCES
from genai_constructs.naming import SAFE_KEY_PREFIX
from genai_constructs.validation import check_at_least, check_range

# SageMaker's names of pipelines and model package groups (the shorter limit: 63).
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
METHODS = ("lora", "qlora")


# SageMaker model cards' risk ratings.
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")


@dataclass(frozen=True)
class IntendedUse:
    """What the model card says a model is for and how risky that use is.

    :param purpose: what the model is for and what it must not be used for.
    :param risk_rating: one of ``RISK_RATINGS``.
    :param risk_explanation: why that rating (the use's risk category, who reviews).
    """

    purpose: str
    risk_rating: str
    risk_explanation: str

    def __post_init__(self) -> None:
        if self.risk_rating not in RISK_RATINGS:
            raise ValueError(
                f"IntendedUse: risk_rating '{self.risk_rating}' is not a model card rating; "
                f"allowed: {', '.join(RISK_RATINGS)}"
            )
        for prop in ("purpose", "risk_explanation"):
            if not getattr(self, prop).strip():
                raise ValueError(f"IntendedUse: {prop} must say something")


@dataclass(frozen=True)
class FineTuningSpec:
    """One fine-tuning pipeline.

    :param name: pipeline and model package group name.
    :param base_model_prefix: artifacts-zone prefix holding the base model weights (the jobs
        run without internet and cannot download from a hub).
    :param dataset_prefix: training-zone prefix with JSON Lines prompt/completion records.
    :param training_instance: GPU instance type from the catalog.
    :param serving_instance: GPU instance type registered as the inference instance.
    :param gpus: GPUs of the training instance; more than one trains data-parallel on each.
    :param method: ``lora``, or ``qlora`` (4-bit base weights).
    :param batch_size: sequences per GPU. :param max_length: tokens per sequence.
    :param spot: managed spot training, resumed from the run's checkpoints after interruption.
    :param recipe_image: default the SDK's Hugging Face training image; an image that holds
        the recipe's packages (``genai_constructs/training/Dockerfile``): the jobs run
        network-isolated and cannot install them. Pinned by digest (``...@sha256:...``): a
        tag can be pushed over by whoever may push to the repository.
    :param intended_use: default none (the model card rates its risk Unknown); what the
        model card says the model is for, from the use cases it serves.
    :param bias_probes_prefix: default none (no bias evaluation); the curated-zone prefix of
        the counterfactual probe set (JSON Lines, ``training/evaluate.py``) the evaluation
        scores for gaps between groups.
    :param max_bias_gap: the largest ROUGE-L gap between groups the gate registers (0-1;
        with ``bias_probes_prefix`` only).
    :param job_tags: default none; tags of every job the pipeline starts (an owner's tag, so
        that policies of an account several owners share can tell their jobs apart).
    """

    name: str
    base_model_prefix: str
    dataset_prefix: str
    training_instance: str
    serving_instance: str
    rouge_l_threshold: float = 0.3
    max_runtime_hours: int = 8
    epochs: int = 2
    gpus: int = 1
    method: str = "lora"
    batch_size: int = 4
    max_length: int = 512
    lora_r: int = 16
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    gradient_checkpointing: bool = True
    spot: bool = True
    recipe_image: str | None = None
    job_tags: tuple[tuple[str, str], ...] = ()
    intended_use: IntendedUse | None = None
    bias_probes_prefix: str | None = None
    max_bias_gap: float = 0.1

    def __post_init__(self) -> None:
        owner = f"FineTuningSpec {self.name}"
        if not Token.is_unresolved(self.name) and not PIPELINE_NAME.match(self.name):
            raise ValueError(
                f"FineTuningSpec: name '{self.name}' is not a pipeline and model package group "
                "name; allowed: 1-63 letters, digits and '-', starting and ending with a letter "
                "or digit"
            )
        if self.method not in METHODS:
            raise ValueError(
                f"{owner}: method '{self.method}' is not supported; allowed: "
                f"{', '.join(METHODS)} (the recipe trains adapters, never the full model)"
            )
        check_range(owner, "rouge_l_threshold", self.rouge_l_threshold, 0, 1)
        check_range(owner, "max_runtime_hours", self.max_runtime_hours, 1, 72)
        check_range(owner, "epochs", self.epochs, 1, 20)
        check_range(owner, "lora_r", self.lora_r, 1, 256)
        check_range(owner, "max_bias_gap", self.max_bias_gap, 0, 1)
        probes = self.bias_probes_prefix
        if (
            probes is not None
            and not Token.is_unresolved(probes)
            and not SAFE_KEY_PREFIX.match(probes)
        ):
            raise ValueError(
                f"{owner}: bias_probes_prefix '{probes}' is not a relative S3 key prefix; "
                "allowed: segments of letters, digits and !_.*'()- (none starting with '.'), "
                "each ending with '/', e.g. bias-probes/claims-summarizer/"
            )
        check_at_least(owner, "batch_size", self.batch_size, 1)
        check_at_least(owner, "max_length", self.max_length, 16)
        instance = GPU_INSTANCES.get(self.training_instance)
        if not Token.is_unresolved(self.training_instance) and instance is None:
            raise ValueError(
                f"{owner}: training_instance '{self.training_instance}' is not a SageMaker GPU "
                "instance type the recipe knows; allowed: e.g. ml.g5.2xlarge, ml.g5.12xlarge"
            )
        if instance is not None:
            check_range(owner, f"gpus (of {self.training_instance})", self.gpus, 1, instance.gpus)

    def hyperparameters(self) -> dict[str, str | int]:
        return {
            "method": self.method,
            "epochs": self.epochs,
            "batch-size": self.batch_size,
            "max-length": self.max_length,
            "lora-r": self.lora_r,
            "lora-alpha": 2 * self.lora_r,
            "target-modules": ",".join(self.target_modules),
            "gradient-checkpointing": "true" if self.gradient_checkpointing else "false",
        }
