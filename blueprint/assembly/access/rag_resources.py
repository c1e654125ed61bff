"""The catalog's resource selectors of RAG: knowledge base documents and each use case's RAG
objects (its question set, reports, ratings, review items, reviewers' decisions and their
exports) and review desk. A part of ``resources.RESOURCES``; one function per kind, its
docstring the grammar's entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from blueprint.assembly.access.ml_resources import MARKED, ResourceResolver
from blueprint.assembly.access.registry import OWN, Registry
from blueprint.assembly.access.selection import Actor, Selection, Target
from blueprint.model.assets import AssetKind
from blueprint.model.sections.genai import UseCase
from genai_constructs.naming import (
    evaluation_candidates_prefix,
    feedback_prefix,
    rag_reports_prefix,
    review_decisions_prefix,
    review_prefix,
)

RAG_RESOURCES: Registry[ResourceResolver] = Registry("resource")
resource = RAG_RESOURCES.kind


@resource("kb-documents", "*", OWN, "promoted")
def _kb_documents(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
    """A document under each knowledge base's source prefix of the curated zone: `own` the
    asking knowledge base's, `promoted` each the LOB promotes to the hub."""
    own = actor.serves if actor is not None and which == OWN else None
    lob = selection.placement.lob
    if which == "promoted":
        knowledge_bases = selection.plan.promoted_knowledge_bases(lob) if lob else []
    else:
        knowledge_bases = selection.plan.knowledge_bases(selection.placement)
    return [
        target
        for kb in knowledge_bases
        if own in (None, kb.name)
        for target in selection.objects(
            "curated", f"{kb.source_prefix}document.pdf", f"kb-documents/{kb.name}"
        )
    ]


@dataclass(frozen=True)
class RagObject:
    """A kind of a use case's RAG objects: what it is (the grammar's entry), its zone, an
    object's key, which use cases have it."""

    doc: str
    zone: str
    key: Callable[[UseCase], str]
    has: Callable[[UseCase], bool] = lambda use: True


def _reviewed(use: UseCase) -> bool:
    """Whether a person reviews the use case's flagged answers (at its answer API)."""
    return use.rag.answer_api and bool(use.record and use.record.human_review)


def _answers(use: UseCase) -> bool:
    return use.rag.answer_api


RAG_OBJECTS: dict[str, RagObject] = {
    "evaluation-questions": RagObject(
        "The question set of each use case's RAG evaluation; `own` the asking evaluation's.",
        "curated",
        lambda use: use.evaluation_questions_key,
    ),
    "rag-reports": RagObject(
        "An object of each use case's RAG evaluation reports; `own` the asking evaluation's.",
        "artifacts",
        lambda use: f"{rag_reports_prefix(use.name)}report.json",
    ),
    "answer-feedback": RagObject(
        "An object of the ratings of each use case's answers; `own` the asking answer API's, "
        "reviewer's or review desk's.",
        "artifacts",
        lambda use: f"{feedback_prefix(use.name)}2026/12/06/catalog-probe.json",
        _answers,
    ),
    "review-items": RagObject(
        "An answer waiting for review of each use case whose record asks for human review; "
        "`own` the asking answer API's, reviewer's or review desk's.",
        "artifacts",
        lambda use: f"{review_prefix(use.name)}2026/12/06/catalog-probe-flagged.json",
        _reviewed,
    ),
    "review-decisions": RagObject(
        "A reviewer's decision kept by the review desk of each use case with an answer API; "
        "`own` the asking review desk's or reviewer's.",
        "artifacts",
        lambda use: f"{review_decisions_prefix(use.name)}feedback/2026/12/06/catalog-probe.json",
        _answers,
    ),
    "evaluation-candidates": RagObject(
        "An export of reviewed answers as evaluation questions, of each use case with an answer "
        "API; `own` the asking review desk's or reviewer's.",
        "artifacts",
        lambda use: f"{evaluation_candidates_prefix(use.name)}20261206T100000Z.jsonl",
        _answers,
    ),
}


def _rag_objects(kind: str) -> ResourceResolver:
    """An object of ``kind`` of each use case that has one (``own``: the asking role's use
    case's)."""
    found = RAG_OBJECTS[kind]

    def resolve(selection: Selection, which: str, actor: Actor | None) -> list[Target]:
        lob = selection.placement.lob
        asking = actor if which == OWN else None
        return [
            target
            for use in (lob.genai.use_cases if lob else [])
            if use.knowledge_bases
            and found.has(use)
            and (asking is None or asking.serves == use.name)
            for target in selection.objects(found.zone, found.key(use), f"{kind}/{use.name}")
        ]

    return resolve


for _kind, _object in RAG_OBJECTS.items():
    RAG_RESOURCES.add(_kind, ("*", OWN), _rag_objects(_kind), _object.doc)


@resource(AssetKind.REVIEW_DESK, *MARKED, OWN)
def _review_desks(selection: Selection, name: str, actor: Actor | None) -> list[Target]:
    """A use case's review desk function: each, or the one named; `own` the asking reviewer's
    (the desk of the use case it reviews)."""
    if name != OWN:
        return selection.marked(AssetKind.REVIEW_DESK, name)
    serves = actor.serves if actor is not None else None
    return selection.marked(AssetKind.REVIEW_DESK, serves) if serves else []
