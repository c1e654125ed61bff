"""An LOB's GenAI section: use cases and how they answer from knowledge bases (RAG),
prompts, knowledge bases (vector stores, chunking, parsing, ingestion), its catalog and
guardrail additions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator

from blueprint.model.fields import EnvironmentName, Model, matching
from blueprint.model.guardrail import GuardrailOverrides
from blueprint.model.sections.agents import AgentConfig, ToolConfig
from blueprint.model.sections.values import (
    UNIQUE_ITEMS,
    EmailAddress,
    KeyPrefix,
    Schedule,
    Slug,
    unique,
)


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
    schedule: Schedule | None = "rate(7 days)"
    """How often it also runs in prod between releases (the live knowledge bases and model),
    alarming when a score falls under its threshold; null for releases only."""


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


class RiskTier(StrEnum):
    """The EU AI Act's risk categories a deployed system may fall in (its fourth, unacceptable
    risk, names prohibited practices, which the platform does not run)."""

    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"


class UseCaseRecord(Model):
    """A use case's entry in the AI inventory: who answers for it, how risky it is, what it is
    for and whether a person reviews its answers."""

    owner: EmailAddress
    """The person accountable for the use case."""
    escalation_contact: EmailAddress
    """Who is told when it misbehaves (a team's address)."""
    risk_tier: RiskTier
    """minimal, limited (people must know they deal with AI) or high (EU AI Act Annex III uses,
    such as credit, insurance pricing or employment: human oversight required)."""
    intended_use: Annotated[str, Field(min_length=20, max_length=500)]
    """What it is for and what it must not be used for, in a sentence or two."""
    human_review: bool
    """Whether a person reviews flagged answers (stopped by the guardrail, without a passage,
    rated down): the answer API leaves them for the use case's reviewer role, which the LOB's
    ML engineers become; true for a high tier."""

    @model_validator(mode="after")
    def _high_risk_is_reviewed(self) -> UseCaseRecord:
        if self.risk_tier is RiskTier.HIGH and not self.human_review:
            raise ValueError(
                "risk_tier high needs human_review: true (a high-risk system is overseen by a "
                "person); allowed: human_review: true, or a lower risk_tier"
            )
        return self


class TokenBudget(Model):
    """A use case's daily token budget, in each environment it runs in: input and output tokens
    through its inference profile since 00:00 UTC, checked every five minutes."""

    daily_tokens: Annotated[int, Field(ge=1000, le=1_000_000_000_000)]
    """Tokens a day; once spent, its answer API answers 429 until 00:00 UTC."""
    alarm_percent: Annotated[int, Field(ge=1, le=99)] = 80
    """The share of the budget at which the first alarm goes off (another at 100 %)."""


class UseCase(Model):
    """An application of the LOB: its own role and inference profile, so that access and cost
    follow the use case.
    """

    name: Slug
    """The use case; it gets one inference profile and one application role."""
    model: str
    """A text model of the catalog allowed for the LOB's classification."""
    knowledge_bases: Annotated[list[Slug], AfterValidator(unique), UNIQUE_ITEMS] = []
    """The LOB's own knowledge bases it retrieves from."""
    endpoints: Annotated[list[Slug], AfterValidator(unique), UNIQUE_ITEMS] = []
    """The LOB's own GPU endpoints it calls."""
    rag: RagConfig = RagConfig()
    """Its answer API and evaluation; only on use cases with knowledge bases."""
    record: UseCaseRecord | None = None
    """Its entry in the AI inventory; required of every use case of an LOB with a prod
    environment."""
    token_budget: TokenBudget | None = None
    """Its daily token budget: alarms, and its answer API stopped once spent."""

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


class GenAIConfig(Model):
    """An LOB's GenAI workloads."""

    use_cases: list[UseCase] = []
    """The LOB's applications, each with its own role and inference profile."""
    prompts: list[PromptConfig] = []
    """The LOB's prompt catalog."""
    knowledge_bases: list[KnowledgeBaseConfig] = []
    """The LOB's knowledge bases."""
    tools: list[ToolConfig] = []
    """The tools its agents may call, behind each environment's gateway."""
    agents: list[AgentConfig] = []
    """The LOB's agents (Amazon Bedrock AgentCore), each serving one use case."""
    catalog: (
        Annotated[list[str], Field(min_length=1), AfterValidator(unique), UNIQUE_ITEMS] | None
    ) = None
    """The Bedrock models of the organization's catalog the LOB approves for itself (decentralized
    only; default all); covers its use cases, prompts and embedding models."""
    guardrails: GuardrailOverrides | None = None
    """The LOB's additions to the guardrail policy (decentralized only); never weaker than the
    organization's."""
