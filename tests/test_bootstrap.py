"""The platform's CDK bootstrap: its own qualifier, deployment roles for the delivery pipeline
only, and a CloudFormation execution policy limited to what the platform deploys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from blueprint.assembly.access.question import Questions
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from blueprint.deploy.bootstrap import (
    BOOTSTRAP_TEMPLATE,
    DENIED_IAM,
    TRUSTING_ROLES,
    BootstrapError,
    execution_services,
    platform_bootstrap,
    read_cdk_template,
)
from blueprint.model import names
from tests.conftest import REPO, Synthesized

Json = dict[str, Any]
DELIVERY = {"StringEquals": {"aws:PrincipalTag/genai-platform:workload": "delivery"}}


@pytest.fixture(scope="module")
def template(example: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Json:
    out = tmp_path_factory.mktemp("bootstrap")
    for path in example.outdir.glob("*.json"):
        (out / path.name).write_text(path.read_text())
    assert main(["bootstrap-template", str(out)]) == 0
    return dict(yaml.safe_load((out / BOOTSTRAP_TEMPLATE).read_text()))


def _trust_statements(statements: list[Any]) -> list[Json]:
    """The statements of a trust policy, with both branches of each Fn::If."""
    found: list[Json] = []
    for statement in statements:
        if "Fn::If" in statement:
            found += _trust_statements([s for s in statement["Fn::If"][1:] if "Ref" not in s])
        else:
            found.append(statement)
    return found


def test_the_qualifier_is_the_platforms(template: Json) -> None:
    assert template["Parameters"]["Qualifier"]["Default"] == names.BOOTSTRAP_QUALIFIER == "genai"


@pytest.mark.parametrize("role", TRUSTING_ROLES)
def test_only_the_delivery_pipeline_assumes_the_deployment_roles(template: Json, role: str) -> None:
    statements = _trust_statements(
        template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    )
    assert len(statements) >= 4
    for statement in statements:
        condition = statement["Condition"]
        branches = condition["Fn::If"][1:] if "Fn::If" in condition else [condition]
        for branch in branches:
            assert branch["StringEquals"] == DELIVERY["StringEquals"], (role, statement)


def test_cloudformation_may_use_only_the_platforms_services(
    template: Json, example: Synthesized
) -> None:
    execution = template["Resources"]["CloudFormationExecutionRole"]["Properties"]
    assert execution["ManagedPolicyArns"] == [{"Ref": "CloudFormationExecutionPolicy"}]
    policy = template["Resources"]["CloudFormationExecutionPolicy"]["Properties"]
    allow, deny = policy["PolicyDocument"]["Statement"]
    services = execution_services(read_assembly(example.outdir))
    assert allow["Action"] == [f"{service}:*" for service in services]
    assert {"bedrock", "sagemaker", "aoss", "application-autoscaling", "budgets"} <= set(services)
    assert "*:*" not in allow["Action"] and "iam:*" in allow["Action"]
    assert deny == {
        "Sid": "NoIamUsersOrKeys",
        "Effect": "Deny",
        "Action": list(DENIED_IAM),
        "Resource": "*",
    }


def test_the_template_is_valid_cloudformation(template: Json, tmp_path: Path) -> None:
    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(template))
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert errors == []


def test_a_changed_cdk_template_is_refused_with_a_clear_error() -> None:
    cdk = read_cdk_template(REPO / "node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml")
    del cdk["Resources"]["LookupRole"]
    with pytest.raises(BootstrapError, match="has no LookupRole; update blueprint/deploy"):
        platform_bootstrap(cdk, ["s3"])


@pytest.mark.parametrize(
    "principal",
    [
        "444444444444:example-corp-platform-admin",
        "666666666666:example-corp-ml-engineer",
        "666666666666:example-corp-app-claims-assistant",
    ],
)
def test_no_person_or_workload_assumes_a_deployment_role(
    example_access: Questions, principal: str
) -> None:
    account = principal.split(":")[0]
    deploy_role = names.role_arn(account, names.cdk_role_name("deploy", account, "eu-west-1"))
    decision = example_access.ask(principal, "sts:AssumeRole", deploy_role)
    assert decision.decision == "deny"
    assert decision.reasons[0].startswith("explicit deny by boundary")
    assert "[DenyDeploymentRolesExceptToDelivery]" in decision.reasons[0]
