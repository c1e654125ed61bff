"""Rules of the operating model: what each model needs from the file and what only one
model allows (central accounts for centralized; LOB catalogs and guardrails for
decentralized, never looser than the organization's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.model.config import (
    ENVIRONMENT_NAMES,
    FilterStrength,
    OperatingModel,
    PiiAction,
)
from blueprint.model.errors import ConfigProblem

CENTRAL_ACCOUNTS = "platform.central_accounts"
_STRENGTHS = list(FilterStrength)
_GENAI_MODEL_REFERENCES = (
    ("use_cases", "model"),
    ("prompts", "model"),
    ("knowledge_bases", "embedding_model"),
)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def operating_model(data: dict[str, Any]) -> OperatingModel | None:
    """The file's operating model; None when its own field check fails."""
    value = _mapping(data.get("organization")).get("operating_model", OperatingModel.FEDERATED)
    try:
        return OperatingModel(value)
    except ValueError:
        return None


def central_accounts(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each central GenAI account of the file, with its YAML path."""
    accounts = _mapping(_mapping(data.get("platform")).get("central_accounts"))
    for name, account in accounts.items():
        if name in ENVIRONMENT_NAMES:
            yield f"{CENTRAL_ACCOUNTS}.{name}", _mapping(account)


def operating_model_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    model = operating_model(data)
    if model is None:
        return
    yield from _central_account_problems(data, model)
    for index, lob in enumerate(map(_mapping, _sequence(data.get("lobs")))):
        genai = _mapping(lob.get("genai"))
        path = f"lobs[{index}].genai"
        for field in ("catalog", "guardrails"):
            if genai.get(field) is not None and model is not OperatingModel.DECENTRALIZED:
                yield ConfigProblem(
                    f"{path}.{field}",
                    f"an LOB sets its own {_OWN[field]} only under the decentralized operating "
                    f"model (organization.operating_model is {model.value}); allowed: remove "
                    "it, or set organization.operating_model: decentralized",
                )
        yield from _lob_catalog_problems(data, genai, path)
        yield from _guardrail_override_problems(data, _mapping(genai.get("guardrails")), path)


_OWN = {"catalog": "model catalog", "guardrails": "guardrail policy"}


def _central_account_problems(
    data: dict[str, Any], model: OperatingModel
) -> Iterator[ConfigProblem]:
    """Centralized: a central account for every environment kind an LOB has."""
    if model is not OperatingModel.CENTRALIZED:
        return
    present = dict(central_accounts(data))
    for index, lob in enumerate(map(_mapping, _sequence(data.get("lobs")))):
        for environment in _mapping(lob.get("environments")):
            path = f"{CENTRAL_ACCOUNTS}.{environment}"
            if environment in ENVIRONMENT_NAMES and path not in present:
                yield ConfigProblem(
                    CENTRAL_ACCOUNTS,
                    f"the centralized operating model hosts lobs[{index}].environments."
                    f"{environment} in the central {environment} account, which is not set; "
                    f"allowed: {environment}: {{account, region, azs}} under {CENTRAL_ACCOUNTS}",
                )
                present[path] = {}


def _lob_catalog_problems(
    data: dict[str, Any], genai: dict[str, Any], path: str
) -> Iterator[ConfigProblem]:
    """An LOB's catalog picks from the organization's, and covers what the LOB uses."""
    own = genai.get("catalog")
    if not isinstance(own, list):
        return
    organization = [
        m["id"]
        for m in map(_mapping, _sequence(_mapping(data.get("catalog")).get("bedrock")))
        if isinstance(m.get("id"), str)
    ]
    for index, model_id in enumerate(own):
        if isinstance(model_id, str) and model_id not in organization:
            yield ConfigProblem(
                f"{path}.catalog[{index}]",
                f"model '{model_id}' is not in the organization's catalog; allowed: "
                f"{', '.join(organization)}",
            )
    for section, field in _GENAI_MODEL_REFERENCES:
        for index, entry in enumerate(map(_mapping, _sequence(genai.get(section)))):
            model_id = entry.get(field)
            if isinstance(model_id, str) and model_id in organization and model_id not in own:
                yield ConfigProblem(
                    f"{path}.{section}[{index}].{field}",
                    f"model '{model_id}' is not in the LOB's catalog ({path}.catalog); "
                    f"allowed: {', '.join(str(m) for m in own)}",
                )


def _guardrail_override_problems(
    data: dict[str, Any], overrides: dict[str, Any], path: str
) -> Iterator[ConfigProblem]:
    """An LOB's guardrail is at least as strict as the organization's."""
    if not overrides:
        return
    policy = _mapping(data.get("guardrails"))
    path = f"{path}.guardrails"
    central = _mapping(policy.get("content_filters"))
    for name, strength in _mapping(overrides.get("content_filters")).items():
        floor = central.get(name, FilterStrength.NONE.value)
        if strength in _STRENGTHS and floor in _STRENGTHS and _rank(strength) < _rank(floor):
            yield ConfigProblem(
                f"{path}.content_filters.{name}",
                f"'{strength}' is weaker than the organization's '{floor}'; allowed: "
                f"{', '.join(s.value for s in _STRENGTHS[_rank(floor) :])}",
            )
    central_pii = _mapping(policy.get("pii"))
    for entity, action in _mapping(overrides.get("pii")).items():
        if central_pii.get(entity) == PiiAction.BLOCK.value and action != PiiAction.BLOCK.value:
            yield ConfigProblem(
                f"{path}.pii.{entity}",
                f"the organization blocks {entity}; allowed: block",
            )
    for field in ("grounding_threshold", "relevance_threshold"):
        value, floor = overrides.get(field), policy.get(field)
        if isinstance(value, int | float) and isinstance(floor, int | float) and value < floor:
            yield ConfigProblem(
                f"{path}.{field}",
                f"{value} is below the organization's {floor}; allowed: {floor} to 0.99",
            )


def _rank(strength: str) -> int:
    return _STRENGTHS.index(FilterStrength(strength))
