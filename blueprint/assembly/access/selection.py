"""One LOB environment (or platform account) as the catalog's selectors see it: who asks
(``Actor``), what is asked for (``Target``), and ``Selection``, what every selector kind
resolves in: the placement's marked resources, roles and neighbours (another LOB, the hub,
the central account of a tenancy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, text
from blueprint.assembly.access.world import Asset, World, resource_arn
from blueprint.assembly.reader import AssemblyStack
from blueprint.model.assets import AssetKind
from blueprint.model.fields import EnvironmentName
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.genai import UseCase

PROBE_FILE = "object.txt"
PROBE_KEY = f"catalog-probe/{PROBE_FILE}"


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


def use_case_resources(plan: Plan, placement: Placement, use: UseCase) -> dict[str, list[str]]:
    """What of ``use`` is in ``placement``, by the kind the published IDs name it by: its
    inference profile, knowledge bases, answer API and GPU endpoints (each also behind the
    guardrail)."""
    here = {kb.name for kb in plan.knowledge_bases(placement)}
    knowledge_bases = [kb for kb in use.knowledge_bases if kb in here]
    endpoints = {endpoint.name for endpoint in plan.gpu_endpoints(placement)}
    return {
        "inference-profiles": [use.name],
        "knowledge-bases": knowledge_bases,
        "answer-apis": [use.name] if use.rag.answer_api and knowledge_bases else [],
        "endpoints": [e for e in use.endpoints if e in endpoints],
        "guarded-endpoints": [e for e in use.endpoints if e in endpoints],
    }


class Selection:
    """The principals, resources and context an entry names, in one LOB environment."""

    def __init__(self, world: World, plan: Plan, placement: Placement) -> None:
        self.world, self.plan, self.placement = world, plan, placement

    def at(self, placement: Placement | None) -> Selection | None:
        return Selection(self.world, self.plan, placement) if placement else None

    # --- neighbours --------------------------------------------------------------------

    def other_lobs(self) -> list[Selection]:
        """The other LOBs' environments of the same kind, hosted alike, nearest first: those
        sharing this account and region (other tenancies of a central account) before the
        rest, each in the plan's order."""
        here = (self.placement.account, self.placement.region)

        def neighbours() -> list[Placement]:
            return sorted(
                (
                    p
                    for p in self.plan.lob_environments()
                    if p.environment is self.placement.environment
                    and p.lob != self.placement.lob
                    and p.is_tenancy == self.placement.is_tenancy
                ),
                key=lambda p: (p.account, p.region) != here,
            )

        others = self.plan.remembered(f"other-lobs/{self.placement.key}", neighbours)
        return [Selection(self.world, self.plan, p) for p in others]

    def central(self) -> Selection | None:
        return self.at(self.plan.central_of(self.placement))

    def hub(self) -> Selection | None:
        return self.at(self.plan.hub)

    def home(self) -> Selection | None:
        """In a tenancy, the LOB environment's own account (where its people and
        applications come from)."""
        home = self.placement.tenancy_of
        return self.at(self.plan.placement(home)) if home else None

    def lob_prod(self) -> Selection | None:
        """The same LOB's prod environment, when this is another of its environments."""
        return self.at(
            next(
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
        )

    def tooling(self) -> Selection:
        return Selection(self.world, self.plan, self.plan.tooling)

    def governance(self) -> Selection:
        return Selection(self.world, self.plan, self.plan.governance)

    # --- what the placement holds ------------------------------------------------------

    def assets(self, kind: AssetKind, name: str) -> list[Asset]:
        """The resources marked ``kind/name`` here; every one of ``kind`` for ``*`` or ``""``."""
        if name in ("*", ""):
            return self.world.assets_of(self.placement.key, kind)
        asset = self.world.asset(self.placement.key, kind, name)
        return [asset] if asset else []

    def marked(self, kind: AssetKind, name: str) -> list[Target]:
        """The resources marked ``kind/name`` (``*``: each of ``kind``) as targets."""
        return [self.target(asset) for asset in self.assets(kind, name)]

    def target(self, asset: Asset) -> Target:
        """``asset`` asked for, labelled ``kind/name``."""
        return Target(f"{asset.kind}/{asset.name}", self.arn(asset), self.placement.account)

    def objects(self, zone: str, key: str, label: str) -> list[Target]:
        """The object ``key`` of the ``zone`` bucket (``*``: of each zone), as ``label``."""
        return [
            Target(label, Symbol.of(self.arn(asset), f"/{key}"), self.placement.account)
            for asset in self.assets(AssetKind.ZONE, zone)
        ]

    def arn(self, asset: Asset) -> Symbol:
        return resource_arn(self.world.resolver, asset.stack, asset.logical_id)

    def resource(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        return resource_arn(self.world.resolver, stack, logical_id)

    def stacks(self) -> list[AssemblyStack]:
        return self.world.stacks_of(self.placement.key)

    def parameter_names(self) -> set[str]:
        """The names of the SSM parameters the stacks of the placement's account create."""
        return self.world.parameter_names(self.placement.account, self.placement.region)

    def domain_id(self, profile: Asset) -> Symbol:
        domain = profile.stack.resources[profile.logical_id]["Properties"]["DomainId"]
        return self.world.resolver.value(profile.stack, domain)

    def studio_domains(self) -> list[Asset]:
        """The Studio domains of the placement (by their marked user profiles)."""
        domains = {}
        for profile in self.assets(AssetKind.STUDIO_USER, "*"):
            domain = profile.stack.resources[profile.logical_id]["Properties"]["DomainId"]
            target = domain.get("Fn::GetAtt", [None])[0] if isinstance(domain, dict) else None
            if target is not None:
                domains[(profile.stack.name, target)] = Asset(
                    profile.placement, "studio-domain", target, profile.stack, target
                )
        return list(domains.values())

    def guardrail_identifiers(self) -> list[Symbol]:
        """What callers pass as bedrock:GuardrailIdentifier: the guardrail's ARN and the
        version in force."""
        return [
            Symbol.of(
                self.arn(guardrail),
                ":",
                self.world.resolver.get_att(version.stack, version.logical_id, "Version"),
            )
            for guardrail in self.assets(AssetKind.GUARDRAIL, "platform")
            for version in self.assets(AssetKind.GUARDRAIL_VERSION, "platform")
        ]

    # --- roles -------------------------------------------------------------------------

    def named(self, placement: Placement, name: str) -> list[Actor]:
        """The role ``name`` of ``placement``'s account, if the assembly has it."""
        role = self.world.role(placement.account, name)
        return [Actor(label(role), role.principal())] if role else []

    def role(self, asset: Asset) -> Role:
        role = self.world.role_by_arn(self.world.resolver.arn(asset.stack, asset.logical_id))
        if role is None:
            raise ValueError(f"{asset.stack.name}/{asset.logical_id} is not a role")
        return role

    def nobody(self) -> Principal:
        """No principal of the placement's account (a step that selects none here)."""
        return Principal(self.placement.account, text(""))


def label(role: Role) -> str:
    """How the command line names the role: ACCOUNT:ROLE_NAME, or STACK/LOGICAL_ID when
    CloudFormation names it."""
    return f"{role.account}:{role.name.text}" if role.name.text else role.where
