"""The organization stack's inputs: the model catalog of each data classification."""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.model.plan import Plan
from blueprint.model.sections.values import DataClassification


@dataclass(frozen=True)
class ModelCatalogScope:
    """The Bedrock models a group of accounts may invoke: those approved for its data.

    :param name: the group, the data classification of its accounts.
    """

    name: str
    model_ids: tuple[str, ...]
    accounts: tuple[str, ...]


def model_catalogs(plan: Plan) -> tuple[ModelCatalogScope, ...]:
    """One scope per data classification in use: its accounts and the catalog models (text and
    embedding) approved for it. Platform accounts hold restricted data; a central account
    hosting several LOBs' tenancies gets the scope of its least sensitive one (each tenancy's
    own policies narrow it to its LOB's classification)."""
    classification_of: dict[str, DataClassification] = {}
    for placement in plan.placements:
        known = classification_of.get(placement.account)
        if known is None or placement.classification.rank < known.rank:
            classification_of[placement.account] = placement.classification
    scopes = []
    for classification in DataClassification:
        accounts = tuple(a for a, c in classification_of.items() if c is classification)
        if accounts:
            models = tuple(
                m.id
                for m in plan.config.catalog.bedrock
                if m.max_classification.rank >= classification.rank
            )
            scopes.append(ModelCatalogScope(classification.value, models, accounts))
    return tuple(scopes)
