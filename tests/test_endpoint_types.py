"""A new interface endpoint type is one record of ``genai_constructs.endpoint_types``: the
organization file accepts it, the plan puts it where it is asked for (and in Studio's VPCs
only when Studio calls it), and the network builds it (docs/contributors.md, "Adding an
interface endpoint type")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aws_cdk import App, Environment
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from blueprint.model.endpoints import interface_endpoints
from blueprint.model.errors import ConfigError
from blueprint.model.loader import load_config
from blueprint.model.placing import plan_for
from blueprint.model.plan import Plan
from genai_constructs import endpoint_types
from genai_constructs.endpoint_types import EndpointType
from genai_constructs.network import PinnedZonesStack, PrivateNetwork, endpoint_services
from tests.test_config import example_data

SECRETS = EndpointType("SecretsManager", "SECRETS_MANAGER", studio=False)


def plan_with_extra(tmp_path: Path, extra: list[str]) -> Plan:
    """The example, its marketing prod VPC asking for ``extra`` endpoints."""
    data = example_data()
    data["lobs"][1]["environments"]["prod"]["extra_endpoints"] = extra
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return plan_for(load_config(path))


def studio_placement(plan: Plan) -> str:
    return next(p.key for p in plan.lob_environments() if plan.hosts_studio(p))


def test_an_unknown_endpoint_type_is_refused_until_it_is_recorded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'SecretsManager' is not an interface endpoint"):
        plan_with_extra(tmp_path, ["SecretsManager"])


def test_a_recorded_type_is_accepted_planned_and_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoint_types, "ENDPOINT_TYPES", (*endpoint_types.ENDPOINT_TYPES, SECRETS))
    plan = plan_with_extra(tmp_path, ["SecretsManager"])
    prod = plan.placement("marketing-prod")
    assert interface_endpoints(plan, prod)[-1] == "SecretsManager"
    studio = plan.placement(studio_placement(plan))
    assert "SecretsManager" not in interface_endpoints(plan, studio)

    stack = PinnedZonesStack(
        App(),
        "Net",
        env=Environment(account="555555555555", region="eu-west-1"),
        availability_zones=["eu-west-1a", "eu-west-1b"],
    )
    PrivateNetwork(
        stack,
        "Network",
        cidr="10.1.0.0/16",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        flow_log_group=logs.LogGroup(stack, "FlowLogs"),
        interface_endpoints=endpoint_services(interface_endpoints(plan, prod)),
    )
    services = [
        endpoint["Properties"]["ServiceName"]
        for endpoint in Template.from_stack(stack)
        .find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}})
        .values()
    ]
    assert "com.amazonaws.eu-west-1.secretsmanager" in services


def test_a_type_studio_calls_lands_in_every_studio_vpc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio_secrets = EndpointType("SecretsManager", "SECRETS_MANAGER", studio=True)
    monkeypatch.setattr(
        endpoint_types, "ENDPOINT_TYPES", (*endpoint_types.ENDPOINT_TYPES, studio_secrets)
    )
    plan = plan_with_extra(tmp_path, [])
    with_studio = [p for p in plan.lob_environments() if plan.hosts_studio(p)]
    assert with_studio
    assert all("SecretsManager" in interface_endpoints(plan, p) for p in with_studio)
    without = [p for p in plan.lob_environments() if not plan.hosts_studio(p)]
    assert all("SecretsManager" not in interface_endpoints(plan, p) for p in without)


def test_studio_gets_every_type_marked_for_it_and_mlflow_and_agents_their_own() -> None:
    own = {"SageMakerExperiments", "BedrockAgentCore", "BedrockAgentCoreGateway"}
    assert not own & set(endpoint_types.studio_endpoints())
    assert set(endpoint_types.studio_endpoints()) | own == set(endpoint_types.endpoint_names())


def test_an_unknown_name_is_refused_by_the_network_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="'S3' is not an interface endpoint type; allowed: Bedrock"):
        endpoint_services(["S3"])
