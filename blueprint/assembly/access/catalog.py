"""The catalog of journeys and attacks (``catalog.yaml``), expanded for every LOB environment
of an organization and asked of the evaluator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from blueprint.assembly.access.chains import Hop, PrivilegeGraph
from blueprint.assembly.access.evaluate import Decision, Evaluator, Request
from blueprint.assembly.access.parallel import in_processes
from blueprint.assembly.access.selection import (
    Actor,
    Selection,
    Target,
    use_case_resources,
)
from blueprint.assembly.access.selectors import actors, check, context_values, targets
from blueprint.assembly.access.symbols import text
from blueprint.assembly.access.world import World
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer
from blueprint.model.inputs.agents import agents_inputs
from blueprint.model.personas import ML_ENGINEER
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.organization import OperatingModel
from genai_constructs.mlflow_kind import MlflowKind

CATALOG = Path(__file__).with_name("catalog.yaml")


class Step(BaseModel):
    """One request of an entry: who asks (a principal selector), what and on which resource."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: str
    action: str = Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9]+$")
    resource: str
    context: dict[str, str] = {}


class Entry(BaseModel):
    """One journey (expect allow), attack (expect deny) or workflow of the catalog: a
    workflow (``steps``) is a journey of several requests, each of which must be allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    expect: Literal["allow", "deny"]
    operating_models: list[OperatingModel] = Field(default=list(OperatingModel), min_length=1)
    needs_hub: bool = False
    tenancies_only: bool = False
    environments: list[EnvironmentName] = Field(min_length=1)
    principal: str | None = None
    action: str | None = Field(default=None, pattern=r"^[a-z0-9-]+:[A-Za-z0-9]+$")
    resource: str | None = None
    context: dict[str, str] = {}
    steps: list[Step] = []
    # What an LOB environment must have for the entry to be asked there: Studio users (a
    # profile to work in), an MLflow tracking server or App, its GenAI layer (not in an LOB account
    # whose GenAI runs in a tenancy), a use case with knowledge bases, an answer API or GPU
    # endpoints, a fine-tuning pipeline, bias probes (a pipeline of the LOB evaluates some),
    # an ETL (datasets, in the LOB's own account), a use case whose flagged answers a person
    # reviews, ML engineers to review an answer API's ratings, a use case with a token budget,
    # agents (with an API tool, with their image repositories), a hub agent its LOB invokes.
    needs: list[
        Literal[
            "studio-users",
            "mlflow-tracking-server",
            "mlflow-app",
            "token-budgets",
            "genai",
            "knowledge-bases",
            "answer-apis",
            "endpoints",
            "fine-tuning",
            "bias-probes",
            "etl",
            "human-review",
            "reviewers",
            "agents",
            "api-tools",
            "agent-images",
            "hub-agents",
        ]
    ] = []
    why: str = Field(min_length=10)

    @model_validator(mode="after")
    def _one_request_or_steps(self) -> Entry:
        single = (self.principal, self.action, self.resource)
        if self.steps:
            if any(part is not None for part in single) or self.context:
                raise ValueError("a workflow lists its requests under steps only")
            if self.expect != "allow":
                raise ValueError("a workflow is a journey: expect allow")
        elif any(part is None for part in single):
            raise ValueError("an entry names principal, action and resource, or steps")
        for step in self.requests:
            check(step.principal, step.resource)
        return self

    @property
    def is_workflow(self) -> bool:
        return bool(self.steps)

    @property
    def requests(self) -> tuple[Step, ...]:
        """What the entry asks: its steps, or its one request."""
        if self.steps:
            return tuple(self.steps)
        assert self.principal and self.action and self.resource
        return (
            Step(
                principal=self.principal,
                action=self.action,
                resource=self.resource,
                context=self.context,
            ),
        )


def load_catalog(path: Path = CATALOG) -> list[Entry]:
    entries = list(_entries(path.read_text()))
    ids = [entry.id for entry in entries]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"{path}: entries {duplicated} are listed twice")
    return entries


@cache
def _entries(written: str) -> tuple[Entry, ...]:
    """The entries ``written`` holds, read once per text (a run reads the catalog for its
    questions, its workflows' missing steps and the IAM reference check)."""
    return tuple(Entry.model_validate(raw) for raw in yaml.safe_load(written))


@dataclass(frozen=True)
class Query:
    """One request of an entry (its step ``number`` of ``step``, counted from 1) asked in one
    LOB environment, of one principal and one resource."""

    entry: Entry
    placement: str
    actor: Actor
    target: Target
    request: Request
    step: Step
    number: int = 1

    @property
    def action(self) -> str:
        return self.step.action


@dataclass(frozen=True)
class Outcome:
    """A query decided: a journey by its own request, an attack through every chain of
    roles its actor can follow (``chain``, empty when the actor itself decides)."""

    query: Query
    decision: Decision
    chain: tuple[Hop, ...] = ()

    @property
    def matches(self) -> bool:
        return self.decision.decision == self.query.entry.expect


def run_catalog(
    world: World,
    plan: Plan,
    entries: list[Entry] | None = None,
    graph: PrivilegeGraph | None = None,
    queries: list[Query] | None = None,
    workers: int = 1,
) -> list[Outcome]:
    """Every entry in every LOB environment it names (``queries``, default all of them),
    decided: journeys directly, attacks through the privilege graph (``graph``, default a new
    one of ``world``), by ``workers`` processes; a workflow step that selects nothing in an
    environment fails there (a workflow holds only if each of its steps is asked and
    allowed)."""
    graph = graph or privilege_graph(world, plan)
    queries = catalog_queries(world, plan, entries) if queries is None else queries
    answers = in_processes(
        queries, lambda query: _answer(graph, query), workers, lambda query: query.placement
    )
    outcomes = [Outcome(query, *answer) for query, answer in zip(queries, answers, strict=True)]
    return outcomes + [
        Outcome(
            query,
            Decision(
                "deny",
                (
                    f"step {query.number} selects no principal or resource "
                    "here: the workflow cannot be done",
                ),
            ),
        )
        for query in missing_steps(world, plan, queries, entries)
    ]


def missing_steps(
    world: World, plan: Plan, queries: list[Query], entries: list[Entry] | None = None
) -> list[Query]:
    """A placeholder query for each workflow step that selects nothing in an LOB environment
    where the workflow is asked."""
    asked = {(q.entry.id, q.placement, q.number) for q in queries}
    return [
        nothing(Selection(world, plan, placement), entry, number, step)
        for entry in entries or load_catalog()
        if entry.is_workflow and applies(entry, plan)
        for placement in asked_in(entry, plan)
        for number, step in enumerate(entry.requests, start=1)
        if (entry.id, placement.key, number) not in asked
    ]


def asked_in(entry: Entry, plan: Plan, needs: Needs | None = None) -> list[Placement]:
    """The LOB environments ``entry`` is asked in (``needs``: what each has, as found so
    far; every entry asks the same few)."""
    needs = {} if needs is None else needs

    def holds(placement: Placement, need: str) -> bool:
        key = (placement.key, need)
        if key not in needs:
            needs[key] = has(plan, placement, need)
        return needs[key]

    return [
        placement
        for placement in plan.lob_environments()
        if placement.environment in entry.environments
        and (placement.is_tenancy or not entry.tenancies_only)
        and all(holds(placement, need) for need in entry.needs)
    ]


Needs = dict[tuple[str, str], bool]


MLFLOW_NEEDS = {
    "mlflow-tracking-server": MlflowKind.TRACKING_SERVER,
    "mlflow-app": MlflowKind.SERVERLESS,
}


def has(plan: Plan, placement: Placement, need: str) -> bool:
    """Whether ``placement`` has what an entry ``needs``: Studio users or MLflow (where it
    hosts Studio); its GenAI layer; a use case with knowledge bases, an answer API or GPU
    endpoints here."""
    lob = placement.lob
    if lob is None:
        return False
    if need == "genai":
        return placement.hosts(Layer.GENAI)
    if need == "fine-tuning":
        return bool(plan.fine_tuning(placement))
    if need == "bias-probes":
        return any(tuning.bias for tuning in lob.ml.fine_tuning)
    if need == "human-review":
        reviewed = [u for u in lob.genai.use_cases if u.record and u.record.human_review]
        return ML_ENGINEER in placement.personas and any(
            use_case_resources(plan, placement, use)["answer-apis"] for use in reviewed
        )
    if need == "reviewers":
        return ML_ENGINEER in placement.personas and any(
            use_case_resources(plan, placement, use)["answer-apis"] for use in lob.genai.use_cases
        )
    if need in ("agents", "api-tools", "agent-images"):
        agents = agents_inputs(plan, placement)
        if agents is None:
            return False
        if need == "api-tools":
            return any(t.openapi for t in agents.tools)
        return need == "agents" or bool(agents.repositories)
    if need == "hub-agents":
        hub = plan.config.platform.hub
        return hub is not None and any(c.lob == lob.name and c.agents for c in hub.consumers)
    if need == "token-budgets":
        return placement.hosts(Layer.GENAI) and any(u.token_budget for u in lob.genai.use_cases)
    if need == "etl":
        return bool(lob.data.datasets) and not placement.is_tenancy
    if need == "studio-users":
        return plan.hosts_studio(placement) and bool(lob.ml.studio.users)
    if need in MLFLOW_NEEDS:
        return plan.hosts_studio(placement) and lob.ml.studio.mlflow is MLFLOW_NEEDS[need]
    return any(use_case_resources(plan, placement, use)[need] for use in lob.genai.use_cases)


def privilege_graph(world: World, plan: Plan) -> PrivilegeGraph:
    organization = plan.config.organization
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    return PrivilegeGraph(world, evaluator)


def catalog_queries(world: World, plan: Plan, entries: list[Entry] | None = None) -> list[Query]:
    """Every entry asked in every LOB environment it names."""
    needs: Needs = {}
    return [
        query
        for entry in entries or load_catalog()
        if applies(entry, plan)
        for placement in asked_in(entry, plan, needs)
        for query in entry_queries(Selection(world, plan, placement), entry)
    ]


def _answer(graph: PrivilegeGraph, query: Query) -> tuple[Decision, tuple[Hop, ...]]:
    outcome = decide(graph, query)
    return outcome.decision, outcome.chain


def decide(graph: PrivilegeGraph, query: Query) -> Outcome:
    if query.target.missing is not None:
        return Outcome(query, Decision("deny", (query.target.missing,)))
    if query.entry.expect == "allow" and not query.actor.signs_in:
        return Outcome(query, graph.evaluator.evaluate(query.request))
    reach = graph.reach(query.request)
    return Outcome(query, reach.decision, reach.chain)


def applies(entry: Entry, plan: Plan) -> bool:
    """Whether ``entry`` is asked of ``plan``: its operating model, and a hub if it needs one."""
    return plan.operating_model in entry.operating_models and (
        plan.hub is not None or not entry.needs_hub
    )


def entry_queries(selection: Selection, entry: Entry) -> Iterator[Query]:
    """Each request of ``entry`` for each principal and resource it selects in ``selection``."""
    placement = selection.placement.key
    for number, step in enumerate(entry.requests, start=1):
        for actor in actors(selection, step.principal):
            for target in targets(selection, step.resource, actor):
                context = {**context_values(selection, step.context, actor), **actor.context}
                request = Request(actor.principal, step.action, target.arn, target.account, context)
                yield Query(entry, placement, actor, target, request, step, number)


def nothing(selection: Selection, entry: Entry, number: int, step: Step) -> Query:
    """A query of step ``number`` that found no principal or resource here."""
    actor = Actor(f"{step.principal} (none here)", selection.nobody())
    target = Target(f"{step.resource} (none here)", text(""), None)
    request = Request(actor.principal, step.action, target.arn, None)
    return Query(entry, selection.placement.key, actor, target, request, step, number)
