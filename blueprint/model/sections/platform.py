"""The platform section: the central team's accounts, the organization trail, the delivery
pipeline, the central GenAI accounts and the federated model's hub."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from blueprint.model.fields import EnvironmentName, Model, matching
from blueprint.model.sections.agents import HubAgentConfig, ToolConfig
from blueprint.model.sections.genai import KnowledgeBaseConfig, PromptConfig
from blueprint.model.sections.values import (
    UNIQUE_ITEMS,
    AccountId,
    AlertEmails,
    AvailabilityZones,
    Cidr,
    DataClassification,
    EmailAddress,
    OwnerSlashName,
    Region,
    Slug,
    unique,
)

GuardrailVersionText = Annotated[
    str,
    matching(
        r"^[1-9]\d*$",
        "a guardrail version number such as 1, quoted",
    ),
]


class OrgGuardrail(Model):
    """A guardrail of the management account that the Bedrock organization policy enforces."""

    arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:guardrail/\w+$",
            "a Bedrock guardrail ARN, arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID",
        ),
    ]
    """The management account's guardrail."""
    version: GuardrailVersionText
    """Its version, quoted."""


class PipelineConfig(Model):
    """The delivery pipeline in the tooling account (opt-in: ``cdk synth -c pipeline=true``)."""

    connection_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:codeconnections:[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$",
            "a CodeConnections ARN, arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID",
        ),
    ]
    """The CodeConnections connection to the repository."""
    repository: OwnerSlashName
    """The repository the pipeline builds."""
    branch: Annotated[str, Field(min_length=1, max_length=255)] = "main"
    """The branch it builds."""


class CentralAccountsConfig(Model):
    """One central GenAI account per environment kind (used when the operating model is
    centralized). Each LOB environment's tenancy is in the LOB environment's own region and
    zones, so its data stays where the LOB keeps it."""

    interactive: AccountId | None = None
    """The central GenAI account of interactive environments (centralized model); used once."""
    nonprod: AccountId | None = None
    """The central GenAI account of nonprod environments (centralized model); used once."""
    prod: AccountId | None = None
    """The central GenAI account of prod environments (centralized model); used once."""

    def get(self, name: EnvironmentName) -> str | None:
        value: str | None = getattr(self, name.value)
        return value


class AcknowledgmentReview(Model):
    """Who answers for the acknowledgments of the rules starting with ``rule`` (e.g.
    ``AwsSolutions-IAM5`` or ``NIST.800.53.R5-``), and until when they stand."""

    rule: Annotated[str, Field(min_length=2, max_length=128)]
    """A rule ID or its prefix, e.g. AwsSolutions-IAM5 or NIST.800.53.R5-."""
    owner: EmailAddress
    """Who answers for those acknowledgments."""
    expires: date
    """When they must be reviewed again; the audit report flags them EXPIRED after it."""


class PlatformConfig(Model):
    """The central platform team's accounts, in the home region."""

    governance_account: AccountId
    """The central team's account: organization trail and log archive, the central auditor,
    dashboards and metrics sinks, the audit view. Used once."""
    tooling_account: AccountId
    """The CI/CD account. Used once."""
    azs: AvailabilityZones
    """Availability zones of the platform accounts, 2-6 zones of home_region (validate checks the
    region)."""
    vpc_cidr: Cidr = "10.255.0.0/16"
    """VPC range of the platform accounts."""
    alert_emails: AlertEmails
    """Budget and alarm recipients of LOBs without their own, each once."""
    metrics_sinks: dict[
        Region,
        Annotated[
            str,
            matching(
                r"^arn:aws[a-z-]*:oam:[a-z0-9-]+:\d{12}:sink/[0-9a-f-]{36}$",
                "an OAM sink ARN, arn:aws:oam:REGION:ACCOUNT:sink/UUID",
            ),
        ],
    ] = {}
    """Per region, the governance account's metrics sink (the MetricsSinkArn output of platform-
    governance-audit and of each platform-governance-metrics-sink-<region> after their first
    deploy); LOB accounts of that region then link their metrics for the dashboards. Once given,
    one for every region with LOB environments."""
    trail_retention_days: Annotated[int, Field(ge=1, le=36500)] = 2557
    """Object-lock retention of the organization trail."""
    org_guardrail: OrgGuardrail | None = None
    """A management-account guardrail that the Bedrock organization policy enforces."""
    pipeline: PipelineConfig | None = None
    """The delivery pipeline in the tooling account (opt-in: cdk synth -c pipeline=true)."""
    acknowledgment_reviews: list[AcknowledgmentReview] = []
    """Owner and expiry of the acknowledgments of rules, shown beside them in the audit report."""
    central_accounts: CentralAccountsConfig = CentralAccountsConfig()
    """The central GenAI accounts of the centralized operating model."""
    hub: HubConfig | None = None
    """The federated model's hub (federated only)."""


# A hub asset's name: its own (a slug), or a promoted one's ``<lob>-<name>``.
HubAssetName = Annotated[
    str, matching(r"^[a-z][a-z0-9-]{2,48}$", "a hub knowledge base name such as claims-policies")
]


class Promotion(Model):
    """An asset of an LOB's prod environment promoted to the hub: the LOB and the asset's
    name there."""

    lob: Slug
    """An LOB with prod."""
    name: Slug
    """Its prompt or knowledge base."""


class HubConsumer(Model):
    """An LOB that uses the hub: through its own role there, with ``model`` and the hub's
    ``knowledge_bases`` (names as the hub knows them: a promoted one is ``<lob>-<name>``)."""

    lob: Slug
    """The LOB, at or above the hub's classification."""
    model: str
    """A model of the catalog approved for the hub's classification."""
    knowledge_bases: Annotated[list[HubAssetName], AfterValidator(unique), UNIQUE_ITEMS] = []
    """Hub knowledge bases it retrieves from, by hub name (a promoted one is <lob>-<name>)."""
    agents: Annotated[list[Slug], AfterValidator(unique), UNIQUE_ITEMS] = []
    """Hub agents its applications invoke, through its role in the hub."""


class HubConfig(Model):
    """The federated model's hub: an account of the central team, in the home region, for
    the assets LOBs share (prompts, knowledge bases, the guardrail they run under there).
    """

    account: AccountId
    """The hub's account, used once."""
    azs: AvailabilityZones
    """Availability zones in the home region."""
    vpc_cidr: Cidr = "10.254.0.0/16"
    """The hub's VPC range."""
    data_classification: DataClassification = DataClassification.INTERNAL
    """The most sensitive data the hub holds."""
    prompts: list[PromptConfig] = []
    """The hub's own prompts."""
    knowledge_bases: list[KnowledgeBaseConfig] = []
    """The hub's own knowledge bases."""
    promoted_prompts: list[Promotion] = []
    """LOB prompts the hub publishes (as <lob>-<name>)."""
    promoted_knowledge_bases: list[Promotion] = []
    """LOB knowledge bases the hub rebuilds from the documents of the LOB's prod curated zone
    (under promoted/<lob>/<name>/ in the hub); promoted LOBs at or below the hub's
    classification."""
    consumers: list[HubConsumer] = []
    """The LOBs that use the hub, each through its own role there."""
    tools: list[ToolConfig] = []
    """The tools the hub's agents may call (searching the hub's knowledge bases, or APIs)."""
    agents: list[HubAgentConfig] = []
    """Shared agents, invoked by the consumers that list them."""
