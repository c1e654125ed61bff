"""The organization's central policies, deployed in the management account.

Service and resource control policies are attached to the accounts the platform deploys to,
by account ID, so that they are in force from the first deployment whatever OU an account
sits in; the AI opt-out, tag and (optionally) Bedrock policies are attached to the root.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from blueprint.model.inputs.organization import ModelCatalogScope
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
    tag_policy,
)
from genai_constructs.workload_policy import workload_scp

ROOT = "root"
# SCPs attached directly to one account at most, AWS's FullAWSAccess included.
MAX_SCPS_PER_TARGET = 5
QUOTAS = {
    "SERVICE_CONTROL_POLICY": SCP_MAX_CHARS,
    "RESOURCE_CONTROL_POLICY": RCP_MAX_CHARS,
    "AISERVICES_OPT_OUT_POLICY": AI_OPT_OUT_MAX_CHARS,
    "TAG_POLICY": TAG_POLICY_MAX_CHARS,
    "BEDROCK_POLICY": BEDROCK_POLICY_MAX_CHARS,
}


@dataclass(frozen=True)
class OrgPolicy:
    """One policy to create: construct id, name suffix, type, document and targets (account
    IDs, or ``ROOT``)."""

    construct_id: str
    name: str
    policy_type: str
    description: str
    document: PolicyDocument
    targets: tuple[str, ...]


class OrganizationStack(Stack):
    """The SCPs, the RCP and the root's management policies of the platform.

    The region and security-guardrail SCPs and the data-perimeter RCP apply to every member
    account, a model-catalog SCP to each group of accounts that share a data classification,
    the SageMaker SCP to the LOB accounts. Each policy type must be enabled on the root
    beforehand (``aws organizations enable-policy-type``). With AWS's FullAWSAccess, an LOB
    account carries 5 SCPs, the maximum (checked here).

    :param org_name: name prefix of the policies, e.g. ``example-corp``.
    :param allowed_regions: regions where regional services may be used, at least one.
    :param organization_root_id: ``r-...``, target of the management policies.
    :param organization_id: ``o-...``, the data perimeter's organization.
    :param member_accounts: every account the platform deploys to (not the management
        account, which SCPs and RCPs never restrict).
    :param workload_accounts: the LOB accounts, where SageMaker workloads run.
    :param model_catalogs: the model catalog of each group of member accounts.
    :param lob_names: the LOBs, allowed values of the ``lob`` tag.
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
    :param agent_identity_providers: default none; the OpenID discovery URLs an agent gateway
        of a workload account may accept tokens from (none: IAM-authenticated gateways only).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        org_name: str,
        allowed_regions: Sequence[str],
        organization_root_id: str,
        organization_id: str,
        member_accounts: Sequence[str],
        workload_accounts: Sequence[str],
        model_catalogs: Sequence[ModelCatalogScope],
        lob_names: Sequence[str],
        protected_role_patterns: Sequence[str],
        exempt_role_patterns: Sequence[str],
        enforce_bedrock_guardrail: bool,
        guardrail_arn: str | None,
        guardrail_version: str | None,
        guardrail_excluded_model_ids: Sequence[str] = (),
        sagemaker_require_volume_key: bool = True,
        agent_identity_providers: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        _check_targets(member_accounts, workload_accounts, model_catalogs)
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
            organization_id=organization_id,
            member_accounts=tuple(member_accounts),
            workload_accounts=tuple(workload_accounts),
            model_catalogs=model_catalogs,
            lob_names=list(lob_names),
            protected_role_patterns=protected_role_patterns,
            exempt_role_patterns=exempt_role_patterns,
            sagemaker_require_volume_key=sagemaker_require_volume_key,
            agent_identity_providers=tuple(agent_identity_providers),
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
        _check_scp_count(policies)

        self.policies: dict[str, organizations.CfnPolicy] = {}
        for policy in policies:
            self.policies[policy.name] = organizations.CfnPolicy(
                self,
                policy.construct_id,
                name=f"{org_name}-{policy.name}",
                type=policy.policy_type,
                description=policy.description,
                content=policy.document,
                target_ids=[
                    organization_root_id if target == ROOT else target for target in policy.targets
                ],
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
    organization_id: str,
    member_accounts: tuple[str, ...],
    workload_accounts: tuple[str, ...],
    model_catalogs: Sequence[ModelCatalogScope],
    lob_names: list[str],
    protected_role_patterns: Sequence[str],
    exempt_role_patterns: Sequence[str],
    sagemaker_require_volume_key: bool,
    agent_identity_providers: tuple[str, ...],
) -> list[OrgPolicy]:
    """The SCPs, the RCP and the root's management policies (Bedrock policy aside)."""

    return [
        OrgPolicy(
            "RegionRestriction",
            "region-restriction",
            "SERVICE_CONTROL_POLICY",
            "Denies regional services outside the allowed regions",
            region_scp(allowed_regions, exempt_role_patterns=exempt_role_patterns),
            member_accounts,
        ),
        OrgPolicy(
            "SecurityGuardrails",
            "security-guardrails",
            "SERVICE_CONTROL_POLICY",
            "Protects CloudTrail, Config, GuardDuty, platform roles, managed policies and public "
            "access blocks",
            guardrails_scp(protected_role_patterns, exempt_role_patterns=exempt_role_patterns),
            member_accounts,
        ),
        *(
            OrgPolicy(
                f"BedrockModelCatalog{catalog.name.capitalize()}",
                f"bedrock-model-catalog-{catalog.name}",
                "SERVICE_CONTROL_POLICY",
                f"Denies Bedrock models not approved for {catalog.name} data",
                bedrock_scp(catalog.model_ids),
                catalog.accounts,
            )
            for catalog in model_catalogs
        ),
        # The logical ID is the SageMaker SCP's, which this policy extends in place.
        OrgPolicy(
            "SageMakerIsolation",
            "workload-isolation",
            "SERVICE_CONTROL_POLICY",
            "Denies SageMaker workloads outside a VPC or without customer-managed keys, and "
            "agent gateways or memory without authentication or customer-managed keys",
            workload_scp(
                require_volume_key=sagemaker_require_volume_key,
                agent_identity_providers=agent_identity_providers,
            ),
            workload_accounts,
        ),
        OrgPolicy(
            "DataPerimeter",
            "data-perimeter",
            "RESOURCE_CONTROL_POLICY",
            "Keeps S3, KMS and OpenSearch Serverless resources inside the organization",
            data_perimeter_rcp(organization_id),
            member_accounts,
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


def _check_targets(
    member_accounts: Sequence[str],
    workload_accounts: Sequence[str],
    model_catalogs: Sequence[ModelCatalogScope],
) -> None:
    """Every target is a member account; each member account is in one model catalog."""
    if not member_accounts:
        raise ValueError("OrganizationStack: member_accounts must name at least one account")
    members = set(member_accounts)
    strays = sorted(set(workload_accounts) - members)
    if strays:
        raise ValueError(f"OrganizationStack: workload accounts {strays} are not member accounts")
    placed = Counter(account for catalog in model_catalogs for account in catalog.accounts)
    twice = sorted(account for account, count in placed.items() if count > 1)
    if twice:
        raise ValueError(f"OrganizationStack: accounts {twice} are in two model catalogs")
    missing = sorted(members - set(placed))
    if missing or set(placed) - members:
        raise ValueError(
            "OrganizationStack: model_catalogs must cover every member account once "
            f"(missing {missing}, strays {sorted(set(placed) - members)})"
        )


def _check_scp_count(policies: Sequence[OrgPolicy]) -> None:
    """AWS attaches at most 5 SCPs to an account, FullAWSAccess included."""
    attached = Counter(
        target
        for policy in policies
        if policy.policy_type == "SERVICE_CONTROL_POLICY"
        for target in policy.targets
    )
    over = {
        account: count + 1 for account, count in attached.items() if count + 1 > MAX_SCPS_PER_TARGET
    }
    if over:
        raise ValueError(
            f"OrganizationStack: accounts {sorted(over)} would carry {max(over.values())} SCPs "
            f"with FullAWSAccess; AWS allows {MAX_SCPS_PER_TARGET} per account"
        )


def _check_size(policy: OrgPolicy) -> None:
    size, quota = policy_size(policy.document), QUOTAS[policy.policy_type]
    if size > quota:
        raise ValueError(
            f"OrganizationStack: policy '{policy.name}' is {size} characters, over the "
            f"{quota}-character quota of {policy.policy_type}"
        )
