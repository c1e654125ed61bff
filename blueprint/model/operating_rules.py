"""Rules of the operating model: what each model needs from the file and what only one
model allows (central accounts for centralized; LOB catalogs and guardrails for
decentralized, never looser than the organization's; the hub for federated)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from blueprint.model.errors import ConfigProblem
from blueprint.model.guardrail import loosening_problems
from blueprint.model.raw import bedrock_catalog, mapping, sequence
from blueprint.model.sections.environments import ENVIRONMENT_NAMES
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import DataClassification

CENTRAL_ACCOUNTS = "platform.central_accounts"
_GENAI_MODEL_REFERENCES = (
    ("use_cases", "model"),
    ("prompts", "model"),
    ("knowledge_bases", "embedding_model"),
)


def operating_model(data: dict[str, Any]) -> OperatingModel | None:
    """The file's operating model; None when its own field check fails."""
    value = mapping(data.get("organization")).get("operating_model", OperatingModel.FEDERATED)
    try:
        return OperatingModel(value)
    except ValueError:
        return None


def central_accounts(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each central GenAI account of the file, with its YAML path."""
    accounts = mapping(mapping(data.get("platform")).get("central_accounts"))
    for name, account in accounts.items():
        if name in ENVIRONMENT_NAMES:
            yield f"{CENTRAL_ACCOUNTS}.{name}", account


def operating_model_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    model = operating_model(data)
    if model is None:
        return
    yield from _missing_central_account_problems(data, model)
    yield from _tenancy_name_problems(data)
    yield from _guardrail_addition_problems(data)
    yield from _hub_problems(data)
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        genai = mapping(lob.get("genai"))
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
        yield from _guardrail_override_problems(data, mapping(genai.get("guardrails")), path)


_OWN = {"catalog": "model catalog", "guardrails": "guardrail policy"}


def _missing_central_account_problems(
    data: dict[str, Any], model: OperatingModel
) -> Iterator[ConfigProblem]:
    """Centralized: a central account for every environment kind an LOB has."""
    if model is not OperatingModel.CENTRALIZED:
        return
    present = {path: account for path, account in central_accounts(data) if account is not None}
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        for environment in mapping(lob.get("environments")):
            path = f"{CENTRAL_ACCOUNTS}.{environment}"
            if environment in ENVIRONMENT_NAMES and path not in present:
                yield ConfigProblem(
                    CENTRAL_ACCOUNTS,
                    f"the centralized operating model hosts lobs[{index}].environments."
                    f"{environment} in the central {environment} account, which is not set; "
                    f'allowed: {environment}: "<12-digit account>" under {CENTRAL_ACCOUNTS}',
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
        for m in map(mapping, sequence(mapping(data.get("catalog")).get("bedrock")))
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
        for index, entry in enumerate(map(mapping, sequence(genai.get(section)))):
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
    if overrides:
        policy = mapping(data.get("guardrails"))
        yield from loosening_problems(policy, overrides, f"{path}.guardrails")


HUB = "platform.hub"


def _hub_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The hub belongs to the federated model; what it promotes and who consumes it exist,
    and no data reaches an LOB cleared for less."""
    hub = mapping(mapping(data.get("platform")).get("hub"))
    model = operating_model(data)
    if not hub or model is None:
        return
    if model is not OperatingModel.FEDERATED:
        yield ConfigProblem(
            HUB,
            f"the hub is the federated model's account for shared assets "
            f"(organization.operating_model is {model.value}); allowed: remove {HUB}, or set "
            "organization.operating_model: federated",
        )
    lobs = {
        lob["name"]: lob
        for lob in map(mapping, sequence(data.get("lobs")))
        if isinstance(lob.get("name"), str)
    }
    ranks = {c.value: c.rank for c in DataClassification}
    file = _HubFile(
        data, hub, lobs, ranks, ranks.get(str(hub.get("data_classification", "internal")))
    )
    yield from _promotion_problems(file)
    yield from _consumer_problems(file)
    yield from _hub_model_problems(file)
    yield from _hub_name_problems(file)


@dataclass(frozen=True)
class _HubFile:
    """What the hub's rules read: the file, its hub section, its LOBs by name, the rank of
    each data classification and the hub's."""

    data: dict[str, Any]
    hub: dict[str, Any]
    lobs: dict[str, dict[str, Any]]
    ranks: dict[str, int]
    rank: int | None


_PROMOTED = {"promoted_prompts": "prompts", "promoted_knowledge_bases": "knowledge_bases"}


def _promotion_problems(file: _HubFile) -> Iterator[ConfigProblem]:
    hub, lobs, ranks, hub_rank = file.hub, file.lobs, file.ranks, file.rank
    for field, section in _PROMOTED.items():
        for index, promotion in enumerate(map(mapping, sequence(hub.get(field)))):
            path = f"{HUB}.{field}[{index}]"
            lob = lobs.get(str(promotion.get("lob")))
            if lob is None:
                yield ConfigProblem(
                    f"{path}.lob",
                    f"no LOB is named '{promotion.get('lob')}'; allowed: {', '.join(lobs)}",
                )
                continue
            genai = mapping(lob.get("genai"))
            assets = [mapping(a).get("name") for a in sequence(genai.get(section))]
            if promotion.get("name") not in assets:
                yield ConfigProblem(
                    f"{path}.name",
                    f"LOB '{lob['name']}' has no {section[:-1].replace('_', ' ')} "
                    f"'{promotion.get('name')}'; allowed: {', '.join(map(str, assets)) or 'none'}",
                )
            if section == "knowledge_bases" and "prod" not in mapping(lob.get("environments")):
                yield ConfigProblem(
                    f"{path}.lob",
                    f"knowledge bases are promoted from the LOB's prod environment, and "
                    f"'{lob['name']}' has none; allowed: an LOB with a prod environment",
                )
            lob_rank = ranks.get(str(lob.get("data_classification")))
            if lob_rank is not None and hub_rank is not None and lob_rank > hub_rank:
                yield ConfigProblem(
                    f"{path}.lob",
                    f"LOB '{lob['name']}' holds {lob['data_classification']} data and the hub "
                    f"{_name(ranks, hub_rank)} data; allowed: promote from LOBs at or below "
                    f"the hub's classification, or raise {HUB}.data_classification",
                )


def _consumer_problems(file: _HubFile) -> Iterator[ConfigProblem]:
    data, hub, lobs, ranks, hub_rank = file.data, file.hub, file.lobs, file.ranks, file.rank
    own = [mapping(kb).get("name") for kb in sequence(hub.get("knowledge_bases"))]
    promoted = [
        f"{p.get('lob')}-{p.get('name')}"
        for p in map(mapping, sequence(hub.get("promoted_knowledge_bases")))
    ]
    shared = [*own, *promoted]
    catalog = bedrock_catalog(data)
    seen: set[str] = set()
    for index, consumer in enumerate(map(mapping, sequence(hub.get("consumers")))):
        path = f"{HUB}.consumers[{index}]"
        name = str(consumer.get("lob"))
        lob = lobs.get(name)
        if lob is None or name in seen:
            yield ConfigProblem(
                f"{path}.lob",
                f"'{name}' is not an LOB or is listed twice; allowed: each of "
                f"{', '.join(lobs)} once",
            )
            continue
        seen.add(name)
        lob_rank = ranks.get(str(lob.get("data_classification")))
        if lob_rank is not None and hub_rank is not None and lob_rank < hub_rank:
            yield ConfigProblem(
                f"{path}.lob",
                f"LOB '{name}' is cleared for {lob['data_classification']} data and the hub holds "
                f"{_name(ranks, hub_rank)} data; allowed: LOBs at or above the hub's "
                "classification",
            )
        yield from _text_model_problem(
            f"{path}.model", consumer.get("model"), catalog, ranks, hub_rank
        )
        for k_index, kb in enumerate(sequence(consumer.get("knowledge_bases"))):
            if kb not in shared:
                yield ConfigProblem(
                    f"{path}.knowledge_bases[{k_index}]",
                    f"the hub has no knowledge base '{kb}'; allowed: "
                    f"{', '.join(map(str, shared)) or 'none'}",
                )


def _text_model_problem(
    path: str,
    model_id: Any,
    catalog: dict[str, dict[str, Any]],
    ranks: dict[str, int],
    hub_rank: int | None,
) -> Iterator[ConfigProblem]:
    """``model_id`` is a text model of the catalog approved for the hub's data."""
    if hub_rank is None:
        return

    def approved(model: dict[str, Any]) -> bool:
        allowed = ranks.get(str(model.get("max_classification")), -1)
        return model.get("kind", "text") == "text" and allowed >= hub_rank

    if not approved(catalog.get(str(model_id), {})):
        texts = [i for i, m in catalog.items() if approved(m)]
        yield ConfigProblem(
            path,
            f"'{model_id}' is not a text model of the catalog approved for the hub's data; "
            f"allowed: {', '.join(texts) or 'none'}",
        )


def _hub_model_problems(file: _HubFile) -> Iterator[ConfigProblem]:
    """The hub's own prompts use approved text models, its knowledge bases catalog embedding
    models."""
    data, hub, ranks, hub_rank = file.data, file.hub, file.ranks, file.rank
    catalog = bedrock_catalog(data)
    for index, prompt in enumerate(map(mapping, sequence(hub.get("prompts")))):
        path = f"{HUB}.prompts[{index}].model"
        yield from _text_model_problem(path, prompt.get("model"), catalog, ranks, hub_rank)
    embeddings = [i for i, m in catalog.items() if m.get("kind") == "embedding"]
    for index, kb in enumerate(map(mapping, sequence(hub.get("knowledge_bases")))):
        model_id = kb.get("embedding_model")
        if model_id not in embeddings:
            yield ConfigProblem(
                f"{HUB}.knowledge_bases[{index}].embedding_model",
                f"'{model_id}' is not an embedding model of the catalog; allowed: "
                f"{', '.join(embeddings) or 'none'}",
            )


def _hub_name_problems(file: _HubFile) -> Iterator[ConfigProblem]:
    """A promoted asset keeps its model and environments, and its hub name
    (``<lob>-<name>``) is nobody else's there."""
    data, hub, lobs, ranks, hub_rank = file.data, file.hub, file.lobs, file.ranks, file.rank
    catalog = bedrock_catalog(data)
    for field, section in _PROMOTED.items():
        own = {str(mapping(a).get("name")) for a in sequence(hub.get(section))}
        for index, promotion in enumerate(map(mapping, sequence(hub.get(field)))):
            path = f"{HUB}.{field}[{index}]"
            promoted_name = f"{promotion.get('lob')}-{promotion.get('name')}"
            if promoted_name in own:
                yield ConfigProblem(
                    f"{path}.name",
                    f"the hub already has a {section[:-1].replace('_', ' ')} named "
                    f"'{promoted_name}', the promoted one's name there; allowed: rename the "
                    f"hub's own",
                )
            lob = lobs.get(str(promotion.get("lob")), {})
            asset = next(
                (
                    mapping(a)
                    for a in sequence(mapping(lob.get("genai")).get(section))
                    if mapping(a).get("name") == promotion.get("name")
                ),
                None,
            )
            if asset is None:
                continue
            if section == "prompts":
                yield from _text_model_problem(
                    f"{path}.name", asset.get("model"), catalog, ranks, hub_rank
                )
            environments = asset.get("environments")
            if (
                section == "knowledge_bases"
                and isinstance(environments, list)
                and "prod" not in environments
            ):
                yield ConfigProblem(
                    f"{path}.name",
                    f"the knowledge base '{promotion.get('name')}' of '{lob.get('name')}' is "
                    f"not in its prod environment ({', '.join(map(str, environments))}), where "
                    "the hub reads promoted documents; allowed: a knowledge base of prod",
                )


def _name(ranks: dict[str, int], rank: int) -> str:
    return next(name for name, value in ranks.items() if value == rank)


# Limits of the names a tenancy builds from its LOB (IAM roles, Bedrock guardrails and
# application inference profiles).
ROLE_NAME_LIMIT = 64
GUARDRAIL_NAME_LIMIT = 50
PROFILE_NAME_LIMIT = 64
# SageMaker names of the ML layer, fixed per account: where each lives.
SHARED_ML_NAMES = (
    ("fine_tuning", "pipeline", ("nonprod",)),
    ("endpoints", "endpoint", ("nonprod", "prod")),
)
TENANCY_ROLE_SUFFIXES = (
    "platform-admin",
    "data-scientist",
    "ml-engineer",
    "auditor",
    "ingestion",
    "model-release",
    "rag-release-gate",
)


def _tenancy_name_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Centralized: the tenancies of one central account share its namespaces, and their names
    carry the LOB's, so they must stay unique and within the services' limits."""
    if operating_model(data) is not OperatingModel.CENTRALIZED:
        return
    org = str(mapping(data.get("organization")).get("name", ""))
    owners: dict[tuple[str, str, str, str], str] = {}
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        name = str(lob.get("name", ""))
        path = f"lobs[{index}]"
        if name == "central" or name.startswith("central-"):
            yield ConfigProblem(
                f"{path}.name",
                "names starting with 'central' are the central team's placements of the "
                "central accounts; allowed: another name",
            )
        genai, ml = mapping(lob.get("genai")), mapping(lob.get("ml"))
        use_cases = [str(u.get("name")) for u in map(mapping, sequence(genai.get("use_cases")))]
        roles = [f"{org}-{name}-{suffix}" for suffix in TENANCY_ROLE_SUFFIXES]
        roles += [f"{org}-{name}-app-{use_case}" for use_case in use_cases]
        for role in roles:
            if len(role) > ROLE_NAME_LIMIT:
                yield ConfigProblem(
                    f"{path}.name",
                    f"the tenancy role '{role}' is {len(role)} characters; allowed: at most "
                    f"{ROLE_NAME_LIMIT} (shorten the organization, LOB or use case name)",
                )
        for environment, env in mapping(lob.get("environments")).items():
            region = str(mapping(env).get("region"))
            central = f"{org}-central-{environment}-{region}"
            if len(central) > GUARDRAIL_NAME_LIMIT:
                yield ConfigProblem(
                    "organization.name",
                    f"the central guardrail '{central}' of {environment} in {region} is "
                    f"{len(central)} characters; allowed: at most {GUARDRAIL_NAME_LIMIT} "
                    "(shorten the organization name)",
                )
            key = f"{name}-{environment}-central"
            guardrail = f"{org}-{key}"
            if len(guardrail) > GUARDRAIL_NAME_LIMIT:
                yield ConfigProblem(
                    f"{path}.name",
                    f"the tenancy guardrail '{guardrail}' is {len(guardrail)} characters; "
                    f"allowed: at most {GUARDRAIL_NAME_LIMIT} (shorten the organization or LOB "
                    "name)",
                )
            for u_index, use_case in enumerate(use_cases):
                profile = f"{key}-{use_case}"
                if len(profile) > PROFILE_NAME_LIMIT:
                    yield ConfigProblem(
                        f"{path}.genai.use_cases[{u_index}].name",
                        f"the tenancy's inference profile '{profile}' is {len(profile)} "
                        f"characters; allowed: at most {PROFILE_NAME_LIMIT}",
                    )
            named = [("role", role, f"{path}.name") for role in roles] + [
                (kind, mapping(entry).get("name"), f"{path}.ml.{section}[{e_index}].name")
                for section, kind, kinds in SHARED_ML_NAMES
                if environment in kinds
                for e_index, entry in enumerate(sequence(ml.get(section)))
            ]
            for kind, value, where in named:
                if not isinstance(value, str):
                    continue
                # IAM names are global to the account, SageMaker's regional.
                scope = "" if kind == "role" else region
                owner = owners.setdefault((environment, scope, kind, value), path)
                if owner != path:
                    yield ConfigProblem(
                        where,
                        f"the {kind} name '{value}' is also {owner}'s, and both LOBs' "
                        f"{environment} tenancies share a central account"
                        + (f" and region {region}" if scope else "")
                        + "; allowed: names unique across the LOBs",
                    )


def _guardrail_addition_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Decentralized: the organization's and an LOB's denied topics together stay within
    Bedrock's 30 and never repeat a name."""
    central = [
        mapping(t).get("name")
        for t in sequence(mapping(data.get("guardrails")).get("denied_topics"))
    ]
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        added = sequence(mapping(mapping(lob.get("genai")).get("guardrails")).get("denied_topics"))
        path = f"lobs[{index}].genai.guardrails.denied_topics"
        for t_index, topic in enumerate(map(mapping, added)):
            if topic.get("name") in central:
                yield ConfigProblem(
                    f"{path}[{t_index}].name",
                    f"the organization already denies the topic '{topic.get('name')}'; "
                    "allowed: a topic of another name",
                )
        if len(central) + len(added) > 30:
            yield ConfigProblem(
                path,
                f"{len(central)} topics of the organization and {len(added)} of the LOB make "
                f"{len(central) + len(added)}; allowed: at most 30 in all (Bedrock's limit)",
            )
