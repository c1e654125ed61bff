"""The catalog's resource selectors of the ML and GenAI layers: models, published IDs, Studio,
fine-tuning pipelines and releases, RAG, and each use case's own resources. A part of
``resources.RESOURCES`` (which takes these kinds); one function per kind, its docstring the
grammar's entry."""

from __future__ import annotations

from collections.abc import Callable

from blueprint.assembly.access.registry import OWN, Registry
from blueprint.assembly.access.selection import (
    PROBE_FILE,
    PROBE_KEY,
    Actor,
    Selection,
    Target,
    use_case_resources,
)
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.access.world import Asset
from blueprint.model.assets import DESCRIPTIONS, AssetKind
from blueprint.model.identity import Layer
from blueprint.model.plan import promoted_models
from blueprint.model.sections.catalog import ModelKind
from blueprint.model.sections.genai import UseCase
from genai_constructs.naming import (
    EXPERIMENTS_PREFIX,
    MLFLOW_ARTIFACTS_PREFIX,
    ImageRepository,
    base_model_prefix,
    merged_models_prefix,
    model_releases_prefix,
    parameter_path,
    pipeline_runs_prefix,
)

ResourceResolver = Callable[[Selection, str, Actor | None], list[Target]]
ML_RESOURCES: Registry[ResourceResolver] = Registry("resource")
resource = ML_RESOURCES.kind

OUTSIDE_CATALOG_MODEL = "vendor.unlisted-model-v1:0"
MARKED = ("", "*", "<name>")


def _serves(actor: Actor | None) -> str | None:
    return actor.serves if actor is not None else None


# --- models and published IDs (none where the GenAI layer is elsewhere) -----------------


@resource("model", "approved", "own", "outside-catalog", "above-classification")
def _models(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """A foundation model: each the environment may use, the asking use case's inference
    profile (`own`), one outside the Bedrock catalog, or each text model above the
    environment's classification."""
    if not selection.placement.hosts(Layer.GENAI):
        return []
    region, catalog = selection.placement.region, selection.plan.config.catalog.bedrock
    if which == "outside-catalog":
        model = OUTSIDE_CATALOG_MODEL
        return [Target(f"model/{model}", _model_arn(region, model), None)]
    if which == OWN:
        return _own_by_use_case(selection, AssetKind.PROFILE, actor)
    approved = {model.id for model in selection.plan.approved_models(selection.placement)}
    if which == "approved":
        chosen = [m for m in catalog if m.id in approved]
    else:
        chosen = [m for m in catalog if m.kind is ModelKind.TEXT and m.id not in approved]
    return [Target(f"model/{m.id}", _model_arn(region, m.id), None) for m in chosen]


def _model_arn(region: str, model_id: str) -> Symbol:
    return text(f"arn:aws:bedrock:{region}::foundation-model/{model_id}")


@resource("published-id", "", "<path>")
def _published(selection: Selection, path: str, actor: Actor | None) -> list[Target]:
    """A parameter the environment publishes under `/genai-platform/<lob>/<env>/` (none:
    the guardrail ID); `<kind>/own/<attribute>` one per resource of that kind of the asking
    use case (`inference-profiles`, `knowledge-bases`, `answer-apis`, `endpoints` or
    `guarded-endpoints`). A
    parameter no template publishes fails the request."""
    placement = selection.placement
    lob, environment = placement.lob, placement.environment
    if not placement.hosts(Layer.GENAI) or lob is None or environment is None:
        return []
    path = path or "guardrail/id"
    root = parameter_path(lob.name, environment.value)
    kind, _, rest = path.partition("/")
    own, _, attribute = rest.partition("/")
    if own == OWN:
        use_case = actor.use_case if actor is not None else None
        if use_case is None:
            return []
        owned = use_case_resources(selection.plan, placement, use_case)[kind]
        paths = [f"{kind}/{name}/{attribute}" for name in owned]
    else:
        paths = [path]
    published = selection.parameter_names()
    region, account = placement.region, placement.account
    return [
        Target(
            f"published-id/{each}",
            text(f"arn:aws:ssm:{region}:{account}:parameter{root}/{each}"),
            account,
            None
            if f"{root}/{each}" in published
            else f"no template of {placement.key} publishes {root}/{each}",
        )
        for each in paths
    ]


# --- a use case's or a service role's own resources -------------------------------------

# Which of its use case's resources of each kind an application's role owns.
USE_CASE_OWNS: dict[AssetKind, Callable[[UseCase], list[str]]] = {
    AssetKind.PROFILE: lambda use: [use.name],
    AssetKind.APP_ROLE: lambda use: [use.name],
    AssetKind.KNOWLEDGE_BASE: lambda use: list(use.knowledge_bases),
    AssetKind.ENDPOINT: lambda use: list(use.endpoints),
    AssetKind.GUARDED_ENDPOINT: lambda use: list(use.endpoints),
    AssetKind.REVIEWER_ROLE: lambda use: [use.name],
    AssetKind.ANSWER_API: lambda use: [use.name],
    AssetKind.RAG_EVALUATION: lambda use: [use.name],
}


# The kinds a service role serves one of: a knowledge base's role, a guarded endpoint's.
SERVED_KINDS = (AssetKind.KNOWLEDGE_BASE, AssetKind.ENDPOINT)


def _own_by_use_case(selection: Selection, kind: AssetKind, actor: Actor | None) -> list[Target]:
    """The asking use case's resources marked ``kind``; a knowledge base's or an endpoint's
    own, for the service role that serves it (which has no use case)."""
    if actor is None:
        return []
    if kind in SERVED_KINDS and actor.use_case is None:
        wanted = [actor.serves] if actor.serves else []
    elif actor.use_case is None:
        return []
    else:
        wanted = USE_CASE_OWNS[kind](actor.use_case)
    return [target for name in wanted for target in selection.marked(kind, name)]


def _use_case_kind(kind: AssetKind) -> ResourceResolver:
    def resolve(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
        if name == OWN:
            return _own_by_use_case(selection, kind, actor)
        return selection.marked(kind, name)

    return resolve


for _kind in USE_CASE_OWNS:
    _doc = f"{DESCRIPTIONS[_kind]}: each, or the one named; `own` the asking use case's"
    if _kind is AssetKind.KNOWLEDGE_BASE:
        _doc += " (a knowledge base's service role: its own)"
    if _kind is AssetKind.ENDPOINT:
        _doc += " (a guarded endpoint's role: the one it serves)"
    ML_RESOURCES.add(_kind, (*MARKED, OWN), _use_case_kind(_kind), f"{_doc}.")


@resource(AssetKind.VECTOR_COLLECTION, *MARKED, OWN)
def _vector_collections(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A knowledge base's OpenSearch Serverless collection: each, or the one named; `own` the
    asking knowledge base's."""
    if name != OWN:
        return selection.marked(AssetKind.VECTOR_COLLECTION, name)
    serves = _serves(actor)
    return selection.marked(AssetKind.VECTOR_COLLECTION, serves) if serves else []


@resource(AssetKind.EVALUATION_FUNCTION, *MARKED, OWN)
def _evaluation_functions(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A fine-tuning pipeline's evaluation-recording function: each, or the one named; `own`
    the asking pipeline's."""
    if name != OWN:
        return selection.marked(AssetKind.EVALUATION_FUNCTION, name)
    serves = _serves(actor)
    return selection.marked(AssetKind.EVALUATION_FUNCTION, serves) if serves else []


# --- Studio and MLflow --------------------------------------------------------------------


@resource(AssetKind.STUDIO_USER, *MARKED, OWN, "colleagues")
def _studio_users(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A Studio user profile: each, or the one named; `own` the profile of the person
    asking, `colleagues` the others."""
    if name not in (OWN, "colleagues"):
        return selection.marked(AssetKind.STUDIO_USER, name)
    own = _serves(actor)
    return [
        selection.target(asset)
        for asset in selection.assets(AssetKind.STUDIO_USER, "*")
        if (asset.name == own) == (name == OWN)
    ]


@resource("space", OWN, "colleague")
def _spaces(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """A private Studio space of the asking session's user (`own`) or of another user."""
    own = _serves(actor)
    profiles = selection.assets(AssetKind.STUDIO_USER, "*")
    spaces = [(p, f"{p.name}-work") for p in profiles if (p.name == own) == (which == OWN)]
    return _studio_targets(selection, "space", spaces)


@resource("app", "own-space", "colleagues-space", "shared-space")
def _apps(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """A JupyterLab app in the asking session's user's private space, in another user's, or
    in each shared space the platform declares."""
    own = _serves(actor)
    profiles = selection.assets(AssetKind.STUDIO_USER, "*")
    if which == "shared-space":
        spaces = [
            (profile, space.name)
            for space in selection.assets(AssetKind.STUDIO_SPACE, "*")
            for profile in profiles[:1]
        ]
    else:
        mine = which == "own-space"
        spaces = [(p, f"{p.name}-work") for p in profiles if (p.name == own) == mine]
    return _studio_targets(selection, "app", spaces)


def _studio_targets(
    selection: Selection, kind: str, spaces: list[tuple[Asset, str]]
) -> list[Target]:
    """The ``kind`` (space or app) of each (profile, space name) of ``spaces``."""
    region, account = selection.placement.region, selection.placement.account
    suffix = "/JupyterLab/default" if kind == "app" else ""
    return [
        Target(
            f"{kind}/{space}",
            Symbol.of(
                f"arn:aws:sagemaker:{region}:{account}:{kind}/",
                selection.domain_id(profile),
                f"/{space}{suffix}",
            ),
            account,
        )
        for profile, space in spaces
    ]


@resource("studio-profile", "unlisted")
def _unlisted_profile(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """A user profile the platform did not list, in each Studio domain."""
    region, account = selection.placement.region, selection.placement.account
    return [
        Target(
            "studio-profile/unlisted",
            Symbol.of(
                f"arn:aws:sagemaker:{region}:{account}:user-profile/",
                selection.world.resolver.value(
                    domain.stack, {"Fn::GetAtt": [domain.logical_id, "DomainId"]}
                ),
                "/someone-the-platform-did-not-list",
            ),
            account,
        )
        for domain in selection.studio_domains()
    ]


@resource("experiments")
def _experiments(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """An object under the artifacts zone's `experiments/` prefix (what jobs write)."""
    return selection.objects("artifacts", f"{EXPERIMENTS_PREFIX}{PROBE_KEY}", "experiments")


@resource("mlflow-artifacts")
def _mlflow_artifacts(selection: Selection, argument: str, actor: Actor | None) -> list[Target]:
    """An object under the artifacts zone's `mlflow/` prefix (MLflow's artifact store)."""
    key = f"{MLFLOW_ARTIFACTS_PREFIX}{PROBE_KEY}"
    return selection.objects("artifacts", key, "mlflow-artifacts")


# --- fine-tuning, imports and releases ------------------------------------------------------


@resource("base-model", OWN, "*")
def _base_models(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of an open-weights model's staged weights (`models/<id>/base/`): `own` the
    one an import stages or a fine-tuning pipeline starts from, `*` each the LOB
    fine-tunes."""
    lob = selection.placement.lob
    serves = _serves(actor)
    models = sorted(
        {
            tuning.base_model
            for tuning in (lob.ml.fine_tuning if lob else [])
            if which == "*" or serves in (tuning.name, tuning.base_model)
        }
    )
    return [
        target
        for model in models
        for target in selection.objects(
            "artifacts", f"{base_model_prefix(model)}{PROBE_FILE}", f"base-model/{model}"
        )
    ]


@resource(AssetKind.MODEL_IMPORT_ROLE, *MARKED, OWN)
def _model_import_roles(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A base-weights import pipeline's role: each, or the one named; `own` the asking
    import's."""
    if name != OWN:
        return selection.marked(AssetKind.MODEL_IMPORT_ROLE, name)
    serves = _serves(actor)
    return [
        selection.target(asset)
        for asset in selection.assets(AssetKind.MODEL_IMPORT_ROLE, "*")
        if asset.name == serves
    ]


@resource("recipe-image", OWN)
def _recipe_images(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """The ECR repository of the recipe image the asking fine-tuning pipeline runs."""
    lob = selection.placement.lob
    serves = _serves(actor)
    images = [t.recipe_image for t in (lob.ml.fine_tuning if lob else []) if t.name == serves]
    return [
        Target(f"recipe-image/{serves}", text(repository.arn()), repository.account)
        for image in images
        if image
        for repository in [ImageRepository.of(image)]
    ]


def _pipeline_objects(selection: Selection, kind: str, pipeline: str | None) -> list[Target]:
    """An object of a pipeline's dataset (training zone), of its runs or of its merged
    models (artifacts zone): the named pipeline's, or every pipeline's."""
    lob = selection.placement.lob
    tunings = [t for t in lob.ml.fine_tuning if pipeline in (None, t.name)] if lob else []
    prefixes = {
        "pipeline-dataset": lambda name, source: ("training", source),
        "pipeline-runs": lambda name, source: ("artifacts", pipeline_runs_prefix(name)),
        "merged-models": lambda name, source: (
            "artifacts",
            f"{merged_models_prefix(name)}run-1/",
        ),
    }[kind]
    return [
        target
        for tuning in tunings
        for zone, prefix in [prefixes(tuning.name, tuning.source_prefix)]
        for target in selection.objects(zone, f"{prefix}{PROBE_FILE}", f"{kind}/{tuning.name}")
    ]


@resource("pipeline-dataset", OWN)
def _pipeline_dataset(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of the asking fine-tuning pipeline's training data."""
    return [] if actor is None else _pipeline_objects(selection, "pipeline-dataset", actor.serves)


@resource("pipeline-runs", OWN, "*")
def _pipeline_runs(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of a fine-tuning pipeline's runs: `own` the asking pipeline's, `*` every
    pipeline's."""
    if which == "*":
        return _pipeline_objects(selection, "pipeline-runs", None)
    return [] if actor is None else _pipeline_objects(selection, "pipeline-runs", actor.serves)


@resource("merged-models", "*")
def _merged_models(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of every fine-tuning pipeline's merged models."""
    return _pipeline_objects(selection, "merged-models", None)


@resource("model-releases", OWN, "*")
def _model_releases(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """An object of a release of each fine-tuned model this environment's endpoints serve;
    `own` the one the asking endpoint's role serves."""
    lob = selection.placement.lob
    environment = selection.placement.environment
    models = promoted_models(lob) if lob and environment and environment.operational else ()
    if which == OWN and actor is not None and lob is not None:
        served = {e.model for e in lob.ml.endpoints if e.name == actor.serves}
        models = tuple(model for model in models if model in served)
    return [
        target
        for model in models
        for target in selection.objects(
            "artifacts", f"{model_releases_prefix(model)}v1/model", f"model-releases/{model}"
        )
    ]


@resource("model-package", "*", "<pipeline>")
def _model_packages(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """Version 1 of each model package group's package, or of the named one's."""
    return [
        Target(
            f"model-package/{group.name}/1",
            Symbol.of(
                f"arn:aws:sagemaker:{group.stack.region}:{group.stack.account}:model-package/",
                selection.world.resolver.name(group.stack, group.logical_id),
                "/1",
            ),
            selection.placement.account,
        )
        for group in selection.assets(AssetKind.MODEL_PACKAGE_GROUP, name)
    ]
