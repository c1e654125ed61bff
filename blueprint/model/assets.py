"""The kinds of the platform's names for its resources: what ``stacks.assets.mark`` writes
into template metadata (``zone/curated``, ``key/data``, ``app-role/claims-assistant``) and what
the access catalog's selectors read back, from this one list, so a misspelt kind is an
``AttributeError`` rather than a selector that silently finds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AssetKind(StrEnum):
    """The kind part of a marked name ``kind/name``."""

    ACCESS_LOGS = "access-logs"
    AGENT = "agent"
    AGENT_GATEWAY = "agent-gateway"
    AGENT_GATEWAY_ROLE = "agent-gateway-role"
    AGENT_MEMORY = "agent-memory"
    AGENT_REPOSITORY = "agent-repository"
    AGENT_ROLE = "agent-role"
    AGENT_TOOL_FUNCTION = "agent-tool-function"
    AGENT_TOOL_KEY = "agent-tool-key"
    AGENT_TOOL_ROLE = "agent-tool-role"
    ANSWER_API = "answer-api"
    ANSWER_API_ROLE = "answer-api-role"
    CHARGEBACK_FUNCTION = "chargeback-function"
    CHARGEBACK_ROLE = "chargeback-role"
    APP_ROLE = "app-role"
    CURATED_TABLE = "curated-table"
    ENDPOINT = "endpoint"
    ENDPOINT_ROLE = "endpoint-role"
    ETL = "etl"
    ETL_FUNCTION = "etl-function"
    FLOW_LOGS = "flow-logs"
    EVALUATION_FUNCTION = "evaluation-function"
    GUARDED_ENDPOINT = "guarded-endpoint"
    GUARDED_ENDPOINT_ROLE = "guarded-endpoint-role"
    GUARDRAIL = "guardrail"
    GUARDRAIL_VERSION = "guardrail-version"
    INFERENCE_COMPONENT = "inference-component"
    INGESTION_DEAD_LETTERS = "ingestion-dead-letters"
    INGESTION_ROLE = "ingestion-role"
    INGESTION_STARTER_ROLE = "ingestion-starter-role"
    INVOCATION_LOGS = "invocation-logs"
    KEY = "key"
    KNOWLEDGE_BASE = "knowledge-base"
    KNOWLEDGE_BASE_ROLE = "knowledge-base-role"
    LOGGING_FUNCTION = "logging-function"
    LOGGING_ROLE = "logging-role"
    MLFLOW = "mlflow"
    MODEL_IMPORT = "model-import"
    MODEL_IMPORT_ROLE = "model-import-role"
    MODEL_PACKAGE_GROUP = "model-package-group"
    MODEL_RELEASE_ROLE = "model-release-role"
    MONITORING_SCHEDULE = "monitoring-schedule"
    NOTIFIER_ROLE = "notifier-role"
    PIPELINE = "pipeline"
    PIPELINE_ROLE = "pipeline-role"
    PROFILE = "profile"
    PROMPT = "prompt"
    QUALITY_RULESET = "quality-ruleset"
    RAG_EVALUATION = "rag-evaluation"
    RAG_EVALUATION_ROLE = "rag-evaluation-role"
    REVIEWER_ROLE = "reviewer-role"
    REVIEW_DESK = "review-desk"
    REVIEW_DESK_ROLE = "review-desk-role"
    RECIPE_BUILD = "recipe-build"
    RECIPE_BUILD_STARTER = "recipe-build-starter"
    RECIPE_BUILDER = "recipe-builder"
    RECIPE_PROJECT = "recipe-project"
    RECIPE_REPOSITORY = "recipe-repository"
    STAGED_TABLE = "staged-table"
    STUDIO_SPACE = "studio-space"
    STUDIO_USER = "studio-user"
    TOPIC = "topic"
    TRAIL = "trail"
    VECTOR_BUCKET = "vector-bucket"
    VECTOR_COLLECTION = "vector-collection"
    VECTOR_INDEX = "vector-index"
    TOKEN_BUDGET_ROLE = "token-budget-role"
    ZONE = "zone"


# What each kind names, as the selector grammar's documentation says it.
DESCRIPTIONS: dict[AssetKind, str] = {
    AssetKind.AGENT: "An agent's AgentCore runtime (`agent/<agent>`)",
    AssetKind.AGENT_GATEWAY: "The gateway of the environment's agent tools (`agent-gateway/tools`)",
    AssetKind.AGENT_GATEWAY_ROLE: "The role the tools gateway calls its tools as",
    AssetKind.AGENT_MEMORY: "An agent's memory (`agent-memory/<agent>`)",
    AssetKind.AGENT_REPOSITORY: "An agent's image repository, in its LOB's nonprod account "
    "or the hub (`agent-repository/<agent>`)",
    AssetKind.AGENT_ROLE: "The role an agent runs as (`agent-role/<agent>`)",
    AssetKind.AGENT_TOOL_FUNCTION: "A knowledge base search tool's function "
    "(`agent-tool-function/<tool>`)",
    AssetKind.AGENT_TOOL_KEY: "The secret holding an API tool's key (`agent-tool-key/<tool>`)",
    AssetKind.AGENT_TOOL_ROLE: "A knowledge base search tool's function role",
    AssetKind.ACCESS_LOGS: "The account's S3 server access log bucket (`access-logs/bucket`)",
    AssetKind.ANSWER_API: "A use case's answer API function",
    AssetKind.INFERENCE_COMPONENT: "The inference component (the model) of a GPU endpoint that "
    "scales to zero",
    AssetKind.REVIEWER_ROLE: "The role a use case's reviewers become to read its flagged answers "
    "and ratings",
    AssetKind.REVIEW_DESK: "A use case's review desk function (decisions and their export)",
    AssetKind.REVIEW_DESK_ROLE: "The role of a use case's review desk function",
    AssetKind.GUARDED_ENDPOINT: "The function that serves a GPU endpoint behind the guardrail",
    AssetKind.GUARDED_ENDPOINT_ROLE: "The role of the function serving a GPU endpoint behind the "
    "guardrail",
    AssetKind.ANSWER_API_ROLE: "The role of a use case's answer API function",
    AssetKind.CHARGEBACK_FUNCTION: "The monthly token chargeback function (governance)",
    AssetKind.CHARGEBACK_ROLE: "The monthly token chargeback function's role (governance)",
    AssetKind.APP_ROLE: "A use case's application role (in the hub: a consuming LOB's)",
    AssetKind.CURATED_TABLE: "A dataset's Glue table as published",
    AssetKind.ENDPOINT: "A GPU endpoint",
    AssetKind.ENDPOINT_ROLE: "A GPU endpoint's execution role",
    AssetKind.ETL: "The environment's ETL state machine (`etl/etl`)",
    AssetKind.ETL_FUNCTION: "A function of the ETL (`etl-function/curate`)",
    AssetKind.FLOW_LOGS: "The VPC flow log group (`flow-logs/log-group`)",
    AssetKind.EVALUATION_FUNCTION: "A fine-tuning pipeline's evaluation-recording function",
    AssetKind.GUARDRAIL: "The environment's guardrail (`guardrail/platform`)",
    AssetKind.GUARDRAIL_VERSION: "The guardrail's version in force",
    AssetKind.INGESTION_DEAD_LETTERS: "A knowledge base ingestion's dead-letter queue",
    AssetKind.INGESTION_ROLE: "The ingestion (pipeline writer) role",
    AssetKind.INGESTION_STARTER_ROLE: "A knowledge base ingestion state machine's role",
    AssetKind.INVOCATION_LOGS: "Bedrock invocation logging's log group and dead letters",
    AssetKind.KEY: "The account's KMS keys (`key/data`, `key/logs`)",
    AssetKind.KNOWLEDGE_BASE: "A knowledge base",
    AssetKind.KNOWLEDGE_BASE_ROLE: "A knowledge base's service role",
    AssetKind.LOGGING_FUNCTION: "The invocation-logging function",
    AssetKind.LOGGING_ROLE: "The invocation-logging function's role",
    AssetKind.MLFLOW: "Studio's MLflow: an MLflow App or a tracking server",
    AssetKind.MODEL_IMPORT: "A base-weights import pipeline",
    AssetKind.MODEL_IMPORT_ROLE: "A base-weights import pipeline's role",
    AssetKind.MODEL_PACKAGE_GROUP: "A model package group",
    AssetKind.MODEL_RELEASE_ROLE: "The role of the function that releases approved models",
    AssetKind.MONITORING_SCHEDULE: "A GPU endpoint's data-quality monitoring schedule",
    AssetKind.NOTIFIER_ROLE: "The role an EventBridge rule announces through on its topic",
    AssetKind.PIPELINE: "A fine-tuning pipeline",
    AssetKind.PIPELINE_ROLE: "A fine-tuning pipeline's execution role",
    AssetKind.PROFILE: "A use case's inference profile",
    AssetKind.PROMPT: "A managed prompt",
    AssetKind.QUALITY_RULESET: "A dataset's Glue Data Quality ruleset",
    AssetKind.RAG_EVALUATION: "A use case's RAG evaluation function",
    AssetKind.RAG_EVALUATION_ROLE: "The role of a use case's RAG evaluation function",
    AssetKind.RECIPE_BUILD: "A recipe image's build state machine",
    AssetKind.RECIPE_BUILD_STARTER: "The role of a recipe image's build state machine",
    AssetKind.RECIPE_BUILDER: "The role of a recipe image's CodeBuild project",
    AssetKind.RECIPE_PROJECT: "A recipe image's CodeBuild project",
    AssetKind.RECIPE_REPOSITORY: "A recipe image's ECR repository",
    AssetKind.STAGED_TABLE: "A dataset's Glue table as staged",
    AssetKind.STUDIO_SPACE: "A shared Studio space",
    AssetKind.STUDIO_USER: "A Studio user profile",
    AssetKind.TOPIC: "A notification topic (`endpoint-alarms`, `<pipeline>-approvals`)",
    AssetKind.TRAIL: "The organization's trail",
    AssetKind.VECTOR_BUCKET: "A knowledge base's S3 Vectors bucket",
    AssetKind.VECTOR_COLLECTION: "A knowledge base's OpenSearch Serverless collection",
    AssetKind.VECTOR_INDEX: "A knowledge base's S3 Vectors index",
    AssetKind.TOKEN_BUDGET_ROLE: "The role of the state machine that checks the token budgets",
    AssetKind.ZONE: "A zone bucket (`raw`, `curated`, `training`, `artifacts`, ...)",
}


@dataclass(frozen=True)
class AssetName:
    """A marked name: ``kind/name``."""

    kind: AssetKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"
