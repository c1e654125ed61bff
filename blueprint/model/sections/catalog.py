"""The catalog section: the Bedrock models the central team approves and the open-weights
models LOBs may fine-tune and host."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from blueprint.model.fields import Model, matching, one_of
from blueprint.model.sections.values import (
    UNIQUE_ITEMS,
    DataClassification,
    OwnerSlashName,
    Region,
    Slug,
    unique,
)
from genai_constructs.gpu_memory import GPU_FAMILIES, GPU_INSTANCES, DecoderShape

S3Prefix = Annotated[
    str,
    matching(
        r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(?:[^*?]+/)?$",
        "an S3 prefix such as s3://bucket/prefix/ (ending with '/', no wildcards)",
    ),
]


class ModelKind(StrEnum):
    TEXT = "text"
    EMBEDDING = "embedding"


class CrossRegionProfile(Model):
    """A system-defined cross-region inference profile and every region it may route to."""

    prefix: Annotated[
        str,
        matching(
            r"^(us|eu|apac|jp|au|ca|us-gov|global)$",
            "one of us, eu, apac, jp, au, ca, us-gov, global",
        ),
    ]
    """The system inference profile's prefix."""
    regions: Annotated[list[Region], Field(min_length=1), AfterValidator(unique), UNIQUE_ITEMS]
    """Every region the profile may route to, within allowed_regions."""


class BedrockModel(Model):
    """A model the central team approves, and the most sensitive data it may see."""

    id: Annotated[
        str,
        matching(
            r"^[a-z0-9-]+\.[a-z0-9.-]+(:[a-z0-9-]+){0,2}$",
            "a Bedrock model id such as amazon.nova-pro-v1:0",
        ),
    ]
    """The Bedrock model ID, each once in the catalog."""
    kind: ModelKind = ModelKind.TEXT
    """A text model or an embedding model."""
    max_classification: DataClassification
    """The most sensitive data the model may see."""
    inference_profile: CrossRegionProfile | None = None
    """A system cross-region inference profile the model is called through."""
    dimensions: Annotated[int, Field(ge=256, le=4096)] = 1024
    """Vector dimensions (embedding models)."""


def _gpu_instance(value: str) -> str:
    if value not in GPU_INSTANCES:
        raise ValueError(
            f"'{value}' is not a SageMaker GPU instance type; allowed: ml.<family>.<size> of "
            f"families {', '.join(GPU_FAMILIES)} in the sizes SageMaker offers, e.g. "
            "ml.g5.2xlarge or ml.g5.12xlarge (4 GPUs)"
        )
    return value


GpuInstance = Annotated[str, AfterValidator(_gpu_instance), one_of(GPU_INSTANCES)]


class ModelArchitecture(Model):
    """The shape of an open-weights model (its config.json): what the GPU memory check needs.

    A decoder with a gated MLP (Llama, Mistral, Qwen, Gemma)."""

    layers: Annotated[int, Field(ge=1, le=512)]
    """From the model's config.json (num_hidden_layers)."""
    hidden_size: Annotated[int, Field(ge=64, le=65536)]
    """From config.json."""
    intermediate_size: Annotated[int, Field(ge=64, le=262144)]
    """From config.json."""
    vocab_size: Annotated[int, Field(ge=256, le=1048576)]
    """From config.json."""
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    """From config.json (num_attention_heads); divides hidden_size."""
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    """From config.json (num_key_value_heads); divides attention_heads."""
    tied_embeddings: bool = False
    """From config.json (tie_word_embeddings)."""

    @model_validator(mode="after")
    def _heads_divide(self) -> ModelArchitecture:
        if self.hidden_size % self.attention_heads or self.attention_heads % self.kv_heads:
            raise ValueError(
                f"attention_heads ({self.attention_heads}) must divide hidden_size "
                f"({self.hidden_size}) and kv_heads ({self.kv_heads}) must divide "
                "attention_heads; allowed: the values of the model's config.json"
            )
        return self

    def shape(self) -> DecoderShape:
        return DecoderShape(**self.model_dump())


class OpenWeightsModel(Model):
    """An open-weights model the LOBs may fine-tune and host in their own accounts;
    ``source`` is the organization's approved copy of its weights (the files of
    ``hf_model_id``), which each LOB that fine-tunes it stages from; ``sha256`` its approved
    digest (the import manifest's), which an import then requires of the source."""

    id: Slug
    """The name LOBs use for the model."""
    hf_model_id: OwnerSlashName
    """The model's Hugging Face ID."""
    source: S3Prefix | None = None
    """The organization's approved copy of the model's files, which each LOB that fine-tunes it
    stages from; required once an LOB fine-tunes the model."""
    sha256: Annotated[
        str | None,
        matching(r"^[0-9a-f]{64}$", "a SHA-256 digest: 64 lower-case hex digits"),
    ] = None
    """The approved copy's digest, as an import's manifest.json gives it; required with source."""
    architecture: ModelArchitecture
    """The model's shape, for the GPU memory check."""
    training_instance: GpuInstance
    """The SageMaker GPU instance type that fine-tunes it."""
    serving_instance: GpuInstance
    """The SageMaker GPU instance type that serves it."""
    max_classification: DataClassification = DataClassification.RESTRICTED
    """The most sensitive data the model may see."""


class CatalogConfig(Model):
    bedrock: Annotated[list[BedrockModel], Field(min_length=1)]
    """The Bedrock models the central team approves."""
    open_weights: list[OpenWeightsModel] = []
    """The open-weights models LOBs may fine-tune and host."""
