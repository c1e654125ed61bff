"""The plan of an organization: its placements under the operating model, made in one place.

The operating model (``organization.operating_model``) is decided here and nowhere else:

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

from dataclasses import replace

from blueprint.model import names
from blueprint.model.config import LobConfig, OrgConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.identity import Layer, PlacementKind
from blueprint.model.personas import personas_in
from blueprint.model.plan import Placement, Plan
from blueprint.model.sections.environments import (
    DEFAULT_VPC_CIDRS,
    EnvironmentConfig,
    EnvironmentsConfig,
)
from blueprint.model.sections.genai import GenAIConfig, UseCase
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.platform import HubConfig
from blueprint.model.sections.values import DataClassification

# The hub and the central placements of central accounts: no ML layer.
PLATFORM_GENAI_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI)
# The hub is built like an LOB prod environment of this name (its use cases are its consumers).
HUB_LOB = "hub"
DATA_LAKE_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA)
WORKSPACE_LAYERS = (Layer.SECURITY, Layer.FOUNDATION, Layer.DATA, Layer.GENAI, Layer.ML)


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
