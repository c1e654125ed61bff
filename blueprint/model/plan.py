"""Placement: which account hosts which part of the platform, decided in one place.

Stacks never look at the config to decide where they go: ``blueprint.model.inputs`` turns a
placement into each stack's inputs. The operating model (``organization.operating_model``)
is decided here and nowhere else:

- federated: each LOB environment's account hosts every layer; the governance account holds
  the central audit view and dashboards; an optional hub account (``platform.hub``) holds the
  assets LOBs share, built like an LOB prod environment whose use cases are its consumers.
- centralized: each LOB environment's account keeps its data lake (security, foundation and
  data layers); its GenAI and ML layers run in a *tenancy* of the central account of its
  environment kind, in the LOB environment's region: every layer again, with names prefixed
  by the LOB so that tenancies of one account never share a role, key, boundary or bucket.
  What AWS keeps once per account and region (Bedrock's invocation logging and enforced
  guardrail, the Glue catalog's encryption, the metrics link) belongs to a central placement
  of the central team there, never to one LOB.
- decentralized: as federated, but the central team keeps only the organization's policies
  and the log archive: no dashboards, no central auditor in LOB accounts, and each LOB may
  narrow the model catalog and tighten the guardrail for itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from blueprint.model import names
from blueprint.model.config import LobConfig, OrgConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.guardrail import GuardrailPolicy, with_additions
from blueprint.model.identity import Layer, PlacementKind, StackIdentity
from blueprint.model.personas import Persona, personas_in
from blueprint.model.sections.catalog import BedrockModel, ModelKind
from blueprint.model.sections.environments import (
    DEFAULT_VPC_CIDRS,
    EnvironmentConfig,
    EnvironmentsConfig,
)
from blueprint.model.sections.genai import GenAIConfig, KnowledgeBaseConfig, UseCase
from blueprint.model.sections.ml import EndpointConfig, FineTuningConfig
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.platform import HubConfig
from blueprint.model.sections.values import DataClassification


@dataclass(frozen=True)
class DataProtection:
    """Storage settings that a data classification tightens."""

    log_retention_days: int
    noncurrent_version_days: int
    raw_object_lock_days: int | None


DATA_PROTECTION = {
    DataClassification.PUBLIC: DataProtection(365, 90, None),
    DataClassification.INTERNAL: DataProtection(365, 90, None),
    DataClassification.CONFIDENTIAL: DataProtection(731, 180, None),
    DataClassification.RESTRICTED: DataProtection(2557, 365, 365),
}


PLATFORM_LAYERS = (Layer.SECURITY, Layer.FOUNDATION)
# The hub and the central placements of central accounts: no ML layer.
PLATFORM_GENAI_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI)
# The hub is built like an LOB prod environment of this name (its use cases are its consumers).
HUB_LOB = "hub"
DATA_LAKE_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA)
WORKSPACE_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI, Layer.ML)


@dataclass(frozen=True)
class Placement:
    """One account and region of the organization, and what the platform puts there.

    :param prefix: what the fixed names of the placement's roles, boundary and buckets start
        with: the organization's name, and the LOB's after it in a tenancy of a central account.
    :param layers: the layers (stacks) the placement hosts.
    :param tenancy_of: in a tenancy, the LOB environment's own placement (its data lake and
        the roles that reach the tenancy); ``tenancy`` the reverse link.
    """

    key: str
    kind: PlacementKind
    account: str
    region: str
    azs: tuple[str, ...]
    vpc_cidr: str
    classification: DataClassification
    personas: tuple[Persona, ...]
    retain_stateful: bool
    termination_protection: bool
    prefix: str
    layers: tuple[Layer, ...] = PLATFORM_LAYERS
    lob: LobConfig | None = None
    environment: EnvironmentName | None = None
    tenancy_of: str | None = None
    tenancy: str | None = None

    def hosts(self, layer: Layer) -> bool:
        return layer in self.layers

    @property
    def is_tenancy(self) -> bool:
        return self.tenancy_of is not None

    @property
    def protection(self) -> DataProtection:
        return DATA_PROTECTION[self.classification]

    @property
    def log_retention_days(self) -> int:
        return self.protection.log_retention_days

    @property
    def operational(self) -> bool:
        return self.environment is not None and self.environment.operational

    def identity(self, layer: Layer) -> StackIdentity:
        """The identity of this placement's stack of ``layer``."""
        return StackIdentity(
            placement=self.key,
            kind=self.kind,
            layer=layer,
            lob=self.lob.name if self.lob else None,
            environment=self.environment,
        )

    def stack_name(self, layer: Layer) -> str:
        return names.stack_name(self.key, layer.value)

    @property
    def tags(self) -> dict[str, str]:
        tags = {
            "environment": self.environment.value if self.environment else "platform",
            "data-classification": self.classification.value,
            "managed-by": "genai-platform-blueprint",
        }
        if self.lob and self.kind is PlacementKind.LOB_ENVIRONMENT:
            tags |= {"lob": self.lob.name, "cost-center": self.lob.cost_center}
        else:
            tags |= {"lob": "platform", "cost-center": "platform"}
        return tags


@dataclass(frozen=True)
class Plan:
    """Every placement of one organization, platform accounts first."""

    config: OrgConfig
    placements: tuple[Placement, ...]

    @property
    def prefix(self) -> str:
        return self.config.organization.name

    @property
    def operating_model(self) -> OperatingModel:
        return self.config.organization.operating_model

    @property
    def central_oversight(self) -> bool:
        """Whether the central team watches the LOBs (dashboards, metrics links, the central
        auditor in every account): not in the decentralized model."""
        return self.operating_model is not OperatingModel.DECENTRALIZED

    def placement(self, key: str) -> Placement:
        return next(p for p in self.placements if p.key == key)

    def central_of(self, tenancy: Placement) -> Placement | None:
        """The central team's placement in a tenancy's account and region."""
        return next(
            (
                p
                for p in self.placements
                if p.kind is PlacementKind.CENTRAL
                and (p.account, p.region) == (tenancy.account, tenancy.region)
            ),
            None,
        )

    def workspace(self, lob: LobConfig, environment: EnvironmentName) -> Placement | None:
        """Where an LOB environment's GenAI and ML layers run: its own account, or its
        tenancy in the central account."""
        return next(
            (
                p
                for p in self.lob_environments()
                if p.lob == lob and p.environment is environment and p.hosts(Layer.GENAI)
            ),
            None,
        )

    @property
    def governance(self) -> Placement:
        return next(p for p in self.placements if p.kind is PlacementKind.GOVERNANCE)

    @property
    def tooling(self) -> Placement:
        return next(p for p in self.placements if p.kind is PlacementKind.TOOLING)

    @property
    def hub(self) -> Placement | None:
        """The federated model's hub of shared assets, when the file names one."""
        return next((p for p in self.placements if p.kind is PlacementKind.HUB), None)

    def hub_consumer(self, lob: LobConfig) -> str | None:
        """The ARN of the LOB's role in the hub, when it consumes the hub."""
        hub, config = self.hub, self.config.platform.hub
        if hub is None or config is None or lob.name not in {c.lob for c in config.consumers}:
            return None
        return names.role_arn(hub.account, names.app_role_name(hub.prefix, lob.name))

    def promoted_knowledge_bases(self, lob: LobConfig) -> list[KnowledgeBaseConfig]:
        """The LOB's knowledge bases whose documents the hub reads (from its prod curated
        zone)."""
        config = self.config.platform.hub
        promoted = (
            {p.name for p in config.promoted_knowledge_bases if p.lob == lob.name}
            if config
            else set()
        )
        return [kb for kb in lob.genai.knowledge_bases if kb.name in promoted]

    def alert_emails(self, lob: LobConfig | None) -> list[str]:
        """Who hears an LOB's alarms and budget alerts: its own list, else the platform's."""
        if lob is not None and lob.alert_emails:
            return list(lob.alert_emails)
        return list(self.config.platform.alert_emails)

    def role_arn(self, placement: Placement, persona: Persona) -> str:
        """The ARN of a persona role; fixed names make it known before deployment."""
        return names.role_arn(placement.account, names.role_name(placement.prefix, persona.name))

    def unguarded_model_ids(self) -> tuple[str, ...]:
        """The catalog's embedding models and the models that parse knowledge-base documents:
        their inputs are documents being indexed, not prompts, so Bedrock calls them without a
        guardrail (the roles that may invoke them directly still need it)."""
        embedding = [m.id for m in self.config.catalog.bedrock if m.kind is ModelKind.EMBEDDING]
        parsing = sorted(
            {
                kb.parsing.model
                for lob in self.config.lobs
                for kb in lob.genai.knowledge_bases
                if kb.parsing is not None
            }
        )
        return tuple(embedding + [m for m in parsing if m not in embedding])

    def catalog(self, lob: LobConfig | None) -> list[BedrockModel]:
        """The Bedrock models an LOB may use: the organization's catalog, or the LOB's own
        choice from it (decentralized)."""
        own = lob.genai.catalog if lob else None
        return [m for m in self.config.catalog.bedrock if own is None or m.id in own]

    def approved_models(self, placement: Placement) -> list[BedrockModel]:
        """Text models of the catalog that the placement's data classification allows."""
        return [
            model
            for model in self.catalog(placement.lob)
            if model.kind is ModelKind.TEXT
            and model.max_classification.rank >= placement.classification.rank
        ]

    def guardrail_policy(self, lob: LobConfig) -> GuardrailPolicy:
        """The organization's guardrail policy with the LOB's additions (decentralized)."""
        return with_additions(self.config.guardrails, lob.genai.guardrails)

    def knowledge_bases(self, placement: Placement) -> list[KnowledgeBaseConfig]:
        if placement.lob is None or not placement.hosts(Layer.GENAI):
            return []
        return [
            kb
            for kb in placement.lob.genai.knowledge_bases
            if kb.environments is None or placement.environment in kb.environments
        ]

    def hosts_studio(self, placement: Placement) -> bool:
        """Studio (and its MLflow, unless left out) runs in the LOB's interactive environment."""
        lob = placement.lob
        return (
            lob is not None
            and placement.hosts(Layer.ML)
            and placement.environment is EnvironmentName.INTERACTIVE
            and lob.ml.studio.enabled
        )

    def fine_tuning(self, placement: Placement) -> list[FineTuningConfig]:
        """The fine-tuning pipelines: in nonprod, the LOB's model registry."""
        lob = placement.lob
        if (
            lob is None
            or not placement.hosts(Layer.ML)
            or placement.environment is not EnvironmentName.NONPROD
        ):
            return []
        return list(lob.ml.fine_tuning)

    def released_models(self, placement: Placement) -> tuple[str, ...]:
        """The fine-tuned models released to the endpoints of an operational environment (from
        the LOB's nonprod registry)."""
        lob = placement.lob
        if (
            lob is None
            or not placement.hosts(Layer.ML)
            or not placement.operational
            or lob.environments.nonprod is None
        ):
            return ()
        return promoted_models(lob)

    def gpu_endpoints(self, placement: Placement) -> list[EndpointConfig]:
        """The GPU endpoints: in the operational environments."""
        lob = placement.lob
        hosted = lob is not None and placement.hosts(Layer.ML) and placement.operational
        return list(lob.ml.endpoints) if lob and hosted else []

    def model_invokers(self, placement: Placement) -> list[Persona]:
        """Human personas that may call models: none in prod, where only applications do."""
        if placement.environment is EnvironmentName.PROD or not placement.hosts(Layer.GENAI):
            return []
        return [p for p in placement.personas if p.works_for_lob]

    def lob_environments(self) -> list[Placement]:
        return [p for p in self.placements if p.kind is PlacementKind.LOB_ENVIRONMENT]


def promoted_models(lob: LobConfig) -> tuple[str, ...]:
    """The fine-tuning pipelines whose models an endpoint of the LOB serves."""
    served = {endpoint.model for endpoint in lob.ml.endpoints}
    return tuple(tuning.name for tuning in lob.ml.fine_tuning if tuning.name in served)


def plan_for(config: OrgConfig) -> Plan:
    """The platform account pair, and the LOB environments under the operating model."""
    platform = config.platform
    home = config.organization.home_region
    prefix = config.organization.name
    platform_placements = [
        Placement(
            key=f"platform-{kind.value}",
            kind=kind,
            account=account,
            region=home,
            azs=tuple(platform.azs),
            vpc_cidr=platform.vpc_cidr,
            classification=DataClassification.RESTRICTED,
            personas=personas_in(kind, None),
            retain_stateful=True,
            termination_protection=True,
            prefix=prefix,
        )
        for kind, account in (
            (PlacementKind.GOVERNANCE, platform.governance_account),
            (PlacementKind.TOOLING, platform.tooling_account),
        )
    ]
    centralized = config.organization.operating_model is OperatingModel.CENTRALIZED
    lob_placements: list[Placement] = []
    for lob in config.lobs:
        for name, env in lob.environments.items():
            own = _lob_placement(prefix, lob, name, env)
            central = platform.central_accounts.get(name) if centralized else None
            if central is None:
                lob_placements.append(own)
                continue
            tenancy = _tenancy(own, central)
            lob_placements += [
                replace(own, layers=DATA_LAKE_LAYERS, tenancy=tenancy.key),
                tenancy,
            ]
    centrals = _central_placements(config, [p for p in lob_placements if p.is_tenancy])
    hub = config.platform.hub
    hubs = [_hub(config, hub)] if hub and not centralized else []
    return Plan(config=config, placements=(*platform_placements, *hubs, *centrals, *lob_placements))


def _lob_placement(
    prefix: str, lob: LobConfig, name: EnvironmentName, env: EnvironmentConfig
) -> Placement:
    return Placement(
        key=names.lob_placement(lob.name, name.value),
        kind=PlacementKind.LOB_ENVIRONMENT,
        account=env.account,
        region=env.region,
        azs=tuple(env.azs),
        vpc_cidr=env.vpc_cidr or DEFAULT_VPC_CIDRS[name.value],
        classification=lob.data_classification,
        personas=personas_in(PlacementKind.LOB_ENVIRONMENT, name),
        retain_stateful=name.operational or lob.retain_interactive_data,
        termination_protection=name is EnvironmentName.PROD,
        prefix=prefix,
        layers=WORKSPACE_LAYERS,
        lob=lob,
        environment=name,
    )


def _hub(config: OrgConfig, hub: HubConfig) -> Placement:
    """The hub, built as an LOB prod environment named ``HUB_LOB`` whose use cases are its
    consumers, with its own assets and the promoted ones (named ``<lob>-<name>``)."""
    lobs = {lob.name: lob for lob in config.lobs}
    promoted_prompts = [
        prompt.model_copy(update={"name": f"{p.lob}-{p.name}"})
        for p in hub.promoted_prompts
        for prompt in lobs[p.lob].genai.prompts
        if prompt.name == p.name
    ]
    promoted_knowledge_bases = [
        kb.model_copy(
            update={
                "name": f"{p.lob}-{p.name}",
                "prefix": promoted_prefix(p.lob, p.name),
                "environments": None,
            }
        )
        for p in hub.promoted_knowledge_bases
        for kb in lobs[p.lob].genai.knowledge_bases
        if kb.name == p.name
    ]
    home = config.organization.home_region
    lob = _platform_lob(
        HUB_LOB,
        hub.data_classification,
        EnvironmentName.PROD,
        EnvironmentConfig(account=hub.account, region=home, azs=hub.azs, vpc_cidr=hub.vpc_cidr),
        GenAIConfig(
            use_cases=[
                UseCase(name=c.lob, model=c.model, knowledge_bases=c.knowledge_bases)
                for c in hub.consumers
            ],
            prompts=[*hub.prompts, *promoted_prompts],
            knowledge_bases=[*hub.knowledge_bases, *promoted_knowledge_bases],
        ),
    )
    return Placement(
        key="platform-hub",
        kind=PlacementKind.HUB,
        account=hub.account,
        region=home,
        azs=tuple(hub.azs),
        vpc_cidr=hub.vpc_cidr,
        classification=hub.data_classification,
        personas=personas_in(PlacementKind.HUB, None),
        retain_stateful=True,
        termination_protection=True,
        prefix=config.organization.name,
        layers=PLATFORM_GENAI_LAYERS,
        lob=lob,
        environment=EnvironmentName.PROD,
    )


def promoted_prefix(lob: str, knowledge_base: str) -> str:
    """Where the hub keeps the documents of an LOB's promoted knowledge base."""
    return f"promoted/{lob}/{knowledge_base}/"


def _tenancy(own: Placement, account: str) -> Placement:
    """An LOB environment's GenAI and ML layers in the central account of its kind: the same
    layers, region, zones and settings, in the central account, under the LOB's own prefix."""
    assert own.lob is not None
    return replace(
        own,
        key=names.tenancy_placement(own.key),
        account=account,
        prefix=names.tenancy_prefix(own.prefix, own.lob.name),
        tenancy_of=own.key,
    )


# The central placement of a central account is built like an LOB environment of this name
# without use cases: the account's own guardrail and model invocation logging.
CENTRAL_LOB = "central"
CENTRAL_VPC_CIDR = "10.253.0.0/16"


def _central_placements(config: OrgConfig, tenancies: list[Placement]) -> list[Placement]:
    """One per central account and region with tenancies: what Bedrock configures per account
    and region (model invocation logging, the enforced guardrail) cannot belong to any one
    LOB, so the central team's placement there owns it (in the zones of the first tenancy)."""
    first: dict[tuple[str, str], Placement] = {}
    for tenancy in tenancies:
        first.setdefault((tenancy.account, tenancy.region), tenancy)
    return [
        Placement(
            key=names.central_placement(tenancy.environment.value, tenancy.region),
            kind=PlacementKind.CENTRAL,
            account=tenancy.account,
            region=tenancy.region,
            azs=tenancy.azs,
            vpc_cidr=CENTRAL_VPC_CIDR,
            classification=DataClassification.RESTRICTED,
            personas=personas_in(PlacementKind.CENTRAL, None),
            retain_stateful=True,
            termination_protection=tenancy.environment is EnvironmentName.PROD,
            prefix=names.central_prefix(config.organization.name, tenancy.region),
            layers=PLATFORM_GENAI_LAYERS,
            lob=_platform_lob(
                CENTRAL_LOB,
                DataClassification.RESTRICTED,
                tenancy.environment,
                EnvironmentConfig(
                    account=tenancy.account,
                    region=tenancy.region,
                    azs=list(tenancy.azs),
                    vpc_cidr=CENTRAL_VPC_CIDR,
                ),
                GenAIConfig(),
            ),
            environment=tenancy.environment,
        )
        for tenancy in first.values()
        if tenancy.environment is not None
    ]


def _platform_lob(
    name: str,
    classification: DataClassification,
    environment: EnvironmentName,
    env: EnvironmentConfig,
    genai: GenAIConfig,
) -> LobConfig:
    """A placement of the central team built with an LOB environment's stacks."""
    return LobConfig(
        name=name,
        cost_center="platform",
        data_classification=classification,
        budget_usd_month=1,
        environments=EnvironmentsConfig(**{environment.value: env}),
        genai=genai,
    )
