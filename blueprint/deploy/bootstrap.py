"""The platform's own CDK bootstrap template, derived from the CDK CLI's.

CDK's default bootstrap lets any principal of the account (and of every trusted account)
assume its deploy and publishing roles, and gives CloudFormation ``AdministratorAccess``.
The platform's variant, written next to the cloud assembly by `make synth`:

- has the platform's qualifier (``names.BOOTSTRAP_QUALIFIER``) as default;
- lets only roles tagged as the delivery workload (the pipeline's, ``DELIVERY_TAG``) assume
  the deploy, publishing and lookup roles, from the tooling account or the account itself;
- gives the CloudFormation execution role a policy of its own: the services of the resource
  types the assembly deploys, and no IAM users or access keys.

An administrator still bootstraps and may deploy with their own credentials (the CDK CLI falls
back to them when it cannot assume the deploy role); that is break-glass access, recorded by
the organization trail, not a standing permission.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.reader import Assembly
from blueprint.model import names
from genai_constructs.naming import DELIVERY_TAG

Json = dict[str, Any]
# The CDK CLI's own template, as `npx cdk bootstrap --show-template` prints it.
CDK_BOOTSTRAP_TEMPLATE = Path("node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml")
BOOTSTRAP_TEMPLATE = "bootstrap-template.yaml"
TRUSTING_ROLES = ("DeploymentActionRole", "FilePublishingRole", "ImagePublishingRole", "LookupRole")
EXECUTION_POLICY = "CloudFormationExecutionPolicy"
# Resource type namespaces whose IAM service prefix is not their lower-cased name.
SERVICE_OF_NAMESPACE = {
    "ApplicationAutoScaling": "application-autoscaling",
    "OpenSearchServerless": "aoss",
}
# What CloudFormation needs whatever the stacks hold: stack operations, the bootstrap's assets
# and version, custom resources (Lambda), and the roles and policies of every stack.
ALWAYS = ("cloudformation", "iam", "kms", "lambda", "s3", "ssm")
DENIED_IAM = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
)


class BootstrapError(ValueError):
    """The CDK CLI's template is missing or has changed shape."""


def execution_services(assembly: Assembly) -> list[str]:
    """The IAM service prefixes of every resource type the assembly deploys."""
    types = {resource.get("Type", "") for _, _, resource in assembly.resources()}
    return sorted({*ALWAYS, *(service for t in types if (service := _service(t)))})


def _service(resource_type: str) -> str | None:
    parts = resource_type.split("::")
    if parts[0] != "AWS" or len(parts) != 3 or parts[1] == "CDK":
        return None
    return SERVICE_OF_NAMESPACE.get(parts[1], parts[1].lower())


def platform_bootstrap(cdk_template: Json, services: Iterable[str]) -> Json:
    """The CDK bootstrap template with the platform's qualifier, trust and execution policy."""
    template = copy.deepcopy(cdk_template)
    resources = template.get("Resources", {})
    missing = [r for r in (*TRUSTING_ROLES, "CloudFormationExecutionRole") if r not in resources]
    if missing or "Qualifier" not in template.get("Parameters", {}):
        raise BootstrapError(
            f"the CDK bootstrap template has no {', '.join(missing) or 'Qualifier parameter'}; "
            "update blueprint/deploy/bootstrap.py for this CDK CLI version"
        )
    template["Description"] = (
        "GenAI platform bootstrap: CDK's, with deployment roles for the delivery pipeline only "
        "and a CloudFormation execution policy limited to the platform's services"
    )
    template["Parameters"]["Qualifier"]["Default"] = names.BOOTSTRAP_QUALIFIER
    for role in TRUSTING_ROLES:
        document = resources[role]["Properties"]["AssumeRolePolicyDocument"]
        document["Statement"] = [_delivery_only(s) for s in document["Statement"]]
    resources[EXECUTION_POLICY] = _execution_policy(services)
    resources["CloudFormationExecutionRole"]["Properties"]["ManagedPolicyArns"] = [
        {"Ref": EXECUTION_POLICY}
    ]
    return template


def _delivery_only(statement: Any) -> Any:
    """A trust statement (or an ``Fn::If`` around one) that also requires the delivery tag."""
    if isinstance(statement, dict) and "Fn::If" in statement:
        condition, when_true, when_false = statement["Fn::If"]
        return {"Fn::If": [condition, _delivery_only(when_true), _delivery_only(when_false)]}
    if not isinstance(statement, dict) or "Principal" not in statement:
        return statement
    return {**statement, "Condition": _with_delivery_tag(statement.get("Condition"))}


def _with_delivery_tag(condition: Any) -> Any:
    tag = {"StringEquals": {f"aws:PrincipalTag/{DELIVERY_TAG[0]}": DELIVERY_TAG[1]}}
    if condition is None or condition == {"Ref": "AWS::NoValue"}:
        return tag
    if "Fn::If" in condition:
        test, when_true, when_false = condition["Fn::If"]
        return {"Fn::If": [test, _with_delivery_tag(when_true), _with_delivery_tag(when_false)]}
    return {**condition, **tag}


def _execution_policy(services: Iterable[str]) -> Json:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": "What CloudFormation may do when it deploys the GenAI platform",
            "ManagedPolicyName": {"Fn::Sub": "cdk-${Qualifier}-cfn-exec-policy-${AWS::Region}"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PlatformServices",
                        "Effect": "Allow",
                        "Action": [f"{service}:*" for service in sorted(set(services))],
                        "Resource": "*",
                    },
                    {
                        "Sid": "NoIamUsersOrKeys",
                        "Effect": "Deny",
                        "Action": list(DENIED_IAM),
                        "Resource": "*",
                    },
                ],
            },
        },
    }


def read_cdk_template(path: Path = CDK_BOOTSTRAP_TEMPLATE) -> Json:
    if not path.is_file():
        raise BootstrapError(f"{path}: not found; run `make install` (it installs the CDK CLI)")
    template = yaml.safe_load(path.read_text())
    if not isinstance(template, dict):
        raise BootstrapError(f"{path}: not a CloudFormation template")
    return template


def write_bootstrap_template(assembly: Assembly, source: Path = CDK_BOOTSTRAP_TEMPLATE) -> Path:
    """``bootstrap-template.yaml`` beside the assembly's templates."""
    template = platform_bootstrap(read_cdk_template(source), execution_services(assembly))
    target = assembly.directory / BOOTSTRAP_TEMPLATE
    target.write_text(yaml.safe_dump(template, sort_keys=False, width=100))
    return target
