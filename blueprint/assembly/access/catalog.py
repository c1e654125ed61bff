"""The catalog of journeys and attacks (``catalog.yaml``), expanded for every LOB environment
of an organization and asked of the evaluator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from blueprint.assembly.access.chains import Hop, PrivilegeGraph, stack_arn
from blueprint.assembly.access.evaluate import Decision, Evaluator, Request
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.access.world import Asset, World, resource_arn
from blueprint.assembly.reader import AssemblyStack
from blueprint.model import names
from blueprint.model.config import EnvironmentName, ModelKind, OperatingModel, UseCase
from blueprint.model.identity import Layer
from blueprint.model.personas import persona_named, persona_names
from blueprint.model.plan import Placement, Plan, promoted_models
from blueprint.model.rollout import approval_actions, plan_rollout
from genai_constructs.naming import (
    USER_TAG,
    merged_models_prefix,
    model_releases_prefix,
    parameter_path,
    permission_set_name,
    pipeline_runs_prefix,
    rag_reports_prefix,
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


class Entry(BaseModel):
    """One journey (expect allow) or attack (expect deny) of the catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    expect: Literal["allow", "deny"]
    operating_models: list[OperatingModel] = Field(default=list(OperatingModel), min_length=1)
    needs_hub: bool = False
    tenancies_only: bool = False
    environments: list[EnvironmentName] = Field(min_length=1)
    principal: str
    action: str = Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9]+$")
    resource: str
    context: dict[str, str] = {}
    why: str = Field(min_length=10)


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


@dataclass(frozen=True)
class Target:
    """What is asked for: its label, its ARN and the account that owns it (if any)."""

    label: str
    arn: Symbol
    account: str | None


@dataclass(frozen=True)
class Query:
    """One entry asked in one LOB environment, of one principal and one resource."""

    entry: Entry
    placement: str
    actor: Actor
    target: Target
    request: Request


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
    through the privilege graph (``graph``, default a new one of ``world``)."""
    graph = graph or privilege_graph(world, plan)
    return [decide(graph, query) for query in catalog_queries(world, plan, entries)]


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
        for placement in plan.lob_environments()
        if placement.environment in entry.environments
        and (placement.is_tenancy or not entry.tenancies_only)
        for query in Selection(world, plan, placement).queries(entry)
    ]


def decide(graph: PrivilegeGraph, query: Query) -> Outcome:
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
        context = self.context(entry)
        for actor in self.actors(entry.principal):
            for target in self.targets(entry.resource, actor):
                request = Request(
                    actor.principal, entry.action, target.arn, target.account, context
                )
                yield Query(entry, self.placement.key, actor, target, request)

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
            lob, environment = self.placement.lob, self.placement.environment
            if lob is None or environment is None:
                return []
            path = parameter_path(lob.name, environment.value)
            arn = f"arn:aws:ssm:{self.placement.region}:{account}:parameter{path}/guardrail/id"
            return [Target(selector, text(arn), account)]
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

    def context(self, entry: Entry) -> dict[str, tuple[Symbol, ...]]:
        values: dict[str, tuple[Symbol, ...]] = {}
        for key, value in entry.context.items():
            if value == "guardrail":
                values[key] = tuple(self.guardrail_identifiers())
            elif value == "merged-models":
                lob = self.placement.lob
                tunings = lob.ml.fine_tuning if lob else []
                values[key] = tuple(
                    text(f"{merged_models_prefix(t.name)}run-1/") for t in tunings[:1]
                )
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
