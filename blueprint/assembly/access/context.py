"""The catalog's context values (``context:``): a condition key's value, resolved in the
environment; any value of no kind here is that literal text. One function per kind, its
docstring the grammar's entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from blueprint.assembly.access.registry import Registry
from blueprint.assembly.access.selection import Actor, Selection
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.model import names
from blueprint.model.assets import AssetKind
from genai_constructs.naming import (
    merged_models_prefix,
    observed_metric_namespace,
    review_decisions_prefix,
)

ContextResolver = Callable[[Selection, str, Actor | None], tuple[Symbol, ...]]
CONTEXT: Registry[ContextResolver] = Registry("context value")
value = CONTEXT.kind


def context_values(
    selection: Selection, context: Mapping[str, str], actor: Actor | None = None
) -> dict[str, tuple[Symbol, ...]]:
    """Each condition key of ``context`` with its values: a context selector's, resolved in
    ``selection`` for ``actor``, or the literal text."""
    values: dict[str, tuple[Symbol, ...]] = {}
    for key, written in context.items():
        if CONTEXT.problem(written) is None:
            resolve, argument = CONTEXT.find(written)
            values[key] = resolve(selection, argument, actor)
        else:
            values[key] = (text(written),)
    return values


@value("guardrail")
def _guardrail(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The environment's guardrail and its version in force (what callers pass as
    bedrock:GuardrailIdentifier)."""
    return tuple(selection.guardrail_identifiers())


@value("merged-models")
def _merged_models(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The prefix of a run's merged model (the environment's first fine-tuning pipeline)."""
    lob = selection.placement.lob
    tunings = lob.ml.fine_tuning if lob else []
    return tuple(text(f"{merged_models_prefix(t.name)}run-1/") for t in tunings[:1])


def _profiles(selection: Selection, actor: Actor | None, own: bool) -> tuple[Symbol, ...]:
    serves = actor.serves if actor is not None else None
    return tuple(
        selection.arn(asset)
        for asset in selection.assets(AssetKind.STUDIO_USER, "*")
        if (asset.name == serves) == own
    )


@value("own-decisions")
def _own_decisions(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The prefix of the decisions the asking review desk keeps (its use case's)."""
    serves = actor.serves if actor is not None else None
    return (text(review_decisions_prefix(serves)),) if serves else ()


@value("own-profile")
def _own_profile(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The Studio user profile ARN of the asking session's user."""
    return _profiles(selection, actor, own=True)


@value("colleague-profile")
def _colleagues(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The Studio user profile ARNs of the other users."""
    return _profiles(selection, actor, own=False)


@value("own-metrics")
def _own_metrics(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The environment's CloudWatch metric namespace."""
    return (text(names.metric_namespace(selection.placement.key)),)


@value("observed-metrics")
def _observed_metrics(
    selection: Selection, argument: str, actor: Actor | None
) -> tuple[Symbol, ...]:
    """The namespace of what the environment's functions observe (its answers), published
    only through their logs."""
    return (text(observed_metric_namespace(names.metric_namespace(selection.placement.key))),)


@value("own-lob")
def _own_lob(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The environment's LOB name."""
    lob = selection.placement.lob
    return (text(lob.name),) if lob else ()


@value("s3-service")
def _s3_service(selection: Selection, argument: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """S3 in the environment's region (as kms:ViaService names it)."""
    return (text(f"s3.{selection.placement.region}.amazonaws.com"),)


@value("secretsmanager-service")
def _secrets_service(
    selection: Selection, argument: str, actor: Actor | None
) -> tuple[Symbol, ...]:
    """Secrets Manager in the environment's region (as kms:ViaService names it)."""
    return (text(f"secretsmanager.{selection.placement.region}.amazonaws.com"),)


@value(AssetKind.KEY, "<name>")
def _key(selection: Selection, name: str, actor: Actor | None) -> tuple[Symbol, ...]:
    """The ARN of the account's KMS key of that name (`data`, `logs`)."""
    return tuple(selection.arn(asset) for asset in selection.assets(AssetKind.KEY, name))
