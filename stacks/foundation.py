"""Stateless foundation of one account: the private network and the persona roles."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_oam as oam
from constructs import Construct

from blueprint.model import names
from blueprint.model.inputs.foundation import (
    FoundationInputs,
    MetricsLinkInputs,
    RemotePrefix,
    WorkloadRoleInputs,
)
from blueprint.model.personas import AUDITOR, RELEASE_APPROVER, Job
from genai_constructs import Persona, PersonaRoles, PrivateNetwork
from genai_constructs.compliance import accept_cdk_provider, acknowledge, nag_reference
from genai_constructs.identity.trust import trusted_role_principal
from genai_constructs.naming import USER_TAG, pascal
from genai_constructs.network import PinnedZonesStack, endpoint_services
from genai_constructs.workforce import BreakGlassRole
from stacks.alerts import subscribe
from stacks.assets import mark
from stacks.persona_access import (
    JOB_POLICIES,
    JobContext,
    agent_guard,
    hub_agent_images,
    kept_from_lob_data,
    persona_guard,
    tenancy_fence,
)
from stacks.security import SecurityStack

AGENTCORE_SERVICE = "bedrock-agentcore.amazonaws.com"


class FoundationStack(PinnedZonesStack):
    """VPC with endpoints and flow logs; persona and workload roles under the boundary.

    Every identity of the account lives here (persona roles, one role per use case, the
    ingestion role); the layers that own resources grant to them by name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        inputs: FoundationInputs,
        security: SecurityStack,
        **kwargs: Any,
    ) -> None:
        # Its zones are the configured ones: the VPC never triggers a context lookup.
        super().__init__(scope, construct_id, availability_zones=inputs.azs, **kwargs)
        self.network = PrivateNetwork(
            self,
            "Network",
            cidr=inputs.vpc_cidr,
            availability_zones=list(inputs.azs),
            flow_log_group=security.flow_log_group,
            organization_id=inputs.organization_id,
            interface_endpoints=endpoint_services(inputs.interface_endpoints),
            endpoint_availability_zones=list(inputs.endpoint_azs),
        )
        self.identity = PersonaRoles(
            self,
            "Personas",
            prefix=inputs.prefix,
            personas=[
                Persona(
                    name=persona.persona.name,
                    description=persona.persona.description,
                    managed_policies=persona.persona.managed_policies,
                    trusted_accounts=persona.trusted_accounts,
                    service_principals=persona.service_principals,
                    trusted_role_arns=persona.trusted_role_arns,
                )
                for persona in inputs.personas
            ],
            unguarded_model_arns=[
                f"arn:{self.partition}:bedrock:*::foundation-model/{model_id}"
                for model_id in inputs.unguarded_model_ids
            ],
            extra_services=inputs.extra_boundary_services,
            deployment_role_pattern=names.cdk_roles_pattern(),
            release_approver=(
                self.approver_name(inputs)
                if any(p.persona == RELEASE_APPROVER for p in inputs.personas)
                else None
            ),
            deployment_bucket_pattern=f"arn:aws:s3:::{names.asset_bucket_name('*', '*')}",
            trail_readers=[
                names.role_name(inputs.prefix, persona.persona.name)
                for persona in inputs.personas
                if persona.persona == AUDITOR
            ],
        )
        own_logs = security.invocation_log_group
        self._persona_access(
            inputs,
            ((own_logs.log_group_arn,) if own_logs else ()) + inputs.account_invocation_logs,
        )
        for persona in inputs.personas:
            self._may_assume(
                self.identity.roles[persona.persona.name], persona.assumes, persona.persona.name
            )
        self.workload_roles = {
            role.name: self._workload_role(role) for role in inputs.workload_roles
        }
        if inputs.tenant:
            tenancy_fence(
                self,
                [*self.identity.roles.values(), *self.workload_roles.values()],
                inputs.tenant,
                inputs.tenant_model_groups,
            )
        if inputs.metrics_link:
            self.metrics_link = self._metrics_link(inputs.metrics_link)
        iam.PermissionsBoundary.of(self).apply(self.identity.boundary)
        if inputs.break_glass_alerts is not None:
            self.break_glass = BreakGlassRole(self, "BreakGlass", prefix=inputs.prefix)
            iam.PermissionsBoundary.of(self.break_glass).clear()
            subscribe(self.break_glass.alarm_topic, inputs.break_glass_alerts)
        accept_cdk_provider(self, "Custom::VpcRestrictDefaultSGCustomResourceProvider")

    def _persona_access(self, inputs: FoundationInputs, invocation_logs: tuple[str, ...]) -> None:
        """The personas' own jobs, and what no persona may do (see ``stacks.persona_access``)."""
        roles = {p.persona: self.identity.roles[p.persona.name] for p in inputs.personas}
        persona_guard(self, list(roles.values()))
        agent_guard(self, list(roles.values()))
        kept_out = [roles[p.persona] for p in inputs.personas if p.kept_from_lob_data]
        if kept_out:
            kept_from_lob_data(
                self,
                kept_out,
                invocation_logs,
                pushes_agent_images=inputs.hub_agent_images,
            )
        if inputs.hub_agent_images:
            admins = [
                roles[p.persona] for p in inputs.personas if p.persona.name == "platform-admin"
            ]
            for admin in admins:
                hub_agent_images(self, admin)
        held: set[Job] = set()
        for persona in inputs.personas:
            for job in persona.jobs:
                scope = self._later_holder(persona.persona.name) if job in held else self
                held.add(job)
                JOB_POLICIES[job](scope, roles[persona.persona], JobContext(inputs, persona))

    def _later_holder(self, persona: str) -> Construct:
        """Where the job policies of a persona go when an earlier persona of the account holds
        the same job (the first holder's policies keep their construct IDs)."""
        found = self.node.try_find_child(f"{pascal(persona)}Jobs")
        return found if isinstance(found, Construct) else Construct(self, f"{pascal(persona)}Jobs")

    def _metrics_link(self, link: MetricsLinkInputs) -> oam.CfnLink:
        """The account's metrics of AWS's namespaces the dashboards read and of the platform's
        own, shared with the governance account's sink of this region (no logs, traces or
        other metrics)."""
        namespaces = ", ".join(f"'{namespace}'" for namespace in link.namespaces)
        return oam.CfnLink(
            self,
            "MetricsLink",
            resource_types=["AWS::CloudWatch::Metric"],
            sink_identifier=link.sink_arn,
            label_template="$AccountName",
            link_configuration=oam.CfnLink.LinkConfigurationProperty(
                metric_configuration=oam.CfnLink.LinkFilterProperty(
                    filter=f"Namespace IN ({namespaces}) OR Namespace LIKE '{link.prefix}%'"
                )
            ),
        )

    @staticmethod
    def approver_name(inputs: FoundationInputs) -> str:
        return names.role_name(inputs.prefix, RELEASE_APPROVER.name)

    def _workload_role(self, workload: WorkloadRoleInputs) -> iam.Role:
        role = iam.Role(
            self,
            f"Workload{pascal(str(workload.asset).replace('/', '-'))}",
            role_name=workload.name,
            description=workload.description,
            assumed_by=iam.CompositePrincipal(
                *(
                    iam.ServicePrincipal(service, conditions=self._service_trust(service))
                    for service in workload.services
                )
            ),
        )
        for principal in map(trusted_role_principal, workload.trusted_role_arns):
            role.assume_role_policy.add_statements(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    principals=[principal],
                )
            )
        self._may_assume(role, workload.assumes, str(workload.asset).replace("/", "-"))
        self._remote_reads(role, workload.remote_reads, str(workload.asset).replace("/", "-"))
        role_tags = Tags.of(role)
        for key, value in workload.tags:
            role_tags.add(key, value)
        mark(role, workload.asset.kind, workload.asset.name)
        return role

    def _service_trust(self, service: str) -> dict[str, object]:
        """A service of this account assumes the role; AgentCore, for a runtime only (not a
        gateway, code interpreter or browser it were passed to)."""
        conditions: dict[str, object] = {"StringEquals": {"aws:SourceAccount": self.account}}
        if service == AGENTCORE_SERVICE:
            conditions["ArnLike"] = {
                "aws:SourceArn": self.format_arn(
                    service="bedrock-agentcore", resource="runtime", resource_name="*"
                )
            }
        return conditions

    def _remote_reads(self, role: iam.Role, reads: tuple[RemotePrefix, ...], name: str) -> None:
        """Let ``role`` read prefixes of other accounts' buckets (whose bucket and key policies
        name it for those prefixes only), decrypting through S3."""
        statements = [
            statement
            for index, read in enumerate(reads)
            for in_account in [{"StringEquals": {"aws:ResourceAccount": read.account}}]
            for statement in (
                iam.PolicyStatement(
                    sid=f"ReadShared{index}",
                    actions=["s3:GetObject"],
                    resources=[f"arn:{self.partition}:s3:::*/{read.prefix}*"],
                    conditions=in_account,
                ),
                iam.PolicyStatement(
                    sid=f"ListShared{index}",
                    actions=["s3:ListBucket"],
                    resources=[f"arn:{self.partition}:s3:::*"],
                    conditions={**in_account, "StringLike": {"s3:prefix": [f"{read.prefix}*"]}},
                ),
                iam.PolicyStatement(
                    sid=f"DecryptShared{index}",
                    actions=["kms:Decrypt"],
                    resources=[f"arn:{self.partition}:kms:{read.region}:{read.account}:key/*"],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{read.region}.amazonaws.com"}
                    },
                ),
            )
        ]
        if statements:
            policy = iam.ManagedPolicy(
                self,
                f"RemoteReads{pascal(name)}",
                description=f"{name}: reads the prefixes other accounts share with it",
                roles=[role],
                statements=statements,
            )
            reason = (
                "Buckets and keys of other accounts have generated names; each statement holds "
                "to one account (aws:ResourceAccount, or the key's account and S3) and prefix, "
                "and their bucket and key policies name this role for that prefix only."
            )
            patterns = {
                nag_reference(self, resource)
                for statement in statements
                for resource in statement.resources
            }
            for pattern in sorted(patterns):
                acknowledge(policy, f"AwsSolutions-IAM5[Resource::{pattern}]", reason)

    def _may_assume(self, role: iam.Role, arns: tuple[str, ...], name: str) -> None:
        """Let ``role`` become its counterparts in the LOB's tenancy (by exact ARN)."""
        if arns:
            iam.ManagedPolicy(
                self,
                f"TenancyAccess{pascal(name)}",
                description=f"{name}: becomes its role in the LOB's tenancy of the central account",
                roles=[role],
                statements=[
                    iam.PolicyStatement(
                        sid="BecomeItsTenancyRole", actions=["sts:AssumeRole"], resources=list(arns)
                    ),
                    # Whoever signed in stays who they are there (their own Studio profile).
                    iam.PolicyStatement(
                        sid="CarryWhoSignedIn",
                        actions=["sts:TagSession"],
                        resources=list(arns),
                        conditions={
                            "StringEquals": {
                                f"aws:RequestTag/{USER_TAG}": f"${{aws:PrincipalTag/{USER_TAG}}}"
                            },
                            "ForAllValues:StringEquals": {"aws:TagKeys": [USER_TAG]},
                        },
                    ),
                ],
            )


def use_account_boundary(stack: Stack, prefix: str) -> None:
    """Put every role of ``stack`` under the account's boundary (the foundation stack makes it)."""
    iam.PermissionsBoundary.of(stack).apply(
        iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", names.boundary_name(prefix))
    )
