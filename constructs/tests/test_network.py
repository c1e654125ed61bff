from __future__ import annotations

import re

import pytest
from aws_cdk import Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs import PrivateNetwork


def _network(**overrides):  # type: ignore[no-untyped-def]
    stack = new_stack()
    group = logs.LogGroup(stack, "FlowLogs")
    props = {
        "cidr": "10.1.0.0/16",
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
        "flow_log_group": group,
    } | overrides
    return stack, PrivateNetwork(stack, "Net", **props)


@pytest.fixture(scope="module")
def template() -> Template:
    stack, _ = _network(
        interface_endpoints={
            "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
            "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
        }
    )
    return Template.from_stack(stack)


def test_no_path_to_the_internet(template: Template) -> None:
    for resource_type in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route"):
        template.resource_count_is(resource_type, 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)


def test_endpoints_can_be_chosen(template: Template) -> None:
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    kinds = sorted(e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints.values())
    assert kinds == ["Gateway", "Interface", "Interface"]
    template.resource_count_is("AWS::EC2::SecurityGroup", 2)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                {
                    "CidrIp": "10.1.0.0/16",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpProtocol": "tcp",
                    "Description": "HTTPS from the VPC",
                }
            ],
        },
    )


def test_subnets_carry_their_cfn_lint_exception(template: Template) -> None:
    subnets = template.find_resources("AWS::EC2::Subnet")
    for subnet in subnets.values():
        assert subnet["Metadata"]["cfn-lint"]["config"]["ignore_checks"] == ["W3010"]


def test_flow_log_policy_acknowledges_only_inline_policy_findings() -> None:
    _, network = _network(interface_endpoints={})
    policy = network.node.find_child("FlowLogRole").node.find_child("DefaultPolicy")
    rules = [
        rule
        for entry in policy.node.default_child.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    ]
    assert rules == [
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "HIPAA.Security-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
    ]


def test_one_zone_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=(
            "PrivateNetwork: availability_zones needs at least two zones "
            "\\(got \\['eu-west-1a'\\]\\)"
        ),
    ):
        _network(availability_zones=["eu-west-1a"])


def test_a_cidr_smaller_than_the_subnets_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"PrivateNetwork: cidr 10\.1\.0\.0/24 is too small for /22 subnets"
    ):
        _network(cidr="10.1.0.0/24")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"cidr": "52.0.0.0/16"},
            r"PrivateNetwork: cidr 52\.0\.0\.0/16 is not a private range; allowed: within "
            r"10\.0\.0\.0/8",
        ),
        ({"cidr": "ten/16"}, r"PrivateNetwork: cidr 'ten/16' is not an IPv4 range"),
        (
            {"availability_zones": ["eu-central-1a", "eu-central-1b"]},
            r"PrivateNetwork: availability_zones \['eu-central-1a', 'eu-central-1b'\] are not "
            r"zones of the stack's region eu-west-1",
        ),
    ],
)
def test_a_public_range_or_another_regions_zones_are_refused(props: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _network(**props)


def test_endpoint_zones_must_be_zones_of_the_vpc() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "PrivateNetwork: endpoint_availability_zones ['eu-west-1c'] are not zones of the VPC "
            "(['eu-west-1a', 'eu-west-1b'])"
        ),
    ):
        _network(endpoint_availability_zones=["eu-west-1c"])
