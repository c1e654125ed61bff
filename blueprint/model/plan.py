"""Placement: which account hosts which part of the platform, decided in one place.

Stacks never look at the config to decide where they go: ``blueprint.model.inputs`` turns a
placement into each stack's inputs. A ``Placement`` is one account and region and what the
platform puts there; the ``Plan`` holds every placement of the organization and answers what
each one hosts. ``blueprint.model.placing.plan_for`` makes the plan under the operating model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar, cast

from blueprint.model import names
from blueprint.model.config import LobConfig, OrgConfig
from blueprint.model.fields import EnvironmentName
from blueprint.model.guardrail import GuardrailPolicy, with_additions
from blueprint.model.identity import Layer, PlacementKind, StackIdentity
from blueprint.model.personas import Persona
from blueprint.model.sections.catalog import BedrockModel, ModelKind
from blueprint.model.sections.genai import KnowledgeBaseConfig
from blueprint.model.sections.ml import EndpointConfig, FineTuningConfig
from blueprint.model.sections.organization import OperatingModel
from blueprint.model.sections.values import DataClassification

T = TypeVar("T")


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
        found = self._workspaces.get((lob.name, environment))
        return found if found is not None and (found.lob is lob or found.lob == lob) else None

    @cached_property
    def _workspaces(self) -> dict[tuple[str, EnvironmentName], Placement]:
        found: dict[tuple[str, EnvironmentName], Placement] = {}
        for p in self._lob_environments:
            if p.lob is not None and p.environment is not None and p.hosts(Layer.GENAI):
                found.setdefault((p.lob.name, p.environment), p)
        return found

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
        return list(self._lob_environments)

    @cached_property
    def _lob_environments(self) -> tuple[Placement, ...]:
        return tuple(p for p in self.placements if p.kind is PlacementKind.LOB_ENVIRONMENT)

    def remembered(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, once per plan and ``key`` (a plan never changes): what is planned
        from the whole plan, such as the delivery pipelines' rollout, asked per placement."""
        if key not in self._remembered:
            self._remembered[key] = compute()
        return cast(T, self._remembered[key])

    @cached_property
    def _remembered(self) -> dict[str, object]:
        return {}


def promoted_models(lob: LobConfig) -> tuple[str, ...]:
    """The fine-tuning pipelines whose models an endpoint of the LOB serves."""
    served = {endpoint.model for endpoint in lob.ml.endpoints}
    return tuple(tuning.name for tuning in lob.ml.fine_tuning if tuning.name in served)
