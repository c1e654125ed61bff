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
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    model_validator,
)

from genai_constructs.gpu_memory import GPU_FAMILIES, GPU_INSTANCES, LORA_MODULES, DecoderShape
from genai_constructs.naming import ACCOUNT_ID, ORGANIZATION_ID, ORGANIZATION_ROOT_ID, PII_ENTITIES

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
ENVIRONMENT_NAMES = ("interactive", "nonprod", "prod")


# What each pattern of the file's text fields means, for error messages.
PATTERN_MEANINGS: dict[str, str] = {}


def matching(pattern: str, meaning: str) -> Any:
    """A pattern constraint whose mismatch reads as ``meaning``."""
    PATTERN_MEANINGS[pattern] = meaning
    return Field(pattern=pattern)


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


AccountId = Annotated[str, AfterValidator(_account_id)]
Slug = Annotated[str, AfterValidator(_slug)]
Region = Annotated[str, AfterValidator(_region)]
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


class EnvironmentName(StrEnum):
    """The three environments of the layered blueprint."""

    INTERACTIVE = "interactive"
    NONPROD = "nonprod"
    PROD = "prod"

    @property
    def operational(self) -> bool:
        return self is not EnvironmentName.INTERACTIVE


class Model(BaseModel):
    """Base for every section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


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
    id: Annotated[
        str,
        matching(
            ORGANIZATION_ID.pattern,
            "an AWS Organizations id, o- and 10-32 lower-case letters or digits",
        ),
    ]
    root_id: Annotated[
        str,
        matching(
            ORGANIZATION_ROOT_ID.pattern,
            "an organization root id, r- and 4-32 lower-case letters or digits",
        ),
    ]
    management_account: AccountId
    home_region: Region
    allowed_regions: Annotated[list[Region], Field(min_length=1), AfterValidator(_unique)]
    operating_model: OperatingModel = OperatingModel.FEDERATED
    identity: IdentityConfig | None = None


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
    # One of the persona records (blueprint/model/personas.py); validation names them.
    persona: Slug
    lobs: Annotated[list[Slug], AfterValidator(_unique)] = []
    environments: Annotated[list[EnvironmentName], AfterValidator(_unique)] = []
    platform: StrictBool = False


class BreakGlass(Model):
    """The group whose members may take the break-glass role of every account (an
    administrator outside the persona model; every use raises an alarm)."""

    group: GroupName


class IdentityConfig(Model):
    """IAM Identity Center: how people sign in (README "Workforce identity").

    :param instance_arn: the Identity Center instance; ``identity_store_id`` its store.
    :param admin_account: where permission sets and assignments are deployed: the management
        account (default) or the delegated administrator of Identity Center.
    :param groups: the groups of the identity source, by name: each group's ID in the store.
    :param assignments: which group becomes which persona where.
    :param session_hours: how long a sign-in session lasts.
    """

    instance_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:sso:::instance/ssoins-[a-f0-9]{16}$",
            "an Identity Center instance ARN, arn:aws:sso:::instance/ssoins-<16 hex>",
        ),
    ]
    identity_store_id: Annotated[
        str, matching(r"^d-[0-9a-f]{10}$", "an identity store ID, d-<10 hex>")
    ]
    admin_account: AccountId | None = None
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
    assignments: Annotated[list[Assignment], Field(min_length=1)]
    break_glass: BreakGlass | None = None
    session_hours: Annotated[int, Field(ge=1, le=12)] = 1


class OrgGuardrail(Model):
    """A guardrail of the management account that the Bedrock organization policy enforces."""

    arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:guardrail/\w+$",
            "a Bedrock guardrail ARN, arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID",
        ),
    ]
    version: GuardrailVersionText


class PipelineConfig(Model):
    """The delivery pipeline in the tooling account (opt-in: ``cdk synth -c pipeline=true``)."""

    connection_arn: Annotated[
        str,
        matching(
            r"^arn:aws[a-z-]*:codeconnections:[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$",
            "a CodeConnections ARN, arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID",
        ),
    ]
    repository: OwnerSlashName
    branch: Annotated[str, Field(min_length=1, max_length=255)] = "main"


class CentralAccountsConfig(Model):
    """One central GenAI account per environment kind (used when the operating model is
    centralized). Each LOB environment's tenancy is in the LOB environment's own region and
    zones, so its data stays where the LOB keeps it."""

    interactive: AccountId | None = None
    nonprod: AccountId | None = None
    prod: AccountId | None = None

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
    owner: EmailAddress
    expires: date


class PlatformConfig(Model):
    """The central platform team's accounts, in the home region."""

    governance_account: AccountId
    tooling_account: AccountId
    azs: AvailabilityZones
    vpc_cidr: Annotated[str, AfterValidator(_cidr)] = "10.255.0.0/16"
    alert_emails: AlertEmails
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
    trail_retention_days: Annotated[int, Field(ge=1, le=36500)] = 2557
    org_guardrail: OrgGuardrail | None = None
    pipeline: PipelineConfig | None = None
    acknowledgment_reviews: list[AcknowledgmentReview] = []
    central_accounts: CentralAccountsConfig = CentralAccountsConfig()
    hub: HubConfig | None = None


# Each environment of an LOB gets its own range unless the file names one: the environments'
# VPCs never overlap, so they can be connected later (shared endpoints, peering) without
# renumbering.
DEFAULT_VPC_CIDRS = {
    "interactive": "10.0.0.0/16",
    "nonprod": "10.1.0.0/16",
    "prod": "10.2.0.0/16",
}


INTERFACE_ENDPOINTS = (
    "Bedrock",
    "BedrockRuntime",
    "BedrockAgentRuntime",
    "SageMakerApi",
    "SageMakerRuntime",
    "Sts",
    "Logs",
    "Kms",
    "EcrApi",
    "EcrDocker",
    "SageMakerExperiments",
)


def _endpoint(value: str) -> str:
    if value not in INTERFACE_ENDPOINTS:
        raise ValueError(
            f"'{value}' is not an interface endpoint of the platform; allowed: "
            f"{', '.join(INTERFACE_ENDPOINTS)}"
        )
    return value


class EnvironmentConfig(Model):
    """One environment's account and network.

    :param extra_endpoints: interface endpoints beyond those the platform's own workloads
        use (e.g. ``Logs``, ``EcrApi`` and ``EcrDocker`` for ECS tasks of the applications).
    :param endpoint_azs: default every zone; 1 puts the interface endpoints in the first zone
        only (interactive environments: half the endpoint cost, no zone redundancy).
    """

    account: AccountId
    region: Region
    azs: AvailabilityZones
    vpc_cidr: Annotated[str, AfterValidator(_cidr)] | None = None
    extra_endpoints: Annotated[
        list[Annotated[str, AfterValidator(_endpoint)]], AfterValidator(_unique)
    ] = []
    endpoint_azs: Literal[1] | None = None


class EnvironmentsConfig(Model):
    interactive: EnvironmentConfig | None = None
    nonprod: EnvironmentConfig | None = None
    prod: EnvironmentConfig | None = None

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
    regions: Annotated[list[Region], Field(min_length=1), AfterValidator(_unique)]


class BedrockModel(Model):
    """A model the central team approves, and the most sensitive data it may see."""

    id: Annotated[
        str,
        matching(
            r"^[a-z0-9-]+\.[a-z0-9.-]+(:[a-z0-9-]+){0,2}$",
            "a Bedrock model id such as amazon.nova-pro-v1:0",
        ),
    ]
    kind: ModelKind = ModelKind.TEXT
    max_classification: DataClassification
    inference_profile: CrossRegionProfile | None = None
    dimensions: Annotated[int, Field(ge=256, le=4096)] = 1024


def _gpu_instance(value: str) -> str:
    if value not in GPU_INSTANCES:
        raise ValueError(
            f"'{value}' is not a SageMaker GPU instance type; allowed: ml.<family>.<size> of "
            f"families {', '.join(GPU_FAMILIES)} in the sizes SageMaker offers, e.g. "
            "ml.g5.2xlarge or ml.g5.12xlarge (4 GPUs)"
        )
    return value


GpuInstance = Annotated[str, AfterValidator(_gpu_instance)]


class ModelArchitecture(Model):
    """The shape of an open-weights model (its config.json): what the GPU memory check needs.

    A decoder with a gated MLP (Llama, Mistral, Qwen, Gemma)."""

    layers: Annotated[int, Field(ge=1, le=512)]
    hidden_size: Annotated[int, Field(ge=64, le=65536)]
    intermediate_size: Annotated[int, Field(ge=64, le=262144)]
    vocab_size: Annotated[int, Field(ge=256, le=1048576)]
    attention_heads: Annotated[int, Field(ge=1, le=1024)]
    kv_heads: Annotated[int, Field(ge=1, le=1024)]
    tied_embeddings: bool = False

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
    hf_model_id: OwnerSlashName
    source: S3Prefix | None = None
    sha256: Annotated[
        str | None,
        matching(r"^[0-9a-f]{64}$", "a SHA-256 digest: 64 lower-case hex digits"),
    ] = None
    architecture: ModelArchitecture
    training_instance: GpuInstance
    serving_instance: GpuInstance
    max_classification: DataClassification = DataClassification.RESTRICTED


class CatalogConfig(Model):
    bedrock: Annotated[list[BedrockModel], Field(min_length=1)]
    open_weights: list[OpenWeightsModel] = []


class FilterStrength(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ContentFilter(StrEnum):
    HATE = "hate"
    INSULTS = "insults"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    MISCONDUCT = "misconduct"
    PROMPT_ATTACK = "prompt_attack"


class PiiAction(StrEnum):
    BLOCK = "block"
    ANONYMIZE = "anonymize"


def _pii_entities(value: dict[str, PiiAction]) -> dict[str, PiiAction]:
    unknown = sorted(set(value) - set(PII_ENTITIES))
    if unknown:
        raise ValueError(
            f"unknown PII entity type(s) {unknown}; allowed: Bedrock guardrail PII types such "
            "as EMAIL, PHONE, NAME, US_SOCIAL_SECURITY_NUMBER"
        )
    return value


class DeniedTopic(Model):
    name: Annotated[
        str, matching(r"^[0-9a-zA-Z-_ !?.]{1,100}$", "1-100 letters, digits, spaces and - _ ! ? .")
    ]
    definition: Annotated[str, Field(min_length=1, max_length=200)]
    examples: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=5)] = []


class GuardrailPolicy(Model):
    """The central guardrail policy, applied in every LOB environment."""

    content_filters: dict[ContentFilter, FilterStrength]
    pii: Annotated[dict[str, PiiAction], AfterValidator(_pii_entities)] = {}
    denied_topics: Annotated[list[DeniedTopic], Field(max_length=30)] = []
    word_filters: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=1000)
    ] = []
    profanity_filter: bool = True
    grounding_threshold: Annotated[float, Field(ge=0, le=0.99)] | None = None
    relevance_threshold: Annotated[float, Field(ge=0, le=0.99)] | None = None
    blocked_input_message: Annotated[str, Field(min_length=1, max_length=500)] = (
        "This request is not allowed by the organization's AI policy."
    )
    blocked_output_message: Annotated[str, Field(min_length=1, max_length=500)] = (
        "The response was withheld by the organization's AI policy."
    )
    max_input_tokens: Annotated[int, Field(ge=1)] = 8000
    # The contextual grounding check reads at most 1,000 characters of query (the question).
    max_question_chars: Annotated[int, Field(ge=1, le=20000)] = 1000
    enforce_in: list[EnvironmentName] = list(EnvironmentName)


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
    faithfulness: Annotated[float, Field(ge=0, le=1)] = 0.7
    answer_relevance: Annotated[float, Field(ge=0, le=1)] = 0.3
    context_precision: Annotated[float, Field(ge=0, le=1)] = 0.5


class RagConfig(Model):
    """How a use case answers from its knowledge bases.

    :param answer_api: an answer API (function URL, IAM auth) the application calls.
    :param memory_turns: how many previous turns of the conversation a request may carry
        (the application keeps them; the platform stores no conversation); 0, the default,
        turns memory off.
    :param results: passages retrieved per question.
    """

    answer_api: bool = True
    memory_turns: Annotated[int, Field(ge=0, le=20)] = 0
    results: Annotated[int, Field(ge=1, le=100)] = 5
    evaluation: RagEvaluationConfig = RagEvaluationConfig()


class UseCase(Model):
    """An application of the LOB: its own role and inference profile, so that access and cost
    follow the use case.

    :param knowledge_bases: the LOB's knowledge bases it retrieves from.
    :param endpoints: the LOB's GPU endpoints it calls.
    :param rag: its answer API and evaluation (use cases with knowledge bases only).
    """

    name: Slug
    model: str
    knowledge_bases: Annotated[list[Slug], AfterValidator(_unique)] = []
    endpoints: Annotated[list[Slug], AfterValidator(_unique)] = []
    rag: RagConfig = RagConfig()

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
    model: str
    template: Annotated[str, Field(min_length=1, max_length=20000)]
    description: str = ""
    temperature: Annotated[float, Field(ge=0, le=1)] = 0.2
    max_tokens: Annotated[int, Field(ge=1, le=8192)] = 512


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


# Bedrock's bounds for a chunk (tokens of the embedding model's tokenizer).
ChunkTokens = Annotated[int, Field(ge=20, le=8192)]


class FixedSizeChunking(Model):
    """Chunks of at most ``max_tokens``, consecutive chunks sharing ``overlap_percent``."""

    strategy: Literal["fixed-size"]
    max_tokens: ChunkTokens = 300
    overlap_percent: Annotated[int, Field(ge=1, le=99)] = 20


class HierarchicalChunking(Model):
    """Parent chunks for context, child chunks for retrieval (a child's match returns its
    parent)."""

    strategy: Literal["hierarchical"]
    parent_max_tokens: ChunkTokens = 1500
    child_max_tokens: ChunkTokens = 300
    overlap_tokens: Annotated[int, Field(ge=1, le=8192)] = 60

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
    max_tokens: ChunkTokens = 300
    buffer_size: Annotated[int, Field(ge=0, le=1)] = 0
    breakpoint_percentile: Annotated[int, Field(ge=50, le=99)] = 95


class NoChunking(Model):
    """Each document is one chunk (documents split before they land)."""

    strategy: Literal["none"]


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


class IngestionConfig(Model):
    """When documents are indexed: as they land in the prefix, and on a schedule (which also
    picks up deletions and anything an event missed)."""

    on_upload: bool = True
    schedule: Annotated[str, AfterValidator(_schedule)] | None = "rate(1 day)"


class KnowledgeBaseConfig(Model):
    """A RAG knowledge base on the LOB's curated zone and a vector store the LOB owns."""

    name: Slug
    embedding_model: str
    vector_store: VectorStoreKind = VectorStoreKind.S3_VECTORS
    prefix: KeyPrefix | None = None
    environments: list[EnvironmentName] | None = None
    chunking: Chunking = FixedSizeChunking(strategy="fixed-size")
    parsing: ParsingConfig | None = None
    ingestion: IngestionConfig = IngestionConfig()

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
    base_model: str
    method: Literal["lora", "qlora"] = "lora"
    dataset_prefix: KeyPrefix | None = None
    rouge_l_threshold: Annotated[float, Field(ge=0, le=1)] = 0.3
    max_runtime_hours: Annotated[int, Field(ge=1, le=72)] = 8
    epochs: Annotated[int, Field(ge=1, le=20)] = 2
    batch_size: Annotated[int, Field(ge=1, le=256)] = 4
    max_length: Annotated[int, Field(ge=32, le=32768)] = 512
    lora_r: Annotated[int, Field(ge=1, le=256)] = 16
    target_modules: Annotated[
        list[Annotated[str, AfterValidator(_lora_module)]],
        Field(min_length=1),
        AfterValidator(_unique),
    ] = ["q_proj", "v_proj"]
    gradient_checkpointing: bool = True
    spot: bool = True
    retrain_schedule: Annotated[str, AfterValidator(_schedule)] | None = None
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

    @property
    def source_prefix(self) -> str:
        return self.dataset_prefix or f"{self.name}/"


class EndpointConfig(Model):
    """A real-time GPU endpoint serving an open-weights or fine-tuned model."""

    name: Slug
    model: str
    min_instances: Annotated[int, Field(ge=0, le=20)] = 0
    max_instances: Annotated[int, Field(ge=1, le=20)] = 1
    invocations_per_instance: Annotated[int, Field(ge=1)] = 20
    latency_alarm_ms: Annotated[int, Field(ge=1)] = 10000

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
    user_name: Annotated[
        str,
        matching(
            r"^[A-Za-z0-9+=,.@_-]{1,128}$",
            "a user name of the identity source: letters, digits and +=,.@_- (at most 128)",
        ),
    ]

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
    owner: Slug


class StudioConfig(Model):
    """SageMaker Studio in the interactive environment; ``enabled: false`` leaves it out (and
    MLflow with it), ``mlflow: false`` leaves out the tracking server only. Each user gets a
    profile of their own (``alice``, or ``{name: alice, user_name: alice@example.com}``), and
    creates private spaces; ``shared_spaces`` are the spaces they share."""

    enabled: bool = True
    mlflow: bool = True
    users: Annotated[list[StudioUser], Field(max_length=100)] = []
    shared_spaces: Annotated[list[SharedSpace], Field(max_length=50)] = []
    idle_minutes: Annotated[int, Field(ge=60, le=525600)] = 60

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
    fine_tuning: list[FineTuningConfig] = []
    endpoints: list[EndpointConfig] = []


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
    type: ColumnType = ColumnType.STRING


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


QualityRule = Annotated[str, Field(min_length=3, max_length=500), AfterValidator(_quality_rule)]


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
    format: RawFormat = RawFormat.CSV
    columns: Annotated[list[DatasetColumn], Field(min_length=1, max_length=200)]
    quality_rules: Annotated[list[QualityRule], Field(min_length=1, max_length=100)]

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
    etl_schedule: Annotated[str, AfterValidator(_schedule)] | None = None

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


class GuardrailOverrides(Model):
    """What an LOB adds to the organization's guardrail policy (decentralized operating
    model): only stricter, never looser.

    :param content_filters: filters raised above the organization's strength.
    :param pii: entity types added, or raised from anonymize to block.
    :param denied_topics: topics denied besides the organization's.
    :param grounding_threshold: a threshold at least the organization's.
    """

    content_filters: dict[ContentFilter, FilterStrength] = {}
    pii: Annotated[dict[str, PiiAction], AfterValidator(_pii_entities)] = {}
    denied_topics: Annotated[list[DeniedTopic], Field(max_length=30)] = []
    word_filters: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=1000)
    ] = []
    grounding_threshold: Annotated[float, Field(ge=0, le=0.99)] | None = None
    relevance_threshold: Annotated[float, Field(ge=0, le=0.99)] | None = None


class GenAIConfig(Model):
    """An LOB's GenAI workloads.

    :param catalog: the Bedrock models of the organization's catalog the LOB approves for
        itself (decentralized operating model; default the whole catalog).
    :param guardrails: the LOB's additions to the guardrail policy (decentralized).
    """

    use_cases: list[UseCase] = []
    prompts: list[PromptConfig] = []
    knowledge_bases: list[KnowledgeBaseConfig] = []
    catalog: Annotated[list[str], Field(min_length=1), AfterValidator(_unique)] | None = None
    guardrails: GuardrailOverrides | None = None


# A hub asset's name: its own (a slug), or a promoted one's ``<lob>-<name>``.
HubAssetName = Annotated[
    str, matching(r"^[a-z][a-z0-9-]{2,48}$", "a hub knowledge base name such as claims-policies")
]


class Promotion(Model):
    """An asset of an LOB's prod environment promoted to the hub: the LOB and the asset's
    name there."""

    lob: Slug
    name: Slug


class HubConsumer(Model):
    """An LOB that uses the hub: through its own role there, with ``model`` and the hub's
    ``knowledge_bases`` (names as the hub knows them: a promoted one is ``<lob>-<name>``)."""

    lob: Slug
    model: str
    knowledge_bases: Annotated[list[HubAssetName], AfterValidator(_unique)] = []


class HubConfig(Model):
    """The federated model's hub: an account of the central team, in the home region, for
    the assets LOBs share (prompts, knowledge bases, the guardrail they run under there).

    :param promoted_prompts: LOB prompts the hub publishes (as ``<lob>-<name>``).
    :param promoted_knowledge_bases: LOB knowledge bases the hub rebuilds from the documents
        of the LOB's prod curated zone, which the hub's ingestion role may read (under
        ``promoted/<lob>/<name>/`` in the hub).
    :param consumers: the LOBs that use the hub, each through its own role there.
    """

    account: AccountId
    azs: AvailabilityZones
    vpc_cidr: Annotated[str, AfterValidator(_cidr)] = "10.254.0.0/16"
    data_classification: DataClassification = DataClassification.INTERNAL
    prompts: list[PromptConfig] = []
    knowledge_bases: list[KnowledgeBaseConfig] = []
    promoted_prompts: list[Promotion] = []
    promoted_knowledge_bases: list[Promotion] = []
    consumers: list[HubConsumer] = []


class LobConfig(Model):
    name: Slug
    cost_center: Annotated[str, Field(min_length=1, max_length=64)]
    data_classification: DataClassification
    budget_usd_month: Annotated[int, Field(gt=0)]
    alert_emails: AlertEmails | None = None
    retain_interactive_data: bool = True
    auditor_metadata_read: bool = False
    environments: EnvironmentsConfig
    data: DataConfig = DataConfig()
    genai: GenAIConfig = GenAIConfig()
    ml: MLConfig = MLConfig()


class OrgConfig(Model):
    """One organization: the whole input of the blueprint."""

    organization: OrganizationConfig
    platform: PlatformConfig
    catalog: CatalogConfig
    guardrails: GuardrailPolicy
    lobs: Annotated[list[LobConfig], Field(min_length=1)]

    def model(self, model_id: str) -> BedrockModel:
        return next(model for model in self.catalog.bedrock if model.id == model_id)

    def open_weights(self, model_id: str) -> OpenWeightsModel:
        return next(model for model in self.catalog.open_weights if model.id == model_id)
