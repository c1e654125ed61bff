"""A private VPC: isolated subnets, interface endpoints, flow logs, no internet path."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.compliance import acknowledge, ignore_cfn_lint, in_every_framework
from genai_constructs.endpoint_types import endpoint_names, endpoint_type
from genai_constructs.principals import own_account_service


def endpoint_services(
    names: Iterable[str] | None = None,
) -> dict[str, ec2.InterfaceVpcEndpointAwsService]:
    """The CDK services of the named endpoint types (``genai_constructs.endpoint_types``;
    default every one), by name."""
    chosen = endpoint_names() if names is None else tuple(names)
    return {
        name: getattr(ec2.InterfaceVpcEndpointAwsService, endpoint_type(name).cdk_service)
        for name in chosen
    }


# RFC 1918: the ranges a private network may use.
PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(r) for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


class PinnedZonesStack(Stack):
    """A stack whose availability zones are the ones given, never looked up.

    A VPC with explicit zones still asks its stack for the region's zones (to check them),
    and a stack of a known account and region looks those up with an AWS call: `cdk synth`
    without credentials fails. Build ``PrivateNetwork`` in this stack (or give your own stack
    an ``availability_zones`` property) and synthesis needs no AWS call.

    :param availability_zones: the zones this stack's resources use, of its region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str],
        **kwargs: Any,
    ) -> None:
        self._pinned_zones = list(availability_zones)
        super().__init__(scope, construct_id, **kwargs)

    @property
    def availability_zones(self) -> list[str]:
        return self._pinned_zones


class PrivateNetwork(Construct):
    """A VPC with isolated subnets only, reached through AWS PrivateLink endpoints.

    There is no internet or NAT gateway; AWS APIs are reached through interface endpoints,
    each behind its own security group that admits HTTPS from the VPC's CIDR only, and S3
    through a gateway endpoint. The default security group is stripped of its rules. All
    traffic is recorded by a VPC flow log into ``flow_log_group``.

    :param cidr: the VPC's IPv4 range, e.g. ``10.0.0.0/16``.
    :param availability_zones: explicit zones, at least two, of the stack's region. The CDK
        still asks the stack for its region's zones: in a ``PinnedZonesStack`` (or a stack
        with an ``availability_zones`` property) that needs no AWS call at synthesis.
    :param flow_log_group: the KMS-encrypted log group that receives flow logs.
    :param interface_endpoints: default every type of ``genai_constructs.endpoint_types``
        (``endpoint_services()``: Bedrock, SageMaker, STS, CloudWatch Logs, KMS, ECR); maps a
        construct id to the service.
    :param endpoint_availability_zones: default every zone; the zones of the interface
        endpoints (one zone halves their cost and gives up zone redundancy).
    :param subnet_mask: default 22; the size of each isolated subnet.
    :param organization_id: default none; ``o-...``. When given, the endpoints carry a data
        perimeter: interface endpoints serve only principals of the organization, and the S3
        gateway endpoint only the organization's buckets (and the AWS-owned buckets that image
        pulls and CloudFormation custom resources need), so credentials or data cannot leave
        through them to another organization's account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zones: list[str],
        flow_log_group: logs.ILogGroup,
        interface_endpoints: dict[str, ec2.InterfaceVpcEndpointAwsService] | None = None,
        subnet_mask: int = 22,
        organization_id: str | None = None,
        endpoint_availability_zones: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoints = endpoint_services() if interface_endpoints is None else interface_endpoints
        if len(availability_zones) < 2:
            raise ValueError(
                "PrivateNetwork: availability_zones needs at least two zones "
                f"(got {availability_zones})"
            )
        outside = sorted(set(endpoint_availability_zones or ()) - set(availability_zones))
        if outside:
            raise ValueError(
                f"PrivateNetwork: endpoint_availability_zones {outside} are not zones of the VPC "
                f"({availability_zones})"
            )
        if not Token.is_unresolved(cidr):
            _check_private_range(cidr)
            if int(cidr.split("/")[1]) >= subnet_mask:
                raise ValueError(
                    f"PrivateNetwork: cidr {cidr} is too small for /{subnet_mask} subnets"
                )
        region = Stack.of(scope).region
        if not Token.is_unresolved(region):
            foreign = [z for z in availability_zones if not _zone_of(z, region)]
            if foreign:
                raise ValueError(
                    f"PrivateNetwork: availability_zones {foreign} are not zones of the stack's "
                    f"region {region}; allowed: {region}a, {region}b, ..."
                )

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=availability_zones,
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=subnet_mask,
                )
            ],
        )
        pinned_zones = (
            "Availability zones are chosen per account in the organization file; zone names are "
            "pinned on purpose so synthesis needs no context lookup."
        )
        for subnet in self.vpc.isolated_subnets:
            ignore_cfn_lint(subnet.node.default_child, ["W3010"], pinned_zones)
            Validations.of(subnet.node.default_child).acknowledge(
                Acknowledgment(id="CloudFormation-Validate::W3010", reason=pinned_zones)
            )
        stack = Stack.of(self)
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=own_account_service(
                self,
                "vpc-flow-logs.amazonaws.com",
                f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:vpc-flow-log/*",
            ),
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        acknowledge(
            flow_log_role.node.find_child("DefaultPolicy"),
            in_every_framework("IAMNoInlinePolicy"),
            "The flow-log delivery role's only policy is the CDK grant of write access to its "
            "one log group; it is attached to this role alone and managed with it.",
        )
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        )
        if organization_id is not None:
            for statement in s3_perimeter(Stack.of(self), organization_id):
                self.s3_endpoint.add_to_policy(statement)
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for endpoint_id, service in endpoints.items():
            security_group = ec2.SecurityGroup(
                self,
                f"{endpoint_id}EndpointSecurityGroup",
                vpc=self.vpc,
                description=f"HTTPS from inside the VPC to the {endpoint_id} endpoint only",
                allow_all_outbound=False,
            )
            security_group.add_ingress_rule(
                ec2.Peer.ipv4(cidr),
                ec2.Port.tcp(443),
                "HTTPS from the VPC",
            )
            endpoint = self.vpc.add_interface_endpoint(
                f"{endpoint_id}Endpoint",
                service=service,
                private_dns_enabled=True,
                security_groups=[security_group],
                open=False,
                subnets=ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    availability_zones=(
                        list(endpoint_availability_zones) if endpoint_availability_zones else None
                    ),
                ),
            )
            if organization_id is not None:
                endpoint.add_to_policy(
                    iam.PolicyStatement(
                        sid="OrganizationPrincipalsOnly",
                        principals=[iam.AnyPrincipal()],
                        actions=["*"],
                        resources=["*"],
                        conditions={"StringEquals": {"aws:PrincipalOrgID": organization_id}},
                    )
                )
            self.endpoints[endpoint_id] = endpoint


def s3_perimeter(stack: Stack, organization_id: str) -> list[iam.PolicyStatement]:
    """The S3 gateway endpoint's policy: the organization's principals on the organization's
    buckets; and reads of the AWS-owned buckets behind ECR image layers and writes of
    CloudFormation's custom resource responses, which AWS signs (no organization of ours)."""
    organization = {"aws:PrincipalOrgID": organization_id, "aws:ResourceOrgID": organization_id}
    return [
        iam.PolicyStatement(
            sid="OrganizationBucketsForOrganizationPrincipals",
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=["*"],
            conditions={"StringEquals": organization},
        ),
        iam.PolicyStatement(
            sid="EcrImageLayers",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=[f"arn:{stack.partition}:s3:::prod-{stack.region}-starport-layer-bucket/*"],
        ),
        iam.PolicyStatement(
            sid="CloudFormationCustomResourceResponses",
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[f"arn:{stack.partition}:s3:::cloudformation-custom-resource-response-*/*"],
        ),
    ]


def _check_private_range(cidr: str) -> None:
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        raise ValueError(
            f"PrivateNetwork: cidr '{cidr}' is not an IPv4 range; allowed: e.g. 10.0.0.0/16"
        ) from None
    if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
        raise ValueError(
            f"PrivateNetwork: cidr {cidr} is not a private range; allowed: within 10.0.0.0/8, "
            "172.16.0.0/12 or 192.168.0.0/16"
        )


def _zone_of(zone: str, region: str) -> bool:
    suffix = zone.removeprefix(region)
    return suffix != zone and len(suffix) == 1 and suffix.isalpha()
