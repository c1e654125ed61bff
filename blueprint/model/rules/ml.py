"""Cross-field rules of ML: fine-tuning bases and the GPU memory of their runs, the models
endpoints serve, the environments they need, recipe images and the approved copy of base
weights."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from blueprint.model.errors import ConfigProblem
from blueprint.model.names import (
    RECIPE_REPOSITORY_SUFFIX,
    gpu_endpoint_name,
    recipe_repository_name,
)
from blueprint.model.operating_rules import operating_model
from blueprint.model.raw import mapping, sequence
from blueprint.model.sections.catalog import ModelArchitecture
from blueprint.model.sections.environments import ENVIRONMENT_NAMES
from blueprint.model.sections.ml import FineTuningConfig
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import DataClassification
from genai_constructs.gpu_memory import GPU_INSTANCES, TrainingRun, estimate, usable_gib
from genai_constructs.naming import ImageRepository


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


def environment_need_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


def endpoint_name_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A GPU endpoint is named <lob>-<environment>-<endpoint> (so the GenAI stack calls it by
    name): two LOBs' endpoints may not make the same name, or one LOB's guarded endpoint could
    serve the other's model where they share an account."""
    owners: dict[str, str] = {}
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        serving = [e for e in mapping(lob.get("environments")) if e in ("nonprod", "prod")]
        endpoints = sequence(mapping(lob.get("ml")).get("endpoints"))
        for e_index, endpoint in enumerate(map(mapping, endpoints)):
            for environment in serving:
                name = gpu_endpoint_name(
                    str(lob.get("name")), environment, str(endpoint.get("name"))
                )
                where = f"lobs[{index}].ml.endpoints[{e_index}].name"
                owner = owners.setdefault(name, where)
                if owner != where:
                    yield ConfigProblem(
                        where,
                        f"the {environment} endpoint would be named '{name}', as {owner} is; "
                        "allowed: LOB and endpoint names that make different "
                        "<lob>-<environment>-<endpoint> names",
                    )


def recipe_image_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


def base_weights_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
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


PROBE_COLUMNS = ("attribute", "groups", "prompt", "completion")


def bias_probes_problems(data: dict[str, Any]) -> Iterator[ConfigProblem]:
    """A fine-tuning entry's bias probes are a dataset of its LOB with the probe set's string
    columns (the evaluation reads the dataset's curated rows)."""
    for index, lob in enumerate(map(mapping, sequence(data.get("lobs")))):
        datasets = {
            d.get("name"): d
            for d in map(mapping, sequence(mapping(lob.get("data")).get("datasets")))
        }
        tunings = sequence(mapping(lob.get("ml")).get("fine_tuning"))
        for e_index, entry in enumerate(map(mapping, tunings)):
            name = mapping(entry.get("bias")).get("dataset")
            if not isinstance(name, str):
                continue
            path = f"lobs[{index}].ml.fine_tuning[{e_index}].bias.dataset"
            if name not in datasets:
                known = ", ".join(str(d) for d in datasets) or "none defined"
                yield ConfigProblem(
                    path,
                    f"'{name}' is not a dataset of this LOB; allowed: a name of data.datasets "
                    f"({known})",
                )
                continue
            types = {
                c.get("name"): c.get("type")
                for c in map(mapping, sequence(datasets[name].get("columns")))
            }
            wrong = [c for c in PROBE_COLUMNS if types.get(c) != "string"]
            if wrong:
                yield ConfigProblem(
                    path,
                    f"dataset '{name}' lacks the string column(s) {', '.join(wrong)}; allowed: a "
                    f"dataset with string columns {', '.join(PROBE_COLUMNS)}",
                )
