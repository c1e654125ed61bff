"""The guardrail policy: one model, from which everything else about a guardrail field follows.

Each field of ``GuardrailPolicy`` carries a ``GuardrailField`` marker: the property of the
construct library's ``GuardrailSpec`` it sets, and how an LOB may tighten it under the
decentralized operating model. From those markers come the LOB's additions
(``GuardrailOverrides``, with a field per tightenable one), the check that an LOB never loosens
the organization's policy, the merged policy of an LOB, and the values of ``GuardrailSpec``. A
new guardrail field is one field here (docs/contributors.md, "A guardrail field").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from blueprint.model.errors import ConfigProblem
from blueprint.model.fields import EnvironmentName, Model, matching, one_of
from genai_constructs.naming import PII_ENTITIES


class FilterStrength(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ContentFilter(StrEnum):
    HATE = "hate"
    INSULTS = "insults"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    MISCONDUCT = "misconduct"
    PROMPT_ATTACK = "prompt_attack"


class PiiAction(StrEnum):
    BLOCK = "block"
    ANONYMIZE = "anonymize"


def _pii_entities(value: dict[str, PiiAction]) -> dict[str, PiiAction]:
    unknown = sorted(set(value) - set(PII_ENTITIES))
    if unknown:
        raise ValueError(
            f"unknown PII entity type(s) {unknown}; allowed: Bedrock guardrail PII types such "
            "as EMAIL, PHONE, NAME, US_SOCIAL_SECURITY_NUMBER"
        )
    return value


PiiEntities = Annotated[
    dict[Annotated[str, one_of(PII_ENTITIES)], PiiAction], AfterValidator(_pii_entities)
]


class Tightening(StrEnum):
    """How an LOB's guardrail may differ from the organization's: only stricter."""

    STRONGER = "stronger"
    """A mapping of filter to strength: each at least the organization's."""
    BLOCK_KEPT = "block-kept"
    """A mapping of entity to action: entities added; what the organization blocks stays
    blocked."""
    MORE = "more"
    """A list: entries added to the organization's."""
    HIGHER = "higher"
    """A threshold: at least the organization's."""


# What each kind of tightening adds to a field's description, and what an LOB leaves unset.
_TIGHTENED: dict[Tightening, tuple[str, Callable[[], Any]]] = {
    Tightening.STRONGER: ("Each at least the organization's strength.", dict),
    Tightening.BLOCK_KEPT: (
        "Entries added, or raised from anonymize to block; what the organization blocks "
        "stays blocked.",
        dict,
    ),
    Tightening.MORE: ("Added to the organization's.", list),
    Tightening.HIGHER: ("At least the organization's.", lambda: None),
}


@dataclass(frozen=True)
class GuardrailField:
    """What a field of ``GuardrailPolicy`` is to the guardrail.

    :param spec: the ``GuardrailSpec`` property it sets; none for the platform's own settings
        (limits of the answer APIs, where the guardrail is enforced).
    :param lob: how an LOB may tighten it (decentralized); none: the organization's alone.
    """

    spec: str | None = None
    lob: Tightening | None = None


THRESHOLD_CEILING = 0.99
Threshold = Annotated[float, Field(ge=0, le=THRESHOLD_CEILING)]


class DeniedTopic(Model):
    name: Annotated[
        str, matching(r"^[0-9a-zA-Z-_ !?.]{1,100}$", "1-100 letters, digits, spaces and - _ ! ? .")
    ]
    """The topic's name."""
    definition: Annotated[str, Field(min_length=1, max_length=200)]
    """What the topic covers."""
    examples: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=5)] = []
    """Example phrases of the topic."""


class GuardrailPolicy(Model):
    """The central guardrail policy, applied in every LOB environment."""

    content_filters: Annotated[
        dict[ContentFilter, FilterStrength],
        GuardrailField("content_filters", Tightening.STRONGER),
    ]
    """Strength of each content filter."""
    pii: Annotated[PiiEntities, GuardrailField("pii_entities", Tightening.BLOCK_KEPT)] = {}
    """What the guardrail does with each PII entity type: block or anonymize."""
    denied_topics: Annotated[
        list[DeniedTopic], Field(max_length=30), GuardrailField("denied_topics", Tightening.MORE)
    ] = []
    """Topics the guardrail denies."""
    word_filters: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]],
        Field(max_length=1000),
        GuardrailField("words", Tightening.MORE),
    ] = []
    """Words and phrases the guardrail blocks."""
    profanity_filter: Annotated[bool, GuardrailField("profanity_filter")] = True
    """Block AWS's managed profanity list."""
    grounding_threshold: Annotated[
        Threshold | None, GuardrailField("grounding_threshold", Tightening.HIGHER)
    ] = None
    """Contextual grounding check: answers less grounded in the sources are blocked."""
    relevance_threshold: Annotated[
        Threshold | None, GuardrailField("relevance_threshold", Tightening.HIGHER)
    ] = None
    """Contextual grounding check: answers less relevant to the question are blocked."""
    blocked_input_message: Annotated[
        str, Field(min_length=1, max_length=500), GuardrailField("blocked_input_message")
    ] = "This request is not allowed by the organization's AI policy."
    """What a caller sees when the guardrail blocks a request."""
    blocked_output_message: Annotated[
        str, Field(min_length=1, max_length=500), GuardrailField("blocked_output_message")
    ] = "The response was withheld by the organization's AI policy."
    """What a caller sees when the guardrail withholds an answer."""
    max_input_tokens: Annotated[int, Field(ge=1)] = 8000
    """The largest request the applications send."""
    # The contextual grounding check reads at most 1,000 characters of query (the question).
    max_question_chars: Annotated[int, Field(ge=1, le=20000)] = 1000
    """The answer APIs' limit on a question."""
    enforce_in: list[EnvironmentName] = list(EnvironmentName)
    """The environment kinds where every model call must name the guardrail."""


def guardrail_fields(model: type[BaseModel] = GuardrailPolicy) -> dict[str, GuardrailField]:
    """Each field of ``model`` that has a ``GuardrailField`` marker, by name, in order."""
    found = {}
    for name, info in model.model_fields.items():
        markers = [m for m in info.metadata if isinstance(m, GuardrailField)]
        if markers:
            found[name] = markers[0]
    return found


def lob_additions_model(policy: type[BaseModel] = GuardrailPolicy) -> type[Model]:
    """The LOB's additions to ``policy``: its tightenable fields, each optional."""
    fields: dict[str, Any] = {}
    for name, marker in guardrail_fields(policy).items():
        if marker.lob is None:
            continue
        info = policy.model_fields[name]
        added, empty = _TIGHTENED[marker.lob]
        fields[name] = (
            Annotated[info.annotation, *info.metadata],
            Field(default=empty(), description=f"{info.description} {added}"),
        )
    return create_model(
        "GuardrailOverrides",
        __base__=Model,
        __doc__="What an LOB adds to the organization's guardrail policy (decentralized "
        "operating model): only stricter, never looser.",
        __module__=__name__,
        **fields,
    )


# mypy reads the additions as the policy (code reads their fields by name, through the
# markers); at run time they are the model derived from it.
if TYPE_CHECKING:
    GuardrailOverrides = GuardrailPolicy
else:
    GuardrailOverrides = lob_additions_model()


def with_additions(policy: GuardrailPolicy, additions: BaseModel | None) -> GuardrailPolicy:
    """``policy`` with an LOB's additions; the checks refuse any that loosen it."""
    if additions is None:
        return policy
    update: dict[str, Any] = {}
    for name, marker in guardrail_fields(type(policy)).items():
        if marker.lob is None:
            continue
        ours, theirs = getattr(policy, name), getattr(additions, name)
        if marker.lob in (Tightening.STRONGER, Tightening.BLOCK_KEPT):
            update[name] = ours | theirs
        elif marker.lob is Tightening.MORE:
            update[name] = ours + [entry for entry in theirs if entry not in ours]
        elif marker.lob is Tightening.HIGHER:
            update[name] = theirs if theirs is not None else ours
    return policy.model_copy(update=update)


def loosening_problems(
    policy: dict[str, Any],
    additions: dict[str, Any],
    path: str,
    model: type[BaseModel] = GuardrailPolicy,
) -> Iterator[ConfigProblem]:
    """Where an LOB's additions (the file's raw mapping at ``path``) loosen the organization's
    policy (raw mapping, of ``model``): a weaker filter, an unblocked entity, a lower
    threshold. Each value is compared as the model's own field reads it (a quoted number, a
    boolean, a key with spaces), so what is checked is what is deployed; a value the field
    refuses is validation's to report."""
    strengths = list(FilterStrength)
    for name, marker in guardrail_fields(model).items():
        if marker.lob is None or name not in additions:
            continue
        ours = _validated(model, name, policy.get(name))
        theirs = _validated(model, name, additions[name])
        if theirs is None:
            continue
        if marker.lob is Tightening.STRONGER:
            for key, strength in theirs.items():
                floor = (ours or {}).get(key, FilterStrength.NONE)
                if strengths.index(strength) < strengths.index(floor):
                    yield ConfigProblem(
                        f"{path}.{name}.{key}",
                        f"'{strength}' is weaker than the organization's '{floor}'; "
                        f"allowed: {', '.join(strengths[strengths.index(floor) :])}",
                    )
        elif marker.lob is Tightening.BLOCK_KEPT:
            for key, action in theirs.items():
                if (ours or {}).get(key) is PiiAction.BLOCK and action is not PiiAction.BLOCK:
                    yield ConfigProblem(
                        f"{path}.{name}.{key}",
                        f"the organization blocks {key}; allowed: block",
                    )
        elif marker.lob is Tightening.HIGHER and ours is not None and theirs < ours:
            yield ConfigProblem(
                f"{path}.{name}",
                f"{theirs} is below the organization's {ours}; allowed: {ours} to "
                f"{THRESHOLD_CEILING}",
            )


def _validated(model: type[BaseModel], name: str, value: Any) -> Any:
    """``value`` as ``model``'s field ``name`` reads it; none when absent or refused."""
    if value is None:
        return None
    info = model.model_fields[name]
    field_type: Any = Annotated[info.annotation, *info.metadata]
    config = ConfigDict(str_strip_whitespace=bool(model.model_config.get("str_strip_whitespace")))
    try:
        return TypeAdapter[Any](field_type, config=config).validate_python(value)
    except ValidationError:
        return None


def spec_values(policy: GuardrailPolicy, nested: Callable[..., Any]) -> dict[str, Any]:
    """The properties of the construct library's ``GuardrailSpec``, from ``policy``: names as
    the markers give them, enumerations upper-case (Bedrock's), lists as tuples, and each
    nested model (a denied topic) made by ``nested`` from its fields."""
    return {
        marker.spec: _spec_value(getattr(policy, name), nested)
        for name, marker in guardrail_fields(type(policy)).items()
        if marker.spec is not None
    }


def _spec_value(value: Any, nested: Callable[..., Any]) -> Any:
    if isinstance(value, StrEnum):
        return value.value.upper()
    if isinstance(value, dict):
        return {_spec_value(k, nested): _spec_value(v, nested) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_spec_value(v, nested) for v in value)
    if isinstance(value, BaseModel):
        return nested(
            **{name: _spec_value(getattr(value, name), nested) for name in type(value).model_fields}
        )
    return value
