"""The organization file, as typed pydantic models.

Field-level rules live on the models; rules that relate several parts of the file
(regions against ``allowed_regions``, accounts used twice, duplicate LOB names) live in
``blueprint.model.rules`` so that they run even when another part of the file is malformed.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    Tag,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from blueprint.model.fields import (
    EnvironmentName,
    Model,
    described,
    matching,
    one_of,
)
from blueprint.model.guardrail import GuardrailOverrides, GuardrailPolicy
from genai_constructs.endpoint_types import endpoint_names
from genai_constructs.gpu_memory import GPU_FAMILIES, GPU_INSTANCES, LORA_MODULES, DecoderShape
from genai_constructs.naming import ACCOUNT_ID, ORGANIZATION_ID, ORGANIZATION_ROOT_ID

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
ENVIRONMENT_NAMES = ("interactive", "nonprod", "prod")


GuardrailVersionText = Annotated[
    str,
    matching(
        r"^[1-9]\d*$",
        "a guardrail version number such as 1, quoted",
    ),
]

OwnerSlashName = Annotated[
    str,
    matching(
        r"^[\w.-]+/[\w.-]+$",
        "OWNER/NAME",
    ),
]

KeyPrefix = Annotated[
    str,
    matching(
        r"^[a-zA-Z0-9!_.*'()/-]*/$",
        "an S3 key prefix ending with '/'",
    ),
]


S3Prefix = Annotated[
    str,
    matching(
        r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(?:[^*?]+/)?$",
        "an S3 prefix such as s3://bucket/prefix/ (ending with '/', no wildcards)",
    ),
]


def _account_id(value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"'{value}' is not an AWS account id; allowed: exactly 12 digits, quoted")
    return value


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"'{value}' is not a valid name; allowed: 3-24 characters, lower-case letters, "
            "digits and '-', starting with a letter"
        )
    return value


def _region(value: str) -> str:
    if not REGION.match(value):
        parts = re.fullmatch(r"([a-z]{2})-?([a-z]+)-?(\d)", value)
        meant = f"{parts[1]}-{parts[2]}-{parts[3]}" if parts else None
        hint = f" (did you mean '{meant}'?)" if meant and REGION.match(meant) else ""
        raise ValueError(f"'{value}' is not an AWS region code{hint}; allowed: e.g. eu-west-1")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not an IPv4 CIDR block; allowed: e.g. 10.0.0.0/16"
        ) from None
    if not network.is_private or not 16 <= network.prefixlen <= 22:
        raise ValueError(f"'{value}' must be a private range with a prefix between /16 and /22")
    return value


def _unique(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries {duplicates}; allowed: each value once")
    return values


AccountId = Annotated[
    str,
    AfterValidator(_account_id),
    described(ACCOUNT_ID.pattern, "an AWS account ID: 12 digits, quoted"),
]
Slug = Annotated[
    str,
    AfterValidator(_slug),
    described(
        SLUG.pattern,
        "a name: 3-24 lower-case letters, digits and '-', starting with a letter",
    ),
]
Region = Annotated[
    str, AfterValidator(_region), described(REGION.pattern, "an AWS region code such as eu-west-1")
]
Cidr = Annotated[
    str,
    AfterValidator(_cidr),
    described(
        r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-2])$",
        "a private IPv4 range, /16 to /22, such as 10.0.0.0/16",
    ),
]
AvailabilityZones = Annotated[list[str], Field(min_length=2, max_length=6), AfterValidator(_unique)]


class DataClassification(StrEnum):
    """How sensitive an LOB's data is; drives model access and storage settings."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return list(DataClassification).index(self)


class OperatingModel(StrEnum):
    """Who runs what (the reference guide's three operating models).

    federated: the central team governs (catalog, guardrail policy, audit view) and each LOB
    runs its GenAI and ML workloads on its own data in its own accounts.
    centralized: a central GenAI account per environment kind runs every LOB's GenAI and ML
    workloads, one isolated tenancy per LOB; LOB accounts keep their data lakes.
    decentralized: each LOB runs everything in its own accounts with its own model catalog
    and guardrail (within the organization's); central governance is only the organization's
    policies and the log archive.
    """

    FEDERATED = "federated"
    CENTRALIZED = "centralized"
    DECENTRALIZED = "decentralized"


class OrganizationConfig(Model):
    name: Slug
    """Prefix of persona role and boundary names."""
    id: Annotated[
        str,
        matching(
            ORGANIZATION_ID.pattern,
            "an AWS Organizations id, o- and 10-32 lower-case letters or digits",
        ),
    ]
    """The AWS Organizations organization."""
    root_id: Annotated[
        str,
        matching(
            ORGANIZATION_ROOT_ID.pattern,
            "an organization root id, r- and 4-32 lower-case letters or digits",
        ),
    ]
    """The organization's root, where the organization policies attach."""
    management_account: AccountId
    """The AWS Organizations management account."""
    home_region: Region
    """Region of the platform accounts; one of allowed_regions (validate checks)."""
    allowed_regions: Annotated[list[Region], Field(min_length=1), AfterValidator(_unique)]
    """Regions any environment may use, each once; the organization policies deny the others."""
    operating_model: OperatingModel = OperatingModel.FEDERATED
    """Who runs what: federated (the central team governs, each LOB runs its workloads in its own
    accounts), centralized (central GenAI accounts run every LOB's workloads, one tenancy per
    LOB) or decentralized (each LOB runs everything with its own catalog and guardrail within
    the organization's). Centralized needs a central account for each environment kind the LOBs
    have."""
    identity: IdentityConfig | None = None
    """IAM Identity Center: how people sign in (docs: Workforce identity)."""


GroupName = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        "a group name of the identity source: letters, digits and ._- (at most 128)",
    ),
]


class Assignment(Model):
    """Members of ``group`` become ``persona`` in the accounts selected: the environments of
    ``lobs`` (``environments``, default each one where the persona exists) and, with
    ``platform: true``, the platform's own accounts (governance, tooling, hub, central)."""

    group: GroupName
    """A group declared under groups."""
    # One of the persona records (blueprint/model/personas.py); validation names them.
    persona: Slug
    """A persona of the platform, where it exists (validate names them)."""
    lobs: Annotated[list[Slug], AfterValidator(_unique)] = []
    """LOBs of this file whose environments the group signs in to."""
    environments: Annotated[list[EnvironmentName], AfterValidator(_unique)] = []
    """Which of those LOBs' environments; default each one where the persona exists."""
    platform: StrictBool = False
    """Also the platform's own accounts (governance, tooling, hub, central)."""


class BreakGlass(Model):
    """The group whose members may take the break-glass role of every account (an
    administrator outside the persona model; every use raises an alarm)."""

    group: GroupName
    """A group declared under groups."""


class IdentityConfig(Model):
    """IAM Identity Center: how people sign in (docs: Workforce identity)."""

    instance_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:sso:::instance/ssoins-[a-f0-9]{16}$",
            "an Identity Center instance ARN, arn:aws:sso:::instance/ssoins-<16 hex>",
        ),
    ]
    """The Identity Center instance."""
    identity_store_id: Annotated[
        str, matching(r"^d-[0-9a-f]{10}$", "an identity store ID, d-<10 hex>")
    ]
    """The instance's identity store."""
    admin_account: AccountId | None = None
    """Where permission sets and assignments are deployed: the management account (default) or the
    delegated administrator of Identity Center."""
    groups: Annotated[
        dict[
            GroupName,
            Annotated[
                str,
                matching(
                    r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                    "a group ID of the identity store (a UUID, optionally after <10 hex>-)",
                ),
            ],
        ],
        Field(min_length=1),
    ]
    """The groups of the identity source, by name: each group's ID in the store, each ID once."""
    assignments: Annotated[list[Assignment], Field(min_length=1)]
    """Which group becomes which persona where; each assignment selects at least one account."""
    break_glass: BreakGlass | None = None
    """The group that may take the break-glass role of every account."""
    session_hours: Annotated[int, Field(ge=1, le=12)] = 1
    """How long a sign-in session lasts."""


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


EmailAddress = Annotated[
    str, matching(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address such as team@example.com")
]
AlertEmails = Annotated[
    list[EmailAddress], Field(min_length=1, max_length=10), AfterValidator(_unique)
]


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


# Each environment of an LOB gets its own range unless the file names one: the environments'
# VPCs never overlap, so they can be connected later (shared endpoints, peering) without
# renumbering.
DEFAULT_VPC_CIDRS = {
    "interactive": "10.0.0.0/16",
    "nonprod": "10.1.0.0/16",
    "prod": "10.2.0.0/16",
}


def _endpoint(value: str) -> str:
    if value not in endpoint_names():
        raise ValueError(
            f"'{value}' is not an interface endpoint of the platform; allowed: "
            f"{', '.join(endpoint_names())}"
        )
    return value


class EnvironmentConfig(Model):
    """One environment's account and network."""

    account: AccountId
    """The environment's account, never shared with another LOB, environment or platform account."""
    region: Region
    """The environment's region, one of allowed_regions."""
    azs: AvailabilityZones
    """Availability zones of its VPC, 2-6 zones of its region."""
    vpc_cidr: Cidr | None = None
    """VPC range; default 10.0.0.0/16 interactive, 10.1.0.0/16 nonprod, 10.2.0.0/16 prod. The
    environments of one LOB do not overlap."""
    extra_endpoints: Annotated[
        list[Annotated[str, AfterValidator(_endpoint), one_of(endpoint_names())]],
        AfterValidator(_unique),
    ] = []
    """Interface endpoints beyond those the platform's own workloads use (e.g. Logs, EcrApi and
    EcrDocker for ECS tasks of the applications), each once."""
    endpoint_azs: Literal[1] | None = None
    """1 puts the interface endpoints in the first zone only (interactive environments: half the
    endpoint cost, no zone redundancy); default every zone."""


class EnvironmentsConfig(Model):
    interactive: EnvironmentConfig | None = None
    """The interactive environment (Studio, experiments), its own account."""
    nonprod: EnvironmentConfig | None = None
    """The nonprod environment (pipelines, evaluation), its own account."""
    prod: EnvironmentConfig | None = None
    """The prod environment (serving), its own account."""

    def items(self) -> list[tuple[EnvironmentName, EnvironmentConfig]]:
        pairs = [(name, getattr(self, name.value)) for name in EnvironmentName]
        return [(name, env) for name, env in pairs if env is not None]


class ModelKind(StrEnum):
    TEXT = "text"
    EMBEDDING = "embedding"


class CrossRegionProfile(Model):
    """A system-defined cross-region inference profile and every region it may route to."""

    prefix: Annotated[
        str,
        matching(
            r"^(us|eu|apac|jp|au|ca|us-gov|global)$",
            "one of us, eu, apac, jp, au, ca, us-gov, global",
        ),
    ]
    """The system inference profile's prefix."""
    regions: Annotated[list[Region], Field(min_length=1), AfterValidator(_unique)]
    """Every region the profile may route to, within allowed_regions."""


class BedrockModel(Model):
    """A model the central team approves, and the most sensitive data it may see."""

    id: Annotated[
        str,
        matching(
            r"^[a-z0-9-]+\.[a-z0-9.-]+(:[a-z0-9-]+){0,2}$",
            "a Bedrock model id such as amazon.nova-pro-v1:0",
        ),
    ]
    """The Bedrock model ID, each once in the catalog."""
    kind: ModelKind = ModelKind.TEXT
    """A text model or an embedding model."""
    max_classification: DataClassification
    """The most sensitive data the model may see."""
    inference_profile: CrossRegionProfile | None = None
    """A system cross-region inference profile the model is called through."""
    dimensions: Annotated[int, Field(ge=256, le=4096)] = 1024
    """Vector dimensions (embedding models)."""


def _gpu_instance(value: str) -> str:
    if value not in GPU_INSTANCES:
        raise ValueError(
            f"'{value}' is not a SageMaker GPU instance type; allowed: ml.<family>.<size> of "
            f"families {', '.join(GPU_FAMILIES)} in the sizes SageMaker offers, e.g. "
            "ml.g5.2xlarge or ml.g5.12xlarge (4 GPUs)"
        )
    return value


GpuInstance = Annotated[str, AfterValidator(_gpu_instance), one_of(GPU_INSTANCES)]


class ModelArchitecture(Model):
    """The shape of an open-weights model (its config.json): what the GPU memory check needs.

    A decoder with a gated MLP (Llama, Mistral, Qwen, Gemma)."""

    layers: Annotated[int, Field(ge=1, le=512)]
    """From the model's config.json (num_hidden_layers)."""
    hidden_size: Annotated[int, Field(ge=64, le=65536)]
    """From config.json."""
    intermediate_size: Annotated[int, Field(ge=64, le=262144)]
    """From config.json."""
    vocab_size: Annotated[int, Field(ge=256, le=1048576)]
    """From config.json."""
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    """From config.json (num_attention_heads); divides hidden_size."""
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    """From config.json (num_key_value_heads); divides attention_heads."""
    tied_embeddings: bool = False
    """From config.json (tie_word_embeddings)."""

    @model_validator(mode="after")
    def _heads_divide(self) -> ModelArchitecture:
        if self.hidden_size % self.attention_heads or self.attention_heads % self.kv_heads:
            raise ValueError(
                f"attention_heads ({self.attention_heads}) must divide hidden_size "
                f"({self.hidden_size}) and kv_heads ({self.kv_heads}) must divide "
                "attention_heads; allowed: the values of the model's config.json"
            )
        return self

    def shape(self) -> DecoderShape:
        return DecoderShape(**self.model_dump())


class OpenWeightsModel(Model):
    """An open-weights model the LOBs may fine-tune and host in their own accounts;
    ``source`` is the organization's approved copy of its weights (the files of
    ``hf_model_id``), which each LOB that fine-tunes it stages from; ``sha256`` its approved
    digest (the import manifest's), which an import then requires of the source."""

    id: Slug
    """The name LOBs use for the model."""
    hf_model_id: OwnerSlashName
    """The model's Hugging Face ID."""
    source: S3Prefix | None = None
    """The organization's approved copy of the model's files, which each LOB that fine-tunes it
    stages from; required once an LOB fine-tunes the model."""
    sha256: Annotated[
        str | None,
        matching(r"^[0-9a-f]{64}$", "a SHA-256 digest: 64 lower-case hex digits"),
    ] = None
    """The approved copy's digest, as an import's manifest.json gives it; required with source."""
    architecture: ModelArchitecture
    """The model's shape, for the GPU memory check."""
    training_instance: GpuInstance
    """The SageMaker GPU instance type that fine-tunes it."""
    serving_instance: GpuInstance
    """The SageMaker GPU instance type that serves it."""
    max_classification: DataClassification = DataClassification.RESTRICTED
    """The most sensitive data the model may see."""


class CatalogConfig(Model):
    bedrock: Annotated[list[BedrockModel], Field(min_length=1)]
    """The Bedrock models the central team approves."""
    open_weights: list[OpenWeightsModel] = []
    """The open-weights models LOBs may fine-tune and host."""


class RagEvaluationConfig(Model):
    """The offline evaluation of a use case's answers on a question set in the curated zone;
    a score below its threshold blocks the release to prod."""

    questions_key: (
        Annotated[
            str,
            matching(
                r"^[A-Za-z0-9!_.*'()/-]+\.jsonl$",
                "an object key of the curated zone ending in .jsonl, e.g. "
                "evaluation/claims-assistant/questions.jsonl",
            ),
        ]
        | None
    ) = None
    """The question set's key in the curated zone; default evaluation/<use case>/questions.jsonl."""
    faithfulness: Annotated[float, Field(ge=0, le=1)] = 0.7
    """Threshold: answers supported by their retrieved passages."""
    answer_relevance: Annotated[float, Field(ge=0, le=1)] = 0.3
    """Threshold: answers that address the question."""
    context_precision: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Threshold: retrieved passages that are relevant."""


class RagConfig(Model):
    """How a use case answers from its knowledge bases."""

    answer_api: bool = True
    """An answer API (function URL, IAM auth) the application calls."""
    memory_turns: Annotated[int, Field(ge=0, le=20)] = 0
    """How many earlier turns a request may carry (the application keeps them; the platform stores
    no conversation); 0 turns memory off."""
    results: Annotated[int, Field(ge=1, le=100)] = 5
    """Passages retrieved per question."""
    evaluation: RagEvaluationConfig = RagEvaluationConfig()
    """The offline evaluation that gates the release to prod."""


class UseCase(Model):
    """An application of the LOB: its own role and inference profile, so that access and cost
    follow the use case.
    """

    name: Slug
    """The use case; it gets one inference profile and one application role."""
    model: str
    """A text model of the catalog allowed for the LOB's classification."""
    knowledge_bases: Annotated[list[Slug], AfterValidator(_unique)] = []
    """The LOB's own knowledge bases it retrieves from."""
    endpoints: Annotated[list[Slug], AfterValidator(_unique)] = []
    """The LOB's own GPU endpoints it calls."""
    rag: RagConfig = RagConfig()
    """Its answer API and evaluation; only on use cases with knowledge bases."""

    @model_validator(mode="after")
    def _rag_needs_knowledge_bases(self) -> UseCase:
        if "rag" in self.model_fields_set and not self.knowledge_bases:
            raise ValueError(
                "rag is set but the use case retrieves from no knowledge base; allowed: rag "
                "with knowledge_bases, or no rag"
            )
        return self

    @property
    def evaluation_questions_key(self) -> str:
        return self.rag.evaluation.questions_key or f"evaluation/{self.name}/questions.jsonl"


class PromptConfig(Model):
    name: Slug
    """The prompt's name."""
    model: str
    """A text model of the catalog allowed for the LOB's classification."""
    template: Annotated[str, Field(min_length=1, max_length=20000)]
    """The prompt, with {{variable}} placeholders."""
    description: str = ""
    """What the prompt is for."""
    temperature: Annotated[float, Field(ge=0, le=1)] = 0.2
    """Sampling temperature."""
    max_tokens: Annotated[int, Field(ge=1, le=8192)] = 512
    """Longest answer, in tokens."""


class VectorStoreKind(StrEnum):
    S3_VECTORS = "s3vectors"
    OPENSEARCH_SERVERLESS = "opensearch-serverless"


SCHEDULE = re.compile(r"^(rate\((1 day|([2-9]|[1-9]\d+) days)\)|cron\((\S+ ){5}\S+\))$")


def _schedule(value: str) -> str:
    if not SCHEDULE.match(value):
        raise ValueError(
            f"'{value}' is not an EventBridge schedule; allowed: rate(1 day), rate(N days) or "
            "cron(minutes hours day-of-month month day-of-week year), e.g. "
            "cron(0 3 ? * MON *)"
        )
    return value


Schedule = Annotated[
    str,
    AfterValidator(_schedule),
    described(SCHEDULE.pattern, "rate(1 day), rate(N days) or cron(...) of six fields"),
]


# Bedrock's bounds for a chunk (tokens of the embedding model's tokenizer).
ChunkTokens = Annotated[int, Field(ge=20, le=8192)]


class FixedSizeChunking(Model):
    """Chunks of at most ``max_tokens``, consecutive chunks sharing ``overlap_percent``."""

    strategy: Literal["fixed-size"]
    """Fixed-size chunks."""
    max_tokens: ChunkTokens = 300
    """Largest chunk, in tokens."""
    overlap_percent: Annotated[int, Field(ge=1, le=99)] = 20
    """Share of a chunk repeated in the next."""


class HierarchicalChunking(Model):
    """Parent chunks for context, child chunks for retrieval (a child's match returns its
    parent)."""

    strategy: Literal["hierarchical"]
    """Parent and child chunks."""
    parent_max_tokens: ChunkTokens = 1500
    """Largest parent chunk, in tokens."""
    child_max_tokens: ChunkTokens = 300
    """Largest child chunk, below parent_max_tokens."""
    overlap_tokens: Annotated[int, Field(ge=1, le=8192)] = 60
    """Tokens repeated between chunks, below child_max_tokens."""

    @model_validator(mode="after")
    def _children_fit(self) -> HierarchicalChunking:
        if self.child_max_tokens >= self.parent_max_tokens:
            raise ValueError(
                f"child_max_tokens ({self.child_max_tokens}) is not below parent_max_tokens "
                f"({self.parent_max_tokens}); allowed: child_max_tokens < parent_max_tokens"
            )
        if self.overlap_tokens >= self.child_max_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) is not below child_max_tokens "
                f"({self.child_max_tokens}); allowed: overlap_tokens < child_max_tokens"
            )
        return self


class SemanticChunking(Model):
    """Chunks split where the meaning of consecutive sentences changes most."""

    strategy: Literal["semantic"]
    """Chunks split by meaning."""
    max_tokens: ChunkTokens = 300
    """Largest chunk, in tokens."""
    buffer_size: Annotated[int, Field(ge=0, le=1)] = 0
    """Sentences on each side compared for a breakpoint."""
    breakpoint_percentile: Annotated[int, Field(ge=50, le=99)] = 95
    """How large a change in meaning splits a chunk."""


class NoChunking(Model):
    """Each document is one chunk (documents split before they land)."""

    strategy: Literal["none"]
    """Each document is one chunk."""


CHUNKING_STRATEGIES = ("fixed-size", "hierarchical", "semantic", "none")


def _chunking_tag(value: Any) -> str | None:
    """The union member a chunking entry is; tags in brackets, as pydantic writes its own
    labels, so that error paths name the YAML keys only."""
    strategy = (
        value.get("strategy") if isinstance(value, dict) else getattr(value, "strategy", None)
    )
    return f"[{strategy}]" if strategy in CHUNKING_STRATEGIES else None


Chunking = Annotated[
    Annotated[FixedSizeChunking, Tag("[fixed-size]")]
    | Annotated[HierarchicalChunking, Tag("[hierarchical]")]
    | Annotated[SemanticChunking, Tag("[semantic]")]
    | Annotated[NoChunking, Tag("[none]")],
    Discriminator(
        _chunking_tag,
        custom_error_type="chunking_strategy",
        custom_error_message=f"strategy must be one of {', '.join(CHUNKING_STRATEGIES)}",
    ),
]


class ParsingConfig(Model):
    """Parse documents (tables, figures, scanned pages) with a catalog model before chunking."""

    model: str
    """A text model of the catalog allowed for the LOB's classification."""


class IngestionConfig(Model):
    """When documents are indexed: as they land in the prefix, and on a schedule (which also
    picks up deletions and anything an event missed)."""

    on_upload: bool = True
    """Index documents as they land in the prefix."""
    schedule: Schedule | None = "rate(1 day)"
    """Also index on a schedule; null for none."""


class KnowledgeBaseConfig(Model):
    """A RAG knowledge base on the LOB's curated zone and a vector store the LOB owns."""

    name: Slug
    """The knowledge base; OpenSearch names (<lob>-<env>-<name> and its policies) longer than 32
    characters keep their start and a hash of the whole name."""
    embedding_model: str
    """An embedding model of the catalog."""
    vector_store: VectorStoreKind = VectorStoreKind.S3_VECTORS
    """Where the vectors are kept."""
    prefix: KeyPrefix | None = None
    """The documents' prefix in the curated zone; default <name>/."""
    environments: list[EnvironmentName] | None = None
    """The LOB's environments that get it; default all."""
    chunking: Chunking = FixedSizeChunking(strategy="fixed-size")
    """How documents are split; default Bedrock's fixed-size chunking made explicit."""
    parsing: ParsingConfig | None = None
    """Parse documents with a model before chunking; default Bedrock's text parser."""
    ingestion: IngestionConfig = IngestionConfig()
    """When documents are indexed."""

    @property
    def source_prefix(self) -> str:
        return self.prefix or f"{self.name}/"


def _lora_module(value: str) -> str:
    if value not in LORA_MODULES:
        raise ValueError(
            f"'{value}' is not a projection LoRA can adapt; allowed: {', '.join(LORA_MODULES)}"
        )
    return value


class FineTuningConfig(Model):
    """A LoRA (or 4-bit QLoRA) fine-tuning pipeline on the LOB's training zone (nonprod),
    whose approved models are promoted to the LOB's prod endpoints."""

    name: Slug
    """The pipeline's name."""
    base_model: str
    """An open-weights model of the catalog approved for the LOB's classification; the run must fit
    each GPU of its training instance (validate checks)."""
    method: Literal["lora", "qlora"] = "lora"
    """LoRA, or QLoRA on 4-bit weights."""
    dataset_prefix: KeyPrefix | None = None
    """The training data's prefix in the training zone; default <name>/."""
    rouge_l_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3
    """The evaluation score a model needs to be registered for approval."""
    max_runtime_hours: Annotated[int, Field(ge=1, le=72)] = 8
    """Longest training run."""
    epochs: Annotated[int, Field(ge=1, le=20)] = 2
    """Passes over the data."""
    batch_size: Annotated[int, Field(ge=1, le=256)] = 4
    """Examples per GPU per step."""
    max_length: Annotated[int, Field(ge=32, le=32768)] = 512
    """Longest example, in tokens."""
    lora_r: Annotated[int, Field(ge=1, le=256)] = 16
    """The LoRA rank."""
    target_modules: Annotated[
        list[Annotated[str, AfterValidator(_lora_module), one_of(LORA_MODULES)]],
        Field(min_length=1),
        AfterValidator(_unique),
    ] = ["q_proj", "v_proj"]
    """The projections LoRA adapts, each once."""
    gradient_checkpointing: bool = True
    """Recompute activations to save GPU memory."""
    spot: bool = True
    """Train on spot capacity."""
    retrain_schedule: Schedule | None = None
    """Run the pipeline on a schedule."""
    recipe_image: (
        Annotated[
            str,
            matching(
                r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+"
                r"@sha256:[0-9a-f]{64}$",
                "an ECR image URI pinned by digest, "
                "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:DIGEST (whoever may "
                "push a tag could change what the pipeline runs)",
            ),
        ]
        | None
    ) = None
    """The training image, built from genai_constructs/training/Dockerfile and pushed to the recipe
    repository of the LOB's nonprod account (validate checks); jobs cannot start without it."""

    @property
    def source_prefix(self) -> str:
        return self.dataset_prefix or f"{self.name}/"


class EndpointConfig(Model):
    """A real-time GPU endpoint serving an open-weights or fine-tuned model."""

    name: Slug
    """The endpoint's name."""
    model: str
    """An open-weights model of the catalog or a fine_tuning name."""
    min_instances: Annotated[int, Field(ge=0, le=20)] = 0
    """Instances when idle; 0 scales to zero."""
    max_instances: Annotated[int, Field(ge=1, le=20)] = 1
    """Most instances; at least min_instances."""
    invocations_per_instance: Annotated[int, Field(ge=1)] = 20
    """Scaling target, invocations per instance per minute."""
    latency_alarm_ms: Annotated[int, Field(ge=1)] = 10000
    """Alarm when the model's latency exceeds it."""

    @model_validator(mode="after")
    def _max_covers_min(self) -> EndpointConfig:
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"max_instances ({self.max_instances}) is below min_instances "
                f"({self.min_instances}); allowed: max_instances >= min_instances"
            )
        return self


class StudioUser(Model):
    """A person's own Studio user profile: ``name`` (the profile), opened only by the person
    who signs in as ``user_name`` (default ``name``; the identity source's user name, which
    sign-in carries as the session tag ``genai-user``)."""

    name: Slug
    """The user profile."""
    user_name: Annotated[
        str,
        matching(
            r"^[A-Za-z0-9+=,.@_-]{1,128}$",
            "a user name of the identity source: letters, digits and +=,.@_- (at most 128)",
        ),
    ]
    """The identity source's user name that opens it; default name."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """A user is also written as its name alone."""
        written_out = handler(core_schema)
        written_out["required"] = ["name"]
        return {"anyOf": [{"type": "string", "pattern": SLUG.pattern}, written_out]}

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value, "user_name": value}
        if isinstance(value, dict) and "user_name" not in value and "name" in value:
            return {**value, "user_name": value["name"]}
        return value


class SharedSpace(Model):
    """A Studio space every user of the domain may open (people create private spaces only):
    ``owner`` is the profile that owns it, one of the users."""

    name: Slug
    """The space."""
    owner: Slug
    """The user whose profile owns it, one of users."""


class StudioConfig(Model):
    """SageMaker Studio in the interactive environment; ``enabled: false`` leaves it out (and
    MLflow with it), ``mlflow: false`` leaves out the tracking server only. Each user gets a
    profile of their own (``alice``, or ``{name: alice, user_name: alice@example.com}``), and
    creates private spaces; ``shared_spaces`` are the spaces they share."""

    enabled: bool = True
    """false leaves Studio and MLflow out."""
    mlflow: bool = True
    """false leaves out the MLflow tracking server (the largest idle cost of the environment)."""
    users: Annotated[list[StudioUser], Field(max_length=100)] = []
    """One profile per person: a name, or {name, user_name}; names and user names each once."""
    shared_spaces: Annotated[list[SharedSpace], Field(max_length=50)] = []
    """JupyterLab spaces every user may open; people create private spaces only. Names each once."""
    idle_minutes: Annotated[int, Field(ge=60, le=525600)] = 60
    """Idle time after which apps shut down."""

    @model_validator(mode="after")
    def _unique_users(self) -> StudioConfig:
        for field in ("name", "user_name"):
            values = [getattr(user, field) for user in self.users]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(
                    f"users repeat the {field} {', '.join(repeated)}; allowed: one profile "
                    "per person"
                )
        spaces = [space.name for space in self.shared_spaces]
        repeated = sorted({name for name in spaces if spaces.count(name) > 1})
        if repeated:
            raise ValueError(
                f"shared_spaces repeat the name {', '.join(repeated)}; allowed: one space per name"
            )
        users = [user.name for user in self.users]
        strangers = sorted({s.owner for s in self.shared_spaces if s.owner not in users})
        if strangers:
            raise ValueError(
                f"shared_spaces are owned by {', '.join(strangers)}, who are not users; allowed: "
                f"{', '.join(users) or 'no users are listed'}"
            )
        return self


class MLConfig(Model):
    studio: StudioConfig = StudioConfig()
    """SageMaker Studio in the interactive environment."""
    fine_tuning: list[FineTuningConfig] = []
    """Fine-tuning pipelines; the LOB has a nonprod environment."""
    endpoints: list[EndpointConfig] = []
    """GPU endpoints; the LOB has a nonprod or prod environment."""


class ColumnType(StrEnum):
    """The types a curated table's column may have (Glue catalog types)."""

    STRING = "string"
    BIGINT = "bigint"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


class RawFormat(StrEnum):
    """How the objects landed in the raw zone are written: CSV with a header row, or JSON
    Lines (one object per line)."""

    CSV = "csv"
    JSON_LINES = "jsonl"


class DatasetColumn(Model):
    name: Annotated[
        str,
        matching(
            r"^[a-z_][a-z0-9_]{0,127}$",
            "a column name (lower-case letters, digits and '_', starting with a letter or '_')",
        ),
    ]
    """The column."""
    type: ColumnType = ColumnType.STRING
    """Its type in the catalog."""


# Glue Data Quality rule types (DQDL) a dataset's rules may use: those of the table alone,
# those whose first argument is a column, and those of two columns.
TABLE_RULES = frozenset({"RowCount", "ColumnCount"})
COLUMN_RULES = frozenset(
    {
        "ColumnDataType",
        "ColumnExists",
        "ColumnLength",
        "ColumnValues",
        "Completeness",
        "DataFreshness",
        "DistinctValuesCount",
        "Entropy",
        "IsComplete",
        "IsPrimaryKey",
        "IsUnique",
        "Mean",
        "StandardDeviation",
        "Sum",
        "UniqueValueRatio",
        "Uniqueness",
    }
)
PAIR_RULES = frozenset({"ColumnCorrelation"})
QUALITY_RULE = re.compile(r"^(?P<type>[A-Za-z]+)(?P<rest>(?:\s.*)?)$")


def _quality_rule(value: str) -> str:
    match = QUALITY_RULE.match(value)
    known = sorted(TABLE_RULES | COLUMN_RULES | PAIR_RULES)
    if match is None or match["type"] not in known:
        raise ValueError(
            f"'{value}' is not a Glue Data Quality rule this platform runs; allowed: a rule "
            f"starting with one of {', '.join(known)} (DQDL)"
        )
    if value.count('"') % 2 or "\n" in value or ("[" in value and "]" not in value):
        raise ValueError(f"'{value}' has an unclosed quote or bracket, or a line break")
    return value


QualityRule = Annotated[
    str,
    Field(min_length=3, max_length=500),
    AfterValidator(_quality_rule),
    described(
        "^(" + "|".join(sorted(TABLE_RULES | COLUMN_RULES | PAIR_RULES)) + r")(\s.*)?$",
        'a Glue Data Quality rule (DQDL) of a type the platform runs, e.g. IsComplete "id"',
        minLength=3,
        maxLength=500,
    ),
]


def rule_columns(rule: str) -> list[str]:
    """The columns a quality rule names: its first quoted argument (two for a pair rule)."""
    match = QUALITY_RULE.match(rule)
    if match is None or match["type"] in TABLE_RULES:
        return []
    quoted = re.findall(r'"([^"]*)"', match["rest"])
    return quoted[: 2 if match["type"] in PAIR_RULES else 1]


class DatasetConfig(Model):
    """A table of the curated zone that the LOB's ETL makes from the objects landed under
    ``datasets/<name>/`` of the raw zone, and checks with Glue Data Quality rules (DQDL, each
    rule one string, e.g. ``IsComplete "claim_id"``)."""

    name: Slug
    """The dataset; its objects land under datasets/<name>/ of the raw zone."""
    format: RawFormat = RawFormat.CSV
    """How the landed objects are written."""
    columns: Annotated[list[DatasetColumn], Field(min_length=1, max_length=200)]
    """The curated table's columns, each once."""
    quality_rules: Annotated[list[QualityRule], Field(min_length=1, max_length=100)]
    """Glue Data Quality rules (DQDL, not CustomSql), each naming columns of the dataset."""

    @property
    def table_name(self) -> str:
        return self.name.replace("-", "_")

    @model_validator(mode="after")
    def _known_columns(self) -> DatasetConfig:
        columns = [column.name for column in self.columns]
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if repeated:
            raise ValueError(
                f"columns repeat the name {', '.join(repeated)}; allowed: each column once"
            )
        for index, rule in enumerate(self.quality_rules):
            unknown = [name for name in rule_columns(rule) if name not in columns]
            if unknown:
                raise ValueError(
                    f"quality_rules[{index}] '{rule}' names the column {unknown[0]}, which the "
                    f"dataset does not have; allowed: {', '.join(columns)}"
                )
        return self


class DataConfig(Model):
    """The LOB's ETL: the datasets it curates in every environment, and when it runs
    (besides on request)."""

    datasets: Annotated[list[DatasetConfig], Field(max_length=20)] = []
    """The datasets the ETL curates, each name once."""
    etl_schedule: Schedule | None = None
    """When the ETL runs besides on request; needs a dataset."""

    @model_validator(mode="after")
    def _unique_datasets(self) -> DataConfig:
        names = [dataset.name for dataset in self.datasets]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"datasets repeat the name {', '.join(repeated)}; allowed: one dataset per name"
            )
        if self.etl_schedule and not self.datasets:
            raise ValueError("etl_schedule is set but there is no dataset; allowed: datasets first")
        return self


class GenAIConfig(Model):
    """An LOB's GenAI workloads."""

    use_cases: list[UseCase] = []
    """The LOB's applications, each with its own role and inference profile."""
    prompts: list[PromptConfig] = []
    """The LOB's prompt catalog."""
    knowledge_bases: list[KnowledgeBaseConfig] = []
    """The LOB's knowledge bases."""
    catalog: Annotated[list[str], Field(min_length=1), AfterValidator(_unique)] | None = None
    """The Bedrock models of the organization's catalog the LOB approves for itself (decentralized
    only; default all); covers its use cases, prompts and embedding models."""
    guardrails: GuardrailOverrides | None = None
    """The LOB's additions to the guardrail policy (decentralized only); never weaker than the
    organization's."""


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
    knowledge_bases: Annotated[list[HubAssetName], AfterValidator(_unique)] = []
    """Hub knowledge bases it retrieves from, by hub name (a promoted one is <lob>-<name>)."""


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


class LobConfig(Model):
    name: Slug
    """The line of business, each once."""
    cost_center: Annotated[str, Field(min_length=1, max_length=64)]
    """Tagged on every resource as cost-center."""
    data_classification: DataClassification
    """How sensitive the LOB's data is: model access, log retention, object versions and lock
    follow it; a text model of the catalog must be approved for it."""
    budget_usd_month: Annotated[int, Field(gt=0)]
    """Monthly budget over the LOB's accounts (management account)."""
    alert_emails: AlertEmails | None = None
    """Who gets the LOB's budget alerts and alarm notifications; default platform.alert_emails."""
    retain_interactive_data: bool = True
    """Keep keys, buckets and logs of the interactive environment when its stacks are deleted
    (nonprod and prod always retain)."""
    auditor_metadata_read: bool = False
    """Let the governance auditor list objects and read bucket settings, never content."""
    environments: EnvironmentsConfig
    """The LOB's environments, each its own account."""
    data: DataConfig = DataConfig()
    """The LOB's ETL."""
    genai: GenAIConfig = GenAIConfig()
    """The LOB's GenAI workloads."""
    ml: MLConfig = MLConfig()
    """The LOB's Studio, fine-tuning and GPU endpoints."""


class OrgConfig(Model):
    """One organization: the whole input of the blueprint."""

    organization: OrganizationConfig
    """The AWS organization."""
    platform: PlatformConfig
    """The central platform team's accounts."""
    catalog: CatalogConfig
    """The approved models."""
    guardrails: GuardrailPolicy
    """The central guardrail policy, applied in every LOB environment."""
    lobs: Annotated[list[LobConfig], Field(min_length=1)]
    """The lines of business."""

    def model(self, model_id: str) -> BedrockModel:
        return next(model for model in self.catalog.bedrock if model.id == model_id)

    def open_weights(self, model_id: str) -> OpenWeightsModel:
        return next(model for model in self.catalog.open_weights if model.id == model_id)
