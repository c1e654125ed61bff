"""The platform's own CDK bootstrap template, derived from the CDK CLI's.

CDK's default bootstrap lets any principal of the account (and of every trusted account)
assume its deploy and publishing roles, and gives CloudFormation ``AdministratorAccess``.
The platform's variant, written next to the cloud assembly by `make synth`:

- has the platform's qualifier (``names.BOOTSTRAP_QUALIFIER``) as default;
- lets only roles tagged as the delivery workload (the pipeline's, ``DELIVERY_TAG``) assume
  the deploy, publishing and lookup roles, from the tooling account or the account itself;
- gives the CloudFormation execution role a policy of its own: the services of the resource
  types the assembly deploys, and no IAM users or access keys;
- hardens the assets: the file-assets key (created with ``--bootstrap-customer-key``) rotates,
  the staging bucket blocks public access whatever ``PublicAccessBlockConfiguration`` says
  (the parameter admits only ``true``), and the container assets repository scans images on
  push and encrypts them with KMS (its tags, CDK asset hashes, stay immutable);
- drops CDK's example permissions boundary (``UseExamplePermissionsBoundary``, an
  ``Action: *`` allow the CLI never deploys; the platform's roles have their own boundary);
- carries a checkov skip, with a reason an auditor can check, on each finding that stays
  (``CHECKOV_SKIPS``), so that the template passes checkov.

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
from genai_constructs.compliance import CHECKOV_METADATA, MIN_REASON_LENGTH
from genai_constructs.naming import DELIVERY_TAG

Json = dict[str, Any]
# The CDK CLI's own template, as `npx cdk bootstrap --show-template` prints it.
CDK_BOOTSTRAP_TEMPLATE = Path("node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml")
BOOTSTRAP_TEMPLATE = "bootstrap-template.yaml"
TRUSTING_ROLES = ("DeploymentActionRole", "FilePublishingRole", "ImagePublishingRole", "LookupRole")
EXECUTION_POLICY = "CloudFormationExecutionPolicy"
FILE_ASSETS_KEY = "FileAssetsBucketEncryptionKey"
STAGING_BUCKET = "StagingBucket"
CONTAINER_REPOSITORY = "ContainerAssetsRepository"
# CDK's example boundary: created only when UseExamplePermissionsBoundary is 'true', which the
# CLI never passes (`--example-permissions-boundary` creates the policy through the IAM API).
EXAMPLE_BOUNDARY = "CdkBoostrapPermissionsBoundaryPolicy"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
_DELIVERY = (
    "the deploy role's trust admits only principals tagged genai-platform:workload=delivery "
    "(the delivery pipeline's roles)"
)
_EXECUTION = (
    "The policy allows every action of the services whose resource types the assembly deploys "
    "(computed from cdk.out, never '*:*'), for the resources of the stacks it deploys; it is "
    "attached only to the execution role, which only cloudformation.amazonaws.com may assume "
    f"and, in this template, only the deploy role may pass, and {_DELIVERY}."
)
# The checkov findings that stay, by resource and check, each with the reason an auditor reads.
CHECKOV_SKIPS: dict[str, dict[str, str]] = {
    FILE_ASSETS_KEY: {
        "CKV_AWS_33": (
            "CDK's key policy statement with Principal '*' is limited by kms:CallerAccount to "
            "this account and by kms:ViaService to S3 of this region: a principal of the "
            "account that may read an asset object (a SageMaker job reading the training code) "
            "decrypts it through S3 only."
        ),
    },
    STAGING_BUCKET: {
        "CKV_AWS_18": (
            "The staging bucket exists before any stack of the account: the foundation stack "
            "that holds the account's access-log bucket is deployed through it. Writes are "
            "the delivery pipeline's: the file-publishing role's trust admits only principals "
            "tagged genai-platform:workload=delivery, and the platform boundary denies object "
            "writes to every other role under it (DenyDeploymentAssetChangesExceptByDelivery)."
        ),
    },
    "DeploymentActionRole": {
        "CKV_AWS_111": (
            "CDK's deploy role creates, updates and deletes the stacks of its own account (their "
            "names come from the assembly, so no ARN can be listed here) and may pass only the "
            f"CloudFormation execution role; {_DELIVERY}."
        ),
    },
    EXECUTION_POLICY: {
        "CKV_AWS_108": f"{_EXECUTION} CloudFormation reads templates and Lambda code from the "
        "staging bucket (s3:GetObject) and resolves SSM parameters (parameter types, dynamic "
        "references) with it.",
        "CKV_AWS_109": f"{_EXECUTION} iam:* manages the roles and policies of every stack; IAM "
        "users, their credentials, group policies and memberships are denied (NoIamUsersOrKeys).",
        "CKV_AWS_110": f"{_EXECUTION} Managed policy updates need iam:CreatePolicyVersion and "
        "iam:SetDefaultPolicyVersion, and stacks pass roles to Lambda, Glue and SageMaker; user "
        "and group escalations are denied (NoIamUsersOrKeys).",
        "CKV_AWS_111": f"{_EXECUTION} Every write is a resource of a template that the delivery "
        "pipeline deploys only after its tests, cdk-nag packs and checkov pass.",
    },
}
# Resource type namespaces whose IAM service prefix is not their lower-cased name (cfn-lint's
# W3037 in tests/test_bootstrap.py catches a prefix IAM does not know).
SERVICE_OF_NAMESPACE = {
    "ApplicationAutoScaling": "application-autoscaling",
    "BedrockAgentCore": "bedrock-agentcore",
    "CertificateManager": "acm",
    "EFS": "elasticfilesystem",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "KinesisFirehose": "firehose",
    "OpenSearchServerless": "aoss",
    "OpenSearchService": "es",
    "StepFunctions": "states",
}
# What CloudFormation needs whatever the stacks hold: stack operations, the bootstrap's assets
# and version, custom resources (Lambda), and the roles and policies of every stack.
ALWAYS = ("cloudformation", "iam", "kms", "lambda", "s3", "ssm")
# The platform deploys no IAM users or groups: nothing may create one, give an existing one
# credentials or more permissions, or read an instance's administrator password.
DENIED_IAM = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
)
DENIED_CREDENTIAL_READS = ("ec2:GetPasswordData",)


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
    """The CDK bootstrap template with the platform's qualifier, trust, execution policy,
    hardened assets and checkov skips."""
    template = copy.deepcopy(cdk_template)
    resources = template.get("Resources", {})
    parameters = template.get("Parameters", {})
    expected = (
        *TRUSTING_ROLES,
        "CloudFormationExecutionRole",
        FILE_ASSETS_KEY,
        STAGING_BUCKET,
        CONTAINER_REPOSITORY,
    )
    missing = [r for r in expected if r not in resources]
    missing += [p for p in ("Qualifier", "PublicAccessBlockConfiguration") if p not in parameters]
    if missing:
        raise BootstrapError(
            f"the CDK bootstrap template has no {', '.join(missing)}; "
            "update blueprint/deploy/bootstrap.py for this CDK CLI version"
        )
    template["Description"] = (
        "GenAI platform bootstrap: CDK's, with deployment roles for the delivery pipeline only, "
        "a CloudFormation execution policy limited to the platform's services, and hardened "
        "asset storage"
    )
    parameters["Qualifier"]["Default"] = names.BOOTSTRAP_QUALIFIER
    for role in TRUSTING_ROLES:
        document = resources[role]["Properties"]["AssumeRolePolicyDocument"]
        document["Statement"] = [_delivery_only(s) for s in document["Statement"]]
    resources[EXECUTION_POLICY] = _execution_policy(services)
    resources["CloudFormationExecutionRole"]["Properties"]["ManagedPolicyArns"] = [
        {"Ref": EXECUTION_POLICY}
    ]
    _harden_assets(template)
    _drop_example_boundary(template)
    for logical_id, checks in CHECKOV_SKIPS.items():
        for check, reason in checks.items():
            _skip(resources[logical_id], check, reason)
    return template


def _harden_assets(template: Json) -> None:
    """Key rotation, an unconditional public access block, image scanning and KMS."""
    resources, parameters = template["Resources"], template["Parameters"]
    # Created only under CreateNewKey (`--bootstrap-customer-key`); the AWS managed key of S3
    # (the CLI's default) rotates on its own, a key named by ID is its owner's to rotate.
    resources[FILE_ASSETS_KEY]["Properties"]["EnableKeyRotation"] = True
    resources[STAGING_BUCKET]["Properties"]["PublicAccessBlockConfiguration"] = dict(
        PUBLIC_ACCESS_BLOCK
    )
    # The CLI always passes the parameter ('false' with --no-public-access-block-configuration),
    # so it stays, admitting only 'true': CloudFormation refuses the weaker bootstrap.
    parameters["PublicAccessBlockConfiguration"] = {
        **parameters["PublicAccessBlockConfiguration"],
        "Description": "The staging bucket always blocks public access (only 'true' is allowed)",
        "AllowedValues": ["true"],
        "ConstraintDescription": "the GenAI platform's staging bucket always blocks public access",
    }
    template.get("Conditions", {}).pop("UsePublicAccessBlockConfiguration", None)
    repository = resources[CONTAINER_REPOSITORY]["Properties"]
    # Asset images are tagged with their asset hash (a digest of their source), so a tag never
    # needs to move; cdk-assets skips an image whose tag is already there.
    repository["ImageTagMutability"] = "IMMUTABLE"
    repository["ImageScanningConfiguration"] = {"ScanOnPush": True}
    # ECR's AWS managed key: the file-assets key exists only with --bootstrap-customer-key and
    # admits use through S3 only.
    repository["EncryptionConfiguration"] = {"EncryptionType": "KMS"}


def _drop_example_boundary(template: Json) -> None:
    """CDK's example permissions boundary (``Action: *``), which the platform never uses."""
    template["Resources"].pop(EXAMPLE_BOUNDARY, None)
    template.get("Conditions", {}).pop("ShouldCreatePermissionsBoundary", None)
    template["Parameters"].pop("UseExamplePermissionsBoundary", None)


def _skip(resource: Json, check: str, reason: str) -> None:
    """A checkov skip in the resource's metadata, as ``genai_constructs.acknowledge`` writes
    it: ``Metadata: checkov: skip: [{id, comment}]``."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"the skip of {check} needs a reason of {MIN_REASON_LENGTH}+ characters")
    metadata = resource.setdefault("Metadata", {})
    skipped = metadata.setdefault(CHECKOV_METADATA, {"skip": []})
    skipped.setdefault("skip", []).append({"id": check, "comment": reason})


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
                    {
                        "Sid": "NoCredentialReads",
                        "Effect": "Deny",
                        "Action": list(DENIED_CREDENTIAL_READS),
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
