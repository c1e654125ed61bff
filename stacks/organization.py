"""The organization's structure and central policies, deployed in the management account.

OUs per environment kind, service and resource control policies attached to them, and the
AI opt-out, tag and (optionally) Bedrock policies attached to the root. Accounts are not moved
here: ``account_ous`` says which OU each account belongs in (``aws organizations move-account``
or an import of the accounts into a stack of ``AWS::Organizations::Account``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack, Token
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from genai_constructs.organization import (
    AI_OPT_OUT_MAX_CHARS,
    BEDROCK_POLICY_MAX_CHARS,
    RCP_MAX_CHARS,
    SCP_MAX_CHARS,
    TAG_ALLOWED_VALUES,
    TAG_KEYS,
    TAG_POLICY_MAX_CHARS,
    PolicyDocument,
    ai_opt_out_policy,
    bedrock_org_policy,
    bedrock_scp,
    data_perimeter_rcp,
    guardrail_owner,
    guardrails_scp,
    policy_size,
    region_scp,
    sagemaker_scp,
    tag_policy,
)

LOB_OUS = ("interactive", "nonprod", "prod")
PLATFORM_OU = "platform"
ALL_OUS = (*LOB_OUS, PLATFORM_OU)
ROOT = "root"
QUOTAS = {
    "SERVICE_CONTROL_POLICY": SCP_MAX_CHARS,
    "RESOURCE_CONTROL_POLICY": RCP_MAX_CHARS,
    "AISERVICES_OPT_OUT_POLICY": AI_OPT_OUT_MAX_CHARS,
    "TAG_POLICY": TAG_POLICY_MAX_CHARS,
    "BEDROCK_POLICY": BEDROCK_POLICY_MAX_CHARS,
}


@dataclass(frozen=True)
class OrgPolicy:
    """One policy to create: construct id, name suffix, type, document and target OUs."""

    construct_id: str
    name: str
    policy_type: str
    description: str
    document: PolicyDocument
    targets: tuple[str, ...]


class OrganizationStack(Stack):
    """OUs ``interactive``, ``nonprod``, ``prod``, ``platform`` and the policies on them.

    Region and guardrail SCPs apply to all four OUs; the Bedrock and SageMaker SCPs and the
    data-perimeter RCP to the three LOB OUs; the AI opt-out, tag and Bedrock policies to the
    root. Each policy type must be enabled on the root beforehand (``aws organizations
    enable-policy-type``). With AWS's FullAWSAccess, an LOB OU carries 5 SCPs, the maximum.

    :param org_name: name prefix of the policies, e.g. ``example-corp``.
    :param allowed_regions: regions where regional services may be used, at least one.
    :param approved_model_ids: Bedrock model IDs of the catalog, at least one.
    :param organization_root_id: ``r-...``, parent of the OUs.
    :param organization_id: ``o-...``, the data perimeter's organization.
    :param lob_accounts: LOB name -> environment (interactive, nonprod, prod) -> account.
    :param platform_accounts: role (e.g. governance, tooling) -> account; ``platform`` OU.
    :param protected_role_patterns: role ARN patterns of the platform that only exempt roles
        may change, at least one.
    :param exempt_role_patterns: role ARN patterns exempt from the region and guardrail SCPs
        (CDK deployment roles, break-glass), at least one.
    :param enforce_bedrock_guardrail: create the Bedrock policy enforcing the guardrail.
    :param guardrail_arn: guardrail of the management account; needed when enforcing.
    :param guardrail_version: its published version; needed when enforcing.
    :param guardrail_excluded_model_ids: default none; models the Bedrock policy does not
        guard (embedding models).
    :param sagemaker_require_volume_key: default ``True``; deny SageMaker jobs and endpoint
        configurations without a volume KMS key. Instance types with local NVMe storage (most
        GPU types: g4dn, g5, g6, p4d, p5) reject a volume key, so ``False`` where they are used.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        allowed_regions: Sequence[str],
        approved_model_ids: Sequence[str],
        organization_root_id: str,
        organization_id: str,
        lob_accounts: Mapping[str, Mapping[str, str]],
        platform_accounts: Mapping[str, str],
        protected_role_patterns: Sequence[str],
        exempt_role_patterns: Sequence[str],
        enforce_bedrock_guardrail: bool,
        guardrail_arn: str | None,
        guardrail_version: str | None,
        guardrail_excluded_model_ids: Sequence[str] = (),
        sagemaker_require_volume_key: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.account_ous = _account_ous(lob_accounts, platform_accounts)
        if not allowed_regions:
            raise ValueError("OrganizationStack: allowed_regions must name at least one region")
        if not protected_role_patterns:
            raise ValueError(
                "OrganizationStack: protected_role_patterns must name at least one role pattern"
            )
        if not exempt_role_patterns:
            raise ValueError(
                "OrganizationStack: exempt_role_patterns must name at least one role pattern, "
                "or the roles that deploy the platform are locked out"
            )
        policies = _policies(
            allowed_regions=allowed_regions,
            approved_model_ids=approved_model_ids,
            organization_id=organization_id,
            lob_names=list(lob_accounts),
            protected_role_patterns=protected_role_patterns,
            exempt_role_patterns=exempt_role_patterns,
            sagemaker_require_volume_key=sagemaker_require_volume_key,
        )
        if enforce_bedrock_guardrail:
            policies.append(
                OrgPolicy(
                    "BedrockGuardrailEnforcement",
                    "bedrock-guardrail",
                    "BEDROCK_POLICY",
                    "Enforces the central guardrail on every Bedrock inference call",
                    self._guardrail_policy(
                        guardrail_arn, guardrail_version, guardrail_excluded_model_ids
                    ),
                    (ROOT,),
                )
            )
        for policy in policies:
            _check_size(policy)

        self.ou_ids: dict[str, str] = {ROOT: organization_root_id}
        for ou in ALL_OUS:
            unit = organizations.CfnOrganizationalUnit(
                self, f"{ou.capitalize()}Ou", name=ou, parent_id=organization_root_id
            )
            self.ou_ids[ou] = unit.attr_id
            CfnOutput(self, f"{ou.capitalize()}OuId", value=unit.attr_id)
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for policy in policies:
            self.policies[policy.name] = organizations.CfnPolicy(
                self,
                policy.construct_id,
                name=f"{org_name}-{policy.name}",
                type=policy.policy_type,
                description=policy.description,
                content=policy.document,
                target_ids=[self.ou_ids[target] for target in policy.targets],
            )

    def _guardrail_policy(
        self,
        guardrail_arn: str | None,
        guardrail_version: str | None,
        excluded_model_ids: Sequence[str],
    ) -> PolicyDocument:
        if not guardrail_arn or not guardrail_version:
            raise ValueError(
                "OrganizationStack: enforce_bedrock_guardrail needs guardrail_arn and "
                "guardrail_version"
            )
        document = bedrock_org_policy(
            guardrail_arn, guardrail_version, excluded_model_ids=excluded_model_ids
        )
        owner = guardrail_owner(guardrail_arn)
        if not Token.is_unresolved(self.account) and owner != self.account:
            raise ValueError(
                f"OrganizationStack: the enforced guardrail must be owned by the management "
                f"account {self.account} (got {owner})"
            )
        return document


def _policies(
    *,
    allowed_regions: Sequence[str],
    approved_model_ids: Sequence[str],
    organization_id: str,
    lob_names: list[str],
    protected_role_patterns: Sequence[str],
    exempt_role_patterns: Sequence[str],
    sagemaker_require_volume_key: bool,
) -> list[OrgPolicy]:
    """The SCPs, the RCP and the root's management policies (Bedrock policy aside)."""

    return [
        OrgPolicy(
            "RegionRestriction",
            "region-restriction",
            "SERVICE_CONTROL_POLICY",
            "Denies regional services outside the allowed regions",
            region_scp(allowed_regions, exempt_role_patterns=exempt_role_patterns),
            ALL_OUS,
        ),
        OrgPolicy(
            "SecurityGuardrails",
            "security-guardrails",
            "SERVICE_CONTROL_POLICY",
            "Protects CloudTrail, Config, GuardDuty, platform roles and public access blocks",
            guardrails_scp(protected_role_patterns, exempt_role_patterns=exempt_role_patterns),
            ALL_OUS,
        ),
        OrgPolicy(
            "BedrockModelCatalog",
            "bedrock-model-catalog",
            "SERVICE_CONTROL_POLICY",
            "Denies Bedrock models outside the approved catalog",
            bedrock_scp(approved_model_ids),
            LOB_OUS,
        ),
        OrgPolicy(
            "SageMakerIsolation",
            "sagemaker-isolation",
            "SERVICE_CONTROL_POLICY",
            "Denies SageMaker workloads outside a VPC or without customer-managed keys",
            sagemaker_scp(require_volume_key=sagemaker_require_volume_key),
            LOB_OUS,
        ),
        OrgPolicy(
            "DataPerimeter",
            "data-perimeter",
            "RESOURCE_CONTROL_POLICY",
            "Keeps S3, KMS and OpenSearch Serverless resources inside the organization",
            data_perimeter_rcp(organization_id),
            LOB_OUS,
        ),
        OrgPolicy(
            "AiServicesOptOut",
            "ai-services-opt-out",
            "AISERVICES_OPT_OUT_POLICY",
            "Opts every account out of content use by all AWS AI services",
            ai_opt_out_policy(),
            (ROOT,),
        ),
        OrgPolicy(
            "TagPolicy",
            "tag-policy",
            "TAG_POLICY",
            "Casing and allowed values of the platform's cost and governance tags",
            tag_policy(
                TAG_KEYS,
                allowed_values={**TAG_ALLOWED_VALUES, "lob": (*lob_names, "platform")},
            ),
            (ROOT,),
        ),
    ]


def _account_ous(
    lob_accounts: Mapping[str, Mapping[str, str]], platform_accounts: Mapping[str, str]
) -> dict[str, str]:
    """Account -> the OU it belongs in; every account once, LOB environments known."""
    if not lob_accounts:
        raise ValueError("OrganizationStack: lob_accounts must name at least one LOB")
    placements = [
        (account, env, f"{lob}-{env}")
        for lob, environments in lob_accounts.items()
        for env, account in environments.items()
    ]
    for _, env, owner in placements:
        if env not in LOB_OUS:
            raise ValueError(
                f"OrganizationStack: '{owner}' names environment '{env}', not one of "
                f"{list(LOB_OUS)}"
            )
    placements += [
        (account, PLATFORM_OU, f"platform-{role}") for role, account in platform_accounts.items()
    ]
    account_ous: dict[str, str] = {}
    owners: dict[str, str] = {}
    for account, ou, owner in placements:
        if account in owners:
            raise ValueError(
                f"OrganizationStack: account {account} is placed twice "
                f"({owners[account]} and {owner})"
            )
        owners[account] = owner
        account_ous[account] = ou
    return account_ous


def _check_size(policy: OrgPolicy) -> None:
    size, quota = policy_size(policy.document), QUOTAS[policy.policy_type]
    if size > quota:
        raise ValueError(
            f"OrganizationStack: policy '{policy.name}' is {size} characters, over the "
            f"{quota}-character quota of {policy.policy_type}"
        )
