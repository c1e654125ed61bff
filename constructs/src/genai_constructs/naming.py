"""Identifier formats and names shared by the constructs and the apps that use them.

Plain Python, no CDK import: an organization-file loader checks the same formats without
starting the CDK.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

ACCOUNT_ID = re.compile(r"^\d{12}$")
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
ORGANIZATION_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
IAM_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
# A relative S3 key prefix a job reads: segments of S3's safe characters, none starting with a
# dot (no '.' or '..'), each ending with '/'.
SAFE_KEY_PREFIX = re.compile(r"^([A-Za-z0-9!_*'()-][A-Za-z0-9!_.*'()-]*/)+$")
BOUNDARY_SUFFIX = "permissions-boundary"
# The prefix of the platform's own cdk-nag rules (genai_constructs.checks).
PLATFORM_PACK = "GenAIPlatform"
# The packs of compliance frameworks, which share many rules (each under its own prefix).
FRAMEWORK_PACKS = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
# Principal tag of the workload a role runs (pipelines, applications, ...).
WORKLOAD_TAG_KEY = "genai-platform:workload"
# The one workload that may configure the governance of model calls (invocation logging):
# every other role under the boundary is denied GOVERNANCE_CHANGES.
GOVERNANCE_CONFIGURATOR_TAG = (WORKLOAD_TAG_KEY, "governance-configurator")
# What would let a role use or change the governance configurator's function (and so act with
# its role), or lift its tag: denied to every role under the boundary on functions carrying
# its tag. (Verbs by wildcard: the boundary must stay under IAM's 6,144 characters.)
GOVERNANCE_FUNCTION_ACTIONS = (
    "lambda:AddPermission",
    "lambda:Create*",
    "lambda:Delete*",
    "lambda:InvokeAsync",
    "lambda:InvokeFunction",
    "lambda:Publish*",
    "lambda:Put*",
    "lambda:RemovePermission",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:Update*",
)
# The roles EventBridge rules announce through (approvals, monitor findings): the only ones
# under the boundary that may publish to the account's topics.
NOTIFIER_TAG = (WORKLOAD_TAG_KEY, "notifier")
# The delivery pipeline's roles: the only ones that may assume the deployment (CDK bootstrap)
# roles of the accounts.
DELIVERY_TAG = (WORKLOAD_TAG_KEY, "delivery")
GOVERNANCE_CHANGES = (
    "bedrock:CreateGuardrail",
    "bedrock:CreateGuardrailVersion",
    "bedrock:UpdateGuardrail",
    "bedrock:DeleteGuardrail",
    "bedrock:PutEnforcedGuardrailConfiguration",
    "bedrock:DeleteEnforcedGuardrailConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
)


@dataclass(frozen=True)
class ImageRepository:
    """Where an ECR image URI (``account.dkr.ecr.region.amazonaws.com/name`` then ``:tag`` or
    ``@sha256:digest``) is kept."""

    account: str
    region: str
    name: str

    @staticmethod
    def of(image_uri: str) -> ImageRepository:
        registry, _, path = image_uri.partition("/")
        account, _, rest = registry.partition(".dkr.ecr.")
        region = rest.split(".amazonaws.com", 1)[0]
        return ImageRepository(account, region, path.split("@", 1)[0].split(":", 1)[0])

    def arn(self, partition: str = "aws") -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.name}"


def pascal(name: str) -> str:
    """``claims-summarizer`` -> ``ClaimsSummarizer``: a construct id from a name."""
    return "".join(part.capitalize() for part in re.split(r"[-_.]", name))


def persona_role_name(prefix: str, persona: str) -> str:
    """The fixed name of a persona role: identity federation and trust refer to it."""
    return f"{prefix}-{persona}"


# The session tag sign-in carries: the identity source's user name of the person (IAM Identity
# Center's attributes for access control, or a SAML PrincipalTag attribute). A Studio user
# profile carries it too, and only the person it names may open the profile.
USER_TAG = "genai-user"


# Tagged on the break-glass role and its alarm's publisher: the only roles the platform
# creates without the permissions boundary, by design.
OUTSIDE_BOUNDARY_TAG = ("genai-platform:outside-boundary", "break-glass")


def permission_set_name(persona: str) -> str:
    """The IAM Identity Center permission set people sign in with to become ``persona``
    (Identity Center allows 32 characters)."""
    return f"genai-{persona}"[:32]


# Identity Center ends a sign-in role's name with a 16-character hash of its own.
SIGN_IN_ROLE_HASH = "?" * 16


def sign_in_role_patterns(partition: str, account: str, permission_set: str) -> list[str]:
    """The ARN patterns of the role IAM Identity Center creates in ``account`` for
    ``permission_set`` (``AWSReservedSSO_<name>_<16 characters>``, right under its reserved
    path or under a region there): the name starts right after a '/' and the hash is matched
    character by character, so no other set's name (``<name>_more``, ``x<name>``) matches."""
    role = f"AWSReservedSSO_{permission_set}_{SIGN_IN_ROLE_HASH}"
    reserved = f"arn:{partition}:iam::{account}:role/aws-reserved/sso.amazonaws.com/"
    return [f"{reserved}{role}", f"{reserved}*/{role}"]


def boundary_policy_name(prefix: str) -> str:
    """The fixed name of the permissions boundary every platform role carries."""
    return f"{prefix}-{BOUNDARY_SUFFIX}"


def base_model_prefix(model_id: str) -> str:
    """Where an open-weights model's base weights are staged in a LOB's artifacts zone."""
    return f"models/{model_id}/base/"


def pipeline_runs_prefix(pipeline: str) -> str:
    """Where a fine-tuning pipeline keeps its runs (adapters, reports) in the artifacts zone."""
    return f"pipelines/{pipeline}/"


def merged_models_prefix(pipeline: str) -> str:
    """Where a fine-tuning pipeline writes the merged weights of its runs."""
    return f"{pipeline_runs_prefix(pipeline)}merged/"


def release_models_prefix(model: str) -> str:
    """Where an environment keeps what it serves of ``model`` (artifacts zone)."""
    return f"models/{model}/"


def model_releases_prefix(model: str) -> str:
    """The releases of ``model``, one ``v<package version>/`` each."""
    return f"{release_models_prefix(model)}releases/"


def served_model_prefix(model: str) -> str:
    """The files of the release of ``model`` an endpoint serves (where its stack's model
    reads; the release function keeps them in step)."""
    return f"{release_models_prefix(model)}serving/"


# Where each LOB environment publishes the IDs its applications use (SSM parameters).
# Where a data scientist's experiments (their jobs' outputs) and the MLflow server's artifacts
# are kept in the interactive environment's artifacts zone: the only prefixes of that zone
# data scientists read and write.
# Where a dataset's objects are, in the raw zone (as landed) and the curated zone (as the
# ETL writes them, the location of its Glue table).
DATASETS_PREFIX = "datasets/"


def dataset_prefix(dataset: str) -> str:
    return f"{DATASETS_PREFIX}{dataset}/"


# Where the ETL stages a dataset in the curated zone until its quality rules pass.
STAGING_PREFIX = "staging/"


def staged_prefix(dataset: str) -> str:
    return f"{STAGING_PREFIX}{dataset_prefix(dataset)}"


def etl_name(prefix: str) -> str:
    """The ETL state machine of an LOB environment (its roles are named ``prefix-...``)."""
    return f"{prefix}-etl"


def quality_ruleset_name(prefix: str, dataset: str) -> str:
    return f"{prefix}-{dataset}"


EXPERIMENTS_PREFIX = "experiments/"
MLFLOW_ARTIFACTS_PREFIX = "mlflow/"

# The namespaces of what the platform's functions observe (answers, through embedded
# metrics in their logs): no role under the boundary may publish there, so no one can dilute
# a rate an alarm watches.
OBSERVED_METRICS_SUFFIX = "/observed"


def observed_metric_namespace(namespace: str) -> str:
    return f"{namespace}{OBSERVED_METRICS_SUFFIX}"


PARAMETER_ROOT = "/genai-platform"


def parameter_path(lob: str, environment: str) -> str:
    """``/genai-platform/<lob>/<environment>``: the parameters of one LOB environment."""
    return f"{PARAMETER_ROOT}/{lob}/{environment}"


def rag_evaluation_parameter(lob: str, environment: str, use_case: str) -> str:
    """The parameter that holds the ARN of a use case's RAG evaluation function."""
    return f"{parameter_path(lob, environment)}/rag-evaluations/{use_case}/function-arn"


def feedback_prefix(use_case: str) -> str:
    """Where a use case's answer API keeps the ratings of its answers (artifacts zone)."""
    return f"feedback/{use_case}/"


def review_prefix(use_case: str) -> str:
    """Where a use case's answers that need a person's review wait (artifacts zone)."""
    return f"review/{use_case}/"


def review_decisions_prefix(use_case: str) -> str:
    """Where a use case's review desk keeps its reviewers' decisions (artifacts zone)."""
    return f"review-decisions/{use_case}/"


def evaluation_candidates_prefix(use_case: str) -> str:
    """Where a use case's review desk exports the reviewed answers as evaluation questions
    (artifacts zone)."""
    return f"evaluation-candidates/{use_case}/"


def rag_reports_prefix(use_case: str) -> str:
    """Where a use case's RAG evaluations write their reports (artifacts zone)."""
    return f"rag-evaluations/{use_case}/"


# OpenSearch Serverless names: collections, their policies and endpoints, 32 characters.
OPENSEARCH_NAME_LENGTH = 32


def short_name(name: str, limit: int = OPENSEARCH_NAME_LENGTH) -> str:
    """``name`` when it fits ``limit``; else its start and a hash of the whole name, so that
    two long names never shorten to the same one."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(digest) - 1].rstrip('-')}-{digest}"


# Up to this length, ``<collection>-<part>`` cut to 32 characters stays distinct per part
# (the names collections of up to 30 characters were deployed with, kept).
_CUT_NAMES_DISTINCT = OPENSEARCH_NAME_LENGTH - 2


def collection_part_name(collection_name: str, part: str) -> str:
    """The name of one policy or endpoint of the collection: ``<collection>-<part>`` cut to 32
    characters; for a longer collection name, its start and a hash (``short_name``) so that
    the part survives and no two policies share a name."""
    if len(collection_name) <= _CUT_NAMES_DISTINCT:
        return f"{collection_name}-{part}"[:OPENSEARCH_NAME_LENGTH]
    return f"{short_name(collection_name, OPENSEARCH_NAME_LENGTH - len(part) - 1)}-{part}"


# The PII entity types a Bedrock guardrail's sensitive-information policy accepts.
PII_ENTITIES = (
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
)
