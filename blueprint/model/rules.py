"""Rules that relate several parts of an organization file.

They read the raw YAML data rather than the models, so a typo in one LOB does not hide a
shared account in another: every problem is reported in one run.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from blueprint.model.errors import ConfigProblem
from blueprint.model.names import RECIPE_REPOSITORY_SUFFIX, recipe_repository_name
from blueprint.model.operating_rules import (
    central_accounts,
    operating_model,
    operating_model_problems,
)
from blueprint.model.personas import persona_named, persona_names
from blueprint.model.raw import bedrock_catalog, mapping, sequence
from blueprint.model.sections.catalog import ModelArchitecture
from blueprint.model.sections.environments import DEFAULT_VPC_CIDRS, ENVIRONMENT_NAMES
from blueprint.model.sections.ml import FineTuningConfig
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import REGION, DataClassification
from genai_constructs.gpu_memory import GPU_INSTANCES, TrainingRun, estimate, usable_gib
from genai_constructs.naming import ImageRepository


def _environments(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, lob in enumerate(sequence(data.get("lobs"))):
        for env_name, env in mapping(mapping(lob).get("environments")).items():
            if env_name in ENVIRONMENT_NAMES:
                yield f"lobs[{index}].environments.{env_name}", mapping(env)


def cross_field_problems(data: dict[str, Any]) -> list[ConfigProblem]:
    """Every cross-field problem in ``data``, the parsed organization file."""
    return [
        *_region_problems(data),
        *_zone_problems(data),
        *_account_problems(data),
        *_lob_name_problems(data),
        *_catalog_problems(data),
        *_model_reference_problems(data),
        *ml_problems(data),
        *_lob_model_problems(data),
        *_environment_need_problems(data),
        *_vpc_overlap_problems(data),
        *_endpoint_zone_problems(data),
        *_recipe_image_problems(data),
        *_base_weights_problems(data),
        *_use_case_reference_problems(data),
        *_metrics_sink_problems(data),
        *operating_model_problems(data),
        *_identity_problems(data),
    ]


def _metrics_sink_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Each sink is the governance account's, in the region it is listed under, and once any
    is given every region with LOB environments has one (else dashboards stay half empty)."""
    platform = mapping(data.get("platform"))
    sinks = mapping(platform.get("metrics_sinks"))
    if not sinks:
        return
    governance = platform.get("governance_account")
    for region, arn in sinks.items():
        if not isinstance(arn, str) or arn.count(":") < 5:
            continue
        _, _, _, arn_region, account, _ = arn.split(":", 5)
        if arn_region != region:
            yield ConfigProblem(
                f"platform.metrics_sinks.{region}",
                f"the sink is in {arn_region}; allowed: a sink in {region} (links are regional)",
            )
        if isinstance(governance, str) and account != governance:
            yield ConfigProblem(
                f"platform.metrics_sinks.{region}",
                f"the sink belongs to account {account}; allowed: the governance account "
                f"{governance}",
            )
    allowed = _strings(mapping(data.get("organization")).get("allowed_regions"))
    used = sorted({env["region"] for _, env in _environments(data) if env.get("region") in allowed})
    missing = [region for region in used if region not in sinks]
    if missing:
        yield ConfigProblem(
            "platform.metrics_sinks",
            f"no sink for {', '.join(missing)}, where LOB environments run; allowed: one sink "
            "per region with LOB environments (each governance sink stack outputs its ARN)",
        )


def _use_case_reference_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


def _strings(entries: Any) -> list[str]:
    """The text items of a list (items of another type have their own problems)."""
    return [entry for entry in sequence(entries) if isinstance(entry, str)]


def _names(entries: Any) -> list[str]:
    return [e["name"] for e in map(mapping, sequence(entries)) if isinstance(e.get("name"), str)]


def _region_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    organization = mapping(data.get("organization"))
    allowed = [r for r in sequence(organization.get("allowed_regions")) if isinstance(r, str)]
    if not allowed:
        return
    allowed_text = ", ".join(allowed)
    home = organization.get("home_region")
    if isinstance(home, str) and REGION.match(home) and home not in allowed:
        yield ConfigProblem(
            "organization.home_region",
            f"region '{home}' is not in organization.allowed_regions; allowed: {allowed_text}",
        )
    for path, env in _environments(data):
        region = env.get("region")
        # A region that is not a region code has its own problem (with a suggestion).
        if isinstance(region, str) and REGION.match(region) and region not in allowed:
            close = difflib.get_close_matches(region, allowed, n=1, cutoff=0.8)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            yield ConfigProblem(
                f"{path}.region",
                f"region '{region}' is not in organization.allowed_regions{hint}; "
                f"allowed: {allowed_text}",
            )


def _zone_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    home = mapping(data.get("organization")).get("home_region")
    platform = mapping(data.get("platform"))
    placements = [
        ("platform", platform, home),
        ("platform.hub", mapping(platform.get("hub")), home),
    ]
    placements += [(path, env, env.get("region")) for path, env in _environments(data)]
    allowed = _strings(mapping(data.get("organization")).get("allowed_regions"))
    for path, section, region in placements:
        # A region that is not a region code, or not allowed, has its own problem: its zones
        # would only repeat it with wrong advice.
        if not isinstance(region, str) or not REGION.match(region):
            continue
        if allowed and region not in allowed:
            continue
        for index, zone in enumerate(sequence(section.get("azs"))):
            if not isinstance(zone, str):
                continue
            suffix = zone.removeprefix(region)
            if suffix == zone or len(suffix) != 1 or not suffix.isalpha():
                yield ConfigProblem(
                    f"{path}.azs[{index}]",
                    f"availability zone '{zone}' is not in region '{region}'; "
                    f"allowed: {region}a, {region}b, ...",
                )


def _account_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    owners: list[tuple[str, Any]] = [
        (
            "organization.management_account",
            mapping(data.get("organization")).get("management_account"),
        ),
        ("platform.governance_account", mapping(data.get("platform")).get("governance_account")),
        ("platform.tooling_account", mapping(data.get("platform")).get("tooling_account")),
        (
            "platform.hub.account",
            mapping(mapping(data.get("platform")).get("hub")).get("account"),
        ),
    ]
    owners += [(f"{path}.account", env.get("account")) for path, env in _environments(data)]
    owners += list(central_accounts(data))
    first_owner: dict[str, str] = {}
    for path, account in owners:
        if not isinstance(account, str):
            continue
        if account in first_owner:
            yield ConfigProblem(
                path,
                f"account {account} is already used by {first_owner[account]}; "
                "allowed: one account per LOB environment, per platform role and per "
                "central GenAI account",
            )
        else:
            first_owner[account] = path


def _lob_name_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    seen: dict[str, int] = {}
    for index, lob in enumerate(sequence(data.get("lobs"))):
        name = mapping(lob).get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            yield ConfigProblem(
                f"lobs[{index}].name",
                f"LOB name '{name}' is already used by lobs[{seen[name]}]; "
                "allowed: a unique name per LOB",
            )
        else:
            seen[name] = index


def _catalog_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    allowed = _strings(mapping(data.get("organization")).get("allowed_regions"))
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


def _model_reference_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


def ml_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Fine-tuning bases must be approved open-weights models; endpoints serve known models."""
    catalog = mapping(data.get("catalog"))
    open_weights = {
        model_id: m
        for m in map(mapping, sequence(catalog.get("open_weights")))
        if isinstance(model_id := m.get("id"), str)
    }
    ranks = [c.value for c in DataClassification]
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        ml = mapping(lob.get("ml"))
        classification = lob.get("data_classification")
        tuned: list[str] = []
        for section in ("fine_tuning", "endpoints"):
            seen: dict[str, int] = {}
            for e_index, entry in enumerate(map(mapping, sequence(ml.get(section)))):
                name = entry.get("name")
                if isinstance(name, str) and name in seen:
                    yield ConfigProblem(
                        f"lobs[{index}].ml.{section}[{e_index}].name",
                        f"'{name}' is already used by {section}[{seen[name]}]; "
                        "allowed: a unique name",
                    )
                if isinstance(name, str):
                    seen.setdefault(name, e_index)
        for e_index, entry in enumerate(map(mapping, sequence(ml.get("fine_tuning")))):
            if isinstance(entry.get("name"), str):
                tuned.append(entry["name"])
            base = entry.get("base_model")
            if not isinstance(base, str):
                continue
            usable = [
                model_id
                for model_id, spec in open_weights.items()
                if classification not in ranks
                or spec.get("max_classification", "restricted") not in ranks
                or ranks.index(spec.get("max_classification", "restricted"))
                >= ranks.index(classification)
            ]
            if base not in usable:
                reason = (
                    "is not in catalog.open_weights"
                    if base not in open_weights
                    else f"is not approved for '{classification}' data"
                )
                yield ConfigProblem(
                    f"lobs[{index}].ml.fine_tuning[{e_index}].base_model",
                    f"model '{base}' {reason}; allowed: "
                    + (", ".join(str(u) for u in usable) or "no open-weights model of the catalog"),
                )
            if base in usable:
                yield from _memory_problems(
                    f"lobs[{index}].ml.fine_tuning[{e_index}]", entry, open_weights[base]
                )
        servable = [str(m) for m in open_weights if isinstance(m, str)] + tuned
        for e_index, entry in enumerate(map(mapping, sequence(ml.get("endpoints")))):
            model = entry.get("model")
            if isinstance(model, str) and model not in servable:
                yield ConfigProblem(
                    f"lobs[{index}].ml.endpoints[{e_index}].model",
                    f"'{model}' is neither an open-weights model of the catalog nor a fine_tuning "
                    f"entry of this LOB; allowed: {', '.join(servable) or 'none defined'}",
                )


def _memory_problems(
    path: str, entry: dict[str, Any], base: dict[str, Any]
) -> Iterator[ConfigProblem]:
    """The run must fit each GPU of the base model's training instance (checked once the
    entry, the architecture and the instance are valid; their own errors come from the
    models)."""
    try:
        tuning = FineTuningConfig.model_validate(entry)
        shape = ModelArchitecture.model_validate(base.get("architecture")).shape()
        instance = GPU_INSTANCES[str(base.get("training_instance"))]
    except (ValidationError, KeyError):
        return
    run = TrainingRun(
        batch_size=tuning.batch_size,
        max_length=tuning.max_length,
        lora_r=tuning.lora_r,
        target_modules=tuple(tuning.target_modules),
        gradient_checkpointing=tuning.gradient_checkpointing,
        quantized=tuning.method == "qlora",
    )
    needed = estimate(shape, run, bf16=instance.bf16)
    available = usable_gib(instance)
    if needed.total_gib > available:
        yield ConfigProblem(
            path,
            f"fine-tuning '{tuning.name}' needs about {needed.describe()} on each GPU of "
            f"{base.get('training_instance')} ({instance.gpus} x {instance.gpu}, "
            f"{instance.memory_gib:g} GiB, {available:g} usable); allowed: a run that fits, "
            "e.g. a smaller batch_size or max_length, gradient_checkpointing: true, "
            "method: qlora, or a base model whose training_instance has more GPU memory",
        )


def _lob_model_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


def _environment_need_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Fine-tuning runs in nonprod and endpoints serve in nonprod or prod: an entry whose
    environment the LOB lacks would build nothing."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        present = [e for e in mapping(lob.get("environments")) if e in ENVIRONMENT_NAMES]
        ml = mapping(lob.get("ml"))
        if "nonprod" not in present:
            for e_index, _ in enumerate(sequence(ml.get("fine_tuning"))):
                yield ConfigProblem(
                    f"lobs[{index}].ml.fine_tuning[{e_index}]",
                    f"LOB '{lob.get('name')}' has no nonprod environment, where fine-tuning "
                    "pipelines run; allowed: add environments.nonprod, or remove the entry",
                )
        if not {"nonprod", "prod"} & set(present):
            for e_index, _ in enumerate(sequence(ml.get("endpoints"))):
                yield ConfigProblem(
                    f"lobs[{index}].ml.endpoints[{e_index}]",
                    f"LOB '{lob.get('name')}' has neither a nonprod nor a prod environment, "
                    "where endpoints serve; allowed: add one, or remove the entry",
                )


def _endpoint_zone_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Operational environments keep an interface endpoint in every zone (a zone's outage
    must not cut their workloads off from AWS APIs)."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        for environment, env in mapping(lob.get("environments")).items():
            if environment in ("nonprod", "prod") and mapping(env).get("endpoint_azs"):
                yield ConfigProblem(
                    f"lobs[{index}].environments.{environment}.endpoint_azs",
                    "operational environments keep an interface endpoint in every zone; "
                    "allowed: endpoint_azs on the interactive environment only",
                )


def _vpc_overlap_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """The VPCs of one LOB's environments must not overlap (defaults included), so that they
    can be connected later without renumbering."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        ranges: list[tuple[str, ipaddress.IPv4Network]] = []
        for environment, env in mapping(lob.get("environments")).items():
            if environment not in ENVIRONMENT_NAMES:
                continue
            cidr = mapping(env).get("vpc_cidr") or DEFAULT_VPC_CIDRS[environment]
            try:
                network = ipaddress.IPv4Network(str(cidr))
            except ValueError:
                continue  # the field's own check reports it
            for other, other_network in ranges:
                if network.overlaps(other_network):
                    yield ConfigProblem(
                        f"lobs[{index}].environments.{environment}.vpc_cidr",
                        f"{network} overlaps {other_network} of the {other} environment; "
                        "allowed: a private range no other environment of the LOB uses",
                    )
            ranges.append((environment, network))


def _recipe_image_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A pipeline needs its recipe image, built into the LOB's recipe repository in the account
    and region of its nonprod ML layer (the LOB's nonprod account, or the central nonprod
    account under the centralized model), where its network-isolated jobs pull it."""
    central = (
        mapping(mapping(data.get("platform")).get("central_accounts")).get("nonprod")
        if operating_model(data) is OperatingModel.CENTRALIZED
        else None
    )
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        nonprod = mapping(mapping(lob.get("environments")).get("nonprod"))
        where = (central or nonprod.get("account"), nonprod.get("region"))
        name = lob.get("name")
        # An LOB whose name is refused has no repository name to compare with.
        repository = (
            recipe_repository_name(name)
            if isinstance(name, str) and SLUG_TEXT.fullmatch(name)
            else None
        )
        for e_index, entry in enumerate(
            map(mapping, sequence(mapping(lob.get("ml")).get("fine_tuning")))
        ):
            path = f"lobs[{index}].ml.fine_tuning[{e_index}].recipe_image"
            image = entry.get("recipe_image")
            if image is None:
                yield ConfigProblem(
                    path,
                    "missing: the SageMaker SDK's image lacks the recipe's pins and the jobs "
                    "cannot install them (no internet); allowed: the image the platform builds "
                    f"into {repository or 'the recipe repository'} (the SSM parameter "
                    ".../recipe-image/uri), by digest",
                )
                continue
            if not isinstance(image, str) or ".dkr.ecr." not in image or not all(where):
                continue
            found = ImageRepository.of(image)
            expected = (
                f"{where[0]}.dkr.ecr.{where[1]}.amazonaws.com/"
                f"{repository or '<lob>' + RECIPE_REPOSITORY_SUFFIX}@sha256:..."
            )
            if (found.account, found.region) != where or repository not in (None, found.name):
                yield ConfigProblem(
                    path,
                    f"the image is {found.account}/{found.region}/{found.name}; allowed: the "
                    f"platform's recipe repository of the LOB ({expected})",
                )


SLUG_TEXT = re.compile(r"[a-z][a-z0-9-]*")


def _base_weights_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A fine-tuned model's weights are staged from the organization's approved copy: its jobs
    have no internet path to fetch them."""
    models = list(map(mapping, sequence(mapping(data.get("catalog")).get("open_weights"))))
    tuned: dict[str, str] = {}
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        for e_index, entry in enumerate(
            map(mapping, sequence(mapping(lob.get("ml")).get("fine_tuning")))
        ):
            base = entry.get("base_model")
            if isinstance(base, str):
                tuned.setdefault(base, f"lobs[{index}].ml.fine_tuning[{e_index}]")
    for index, model in enumerate(models):
        user = tuned.get(str(model.get("id")))
        if user is not None and model.get("source") is None:
            yield ConfigProblem(
                f"catalog.open_weights[{index}].source",
                f"missing: {user} fine-tunes this model and its jobs have no internet path to "
                "fetch it; allowed: s3://bucket/prefix/ of the organization's approved copy of "
                "its weights",
            )
        if model.get("source") is not None and model.get("sha256") is None:
            yield ConfigProblem(
                f"catalog.open_weights[{index}].sha256",
                "missing: an import stages only the approved weights, whoever starts it and "
                "whatever the source then holds; allowed: the digest the import's manifest.json "
                "gives the approved copy (64 lower-case hex digits)",
            )


def _identity_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Assignments name declared groups, LOBs and environments where their persona exists;
    the administrator account is one of the organization's."""
    identity = mapping(mapping(data.get("organization")).get("identity"))
    if not identity:
        return
    where = "organization.identity"
    groups = mapping(identity.get("groups"))
    ids = [value for value in groups.values() if isinstance(value, str)]
    for name, value in groups.items():
        if ids.count(value) > 1:
            yield ConfigProblem(
                f"{where}.groups.{name}",
                f"the group ID {value} is given to more than one group; allowed: each group "
                "its own ID",
            )
    # Keys and names of the wrong type have their own problems (the models'); skip them here.
    known_groups = ", ".join(sorted(map(str, groups))) or "none (declare groups first)"
    lobs = {
        lob_name: mapping(lob.get("environments"))
        for lob in map(mapping, sequence(data.get("lobs")))
        if isinstance(lob_name := lob.get("name"), str)
    }
    for index, raw in enumerate(sequence(identity.get("assignments"))):
        assignment = mapping(raw)
        path = f"{where}.assignments[{index}]"
        group = assignment.get("group")
        if isinstance(group, str) and group not in groups:
            yield ConfigProblem(
                f"{path}.group", f"unknown group '{group}'; allowed: {known_groups}"
            )
        yield from _assignment_target_problems(path, assignment, lobs)
    break_glass = mapping(identity.get("break_glass")).get("group")
    if isinstance(break_glass, str) and break_glass not in groups:
        yield ConfigProblem(
            f"{where}.break_glass.group",
            f"unknown group '{break_glass}'; allowed: {known_groups}",
        )
    admin = identity.get("admin_account")
    if isinstance(admin, str) and admin not in _organization_accounts(data):
        yield ConfigProblem(
            f"{where}.admin_account",
            f"{admin} is not an account of this organization; allowed: the management account "
            "or another account the file names (Identity Center's delegated administrator)",
        )


def _assignment_target_problems(
    path: str, assignment: dict[str, Any], lobs: dict[Any, dict[str, Any]]
) -> Iterator[ConfigProblem]:
    name = assignment.get("persona")
    if isinstance(name, str) and name not in persona_names():
        yield ConfigProblem(
            f"{path}.persona", f"unknown persona '{name}'; allowed: {', '.join(persona_names())}"
        )
        return
    persona = persona_named(name) if isinstance(name, str) else None
    chosen_lobs = [lob for lob in sequence(assignment.get("lobs")) if isinstance(lob, str)]
    environments = [e for e in sequence(assignment.get("environments")) if isinstance(e, str)]
    if not chosen_lobs and assignment.get("platform") is not True:
        yield ConfigProblem(
            path, "the assignment selects no account; allowed: lobs (and environments), platform"
        )
    if persona and chosen_lobs and not persona.in_lob_accounts:
        yield ConfigProblem(
            f"{path}.lobs",
            f"the {persona} persona exists only in the platform's accounts; allowed: platform: "
            "true",
        )
    if persona and assignment.get("platform") is True and not persona.in_platform_accounts:
        yield ConfigProblem(
            f"{path}.platform",
            f"the {persona} persona exists only in LOB environments; allowed: lobs",
        )
    if environments and not chosen_lobs:
        yield ConfigProblem(f"{path}.environments", "environments need lobs; allowed: lobs")
    if persona and persona.environments:
        allowed = ", ".join(sorted(persona.environments))
        for position, environment in enumerate(environments):
            if environment not in persona.environments:
                yield ConfigProblem(
                    f"{path}.environments[{position}]",
                    f"the {persona} persona exists only in {allowed} environments; "
                    f"allowed: {allowed} (got {environment})",
                )
    for position, lob in enumerate(sequence(assignment.get("lobs"))):
        if not isinstance(lob, str):
            continue
        if lob not in lobs:
            allowed = ", ".join(str(name) for name in lobs)
            yield ConfigProblem(
                f"{path}.lobs[{position}]", f"unknown LOB '{lob}'; allowed: {allowed}"
            )
            continue
        for environment in environments:
            if environment in ENVIRONMENT_NAMES and environment not in lobs[lob]:
                yield ConfigProblem(
                    f"{path}.environments",
                    f"LOB {lob} has no {environment} environment; allowed: "
                    f"{', '.join(map(str, lobs[lob])) or 'none'}",
                )
        where = persona.environments if persona else frozenset()
        if where and not environments and not any(e in where for e in lobs[lob]):
            yield ConfigProblem(
                f"{path}.lobs[{position}]",
                f"LOB {lob} has no environment where the {persona} persona exists (only "
                f"{', '.join(sorted(where))}), so the assignment selects nothing there; allowed: "
                "an LOB with such an environment",
            )


def _organization_accounts(data: dict[str, Any]) -> set[str]:
    organization = mapping(data.get("organization"))
    platform = mapping(data.get("platform"))
    accounts = {
        organization.get("management_account"),
        platform.get("governance_account"),
        platform.get("tooling_account"),
        mapping(platform.get("hub")).get("account"),
        *mapping(platform.get("central_accounts")).values(),
    }
    accounts |= {mapping(env).get("account") for _, env in _environments(data)}
    return {account for account in accounts if isinstance(account, str)}
