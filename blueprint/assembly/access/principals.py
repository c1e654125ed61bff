"""The catalog's principal selectors (``principal:``): who asks, in the environment's account
unless the kind says otherwise. One function per kind; its docstring is the grammar's entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from blueprint.assembly.access.registry import Registry
from blueprint.assembly.access.selection import Actor, Selection, label
from blueprint.assembly.access.symbols import text
from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.personas import DATA_SCIENTIST as DATA_SCIENTIST_PERSONA
from blueprint.model.personas import persona_named, persona_names
from genai_constructs.naming import USER_TAG, permission_set_name

PrincipalResolver = Callable[[Selection, str], list[Actor]]
PRINCIPALS: Registry[PrincipalResolver] = Registry("principal")
principal = PRINCIPALS.kind

# Who a person/<persona> actor is signed in as where the LOB lists no Studio user.
PERSON = "catalog-person"
DATA_SCIENTIST = DATA_SCIENTIST_PERSONA.name


def actors(selection: Selection, selector: str) -> list[Actor]:
    """Who ``selector`` names in ``selection``; refused when it is no principal selector."""
    resolve, argument = PRINCIPALS.lookup(selector)
    return resolve(selection, argument)


def _in(selection: Selection | None, selector: str) -> list[Actor]:
    return actors(selection, selector) if selection else []


# --- elsewhere ---------------------------------------------------------------------------


@principal("other-lob", "<principal>")
def _other_lob(selection: Selection, selector: str) -> list[Actor]:
    """That principal of the nearest other LOB environment of the same kind, hosted alike,
    that has one (another LOB without it would leave the attack asking nothing)."""
    for other in selection.other_lobs():
        if found := actors(other, selector):
            return found
    return []


@principal("lob-prod", "<principal>")
def _lob_prod(selection: Selection, selector: str) -> list[Actor]:
    """That principal of the same LOB's prod environment."""
    return _in(selection.lob_prod(), selector)


@principal("home", "<principal>")
def _home(selection: Selection, selector: str) -> list[Actor]:
    """In a tenancy of a central account, that principal of the LOB environment's own
    account."""
    return _in(selection.home(), selector)


@principal("hub", "<principal>")
def _hub(selection: Selection, selector: str) -> list[Actor]:
    """That principal of the hub account (only where the organization has a hub)."""
    return _in(selection.hub(), selector)


@principal("tooling", "<principal>")
def _tooling(selection: Selection, selector: str) -> list[Actor]:
    """That principal of the platform's tooling account (asked once per LOB environment)."""
    return actors(selection.tooling(), selector)


@principal("governance", "auditor", "<principal>")
def _governance(selection: Selection, selector: str) -> list[Actor]:
    """That principal of the platform's governance account; `governance/auditor` its
    central auditor role."""
    if selector == "auditor":
        governance = selection.plan.governance
        return selection.named(governance, names.role_name(governance.prefix, "auditor"))
    return actors(selection.governance(), selector)


@principal("hub-consumer")
def _hub_consumer(selection: Selection, selector: str) -> list[Actor]:
    """The hub's application role of this environment's LOB."""
    hub, lob = selection.hub(), selection.placement.lob
    return [a for a in actors(hub, "app/*") if lob and a.serves == lob.name] if hub else []


# --- people ------------------------------------------------------------------------------


@principal("persona", "<name>")
def _persona(selection: Selection, persona: str) -> list[Actor]:
    """The persona role (a record of `blueprint/model/personas.py`)."""
    placement = selection.placement
    return selection.named(placement, names.role_name(placement.prefix, persona))


@principal("group", "<persona>")
def _group(selection: Selection, persona: str) -> list[Actor]:
    """A member of each group assigned the persona in the account, at their Identity Center
    sign-in role, as one person (the session tag `genai-user`, as for `person`): journeys too
    are decided through every chain (sign in, assume the persona role, act)."""
    return [_person(selection, actor) for actor in _sign_in_doors(selection, persona)]


@principal("person", "<persona>")
def _signed_in(selection: Selection, persona: str) -> list[Actor]:
    """The persona role signed in as one person (the session tag `genai-user`: the LOB's
    first Studio user)."""
    return [_person(selection, actor) for actor in _persona(selection, persona)]


@principal("studio", "own")
def _studio(selection: Selection, selector: str) -> list[Actor]:
    """The data scientist's role as Studio uses it for the LOB's first Studio user (the
    session carries sagemaker:DomainId and sagemaker:UserProfileName, which Studio sets and
    callers cannot)."""
    lob = selection.placement.lob
    users = lob.ml.studio.users if lob else []
    profiles = {asset.name: asset for asset in selection.assets(AssetKind.STUDIO_USER, "*")}
    profile = profiles.get(users[0].name) if users else None
    if profile is None:
        return []
    return [
        replace(
            actor,
            label=f"{actor.label} in Studio for {profile.name}",
            serves=profile.name,
            context={
                "sagemaker:DomainId": (selection.domain_id(profile),),
                "sagemaker:UserProfileName": (text(profile.name),),
            },
        )
        for actor in _persona(selection, DATA_SCIENTIST)
    ]


@principal("experiment-job")
def _experiment_job(selection: Selection, selector: str) -> list[Actor]:
    """The data scientist's role as a job they started runs with it."""
    return [
        replace(actor, label=f"{actor.label} as a SageMaker job")
        for actor in _persona(selection, DATA_SCIENTIST)
    ]


def _sign_in_doors(selection: Selection, persona: str) -> list[Actor]:
    """The sign-in roles of ``persona``'s permission set in this account (for the LOB's
    own people in a tenancy, in the LOB environment's account, where they sign in):
    whoever a group assigned to it there is when they sign in."""
    if persona not in persona_names():
        raise ValueError(f"unknown persona in the principal selector 'group/{persona}'")
    placement = selection.placement
    lob_people = persona_named(persona).works_for_lob
    home = selection.home() if placement.is_tenancy and lob_people else None
    if home is not None:
        return _sign_in_doors(home, persona)
    permission_set = permission_set_name(persona)
    identity = selection.plan.config.organization.identity
    groups = {i: name for name, i in identity.groups.items()} if identity else {}
    return [
        Actor(
            f"group {groups.get(door.group_id, door.group_id)} at {label(door.role)}",
            door.role.principal(),
            signs_in=True,
        )
        for door in selection.world.sign_in_doors
        if door.permission_set == permission_set and door.role.account == placement.account
    ]


def _person(selection: Selection, actor: Actor) -> Actor:
    """``actor`` (a persona role) as one person signed in: the session carries the
    person's user name (the LOB's first Studio user, whose profile it ``serves``)."""
    lob = selection.placement.lob
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


# --- workload and service roles ----------------------------------------------------------


def _roles(selection: Selection, kind: AssetKind) -> list[Actor]:
    """The roles marked ``kind`` here, each serving what its name says; an application
    role's also its use case."""
    lob = selection.placement.lob
    use_cases = {u.name: u for u in lob.genai.use_cases} if lob else {}
    with_use_case = kind in (
        AssetKind.APP_ROLE,
        AssetKind.ANSWER_API_ROLE,
        AssetKind.RAG_EVALUATION_ROLE,
    )
    # An agent role serves its agent, and calls its model as its agent's use case.
    if with_use_case:
        use_case_of = use_cases
    elif kind is AssetKind.AGENT_ROLE and lob:
        use_case_of = {a.name: use_cases[a.use_case] for a in lob.genai.agents}
    else:
        use_case_of = {}
    return [
        Actor(label(role), role.principal(), use_case_of.get(asset.name), asset.name)
        for asset in selection.world.assets_of(selection.placement.key, kind)
        for role in [selection.role(asset)]
    ]


@principal("app", "*")
def _applications(selection: Selection, selector: str) -> list[Actor]:
    """Each use case's application role."""
    return _roles(selection, AssetKind.APP_ROLE)


@principal("answer-api", "*")
def _answer_apis(selection: Selection, selector: str) -> list[Actor]:
    """Each use case's answer API function role."""
    return _roles(selection, AssetKind.ANSWER_API_ROLE)


@principal("review-desk", "*")
def _review_desks(selection: Selection, selector: str) -> list[Actor]:
    """Each review desk function's role (it serves its use case)."""
    return _roles(selection, AssetKind.REVIEW_DESK_ROLE)


@principal("notifier", "*")
def _notifiers(selection: Selection, selector: str) -> list[Actor]:
    """Each role an EventBridge rule announces through (a pipeline's approvals, an endpoint
    monitor's violations)."""
    return _roles(selection, AssetKind.NOTIFIER_ROLE)


@principal("reviewer", "*")
def _reviewers(selection: Selection, selector: str) -> list[Actor]:
    """Each reviewer role of a use case with an answer API, which the environment's ML
    engineers become to review its ratings and, where its record asks, its flagged answers
    (it serves that use case)."""
    return _roles(selection, AssetKind.REVIEWER_ROLE)


@principal("guarded-endpoint", "*")
def _guarded_endpoints(selection: Selection, selector: str) -> list[Actor]:
    """Each role of a function serving a GPU endpoint behind the guardrail (it serves that
    endpoint)."""
    return _roles(selection, AssetKind.GUARDED_ENDPOINT_ROLE)


@principal("rag-evaluation", "*")
def _rag_evaluations(selection: Selection, selector: str) -> list[Actor]:
    """Each use case's RAG evaluation function role."""
    return _roles(selection, AssetKind.RAG_EVALUATION_ROLE)


@principal("rag-release-gate")
def _rag_release_gate(selection: Selection, selector: str) -> list[Actor]:
    """The role the delivery pipeline runs the RAG evaluations with."""
    placement = selection.placement
    return selection.named(placement, names.rag_gate_role_name(placement.prefix))


@principal("ingestion")
def _ingestion(selection: Selection, selector: str) -> list[Actor]:
    """The environment's ingestion (pipeline writer) role."""
    return _roles(selection, AssetKind.INGESTION_ROLE)


@principal("pipeline", "*")
def _pipelines(selection: Selection, selector: str) -> list[Actor]:
    """Each fine-tuning pipeline's execution role."""
    return _roles(selection, AssetKind.PIPELINE_ROLE)


@principal("invocation-logging")
def _invocation_logging(selection: Selection, selector: str) -> list[Actor]:
    """The invocation-logging function's role; in a tenancy, its central account's (Bedrock
    keeps one logging configuration per account and region)."""
    if selection.placement.is_tenancy:
        return _in(selection.central(), "invocation-logging")
    return _roles(selection, AssetKind.LOGGING_ROLE)


@principal("knowledge-base", "*")
def _knowledge_bases(selection: Selection, selector: str) -> list[Actor]:
    """Each knowledge base's service role."""
    return _roles(selection, AssetKind.KNOWLEDGE_BASE_ROLE)


@principal("ingestion-starter", "*")
def _ingestion_starters(selection: Selection, selector: str) -> list[Actor]:
    """Each knowledge base's ingestion state machine role."""
    return _roles(selection, AssetKind.INGESTION_STARTER_ROLE)


@principal("chargeback")
def _chargeback(selection: Selection, selector: str) -> list[Actor]:
    """The monthly token chargeback function's role (the governance account's: ask it as
    `governance/chargeback`)."""
    return _roles(selection, AssetKind.CHARGEBACK_ROLE)


@principal("token-budget")
def _token_budget(selection: Selection, selector: str) -> list[Actor]:
    """The role of the state machine that checks the environment's daily token budgets."""
    return _roles(selection, AssetKind.TOKEN_BUDGET_ROLE)


@principal("model-release")
def _model_release(selection: Selection, selector: str) -> list[Actor]:
    """The function role that releases approved fine-tuned models."""
    return _roles(selection, AssetKind.MODEL_RELEASE_ROLE)


@principal("endpoint-role", "*")
def _endpoints(selection: Selection, selector: str) -> list[Actor]:
    """Each GPU endpoint's execution role."""
    return _roles(selection, AssetKind.ENDPOINT_ROLE)


@principal("agent", "*")
def _agents(selection: Selection, selector: str) -> list[Actor]:
    """Each agent's role (it serves its agent)."""
    return _roles(selection, AssetKind.AGENT_ROLE)


@principal("agent-gateway")
def _agent_gateway(selection: Selection, selector: str) -> list[Actor]:
    """The role the environment's tools gateway calls its tools as."""
    return _roles(selection, AssetKind.AGENT_GATEWAY_ROLE)


@principal("agent-tool", "*")
def _agent_tools(selection: Selection, selector: str) -> list[Actor]:
    """Each knowledge base search tool's function role (it serves its tool)."""
    return _roles(selection, AssetKind.AGENT_TOOL_ROLE)


@principal("model-import", "*")
def _model_imports(selection: Selection, selector: str) -> list[Actor]:
    """Each base-weights import pipeline's role."""
    return _roles(selection, AssetKind.MODEL_IMPORT_ROLE)


@principal("recipe-build-starter", "*")
def _recipe_build_starters(selection: Selection, selector: str) -> list[Actor]:
    """The role of each recipe image build's state machine."""
    return _roles(selection, AssetKind.RECIPE_BUILD_STARTER)


@principal("recipe-builder", "*")
def _recipe_builders(selection: Selection, selector: str) -> list[Actor]:
    """The role of each recipe image build's CodeBuild project."""
    return _roles(selection, AssetKind.RECIPE_BUILDER)
