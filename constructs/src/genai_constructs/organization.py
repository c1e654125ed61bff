"""AWS Organizations policy documents of the platform, built as plain dicts (no CDK needed).

Every IAM-style statement has a ``Sid`` that names the control it implements. Each builder
checks its own inputs and raises ``ValueError``; ``policy_size`` measures a document the way
Organizations counts it, and the ``*_MAX_CHARS`` constants are the quotas it is checked against.

Sources (checked when this module was written):

* Sizes: AWS Organizations User Guide, "Quotas for AWS Organizations" (maximum size of a policy
  document: SCPs 5,120 characters, AI services opt-out policies 2,500, tag policies 10,000) and
  "Resource control policies" (maximum size of an RCP: 5,120 characters). Organizations does
  not count white space outside quoted strings, hence the compact JSON of ``policy_size``.
* Services that RCPs apply to: AWS Organizations User Guide, "Resource control policies",
  list of supported services (S3, STS, KMS, SQS and Secrets Manager at launch; Amazon ECR and
  OpenSearch Serverless added in 2025; later Cognito and CloudWatch Logs). S3 Vectors is not
  on that list, so the perimeter cannot cover it.
* Bedrock policies: AWS Organizations User Guide, "Amazon Bedrock policy syntax and examples".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from genai_constructs.naming import ORGANIZATION_ID

PolicyDocument = dict[str, Any]

SCP_MAX_CHARS = 5_120
RCP_MAX_CHARS = 5_120
TAG_POLICY_MAX_CHARS = 10_000
AI_OPT_OUT_MAX_CHARS = 2_500
# Not listed on the quotas page when this was written; 10,000 is the size of the other
# management policy types (backup, tag, chat applications). Check before relying on it.
BEDROCK_POLICY_MAX_CHARS = 10_000

# Services whose API is global (served from one region, us-east-1 for most), so that a deny on
# aws:RequestedRegion would break them: identity (iam, sts, organizations, account), DNS and
# edge (route53, route53domains, cloudfront, globalaccelerator, waf classic, shield), billing
# and cost (aws-portal, billing, budgets, ce, cur, pricing) and support (support, health,
# trustedadvisor). Regional services such as kms, s3 or bedrock are deliberately not here.
GLOBAL_SERVICE_ACTIONS: tuple[str, ...] = (
    "account:*",
    "aws-portal:*",
    "billing:*",
    "budgets:*",
    "ce:*",
    "cloudfront:*",
    "cur:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
)

# Services the data perimeter RCP covers: the platform's stores of LOB data that RCPs support
# (S3 data lake, KMS keys, OpenSearch Serverless vector collections). s3vectors is left out
# because RCPs do not apply to it; its buckets rely on their own policies and the SCPs.
PERIMETER_SERVICES: tuple[str, ...] = ("s3", "kms", "aoss")

TAG_KEYS: tuple[str, ...] = ("lob", "environment", "cost-center", "data-classification")
TAG_ALLOWED_VALUES: Mapping[str, tuple[str, ...]] = {
    "environment": ("interactive", "nonprod", "prod", "platform"),
    "data-classification": ("public", "internal", "confidential", "restricted"),
}

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_ROLE_PATTERN = re.compile(r"^arn:[a-z*-]+:iam::(\d{12}|\*):role/[\w+=,.@/*?-]+$")
_GUARDRAIL_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:([a-z0-9-]+):(\d{12}):guardrail/[a-z0-9]+$")
_GUARDRAIL_VERSION = re.compile(r"^[1-9][0-9]*$")


def policy_size(document: Mapping[str, Any]) -> int:
    """Characters ``document`` counts against its quota (compact JSON, no white space)."""
    return len(json.dumps(document, separators=(",", ":")))


def region_scp(
    allowed_regions: Sequence[str], *, exempt_role_patterns: Sequence[str] = ()
) -> PolicyDocument:
    """Deny every regional action outside ``allowed_regions``.

    :param allowed_regions: region names, at least one.
    :param exempt_role_patterns: default none; role ARN patterns (``aws:PrincipalArn``) that
        may act in any region, e.g. break-glass and CDK bootstrap roles.
    """
    if not allowed_regions:
        raise ValueError("region_scp: allowed_regions must name at least one region")
    for region in allowed_regions:
        if not _REGION.match(region):
            raise ValueError(f"region_scp: '{region}' is not a region name")
    _check_role_patterns("region_scp", exempt_role_patterns)
    condition: dict[str, Any] = {"StringNotEquals": {"aws:RequestedRegion": list(allowed_regions)}}
    condition |= _unless_exempt(exempt_role_patterns)
    return policy_document(
        {
            "Sid": "DenyRegionsOutsideAllowList",
            "Effect": "Deny",
            "NotAction": list(GLOBAL_SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": condition,
        }
    )


def guardrails_scp(
    protected_role_patterns: Sequence[str], *, exempt_role_patterns: Sequence[str] = ()
) -> PolicyDocument:
    """Protect audit and detection services, the platform roles and the customer managed
    policies (a new version of a policy attached to a protected role would change what the
    role may do: only a deployment changes them); keep accounts in the org.

    :param protected_role_patterns: role ARN patterns of the platform (persona roles, boundary
        holders) that nobody but the exempt roles may change or delete; at least one.
    :param exempt_role_patterns: default none; role ARN patterns that may still change them
        (the CloudFormation execution role that deploys the platform, break-glass).
    """
    if not protected_role_patterns:
        raise ValueError("guardrails_scp: protected_role_patterns must name at least one pattern")
    _check_role_patterns("guardrails_scp", protected_role_patterns)
    _check_role_patterns("guardrails_scp", exempt_role_patterns)
    unless_exempt = _unless_exempt(exempt_role_patterns)

    def deny(sid: str, actions: list[str], resources: Sequence[str] = ("*",)) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Deny",
            "Action": actions,
            "Resource": resources[0] if list(resources) == ["*"] else list(resources),
        }
        return statement | ({"Condition": unless_exempt} if unless_exempt else {})

    return policy_document(
        deny(
            "DenyCloudTrailChanges",
            [
                "cloudtrail:DeleteTrail",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:StopLogging",
                "cloudtrail:UpdateTrail",
            ],
        ),
        deny(
            "DenyConfigChanges",
            [
                "config:DeleteConfigurationRecorder",
                "config:DeleteDeliveryChannel",
                "config:DeleteRetentionConfiguration",
                "config:PutConfigurationRecorder",
                "config:PutDeliveryChannel",
                "config:PutRetentionConfiguration",
                "config:StopConfigurationRecorder",
            ],
        ),
        deny(
            "DenyGuardDutyChanges",
            [
                "guardduty:DeleteDetector",
                "guardduty:DeleteMembers",
                "guardduty:DeletePublishingDestination",
                "guardduty:DisassociateFromAdministratorAccount",
                "guardduty:DisassociateFromMasterAccount",
                "guardduty:DisassociateMembers",
                "guardduty:StopMonitoringMembers",
                "guardduty:UpdateDetector",
                "guardduty:UpdatePublishingDestination",
            ],
        ),
        deny(
            "DenyPlatformRoleChanges",
            [
                "iam:AttachRolePolicy",
                "iam:DeleteRole",
                "iam:DeleteRolePermissionsBoundary",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            protected_role_patterns,
        ),
        deny(
            "DenyManagedPolicyChanges",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            ["arn:*:iam::*:policy/*"],
        ),
        # DeleteBucketPublicAccessBlock and DeletePublicAccessBlock are authorized by these
        # two Put actions; there are no separate Delete actions to deny.
        deny(
            "DenyPublicAccessBlockChanges",
            ["s3:PutAccountPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
        ),
        {
            "Sid": "DenyLeavingOrganization",
            "Effect": "Deny",
            "Action": "organizations:LeaveOrganization",
            "Resource": "*",
        },
    )


def bedrock_model_arn_patterns(model_id: str) -> list[str]:
    """The ARN patterns that name ``model_id``: the foundation model and system inference
    profiles of any geography (``eu.``, ``us.``, ``global.`` ...) that route to it."""
    return [
        f"arn:*:bedrock:*::foundation-model/{model_id}",
        f"arn:*:bedrock:*:*:inference-profile/*.{model_id}",
    ]


def bedrock_scp(approved_model_ids: Sequence[str]) -> PolicyDocument:
    """Deny model invocation and batch inference on any model outside the catalog.

    Application inference profiles are not denied by name: invoking through one is also
    authorized against the foundation model it wraps, which the NotResource list restricts.

    :param approved_model_ids: Bedrock model IDs of the catalog, at least one; no wildcards.
    """
    if not approved_model_ids:
        raise ValueError("bedrock_scp: approved_model_ids must name at least one model")
    for model_id in approved_model_ids:
        if not _MODEL_ID.match(model_id):
            raise ValueError(
                f"bedrock_scp: '{model_id}' is not a model ID "
                "(letters, digits and . _ : - only, no wildcards)"
            )
    approved = [arn for model in approved_model_ids for arn in bedrock_model_arn_patterns(model)]
    return policy_document(
        {
            "Sid": "DenyModelsOutsideCatalog",
            "Effect": "Deny",
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "NotResource": [
                *approved,
                "arn:*:bedrock:*:*:application-inference-profile/*",
            ],
        },
        {
            # CreateModelInvocationJob is also authorized against the job itself.
            "Sid": "DenyBatchInferenceOutsideCatalog",
            "Effect": "Deny",
            "Action": "bedrock:CreateModelInvocationJob",
            "NotResource": [*approved, "arn:*:bedrock:*:*:model-invocation-job/*"],
        },
    )


def sagemaker_scp(*, require_volume_key: bool = True) -> PolicyDocument:
    """Deny SageMaker jobs and models outside a VPC, and jobs without customer-managed keys.

    Condition keys from the Service Authorization Reference for SageMaker: the ``...KmsKeyArn``
    keys (``OutputKmsKey`` and ``VolumeKmsKey`` are deprecated, no action lists them, and a
    ``Null`` test on them would deny every job). A VPC configuration needs both subnets and
    security groups, so a missing ``sagemaker:VpcSubnets`` catches a missing VPC
    configuration; security groups are checked too for requests that name subnets.

    :param require_volume_key: default ``True``; deny training, processing, tuning jobs and
        endpoint configurations without ``VolumeKmsKeyId``. Instance types with local NVMe
        storage reject a volume key (their volumes are hardware-encrypted), so set ``False``
        where such instance types are needed.
    """
    jobs = [
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateTrainingJob",
    ]
    in_vpc = [*jobs, "sagemaker:CreateModel"]
    statements: list[dict[str, Any]] = [
        deny_when_missing("DenyWorkloadsWithoutVpcSubnets", in_vpc, "sagemaker:VpcSubnets"),
        deny_when_missing(
            "DenyWorkloadsWithoutVpcSecurityGroups", in_vpc, "sagemaker:VpcSecurityGroupIds"
        ),
        deny_when_missing("DenyJobsWithoutOutputKey", jobs, "sagemaker:OutputKmsKeyArn"),
    ]
    if require_volume_key:
        statements.append(
            deny_when_missing(
                "DenyJobsAndEndpointsWithoutVolumeKey",
                [*jobs, "sagemaker:CreateEndpointConfig"],
                "sagemaker:VolumeKmsKeyArn",
            )
        )
    return policy_document(*statements)


def data_perimeter_rcp(organization_id: str) -> PolicyDocument:
    """Resource control policy: only principals of the organization, or AWS services, may
    use the organization's S3, KMS and OpenSearch Serverless resources (``PERIMETER_SERVICES``).

    :param organization_id: the organization's ID, ``o-`` and 10 to 32 letters or digits.
    """
    if not ORGANIZATION_ID.match(organization_id):
        raise ValueError(f"data_perimeter_rcp: '{organization_id}' is not an organization ID")
    return policy_document(
        {
            "Sid": "DenyAccessFromOutsideOrganization",
            "Effect": "Deny",
            "Principal": "*",
            "Action": [f"{service}:*" for service in PERIMETER_SERVICES],
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": organization_id},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    )


def ai_opt_out_policy() -> PolicyDocument:
    """Opt every account out of content use by every AWS AI service (the ``default`` key
    covers all of them, including services added later); child policies may not override."""
    locked = {"@@operators_allowed_for_child_policies": ["@@none"]}
    return {
        "services": {
            **locked,
            "default": {**locked, "opt_out_policy": {**locked, "@@assign": "optOut"}},
        }
    }


def tag_policy(
    keys: Sequence[str] = TAG_KEYS,
    *,
    allowed_values: Mapping[str, Sequence[str]] = TAG_ALLOWED_VALUES,
) -> PolicyDocument:
    """Tag policy: the casing of ``keys`` and, per key, the values allowed.

    Compliance is reported (no ``enforced_for``), so a mistyped tag is visible in the
    organization's tag compliance report without failing deployments.

    :param keys: default ``TAG_KEYS``; tag keys whose casing is enforced.
    :param allowed_values: default ``TAG_ALLOWED_VALUES``; per key, the allowed values.
    """
    if not keys:
        raise ValueError("tag_policy: keys must name at least one tag key")
    unknown = sorted(set(allowed_values) - set(keys))
    if unknown:
        raise ValueError(f"tag_policy: allowed_values names keys {unknown} not in {list(keys)}")
    tags: dict[str, Any] = {}
    for key in keys:
        tags[key] = {"tag_key": {"@@assign": key}}
        if key in allowed_values:
            tags[key]["tag_value"] = {"@@assign": list(allowed_values[key])}
    return {"tags": tags}


def bedrock_org_policy(
    guardrail_arn: str, guardrail_version: str, *, excluded_model_ids: Sequence[str] = ()
) -> PolicyDocument:
    """Bedrock policy (type ``BEDROCK_POLICY``) that enforces one guardrail on every model
    inference call in the guardrail's region, per "Amazon Bedrock policy syntax and examples".

    The guardrail must be owned by the management account, be a published version and carry a
    resource-based policy that lets the organization's accounts call ``ApplyGuardrail``. The
    schema is recent: check it against the AWS documentation before each change.

    :param guardrail_arn: ``arn:aws:bedrock:<region>:<account>:guardrail/<id>``.
    :param guardrail_version: a published version number, e.g. ``"1"``.
    :param excluded_model_ids: default none; models not guarded (embedding models).
    """
    match = _GUARDRAIL_ARN.match(guardrail_arn)
    if not match:
        raise ValueError(f"bedrock_org_policy: '{guardrail_arn}' is not a Bedrock guardrail ARN")
    if not _GUARDRAIL_VERSION.match(guardrail_version):
        raise ValueError(
            f"bedrock_org_policy: guardrail_version '{guardrail_version}' must be a published "
            "version number, not DRAFT"
        )
    enforcement: dict[str, Any] = {"included_models": {"@@assign": ["ALL"]}}
    if excluded_model_ids:
        enforcement["excluded_models"] = {"@@assign": list(excluded_model_ids)}
    region = match.group(1)
    return {
        "bedrock": {
            "guardrail_inference": {
                region: {
                    "config_1": {
                        "identifier": {"@@assign": f"{guardrail_arn}:{guardrail_version}"},
                        "selective_content_guarding": {
                            "system": {"@@assign": "comprehensive"},
                            "messages": {"@@assign": "comprehensive"},
                        },
                        "model_enforcement": enforcement,
                    }
                }
            }
        }
    }


def guardrail_owner(guardrail_arn: str) -> str | None:
    """The account in a guardrail ARN, or ``None`` when it is not a guardrail ARN."""
    match = _GUARDRAIL_ARN.match(guardrail_arn)
    return match.group(2) if match else None


def policy_document(*statements: dict[str, Any]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def deny_when_missing(sid: str, actions: list[str], key: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": actions,
        "Resource": "*",
        "Condition": {"Null": {key: "true"}},
    }


def _unless_exempt(exempt_role_patterns: Sequence[str]) -> dict[str, Any]:
    if not exempt_role_patterns:
        return {}
    return {"ArnNotLike": {"aws:PrincipalArn": list(exempt_role_patterns)}}


def _check_role_patterns(builder: str, patterns: Sequence[str]) -> None:
    for pattern in patterns:
        if not _ROLE_PATTERN.match(pattern):
            raise ValueError(
                f"{builder}: '{pattern}' is not an IAM role ARN pattern "
                "(arn:<partition>:iam::<account or *>:role/<name>)"
            )
