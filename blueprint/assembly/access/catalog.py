"""The catalog of journeys and attacks (``catalog.yaml``), expanded for every LOB environment
of an organization and asked of the evaluator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from blueprint.assembly.access.chains import Hop, PrivilegeGraph, stack_arn
from blueprint.assembly.access.evaluate import Decision, Evaluator, Request
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.access.world import Asset, World, resource_arn
from blueprint.assembly.reader import AssemblyStack
from blueprint.model import names
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer
from blueprint.model.personas import DATA_SCIENTIST as DATA_SCIENTIST_PERSONA
from blueprint.model.personas import persona_named, persona_names
from blueprint.model.plan import Placement, Plan, promoted_models
from blueprint.model.rollout import approval_actions, plan_rollout
from blueprint.model.sections.catalog import ModelKind
from blueprint.model.sections.genai import UseCase
from blueprint.model.sections.organization import OperatingModel
from genai_constructs.naming import (
    EXPERIMENTS_PREFIX,
    MLFLOW_ARTIFACTS_PREFIX,
    USER_TAG,
    ImageRepository,
    base_model_prefix,
    dataset_prefix,
    merged_models_prefix,
    model_releases_prefix,
    parameter_path,
    permission_set_name,
    pipeline_runs_prefix,
    rag_reports_prefix,
    staged_prefix,
)

CATALOG = Path(__file__).with_name("catalog.yaml")
# Resources of the GenAI layer that the catalog names without finding them in the templates:
# none in an LOB account whose GenAI runs in a central tenancy.
GENAI_KINDS = frozenset({"model", "published-id"})
# What Bedrock keeps once per account and region: a tenancy's are its central account's (the
# central placement's), which the tenancy's roles must not read or change either.
ACCOUNT_LOGGING_KINDS = frozenset({"invocation-logs", "logging-role", "logging-function"})
OUTSIDE_CATALOG_MODEL = "vendor.unlisted-model-v1:0"
PROBE_FILE = "object.txt"
PROBE_KEY = f"catalog-probe/{PROBE_FILE}"
# Who a person/<persona> actor is signed in as where the LOB lists no Studio user.
PERSON = "catalog-person"
DATA_SCIENTIST = DATA_SCIENTIST_PERSONA.name


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
    # profile to work in), an MLflow tracking server, its GenAI layer (not in an LOB account
    # whose GenAI runs in a tenancy), a use case with knowledge bases, an answer API or
    # GPU endpoints, a fine-tuning pipeline, an ETL (datasets, in the LOB's own account).
    needs: list[
        Literal[
            "studio-users",
            "mlflow",
            "genai",
            "knowledge-bases",
            "answer-apis",
            "endpoints",
            "fine-tuning",
            "etl",
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
    entries = [Entry.model_validate(raw) for raw in yaml.safe_load(path.read_text())]
    ids = [entry.id for entry in entries]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ValueError(f"{path}: entries {duplicated} are listed twice")
    return entries


@dataclass(frozen=True)
class Actor:
    """Who asks: a role (or service) and what it owns: an application role's use case; the
    knowledge base or pipeline a service role serves."""

    label: str
    principal: Principal
    use_case: UseCase | None = None
    serves: str | None = None
    # A person at their sign-in role: their journeys too are decided through every chain.
    signs_in: bool = False
    # Condition keys every request of the actor carries (a Studio session's user profile).
    context: Mapping[str, tuple[Symbol, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What is asked for: its label, its ARN and the account that owns it (if any)."""

    label: str
    arn: Symbol
    account: str | None
    # Why the resource is not in the assembly (a parameter nothing publishes): a request
    # for it fails whatever the policies allow.
    missing: str | None = None


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
) -> list[Outcome]:
    """Every entry in every LOB environment it names, decided: journeys directly, attacks
    through the privilege graph (``graph``, default a new one of ``world``); a workflow step
    that selects nothing in an environment fails there (a workflow holds only if each of
    its steps is asked and allowed)."""
    graph = graph or privilege_graph(world, plan)
    queries = catalog_queries(world, plan, entries)
    outcomes = [decide(graph, query) for query in queries]
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
        Selection(world, plan, placement).nothing(entry, number, step)
        for entry in entries or load_catalog()
        if entry.is_workflow and applies(entry, plan)
        for placement in asked_in(entry, plan)
        for number, step in enumerate(entry.requests, start=1)
        if (entry.id, placement.key, number) not in asked
    ]


def asked_in(entry: Entry, plan: Plan) -> list[Placement]:
    """The LOB environments ``entry`` is asked in."""
    return [
        placement
        for placement in plan.lob_environments()
        if placement.environment in entry.environments
        and (placement.is_tenancy or not entry.tenancies_only)
        and all(has(plan, placement, need) for need in entry.needs)
    ]


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
    if need == "etl":
        return bool(lob.data.datasets) and not placement.is_tenancy
    if need in ("studio-users", "mlflow"):
        studio = lob.ml.studio
        hosted = plan.hosts_studio(placement)
        return hosted and (bool(studio.users) if need == "studio-users" else studio.mlflow)
    return any(use_case_resources(plan, placement, use)[need] for use in lob.genai.use_cases)


def use_case_resources(plan: Plan, placement: Placement, use: UseCase) -> dict[str, list[str]]:
    """What of ``use`` is in ``placement``, by the kind the published IDs name it by: its
    inference profile, knowledge bases, answer API and GPU endpoints."""
    here = {kb.name for kb in plan.knowledge_bases(placement)}
    knowledge_bases = [kb for kb in use.knowledge_bases if kb in here]
    endpoints = {endpoint.name for endpoint in plan.gpu_endpoints(placement)}
    return {
        "inference-profiles": [use.name],
        "knowledge-bases": knowledge_bases,
        "answer-apis": [use.name] if use.rag.answer_api and knowledge_bases else [],
        "endpoints": [e for e in use.endpoints if e in endpoints],
    }


def privilege_graph(world: World, plan: Plan) -> PrivilegeGraph:
    organization = plan.config.organization
    evaluator = Evaluator(world, organization_id=organization.id, root_id=organization.root_id)
    return PrivilegeGraph(world, evaluator)


def catalog_queries(world: World, plan: Plan, entries: list[Entry] | None = None) -> list[Query]:
    """Every entry asked in every LOB environment it names."""
    return [
        query
        for entry in entries or load_catalog()
        if applies(entry, plan)
        for placement in asked_in(entry, plan)
        for query in Selection(world, plan, placement).queries(entry)
    ]


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


class Selection:
    """The principals, resources and context an entry names, in one LOB environment."""

    def __init__(self, world: World, plan: Plan, placement: Placement) -> None:
        self.world, self.plan, self.placement = world, plan, placement

    def queries(self, entry: Entry) -> Iterator[Query]:
        for number, step in enumerate(entry.requests, start=1):
            for actor in self.actors(step.principal):
                for target in self.targets(step.resource, actor):
                    context = {**self.context(step, actor), **actor.context}
                    request = Request(
                        actor.principal, step.action, target.arn, target.account, context
                    )
                    yield Query(entry, self.placement.key, actor, target, request, step, number)

    def nothing(self, entry: Entry, number: int, step: Step) -> Query:
        """A query of step ``number`` that found no principal or resource here."""
        actor = Actor(f"{step.principal} (none here)", Principal(self.placement.account, text("")))
        target = Target(f"{step.resource} (none here)", text(""), None)
        request = Request(actor.principal, step.action, target.arn, None)
        return Query(entry, self.placement.key, actor, target, request, step, number)

    # --- principals --------------------------------------------------------------------

    def actors(self, selector: str) -> list[Actor]:
        if selector.startswith("other-lob/"):
            other = self._other_lob()
            return other.actors(selector.removeprefix("other-lob/")) if other else []
        if selector.startswith("lob-prod/"):
            prod = self._lob_prod()
            return prod.actors(selector.removeprefix("lob-prod/")) if prod else []
        if selector.startswith("home/"):
            home = self._home()
            return home.actors(selector.removeprefix("home/")) if home else []
        if selector.startswith("hub/"):
            hub = self._hub()
            return hub.actors(selector.removeprefix("hub/")) if hub else []
        platform = self._platform(selector)
        if platform is not None:
            return platform.actors(selector.partition("/")[2])
        if selector == "hub-consumer":
            hub, lob = self._hub(), self.placement.lob
            return [a for a in hub.actors("app/*") if lob and a.serves == lob.name] if hub else []
        prefix = self.placement.prefix
        if selector.startswith("group/"):
            return [self._person(actor) for actor in self._sign_in_doors(selector[6:])]
        if selector.startswith("person/"):
            return [self._person(actor) for actor in self.actors(f"persona/{selector[7:]}")]
        if selector == "studio/own":
            return self._studio_sessions()
        if selector == "experiment-job":
            return [
                replace(actor, label=f"{actor.label} as a SageMaker job")
                for actor in self.actors(f"persona/{DATA_SCIENTIST}")
            ]
        if selector.startswith("persona/"):
            return self._named(self.placement, names.role_name(prefix, selector[8:]))
        if selector == "governance/auditor":
            governance = self.plan.governance
            return self._named(governance, names.role_name(governance.prefix, "auditor"))
        if selector == "invocation-logging" and self.placement.is_tenancy:
            central = self._central()
            return central.actors(selector) if central else []
        if selector == "rag-release-gate":
            return self._named(self.placement, names.rag_gate_role_name(prefix))
        use_case_kind = {
            "app/*": "app-role",
            "answer-api/*": "answer-api-role",
            "rag-evaluation/*": "rag-evaluation-role",
        }.get(selector)
        if use_case_kind is not None:
            use_cases = (
                {u.name: u for u in self.placement.lob.genai.use_cases}
                if self.placement.lob
                else {}
            )
            return [
                Actor(self._label(role), role.principal(), use_cases.get(asset.name), asset.name)
                for asset in self.world.assets_of(self.placement.key, use_case_kind)
                for role in [self._role(asset)]
            ]
        kind = {
            "ingestion": "ingestion-role",
            "pipeline/*": "pipeline-role",
            "invocation-logging": "logging-role",
            "knowledge-base/*": "knowledge-base-role",
            "model-release": "model-release-role",
            "endpoint-role/*": "endpoint-role",
            "ingestion-starter/*": "ingestion-starter-role",
            "model-import/*": "model-import-role",
            "recipe-build-starter/*": "recipe-build-starter",
            "recipe-builder/*": "recipe-builder",
        }.get(selector)
        if kind is None:
            raise ValueError(f"unknown principal selector '{selector}'")
        return [
            Actor(self._label(role), role.principal(), serves=asset.name)
            for asset in self.world.assets_of(self.placement.key, kind)
            for role in [self._role(asset)]
        ]

    def _sign_in_doors(self, persona: str) -> list[Actor]:
        """The sign-in roles of ``persona``'s permission set in this account (for the LOB's
        own people in a tenancy, in the LOB environment's account, where they sign in):
        whoever a group assigned to it there is when they sign in."""
        if persona not in persona_names():
            raise ValueError(f"unknown persona in the principal selector 'group/{persona}'")
        lob_people = persona_named(persona).works_for_lob
        home = self._home() if self.placement.is_tenancy and lob_people else None
        if home is not None:
            return home._sign_in_doors(persona)
        permission_set = permission_set_name(persona)
        identity = self.plan.config.organization.identity
        groups = {i: name for name, i in identity.groups.items()} if identity else {}
        return [
            Actor(
                f"group {groups.get(door.group_id, door.group_id)} at {self._label(door.role)}",
                door.role.principal(),
                signs_in=True,
            )
            for door in self.world.sign_in_doors
            if door.permission_set == permission_set and door.role.account == self.placement.account
        ]

    def _person(self, actor: Actor) -> Actor:
        """``actor`` (a persona role) as one person signed in: the session carries the
        person's user name (the LOB's first Studio user, whose profile it ``serves``)."""
        lob = self.placement.lob
        users = lob.ml.studio.users if lob else []
        profile, user_name = (users[0].name, users[0].user_name) if users else (None, PERSON)
        principal = replace(
            actor.principal,
            tags=tuple(sorted((dict(actor.principal.tags) | {USER_TAG: text(user_name)}).items())),
            session_known=True,
        )
        return Actor(
            f"{actor.label} as {user_name}", principal, serves=profile, signs_in=actor.signs_in
        )

    def _studio_sessions(self) -> list[Actor]:
        """The Studio execution role (the data scientist's) as Studio uses it for the LOB's
        first user: the session carries that user's profile and domain, which Studio sets."""
        users = self.placement.lob.ml.studio.users if self.placement.lob else []
        profiles = {asset.name: asset for asset in self._assets("studio-user", "*")}
        profile = profiles.get(users[0].name) if users else None
        if profile is None:
            return []
        return [
            replace(
                actor,
                label=f"{actor.label} in Studio for {profile.name}",
                serves=profile.name,
                context={
                    "sagemaker:DomainId": (self._domain_id(profile),),
                    "sagemaker:UserProfileName": (text(profile.name),),
                },
            )
            for actor in self.actors(f"persona/{DATA_SCIENTIST}")
        ]

    def _domain_id(self, profile: Asset) -> Symbol:
        domain = profile.stack.resources[profile.logical_id]["Properties"]["DomainId"]
        return self.world.resolver.value(profile.stack, domain)

    def _named(self, placement: Placement, name: str) -> list[Actor]:
        role = self.world.role(placement.account, name)
        return [Actor(self._label(role), role.principal())] if role else []

    def _role(self, asset: Asset) -> Role:
        role = self.world.role_by_arn(self.world.resolver.arn(asset.stack, asset.logical_id))
        if role is None:
            raise ValueError(f"{asset.stack.name}/{asset.logical_id} is not a role")
        return role

    @staticmethod
    def _label(role: Role) -> str:
        """How the command line names the role: ACCOUNT:ROLE_NAME, or STACK/LOGICAL_ID when
        CloudFormation names it."""
        return f"{role.account}:{role.name.text}" if role.name.text else role.where

    def _other_lob(self) -> Selection | None:
        """Another LOB's environment of the same kind, hosted alike: in a central account,
        another tenancy of the same account and region where there is one."""
        here = (self.placement.account, self.placement.region)
        others = sorted(
            (
                p
                for p in self.plan.lob_environments()
                if p.environment is self.placement.environment
                and p.lob != self.placement.lob
                and p.is_tenancy == self.placement.is_tenancy
            ),
            key=lambda p: (p.account, p.region) != here,
        )
        return Selection(self.world, self.plan, others[0]) if others else None

    def _central(self) -> Selection | None:
        central = self.plan.central_of(self.placement)
        return Selection(self.world, self.plan, central) if central else None

    def _hub(self) -> Selection | None:
        hub = self.plan.hub
        return Selection(self.world, self.plan, hub) if hub else None

    def _home(self) -> Selection | None:
        """In a tenancy, the LOB environment's own account (where its people and
        applications come from)."""
        home = self.placement.tenancy_of
        return Selection(self.world, self.plan, self.plan.placement(home)) if home else None

    def _lob_prod(self) -> Selection | None:
        """The same LOB's prod environment, when this is another of its environments."""
        prod = next(
            (
                p
                for p in self.plan.lob_environments()
                if p.environment is EnvironmentName.PROD
                and p.lob == self.placement.lob
                and p.is_tenancy == self.placement.is_tenancy
                and p != self.placement
            ),
            None,
        )
        return Selection(self.world, self.plan, prod) if prod else None

    # --- resources ---------------------------------------------------------------------

    def targets(self, selector: str, actor: Actor | None = None) -> list[Target]:
        """The resources ``selector`` names; ``*/own`` ones are ``actor``'s."""
        if selector.startswith("other-lob/"):
            other = self._other_lob()
            return other.targets(selector.removeprefix("other-lob/"), actor) if other else []
        if selector.startswith("hub/"):
            hub = self._hub()
            return hub.targets(selector.removeprefix("hub/"), actor) if hub else []
        if selector.startswith("central/"):
            central = self._central()
            return central.targets(selector.removeprefix("central/"), actor) if central else []
        platform = self._platform(selector)
        if platform is not None:
            return platform.targets(selector.partition("/")[2], actor)
        account_logging = selector.partition("/")[0] in ACCOUNT_LOGGING_KINDS or selector in (
            "zone/invocation-logs",
            "object/invocation-logs",
        )
        if account_logging and self.placement.is_tenancy:
            central = self._central()
            return central.targets(selector, actor) if central else []
        if selector == "hub-consumer-role":
            hub, lob = self._hub(), self.placement.lob
            return hub.targets(f"app-role/{lob.name}") if hub and lob else []
        kind, _, name = selector.partition("/")
        account = self.placement.account
        if kind in ("zone", "object"):
            suffix = f"/{PROBE_KEY}" if kind == "object" else ""
            return [
                Target(selector, Symbol.of(self._arn(asset), suffix), account)
                for asset in self._assets("zone", name)
            ]
        if kind == "kb-documents":
            own = actor.serves if actor is not None and name == "own" else None
            lob = self.placement.lob
            if name == "promoted":
                knowledge_bases = self.plan.promoted_knowledge_bases(lob) if lob else []
            else:
                knowledge_bases = self.plan.knowledge_bases(self.placement)
            return [
                Target(
                    f"kb-documents/{kb.name}",
                    Symbol.of(self._arn(zone), f"/{kb.source_prefix}document.pdf"),
                    account,
                )
                for zone in self._assets("zone", "curated")
                for kb in knowledge_bases
                if own in (None, kb.name)
            ]
        if kind in ("evaluation-questions", "rag-reports"):
            return self._rag_objects(kind, actor if name == "own" else None)
        if kind in GENAI_KINDS and not self.placement.hosts(Layer.GENAI):
            return []
        if kind == "published-id":
            return self._published(name or "guardrail/id", actor)
        if kind == "model":
            return self._models(name, actor)
        if kind == "role":
            if name == "ingestion":
                return [
                    Target(selector, self._arn(a), account)
                    for a in self._assets("ingestion-role", "*")
                ]
            arn = names.role_arn(account, names.role_name(self.placement.prefix, name))
            return [Target(selector, text(arn), account)]
        if kind == "any":
            return [Target("*", text("*"), None)]
        if kind == "stack":
            return [
                Target(f"stack/{stack.name}", text(stack_arn(stack)), stack.account)
                for stack in self._stacks()
            ]
        if kind == "function":
            return [
                Target(
                    f"function/{stack.name}/{logical_id}",
                    self._resource(stack, logical_id),
                    account,
                )
                for stack in self._stacks()
                for logical_id, resource in stack.resources.items()
                if resource.get("Type") == "AWS::Lambda::Function"
            ]
        if kind == "studio-user" and name in ("own", "colleagues"):
            own = actor.serves if actor is not None else None
            return [
                Target(f"studio-user/{asset.name}", self._arn(asset), account)
                for asset in self._assets("studio-user", "*")
                if (asset.name == own) == (name == "own")
            ]
        if kind in ("space", "app"):
            return self._studio_targets(kind, name, actor)
        if kind == "dataset-object":
            return self._dataset_objects(name)
        if kind in ("etl-execution", "etl-version"):
            region = self.placement.region
            what = "execution" if kind == "etl-execution" else "stateMachine"
            suffix = ":catalog-probe" if kind == "etl-execution" else ":1"
            return [
                Target(
                    selector,
                    Symbol.of(
                        f"arn:aws:states:{region}:{account}:{what}:",
                        self.world.resolver.name(asset.stack, asset.logical_id),
                        suffix,
                    ),
                    account,
                )
                for asset in self._assets("etl", "etl")
            ]
        if kind in ("experiments", "mlflow-artifacts"):
            prefix = EXPERIMENTS_PREFIX if kind == "experiments" else MLFLOW_ARTIFACTS_PREFIX
            return [
                Target(selector, Symbol.of(self._arn(asset), f"/{prefix}{PROBE_KEY}"), account)
                for asset in self._assets("zone", "artifacts")
            ]
        if kind == "base-model":
            return self._base_models(name, actor)
        if kind == "model-import-role" and name == "own":
            serves = actor.serves if actor is not None else None
            return [
                Target(f"{kind}/{asset.name}", self._arn(asset), account)
                for asset in self._assets(kind, "*")
                if asset.name == serves
            ]
        if kind == "recipe-image" and name == "own":
            return self._recipe_images(actor)
        if kind == "network-interface":
            region = self.placement.region
            arn = f"arn:aws:ec2:{region}:{account}:network-interface/*"
            return [Target(selector, text(arn), account)]
        if kind == "job-logs":
            region = self.placement.region
            arn = (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:"
                "log-stream:catalog-probe/algo-1"
            )
            return [Target(selector, text(arn), account)]
        if kind == "studio-profile" and name == "unlisted":
            return [
                Target(
                    "studio-profile/unlisted",
                    Symbol.of(
                        f"arn:aws:sagemaker:{self.placement.region}:{account}:user-profile/",
                        self.world.resolver.value(
                            domain.stack, {"Fn::GetAtt": [domain.logical_id, "DomainId"]}
                        ),
                        "/someone-the-platform-did-not-list",
                    ),
                    account,
                )
                for domain in self._studio_domains()
            ]
        if kind == "release-approval":
            region = self.placement.region
            return [
                Target(
                    f"release-approval/{action}",
                    text(f"arn:aws:codepipeline:{region}:{account}:{action}"),
                    account,
                )
                for action in approval_actions(plan_rollout(self.plan))
            ]
        if kind == "deployment-assets":
            bucket = names.asset_bucket_name(account, self.placement.region)
            return [Target(selector, text(f"arn:aws:s3:::{bucket}/{PROBE_FILE}"), account)]
        if kind in ("training-job", "processing-job"):
            region = self.placement.region
            arn = f"arn:aws:sagemaker:{region}:{account}:{kind}/catalog-probe"
            return [Target(selector, text(arn), account)]
        if kind in ("merged-models", "pipeline-runs") and name == "*":
            return self._pipeline_objects(kind, None)
        if kind == "model-releases":
            return self._release_objects(actor if name == "own" else None)
        if kind == "model-package":
            return [
                Target(f"model-package/{group.name}/1", self._package(group), account)
                for group in self._assets("model-package-group", name)
            ]
        if name == "own":
            return self._own(kind, actor)
        return [
            Target(f"{kind}/{asset.name}", self._arn(asset), account)
            for asset in self._assets(kind, name)
        ]

    def _studio_targets(self, kind: str, which: str, actor: Actor | None) -> list[Target]:
        """A space (``space/own``: the asking session's user's private space,
        ``space/colleague``: another user's) or a JupyterLab app in one (``app/own-space``,
        ``app/colleagues-space``, ``app/shared-space``: in each space the platform declares)."""
        own = actor.serves if actor is not None else None
        profiles = self._assets("studio-user", "*")
        if which in ("own", "own-space"):
            spaces = [(p, f"{p.name}-work") for p in profiles if p.name == own]
        elif which in ("colleague", "colleagues-space"):
            spaces = [(p, f"{p.name}-work") for p in profiles if p.name != own]
        elif which == "shared-space":
            spaces = [
                (profile, space.name)
                for space in self._assets("studio-space", "*")
                for profile in profiles[:1]
            ]
        else:
            raise ValueError(f"unknown Studio selector '{kind}/{which}'")
        region, account = self.placement.region, self.placement.account
        suffix = "/JupyterLab/default" if kind == "app" else ""
        return [
            Target(
                f"{kind}/{space}",
                Symbol.of(
                    f"arn:aws:sagemaker:{region}:{account}:{kind}/",
                    self._domain_id(profile),
                    f"/{space}{suffix}",
                ),
                account,
            )
            for profile, space in spaces
        ]

    def _published(self, path: str, actor: Actor | None) -> list[Target]:
        """A parameter the environment publishes under /genai-platform/<lob>/<env>/:
        ``<kind>/own/<attribute>`` is one for each of the asking use case's own resources of
        that kind; a name no template publishes is a target that is ``missing``."""
        lob, environment = self.placement.lob, self.placement.environment
        if lob is None or environment is None:
            return []
        root = parameter_path(lob.name, environment.value)
        kind, _, rest = path.partition("/")
        own, _, attribute = rest.partition("/")
        if own == "own":
            use_case = actor.use_case if actor is not None else None
            if use_case is None:
                return []
            owned = use_case_resources(self.plan, self.placement, use_case)[kind]
            paths = [f"{kind}/{name}/{attribute}" for name in owned]
        else:
            paths = [path]
        published = self._parameter_names()
        region, account = self.placement.region, self.placement.account
        return [
            Target(
                f"published-id/{each}",
                text(f"arn:aws:ssm:{region}:{account}:parameter{root}/{each}"),
                account,
                None
                if f"{root}/{each}" in published
                else f"no template of {self.placement.key} publishes {root}/{each}",
            )
            for each in paths
        ]

    def _parameter_names(self) -> set[str]:
        """The names of the SSM parameters the stacks of the placement's account create."""
        return {
            resource["Properties"]["Name"]
            for stack in self.world.assembly.stacks
            if stack.account == self.placement.account and stack.region == self.placement.region
            for resource in stack.resources.values()
            if resource.get("Type") == "AWS::SSM::Parameter"
            and isinstance(resource.get("Properties", {}).get("Name"), str)
        }

    def _base_models(self, which: str, actor: Actor | None) -> list[Target]:
        """An object of an open-weights model's staged weights (``models/<id>/base/``):
        ``own`` the one an import stages or a fine-tuning pipeline starts from, ``*`` each
        model the LOB fine-tunes."""
        lob = self.placement.lob
        tunings = lob.ml.fine_tuning if lob else []
        serves = actor.serves if actor is not None else None
        models = sorted(
            {
                tuning.base_model
                for tuning in tunings
                if which == "*" or serves in (tuning.name, tuning.base_model)
            }
        )
        return [
            Target(
                f"base-model/{model}",
                Symbol.of(self._arn(asset), f"/{base_model_prefix(model)}{PROBE_FILE}"),
                self.placement.account,
            )
            for model in models
            for asset in self._assets("zone", "artifacts")
        ]

    def _dataset_objects(self, which: str) -> list[Target]:
        """An object of the LOB's first dataset in the raw zone (``raw``: as landed) or the
        curated zone (``staged``: as the ETL stages it, ``curated``: as it publishes it)."""
        lob = self.placement.lob
        datasets = lob.data.datasets[:1] if lob else []
        prefix = staged_prefix if which == "staged" else dataset_prefix
        zone = "raw" if which == "raw" else "curated"
        return [
            Target(
                f"dataset-object/{which}/{dataset.name}",
                Symbol.of(self._arn(asset), f"/{prefix(dataset.name)}{PROBE_FILE}"),
                self.placement.account,
            )
            for dataset in datasets
            for asset in self._assets("zone", zone)
        ]

    def _recipe_images(self, actor: Actor | None) -> list[Target]:
        """The ECR repository of the recipe image a fine-tuning pipeline runs."""
        lob = self.placement.lob
        serves = actor.serves if actor is not None else None
        images = [t.recipe_image for t in (lob.ml.fine_tuning if lob else []) if t.name == serves]
        return [
            Target(f"recipe-image/{serves}", text(repository.arn()), repository.account)
            for image in images
            if image
            for repository in [ImageRepository.of(image)]
        ]

    def _platform(self, selector: str) -> Selection | None:
        """``tooling/...`` and ``governance/...``: that selector in the platform account."""
        kind, _, rest = selector.partition("/")
        if kind not in ("tooling", "governance") or "/" not in rest:
            return None
        placement = self.plan.tooling if kind == "tooling" else self.plan.governance
        return Selection(self.world, self.plan, placement)

    def _stacks(self) -> list[AssemblyStack]:
        return [
            stack
            for stack in self.world.assembly.stacks
            if stack.identity.placement == self.placement.key
        ]

    def _resource(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        return resource_arn(self.world.resolver, stack, logical_id)

    def _studio_domains(self) -> list[Asset]:
        """The Studio domains of the placement (by their marked user profiles)."""
        domains = {}
        for profile in self._assets("studio-user", "*"):
            domain = profile.stack.resources[profile.logical_id]["Properties"]["DomainId"]
            target = domain.get("Fn::GetAtt", [None])[0] if isinstance(domain, dict) else None
            if target is not None:
                domains[(profile.stack.name, target)] = Asset(
                    profile.placement, "studio-domain", target, profile.stack, target
                )
        return list(domains.values())

    def _assets(self, kind: str, name: str) -> list[Asset]:
        if name in ("*", ""):
            return self.world.assets_of(self.placement.key, kind)
        asset = self.world.asset(self.placement.key, kind, name)
        return [asset] if asset else []

    def _arn(self, asset: Asset) -> Symbol:
        return resource_arn(self.world.resolver, asset.stack, asset.logical_id)

    def _package(self, group: Asset) -> Symbol:
        stack = group.stack
        return Symbol.of(
            f"arn:aws:sagemaker:{stack.region}:{stack.account}:model-package/",
            self.world.resolver.name(stack, group.logical_id),
            "/1",
        )

    def _models(self, which: str, actor: Actor | None) -> list[Target]:
        region, catalog = self.placement.region, self.plan.config.catalog.bedrock
        if which == "outside-catalog":
            return [
                Target(
                    f"model/{OUTSIDE_CATALOG_MODEL}",
                    _model_arn(region, OUTSIDE_CATALOG_MODEL),
                    None,
                )
            ]
        if which == "own":
            return self._own("profile", actor)
        approved = {model.id for model in self.plan.approved_models(self.placement)}
        if which == "approved":
            chosen = [m for m in catalog if m.id in approved]
        elif which == "above-classification":
            chosen = [m for m in catalog if m.kind is ModelKind.TEXT and m.id not in approved]
        else:
            raise ValueError(f"unknown model selector 'model/{which}'")
        return [Target(f"model/{m.id}", _model_arn(region, m.id), None) for m in chosen]

    def _own(self, kind: str, actor: Actor | None) -> list[Target]:
        """The actor's own resources: an application's profile, knowledge bases and
        endpoints; a knowledge base's vector collection; a pipeline's dataset and runs."""
        if actor is None:
            return []
        if kind in ("pipeline-dataset", "pipeline-runs"):
            return self._pipeline_objects(kind, actor.serves)
        if kind == "evaluation-function":
            return [
                Target(f"{kind}/{asset.name}", self._arn(asset), self.placement.account)
                for asset in self._assets(kind, actor.serves or "")
                if actor.serves
            ]
        use_case = actor.use_case
        if kind == "vector-collection" or (kind == "knowledge-base" and use_case is None):
            wanted = [actor.serves] if actor.serves else []
        elif use_case is None:
            return []
        else:
            wanted = {
                "profile": [use_case.name],
                "app-role": [use_case.name],
                "knowledge-base": use_case.knowledge_bases,
                "endpoint": use_case.endpoints,
                "answer-api": [use_case.name],
                "rag-evaluation": [use_case.name],
            }[kind]
        return [
            Target(f"{kind}/{asset.name}", self._arn(asset), self.placement.account)
            for name in wanted
            for asset in self._assets(kind, name)
        ]

    def _pipeline_objects(self, kind: str, pipeline: str | None) -> list[Target]:
        """An object of a pipeline's dataset (training zone), of its runs or of its merged
        models (artifacts zone): the named pipeline's, or every pipeline's."""
        lob = self.placement.lob
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
            Target(
                f"{kind}/{tuning.name}",
                Symbol.of(self._arn(asset), f"/{prefix}{PROBE_FILE}"),
                self.placement.account,
            )
            for tuning in tunings
            for zone, prefix in [prefixes(tuning.name, tuning.source_prefix)]
            for asset in self._assets("zone", zone)
        ]

    def _rag_objects(self, kind: str, actor: Actor | None) -> list[Target]:
        """The question set of each use case's RAG evaluation (curated zone) or an object of
        its reports (artifacts zone); ``actor`` an evaluation's role: its own use case's."""
        lob = self.placement.lob
        use_cases = [
            u
            for u in (lob.genai.use_cases if lob else [])
            if u.knowledge_bases and (actor is None or actor.serves == u.name)
        ]
        zone = "curated" if kind == "evaluation-questions" else "artifacts"
        return [
            Target(
                f"{kind}/{use.name}",
                Symbol.of(
                    self._arn(asset),
                    "/"
                    + (
                        use.evaluation_questions_key
                        if kind == "evaluation-questions"
                        else f"{rag_reports_prefix(use.name)}report.json"
                    ),
                ),
                self.placement.account,
            )
            for use in use_cases
            for asset in self._assets("zone", zone)
        ]

    def _release_objects(self, actor: Actor | None) -> list[Target]:
        """An object of a release of each fine-tuned model this environment's endpoints
        serve, or (``actor`` an endpoint's role) of the one its endpoint serves."""
        lob = self.placement.lob
        environment = self.placement.environment
        models = promoted_models(lob) if lob and environment and environment.operational else ()
        if actor is not None and lob is not None:
            served = {e.model for e in lob.ml.endpoints if e.name == actor.serves}
            models = tuple(model for model in models if model in served)
        return [
            Target(
                f"model-releases/{model}",
                Symbol.of(self._arn(asset), f"/{model_releases_prefix(model)}v1/model"),
                self.placement.account,
            )
            for model in models
            for asset in self._assets("zone", "artifacts")
        ]

    # --- context -----------------------------------------------------------------------

    def context(self, step: Step, actor: Actor | None = None) -> dict[str, tuple[Symbol, ...]]:
        values: dict[str, tuple[Symbol, ...]] = {}
        for key, value in step.context.items():
            if value == "guardrail":
                values[key] = tuple(self.guardrail_identifiers())
            elif value == "merged-models":
                lob = self.placement.lob
                tunings = lob.ml.fine_tuning if lob else []
                values[key] = tuple(
                    text(f"{merged_models_prefix(t.name)}run-1/") for t in tunings[:1]
                )
            elif value in ("own-profile", "colleague-profile"):
                own = actor.serves if actor is not None else None
                values[key] = tuple(
                    self._arn(asset)
                    for asset in self._assets("studio-user", "*")
                    if (asset.name == own) == (value == "own-profile")
                )
            elif value == "own-metrics":
                values[key] = (text(names.metric_namespace(self.placement.key)),)
            elif value == "own-lob":
                lob = self.placement.lob
                values[key] = (text(lob.name),) if lob else ()
            elif value == "s3-service":
                values[key] = (text(f"s3.{self.placement.region}.amazonaws.com"),)
            elif value.startswith("key/"):
                values[key] = tuple(self._arn(a) for a in self._assets("key", value[4:]))
            else:
                values[key] = (text(value),)
        return values

    def guardrail_identifiers(self) -> list[Symbol]:
        """What callers pass as bedrock:GuardrailIdentifier: the guardrail's ARN and the
        version in force."""
        return [
            Symbol.of(
                self._arn(guardrail),
                ":",
                self.world.resolver.get_att(version.stack, version.logical_id, "Version"),
            )
            for guardrail in self._assets("guardrail", "platform")
            for version in self._assets("guardrail-version", "platform")
        ]


def _model_arn(region: str, model_id: str) -> Symbol:
    return text(f"arn:aws:bedrock:{region}::foundation-model/{model_id}")
