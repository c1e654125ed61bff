"""The foundation stack of every account: private network and persona roles."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from blueprint.assembly.access.question import Questions
from tests.conftest import Synthesized

BOUNDARY = "example-corp-permissions-boundary"
ENDPOINT_SERVICES = {
    "bedrock",
    "bedrock-runtime",
    "bedrock-agent-runtime",
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "logs",
    "kms",
    "ecr.api",
    "ecr.dkr",
}


def _service(endpoint: dict) -> str:
    name = endpoint["Properties"]["ServiceName"]
    if isinstance(name, str):
        return name.split(".", 3)[3]
    parts = name["Fn::Join"][1]
    return "".join(p for p in parts if isinstance(p, str)).split(".", 3)[-1].lstrip(".")


def test_vpc_has_only_isolated_subnets_in_the_configured_zones(example: Synthesized) -> None:
    template = example.template("claims-prod-foundation")
    template.resource_count_is("AWS::EC2::VPC", 1)
    # The default range of a prod environment (interactive 10.0, nonprod 10.1, prod 10.2).
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.2.0.0/16"})
    for forbidden in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
    ):
        template.resource_count_is(forbidden, 0)
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets.values()) == [
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1c",
    ]
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())


AGENT_SERVICES = {"bedrock-agentcore", "bedrock-agentcore.gateway"}


def _interface(example: Synthesized, stack: str) -> list[dict]:
    endpoints = example.template(stack).find_resources("AWS::EC2::VPCEndpoint").values()
    return [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]


@pytest.mark.parametrize(
    ("placement", "services"),
    [
        # Studio in VPC-only mode calls every service; its MLflow (an app or a tracking
        # server), the experiments endpoint; claims' agent, AgentCore and its gateway.
        ("claims-interactive", ENDPOINT_SERVICES | {"experiments", *AGENT_SERVICES}),
        ("research-interactive", ENDPOINT_SERVICES | {"experiments"}),
        # Applications, retrieval, pipelines and releases, GPU endpoints; the logging
        # configurator runs outside the VPC, so no Bedrock API endpoint.
        (
            "claims-nonprod",
            {
                "bedrock-runtime",
                "bedrock-agent-runtime",
                "sagemaker.api",
                "sagemaker.runtime",
                *AGENT_SERVICES,
            },
        ),
        # Applications and retrieval only: no ML layer, no SageMaker, STS, KMS, Logs or ECR.
        ("research-prod", {"bedrock-runtime", "bedrock-agent-runtime"}),
        ("marketing-nonprod", {"bedrock-runtime"}),
        # Nothing runs in the platform accounts' VPCs.
        ("platform-governance", set()),
        ("platform-tooling", set()),
    ],
)
def test_interface_endpoints_are_those_the_workloads_call(
    example: Synthesized, placement: str, services: set[str]
) -> None:
    interface = _interface(example, f"{placement}-foundation")
    assert {_service(e) for e in interface} == services
    assert all(e["Properties"]["PrivateDnsEnabled"] is True for e in interface)
    endpoints = example.template(f"{placement}-foundation").find_resources("AWS::EC2::VPCEndpoint")
    gateway = [e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Gateway"]
    assert len(gateway) == 1


def test_interactive_endpoints_may_sit_in_one_zone(example: Synthesized) -> None:
    """claims- and research-interactive set endpoint_azs: 1; marketing-interactive keeps both
    zones."""
    for placement, zones in (
        ("research-interactive", 1),
        ("claims-interactive", 1),
        ("marketing-interactive", 2),
    ):
        for endpoint in _interface(example, f"{placement}-foundation"):
            assert len(endpoint["Properties"]["SubnetIds"]) == zones, placement


def test_each_endpoint_security_group_admits_only_the_vpc(example: Synthesized) -> None:
    template = example.template("research-nonprod-foundation")
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    assert len(groups) == len(_interface(example, "research-nonprod-foundation")) == 2
    for group in groups.values():
        assert group["Properties"]["SecurityGroupIngress"] == [
            {
                "CidrIp": "10.21.0.0/16",
                "Description": "HTTPS from the VPC",
                "FromPort": 443,
                "ToPort": 443,
                "IpProtocol": "tcp",
            }
        ]
    for endpoint in _interface(example, "research-nonprod-foundation"):
        assert len(endpoint["Properties"]["SecurityGroupIds"]) == 1


def test_default_security_group_is_stripped(example: Synthesized) -> None:
    example.template("claims-prod-foundation").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_flow_logs_capture_all_traffic_into_the_security_stack_group(example: Synthesized) -> None:
    template = example.template("claims-prod-foundation")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Fn::ImportValue": Match.string_like_regexp("claims-prod-security:")},
        },
    )


@pytest.mark.parametrize(
    ("stack_name", "roles"),
    [
        (
            "claims-interactive-foundation",
            {
                "platform-admin",
                "data-scientist",
                "ml-engineer",
                "auditor",
                "data-engineer",
                "app-claims-assistant",
                "agent-claims-triage",
                "ingestion",
                "break-glass",
            },
        ),
        (
            "claims-prod-foundation",
            {
                "platform-admin",
                "ml-engineer",
                "auditor",
                "data-engineer",
                "app-claims-assistant",
                "agent-claims-triage",
                "ingestion",
                "break-glass",
            },
        ),
        ("platform-governance-foundation", {"platform-admin", "auditor", "break-glass"}),
    ],
)
def test_persona_and_workload_roles_per_environment(
    example: Synthesized, stack_name: str, roles: set[str]
) -> None:
    found = example.template(stack_name).find_resources("AWS::IAM::Role")
    names = {r["Properties"].get("RoleName") for r in found.values()} - {None}
    assert names == {f"example-corp-{role}" for role in roles}


def test_every_role_in_the_app_has_the_account_boundary(example: Synthesized) -> None:
    roles_checked = 0
    for stack in example.assembly.stacks:
        template = example.template_json(stack.stack_name)
        resources = template["Resources"]
        boundaries = [
            logical_id
            for logical_id, resource in resources.items()
            if resource["Properties"].get("ManagedPolicyName") == BOUNDARY
        ]
        # The foundation stack creates the boundary; later stacks of the account name it.
        expected = (
            {"Ref": boundaries[0]}
            if boundaries
            else f"arn:aws:iam::{stack.environment.account}:policy/{BOUNDARY}"
        )
        for logical_id, resource in resources.items():
            # Break glass (its role and its alarm's publisher) is outside the persona model.
            if resource["Type"] == "AWS::IAM::Role" and not logical_id.startswith("BreakGlass"):
                roles_checked += 1
                assert resource["Properties"]["PermissionsBoundary"] == expected, (
                    f"{stack.stack_name}/{logical_id}"
                )
    assert roles_checked > 50


def test_auditor_is_read_only(example: Synthesized) -> None:
    template = example.template("claims-prod-foundation")
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "example-corp-auditor",
            "ManagedPolicyArns": [
                {
                    "Fn::Join": [
                        "",
                        ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/SecurityAudit"],
                    ]
                },
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":iam::aws:policy/job-function/ViewOnlyAccess",
                        ],
                    ]
                },
            ],
        },
    )


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("222222222222:example-corp-auditor", "allow"),
        ("222222222222:example-corp-platform-admin", "deny"),
        ("444444444444:example-corp-auditor", "deny"),
    ],
)
def test_only_the_central_auditor_assumes_the_lob_auditor(
    example_access: Questions, principal: str, expected: str
) -> None:
    decision = example_access.ask(
        principal, "sts:AssumeRole", "arn:aws:iam::666666666666:role/example-corp-auditor"
    )
    assert decision.decision == expected, decision.reasons


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("666666666666:AWSReservedSSO_genai-ml-engineer_0123456789abcdef", "allow"),
        ("666666666666:AWSReservedSSO_genai-auditor_0123456789abcdef", "deny"),
        ("666666666666:example-corp-platform-admin", "deny"),
        ("666666666666:example-corp-auditor", "deny"),
        ("222222222222:example-corp-auditor", "deny"),
    ],
)
def test_other_personas_trust_only_their_sign_in_role(
    example_access: Questions, principal: str, expected: str
) -> None:
    decision = example_access.ask(
        principal, "sts:AssumeRole", "arn:aws:iam::666666666666:role/example-corp-ml-engineer"
    )
    assert decision.decision == expected, decision.reasons
