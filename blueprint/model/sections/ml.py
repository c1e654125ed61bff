"""An LOB's ML section: fine-tuning pipelines, GPU endpoints and SageMaker Studio."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from blueprint.model.fields import Model, matching, one_of
from blueprint.model.sections.values import SLUG, UNIQUE_ITEMS, KeyPrefix, Schedule, Slug, unique
from genai_constructs.gpu_memory import LORA_MODULES
from genai_constructs.mlflow_kind import MlflowKind
from genai_constructs.naming import dataset_prefix


def _lora_module(value: str) -> str:
    if value not in LORA_MODULES:
        raise ValueError(
            f"'{value}' is not a projection LoRA can adapt; allowed: {', '.join(LORA_MODULES)}"
        )
    return value


class BiasProbesConfig(Model):
    """The counterfactual probe set the evaluation scores for bias, and the gap it tolerates."""

    dataset: Slug
    """A dataset of the LOB (data.datasets) whose curated rows are the probe set: string
    columns attribute, groups (the groups' terms separated by '|'), prompt (holding {group},
    the term swapped) and completion; the ETL curates it and checks its rules."""
    max_rouge_l_gap: Annotated[float, Field(ge=0, le=1)] = 0.1
    """The largest ROUGE-L gap between the groups of an attribute that still registers the
    model."""


class FineTuningConfig(Model):
    """A LoRA (or 4-bit QLoRA) fine-tuning pipeline on the LOB's training zone (nonprod),
    whose approved models are promoted to the LOB's prod endpoints."""

    name: Slug
    """The pipeline's name."""
    base_model: str
    """An open-weights model of the catalog approved for the LOB's classification; the run must fit
    each GPU of its training instance (validate checks)."""
    method: Literal["lora", "qlora"] = "lora"
    """LoRA, or QLoRA on 4-bit weights."""
    dataset_prefix: KeyPrefix | None = None
    """The training data's prefix in the training zone; default <name>/."""
    rouge_l_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3
    """The evaluation score a model needs to be registered for approval."""
    max_runtime_hours: Annotated[int, Field(ge=1, le=72)] = 8
    """Longest training run."""
    epochs: Annotated[int, Field(ge=1, le=20)] = 2
    """Passes over the data."""
    batch_size: Annotated[int, Field(ge=1, le=256)] = 4
    """Examples per GPU per step."""
    max_length: Annotated[int, Field(ge=32, le=32768)] = 512
    """Longest example, in tokens."""
    lora_r: Annotated[int, Field(ge=1, le=256)] = 16
    """The LoRA rank."""
    target_modules: Annotated[
        list[Annotated[str, AfterValidator(_lora_module), one_of(LORA_MODULES)]],
        Field(min_length=1),
        AfterValidator(unique),
        UNIQUE_ITEMS,
    ] = ["q_proj", "v_proj"]
    """The projections LoRA adapts, each once."""
    gradient_checkpointing: bool = True
    """Recompute activations to save GPU memory."""
    spot: bool = True
    """Train on spot capacity."""
    retrain_schedule: Schedule | None = None
    """Run the pipeline on a schedule."""
    recipe_image: (
        Annotated[
            str,
            matching(
                r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+"
                r"@sha256:[0-9a-f]{64}$",
                "an ECR image URI pinned by digest, "
                "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:DIGEST (whoever may "
                "push a tag could change what the pipeline runs)",
            ),
        ]
        | None
    ) = None
    """The training image, built from genai_constructs/training/Dockerfile and pushed to the recipe
    repository of the LOB's nonprod account (validate checks); jobs cannot start without it."""
    bias: BiasProbesConfig | None = None
    """Bias evaluation: gaps between groups on a counterfactual probe set, recorded in the model
    card and gated; default none (the card's bias section stays empty)."""

    @property
    def source_prefix(self) -> str:
        return self.dataset_prefix or f"{self.name}/"

    @property
    def bias_probes_prefix(self) -> str | None:
        """The probe set's prefix in the curated zone (its dataset's)."""
        return None if self.bias is None else dataset_prefix(self.bias.dataset)


class EndpointConfig(Model):
    """A real-time GPU endpoint serving an open-weights or fine-tuned model."""

    name: Slug
    """The endpoint's name."""
    model: str
    """An open-weights model of the catalog or a fine_tuning name."""
    min_instances: Annotated[int, Field(ge=0, le=20)] = 0
    """Instances when idle; 0 scales to zero."""
    max_instances: Annotated[int, Field(ge=1, le=20)] = 1
    """Most instances; at least min_instances."""
    invocations_per_instance: Annotated[int, Field(ge=1)] = 20
    """Scaling target, invocations per instance per minute."""
    latency_alarm_ms: Annotated[int, Field(ge=1)] = 10000
    """Alarm when the model's latency exceeds it."""

    @model_validator(mode="after")
    def _max_covers_min(self) -> EndpointConfig:
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"max_instances ({self.max_instances}) is below min_instances "
                f"({self.min_instances}); allowed: max_instances >= min_instances"
            )
        return self


class StudioUser(Model):
    """A person's own Studio user profile: ``name`` (the profile), opened only by the person
    who signs in as ``user_name`` (default ``name``; the identity source's user name, which
    sign-in carries as the session tag ``genai-user``)."""

    name: Slug
    """The user profile."""
    user_name: Annotated[
        str,
        matching(
            r"^[A-Za-z0-9+=,.@_-]{1,128}$",
            "a user name of the identity source: letters, digits and +=,.@_- (at most 128)",
        ),
    ]
    """The identity source's user name that opens it; default name."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """A user is also written as its name alone."""
        written_out = handler(core_schema)
        written_out["required"] = ["name"]
        return {"anyOf": [{"type": "string", "pattern": SLUG.pattern}, written_out]}

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value, "user_name": value}
        if isinstance(value, dict) and "user_name" not in value and "name" in value:
            return {**value, "user_name": value["name"]}
        return value


class SharedSpace(Model):
    """A Studio space every user of the domain may open (people create private spaces only):
    ``owner`` is the profile that owns it, one of the users."""

    name: Slug
    """The space."""
    owner: Slug
    """The user whose profile owns it, one of users."""


class StudioConfig(Model):
    """SageMaker Studio in the interactive environment; ``enabled: false`` leaves it out (and
    MLflow with it), ``mlflow`` says how experiments are tracked. Each user gets a
    profile of their own (``alice``, or ``{name: alice, user_name: alice@example.com}``), and
    creates private spaces; ``shared_spaces`` are the spaces they share."""

    enabled: bool = True
    """false leaves Studio and MLflow out."""
    mlflow: MlflowKind = MlflowKind.SERVERLESS
    """serverless (an MLflow App: no charge while idle), tracking-server (a managed server, about
    470 USD a month used or not) or none."""
    users: Annotated[list[StudioUser], Field(max_length=100)] = []
    """One profile per person: a name, or {name, user_name}; names and user names each once."""
    shared_spaces: Annotated[list[SharedSpace], Field(max_length=50)] = []
    """JupyterLab spaces every user may open; people create private spaces only. Names each once."""
    idle_minutes: Annotated[int, Field(ge=60, le=525600)] = 60
    """Idle time after which apps shut down."""

    @model_validator(mode="after")
    def _unique_users(self) -> StudioConfig:
        for field in ("name", "user_name"):
            values = [getattr(user, field) for user in self.users]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(
                    f"users repeat the {field} {', '.join(repeated)}; allowed: one profile "
                    "per person"
                )
        spaces = [space.name for space in self.shared_spaces]
        repeated = sorted({name for name in spaces if spaces.count(name) > 1})
        if repeated:
            raise ValueError(
                f"shared_spaces repeat the name {', '.join(repeated)}; allowed: one space per name"
            )
        users = [user.name for user in self.users]
        strangers = sorted({s.owner for s in self.shared_spaces if s.owner not in users})
        if strangers:
            raise ValueError(
                f"shared_spaces are owned by {', '.join(strangers)}, who are not users; allowed: "
                f"{', '.join(users) or 'no users are listed'}"
            )
        return self


class MLConfig(Model):
    studio: StudioConfig = StudioConfig()
    """SageMaker Studio in the interactive environment."""
    fine_tuning: list[FineTuningConfig] = []
    """Fine-tuning pipelines; the LOB has a nonprod environment."""
    endpoints: list[EndpointConfig] = []
    """GPU endpoints; the LOB has a nonprod or prod environment."""
