"""Cross-field rules of the GenAI references: the Bedrock catalog, the models that use cases,
prompts and knowledge bases name, a text model for every LOB's data classification, and the
knowledge bases and endpoints a use case names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.operating_rules import operating_model
from blueprint.model.raw import bedrock_catalog, mapping, sequence, strings
from blueprint.model.sections.environments import ENVIRONMENT_NAMES
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import DataClassification


def catalog_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    allowed = strings(mapping(data.get("organization")).get("allowed_regions"))
    seen: set[str] = set()
    for index, model in enumerate(sequence(mapping(data.get("catalog")).get("bedrock"))):
        model_id = mapping(model).get("id")
        if isinstance(model_id, str):
            if model_id in seen:
                yield ConfigProblem(
                    f"catalog.bedrock[{index}].id",
                    f"model '{model_id}' is listed twice; allowed: each model once",
                )
            seen.add(model_id)
        profile = mapping(mapping(model).get("inference_profile"))
        for r_index, region in enumerate(sequence(profile.get("regions"))):
            if allowed and isinstance(region, str) and region not in allowed:
                yield ConfigProblem(
                    f"catalog.bedrock[{index}].inference_profile.regions[{r_index}]",
                    f"the profile may route requests to '{region}', outside "
                    f"organization.allowed_regions; allowed: {', '.join(allowed)} "
                    "(choose a profile whose regions all are allowed, or none)",
                )


_MODEL_REFERENCES = (
    ("use_cases", "model", "text"),
    ("prompts", "model", "text"),
    ("knowledge_bases", "embedding_model", "embedding"),
    ("knowledge_bases", "parsing.model", "text"),
)


def _at(entry: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``entry`` (``None`` where a part is missing)."""
    value: Any = entry
    for part in path.split("."):
        value = mapping(value).get(part)
    return value


def model_reference_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    catalog = bedrock_catalog(data)
    ranks = [c.value for c in DataClassification]
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        classification = lob.get("data_classification")
        genai = mapping(lob.get("genai"))
        for section, key, kind in _MODEL_REFERENCES:
            names: dict[str, int] = {}
            for e_index, entry in enumerate(map(mapping, sequence(genai.get(section)))):
                path = f"lobs[{index}].genai.{section}[{e_index}]"
                name = entry.get("name")
                # Names are checked once per section, on its model reference (not a nested one).
                if isinstance(name, str) and "." not in key:
                    if name in names:
                        yield ConfigProblem(
                            f"{path}.name",
                            f"'{name}' is already used by {section}[{names[name]}]; "
                            "allowed: a unique name",
                        )
                    names.setdefault(name, e_index)
                model_id = _at(entry, key)
                if not isinstance(model_id, str):
                    continue
                usable = [
                    m
                    for m, spec in catalog.items()
                    if spec.get("kind", "text") == kind
                    and (
                        classification not in ranks  # reported on its own path already
                        or spec.get("max_classification") not in ranks
                        or ranks.index(spec["max_classification"]) >= ranks.index(classification)
                    )
                ]
                model = catalog.get(model_id)
                if model is None:
                    problem = f"model '{model_id}' is not in catalog.bedrock"
                elif model.get("kind", "text") != kind:
                    problem = f"model '{model_id}' is a {model.get('kind', 'text')} model"
                elif model_id not in usable:
                    problem = (
                        f"model '{model_id}' is approved for data up to "
                        f"'{model.get('max_classification')}'; this LOB's data is "
                        f"'{classification}'"
                    )
                else:
                    continue
                yield ConfigProblem(
                    f"{path}.{key}",
                    f"{problem}; allowed: {', '.join(usable) or f'no {kind} model of the catalog'}",
                )
            if section == "knowledge_bases" and "." not in key:
                yield from _kb_environment_problems(index, lob, genai)


def _kb_environment_problems(
    index: int, lob: dict[str, Any], genai: dict[str, Any]
) -> Iterator[ConfigProblem]:
    present = [name for name in mapping(lob.get("environments")) if name in ENVIRONMENT_NAMES]
    for k_index, entry in enumerate(map(mapping, sequence(genai.get("knowledge_bases")))):
        for e_index, env in enumerate(sequence(entry.get("environments"))):
            if isinstance(env, str) and env in ENVIRONMENT_NAMES and env not in present:
                yield ConfigProblem(
                    f"lobs[{index}].genai.knowledge_bases[{k_index}].environments[{e_index}]",
                    f"this LOB has no '{env}' environment; allowed: {', '.join(present)}",
                )


def lob_model_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Every LOB needs a text model of the catalog approved for its data classification: its
    application and persona roles are granted the approved ones."""
    ranks = [c.value for c in DataClassification]
    text_models = [
        m
        for m in bedrock_catalog(data).values()
        if m.get("kind", "text") == "text" and m.get("max_classification") in ranks
    ]
    highest = max((ranks.index(m["max_classification"]) for m in text_models), default=-1)
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        classification = lob.get("data_classification")
        if classification not in ranks or ranks.index(classification) <= highest:
            continue
        allowed = (
            f"data_classification: {ranks[highest]} or lower, or a text model of "
            f"catalog.bedrock with max_classification: {classification}"
            if highest >= 0
            else f"a text model of catalog.bedrock with max_classification: {classification}"
        )
        yield ConfigProblem(
            f"lobs[{index}].data_classification",
            f"no text model of catalog.bedrock is approved for '{classification}' data, so "
            f"LOB '{lob.get('name')}' could call none; allowed: {allowed}",
        )


def use_case_reference_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A use case's knowledge bases and endpoints are the LOB's own."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        defined = {
            "knowledge_bases": _names(mapping(lob.get("genai")).get("knowledge_bases")),
            "endpoints": _names(mapping(lob.get("ml")).get("endpoints")),
        }
        use_cases = sequence(mapping(lob.get("genai")).get("use_cases"))
        for u_index, use_case in enumerate(map(mapping, use_cases)):
            for key, known in defined.items():
                for r_index, name in enumerate(sequence(use_case.get(key))):
                    if isinstance(name, str) and name not in known:
                        section = (
                            "genai.knowledge_bases" if key == "knowledge_bases" else "ml.endpoints"
                        )
                        yield ConfigProblem(
                            f"lobs[{index}].genai.use_cases[{u_index}].{key}[{r_index}]",
                            f"'{name}' is not in this LOB's {section}; allowed: "
                            f"{', '.join(known) or 'none defined'}",
                        )


def use_case_record_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A use case that runs in prod has its AI-inventory record."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        if "prod" not in mapping(lob.get("environments")):
            continue
        use_cases = sequence(mapping(lob.get("genai")).get("use_cases"))
        for u_index, use_case in enumerate(map(mapping, use_cases)):
            if use_case.get("record") is None:
                yield ConfigProblem(
                    f"lobs[{index}].genai.use_cases[{u_index}].record",
                    f"use case '{use_case.get('name')}' runs in prod without its record; "
                    "allowed: a record of owner, escalation_contact, risk_tier (minimal, "
                    "limited, high), intended_use and human_review",
                )


# A log group takes at most 100 metric filters (a CloudWatch Logs quota). The invocation log
# group of an account and region holds 2 for its alarms and 2 per use case of every LOB
# environment whose invocations it records.
METRIC_FILTERS_PER_LOG_GROUP = 100
ALARM_FILTERS = 2
FILTERS_PER_USE_CASE = 2


def token_metric_filter_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The use cases recorded in one invocation log group fit its metric filter quota."""
    centralized = operating_model(data) is OperatingModel.CENTRALIZED
    central = mapping(mapping(data.get("platform")).get("central_accounts"))
    counted: dict[tuple[Any, Any], int] = {}
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        use_cases = len(sequence(mapping(lob.get("genai")).get("use_cases")))
        for name, environment in mapping(lob.get("environments")).items():
            env = mapping(environment)
            account = central.get(name) if centralized else env.get("account")
            log_group = (account, env.get("region"))
            filters = counted.get(log_group, ALARM_FILTERS) + FILTERS_PER_USE_CASE * use_cases
            counted[log_group] = filters
            if filters > METRIC_FILTERS_PER_LOG_GROUP >= filters - FILTERS_PER_USE_CASE * use_cases:
                yield ConfigProblem(
                    f"lobs[{index}].genai.use_cases",
                    f"the invocation log group of account {account} in {env.get('region')} "
                    f"would hold {filters} metric filters ({FILTERS_PER_USE_CASE} per use case "
                    f"of each LOB environment it records, {ALARM_FILTERS} for its alarms); "
                    f"allowed: at most {METRIC_FILTERS_PER_LOG_GROUP} (a CloudWatch Logs "
                    "quota): fewer use cases in that account and region",
                )


def _names(entries: Any) -> list[str]:
    return [e["name"] for e in map(mapping, sequence(entries)) if isinstance(e.get("name"), str)]
