"""The names the platform gives things, each defined once.

Stacks, tools and the pipeline build stack names, role names, CDK bootstrap names, principal
tags and metric namespaces only through this module, so that they cannot drift apart.
"""

from __future__ import annotations

from genai_constructs.naming import (
    WORKLOAD_TAG_KEY,
    boundary_policy_name,
    persona_role_name,
    short_name,
)

# The qualifier of the platform's own CDK bootstrap (cdk.out/bootstrap-template.yaml): its
# roles, bucket and version parameter carry it, and every stack is synthesized against it.
BOOTSTRAP_QUALIFIER = "genai"
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
PARTITION = "aws"

# Principal tag of the workload a role runs: pipelines are the only writers of operational
# data, applications the only callers of models in prod.
PIPELINE_TAG = (WORKLOAD_TAG_KEY, "pipeline")
APPLICATION_TAG = (WORKLOAD_TAG_KEY, "application")
AGENT_TAG = (WORKLOAD_TAG_KEY, "agent")

ORGANIZATION_STACK = "organization-policies"
# LOB budgets live with billing, in the management account: ``organization-budgets-1``, ...
BUDGETS_STACK = "organization-budgets"
# Identity Center's permission sets and assignments: the management account, or the delegated
# administrator.
WORKFORCE_STACK = "organization-workforce"
# Template metadata that names a resource of the platform by kind and name, e.g.
# ``zone/curated``: the access catalog and the audit find resources through it.
ASSET_METADATA = "genai-platform:asset"


def lob_placement(lob: str, environment: str) -> str:
    """The placement key of an LOB environment: ``claims`` and ``nonprod`` -> ``claims-nonprod``."""
    return f"{lob}-{environment}"


def tenancy_placement(lob_placement: str) -> str:
    """The key of an LOB environment's tenancy in a central account (centralized operating
    model): ``claims-nonprod`` -> ``claims-nonprod-central``."""
    return f"{lob_placement}-central"


def central_placement(environment: str, region: str) -> str:
    """The key of the central team's placement in a central account and region (centralized
    operating model): ``central-nonprod-eu-west-1``."""
    return f"central-{environment}-{region}"


def central_invocation_log_group(central_placement: str) -> str:
    """The model invocation log group of a central account and region (fixed: the tenancies'
    roles are denied reading it by name)."""
    return f"/genai-platform/{central_placement}/model-invocations"


def central_prefix(prefix: str, region: str) -> str:
    """What the fixed names of a central account's central placement in ``region`` start with
    (IAM names are global to the account, which has one central placement per region)."""
    return f"{prefix}-central-{region}"


def tenancy_prefix(prefix: str, lob: str) -> str:
    """What the fixed names of an LOB's tenancy start with: the organization's prefix and the
    LOB's name, so that the tenancies of one central account never share a name."""
    return f"{prefix}-{lob}"


def collection_name(placement: str, knowledge_base: str) -> str:
    """An OpenSearch Serverless collection: physical, 3-32 characters, unique in the account
    (a long name keeps its start and gains a hash of the whole)."""
    return short_name(f"{placement}-{knowledge_base}")


def stack_name(placement: str, layer: str) -> str:
    """``claims-nonprod`` and ``data`` -> ``claims-nonprod-data``."""
    return f"{placement}-{layer}"


def role_name(prefix: str, persona: str) -> str:
    return persona_role_name(prefix, persona)


def chargeback_role_name(prefix: str, group: str) -> str:
    """The role of the chargeback function of an oversight group (``*``: any group's), which
    alone writes the chargeback reports."""
    return f"{prefix}-chargeback-{group}"


def app_role_name(prefix: str, use_case: str) -> str:
    """The role one use case's application runs as (fixed: other stacks grant to it)."""
    return f"{prefix}-app-{use_case}"


def agent_role_name(prefix: str, agent: str) -> str:
    """The role one agent runs as (fixed: its gateway's policy names it)."""
    return f"{prefix}-agent-{agent}"


AGENT_REPOSITORY_SUFFIX = "-agents"


def agent_repository_name(lob: str, agent: str) -> str:
    """The ECR repository of an agent's image (in the account of the LOB's nonprod GenAI layer,
    or the hub's; every environment of the LOB pulls it from there)."""
    return f"{lob}{AGENT_REPOSITORY_SUFFIX}/{agent}"


def agent_tool_key_name(prefix: str, tool: str) -> str:
    """The secret of an API tool's key (fixed: the ML engineers' policy names it)."""
    return f"{prefix}/agent-tools/{tool}/api-key"


def ingestion_role_name(prefix: str) -> str:
    """The role the LOB environment's ETL jobs write data as."""
    return f"{prefix}-ingestion"


RECIPE_REPOSITORY_SUFFIX = "-training-recipe"


def recipe_repository_name(lob: str) -> str:
    """The ECR repository of an LOB's fine-tuning recipe image (in the account of its nonprod
    ML layer; the LOB's name tells the tenancies of a central account apart)."""
    return f"{lob}{RECIPE_REPOSITORY_SUFFIX}"


def release_role_name(prefix: str) -> str:
    """The role that releases approved fine-tuned models to an environment's endpoints
    (fixed: the nonprod registry's bucket, key and group policies name prod's)."""
    return f"{prefix}-model-release"


def rag_gate_role_name(prefix: str) -> str:
    """The role the delivery pipeline assumes in a nonprod account to run its use cases' RAG
    evaluations before a release to prod (fixed: the pipeline names it)."""
    return f"{prefix}-rag-release-gate"


def release_bus_name(prefix: str) -> str:
    """The event bus of a prod account that the LOB's nonprod registry forwards approvals to."""
    return f"{prefix}-model-releases"


def event_bus_arn(account: str, region: str, name: str) -> str:
    return f"arn:{PARTITION}:events:{region}:{account}:event-bus/{name}"


def boundary_name(prefix: str) -> str:
    return boundary_policy_name(prefix)


def role_arn(account: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:role/{name}"


def platform_role_pattern(prefix: str) -> str:
    """Every role the platform names with the organization prefix, in any account."""
    return f"arn:*:iam::*:role/{prefix}-*"


def cdk_role_name(purpose: str, account: str, region: str) -> str:
    """A role of the CDK bootstrap stack: ``deploy``, ``cfn-exec``, ``file-publishing``,
    ``lookup``; ``{account}`` and ``{region}`` may stay placeholders."""
    return f"cdk-{BOOTSTRAP_QUALIFIER}-{purpose}-role-{account}-{region}"


def cdk_role_pattern(purpose: str) -> str:
    """That role of the platform's bootstrap, in any account and region."""
    return f"arn:*:iam::*:role/{cdk_role_name(purpose, '*', '*')}"


def cdk_roles_pattern() -> str:
    """Every role of the platform's bootstrap, in any account and region."""
    return f"arn:*:iam::*:role/cdk-{BOOTSTRAP_QUALIFIER}-*"


def asset_bucket_name(account: str, region: str) -> str:
    return f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"


# Every namespace the platform publishes metrics under starts so (an account shares them all
# with the governance sink by this prefix).
METRIC_NAMESPACE_ROOT = "GenAIPlatform/"


def metric_namespace(placement: str) -> str:
    """CloudWatch namespace of the metrics a placement's GenAI layer publishes; its use cases'
    token counts and the answers' observed metrics are below it."""
    return f"{METRIC_NAMESPACE_ROOT}{placement}-genai"


def gpu_endpoint_name(lob: str, environment: str, endpoint: str) -> str:
    """A GPU endpoint's name: known before deployment, so the GenAI stack serves it behind the
    guardrail without a reference to the ML stack; unique in a central account its LOBs
    share."""
    return f"{lob}-{environment}-{endpoint}"
