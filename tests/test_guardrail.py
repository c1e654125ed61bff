"""A guardrail field is one field of ``GuardrailPolicy`` with its marker: the LOB's additions,
the check that they never loosen the policy, the merged policy and the construct library's
spec all follow from it (docs/contributors.md, "A guardrail field")."""

from __future__ import annotations

from typing import Annotated

from blueprint.model.guardrail import (
    GuardrailField,
    GuardrailOverrides,
    GuardrailPolicy,
    Threshold,
    Tightening,
    lob_additions_model,
    loosening_problems,
    spec_values,
    with_additions,
)
from genai_constructs.bedrock import DeniedTopicSpec, GuardrailSpec


class WiderPolicy(GuardrailPolicy):
    """The policy with one more field, as a contributor would add it."""

    automated_reasoning_threshold: Annotated[
        Threshold | None, GuardrailField("automated_reasoning_threshold", Tightening.HIGHER)
    ] = None
    """Answers the automated reasoning check is less sure of are blocked."""


POLICY = {"content_filters": {"hate": "high"}}


def test_a_new_field_is_an_lob_addition_checked_merged_and_passed_to_the_spec() -> None:
    additions = lob_additions_model(WiderPolicy)
    field = additions.model_fields["automated_reasoning_threshold"]
    assert field.description == (
        "Answers the automated reasoning check is less sure of are blocked. "
        "At least the organization's."
    )
    policy = WiderPolicy.model_validate({**POLICY, "automated_reasoning_threshold": 0.5})
    assert [
        (problem.path, problem.message)
        for problem in loosening_problems(
            policy.model_dump(mode="json"),
            {"automated_reasoning_threshold": 0.4},
            "lobs[0].genai.guardrails",
            WiderPolicy,
        )
    ] == [
        (
            "lobs[0].genai.guardrails.automated_reasoning_threshold",
            "0.4 is below the organization's 0.5; allowed: 0.5 to 0.99",
        )
    ]
    stricter = with_additions(
        policy, additions.model_validate({"automated_reasoning_threshold": 0.8})
    )
    assert stricter.automated_reasoning_threshold == 0.8  # type: ignore[attr-defined]
    assert spec_values(stricter, nested=dict)["automated_reasoning_threshold"] == 0.8


def test_an_lob_adds_to_the_fields_it_may_only_tighten() -> None:
    assert list(GuardrailOverrides.model_fields) == [
        "content_filters",
        "pii",
        "denied_topics",
        "word_filters",
        "grounding_threshold",
        "relevance_threshold",
    ]


def test_additions_merge_stricter_and_never_repeat_an_entry() -> None:
    policy = GuardrailPolicy.model_validate(
        {
            "content_filters": {"hate": "medium", "insults": "high"},
            "pii": {"EMAIL": "anonymize"},
            "word_filters": ["alpha"],
            "grounding_threshold": 0.6,
        }
    )
    additions = GuardrailOverrides.model_validate(
        {
            "content_filters": {"hate": "high"},
            "pii": {"EMAIL": "block", "PHONE": "anonymize"},
            "word_filters": ["alpha", "beta"],
        }
    )
    merged = with_additions(policy, additions)
    assert {k.value: v.value for k, v in merged.content_filters.items()} == {
        "hate": "high",
        "insults": "high",
    }
    assert {k: v.value for k, v in merged.pii.items()} == {"EMAIL": "block", "PHONE": "anonymize"}
    assert merged.word_filters == ["alpha", "beta"]
    assert merged.grounding_threshold == 0.6
    assert with_additions(policy, None) is policy


def test_every_loosening_is_named_with_what_is_allowed() -> None:
    policy = {
        "content_filters": {"hate": "high"},
        "pii": {"US_SOCIAL_SECURITY_NUMBER": "block"},
        "relevance_threshold": 0.5,
    }
    additions = {
        "content_filters": {"hate": "low", "insults": "none"},
        "pii": {"US_SOCIAL_SECURITY_NUMBER": "anonymize"},
        "relevance_threshold": 0.3,
    }
    assert [(p.path, p.message) for p in loosening_problems(policy, additions, "g")] == [
        ("g.content_filters.hate", "'low' is weaker than the organization's 'high'; allowed: high"),
        (
            "g.pii.US_SOCIAL_SECURITY_NUMBER",
            "the organization blocks US_SOCIAL_SECURITY_NUMBER; allowed: block",
        ),
        ("g.relevance_threshold", "0.3 is below the organization's 0.5; allowed: 0.5 to 0.99"),
    ]


def test_the_spec_takes_every_field_the_guardrail_resource_has() -> None:
    policy = GuardrailPolicy.model_validate(
        {
            "content_filters": {"prompt_attack": "high"},
            "pii": {"EMAIL": "anonymize"},
            "denied_topics": [{"name": "advice", "definition": "Investment advice."}],
            "word_filters": ["alpha"],
        }
    )
    spec = GuardrailSpec(**spec_values(policy, nested=DeniedTopicSpec))
    assert spec.content_filters == {"PROMPT_ATTACK": "HIGH"}
    assert spec.pii_entities == {"EMAIL": "ANONYMIZE"}
    assert spec.denied_topics == (DeniedTopicSpec("advice", "Investment advice.", ()),)
    assert spec.words == ("alpha",)
    assert spec.blocked_input_message == policy.blocked_input_message


def test_a_loosening_is_found_however_the_file_writes_it() -> None:
    """A quoted threshold, a boolean threshold and a key with spaces read as validation reads
    them (the number, 0.0, the stripped key), so none slips a looser guardrail past the
    check."""
    policy = {"pii": {"US_SOCIAL_SECURITY_NUMBER": "block"}, "grounding_threshold": "0.75"}
    additions = {
        "pii": {"US_SOCIAL_SECURITY_NUMBER ": "anonymize"},
        "grounding_threshold": "0.1",
        "relevance_threshold": False,
    }
    policy["relevance_threshold"] = 0.5
    assert [(p.path, p.message) for p in loosening_problems(policy, additions, "g")] == [
        (
            "g.pii.US_SOCIAL_SECURITY_NUMBER",
            "the organization blocks US_SOCIAL_SECURITY_NUMBER; allowed: block",
        ),
        ("g.grounding_threshold", "0.1 is below the organization's 0.75; allowed: 0.75 to 0.99"),
        ("g.relevance_threshold", "0.0 is below the organization's 0.5; allowed: 0.5 to 0.99"),
    ]
