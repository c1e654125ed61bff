"""Small hand-written cloud assemblies for the access evaluator's unit tests.

Each test writes the few resources a rule needs (roles, policies, buckets, keys, SCPs) as
CloudFormation templates in a minimal ``cdk.out`` and asks the evaluator about them, so every
rule is tested through the same reading of templates as the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from blueprint.assembly.access.evaluate import Decision, Evaluator
from blueprint.assembly.access.question import request_for
from blueprint.assembly.access.world import build_world
from blueprint.assembly.reader import read_assembly

Json = dict[str, Any]
ORGANIZATION_ID, ROOT_ID = "o-testorg001", "r-test"
MANAGEMENT, ALICE, BOB, OUTSIDER = "111111111111", "222222222222", "333333333333", "999999999999"
REGION = "eu-west-1"


def role(
    name: str,
    *,
    statements: list[Json] | None = None,
    boundary: str | None = None,
    trust: list[Json] | None = None,
    managed: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> Json:
    """An ``AWS::IAM::Role`` named ``name`` with one inline policy of ``statements``."""
    properties: Json = {
        "RoleName": name,
        "AssumeRolePolicyDocument": document(
            trust or [allow("sts:AssumeRole", principal={"Service": "lambda.amazonaws.com"})]
        ),
    }
    if statements:
        properties["Policies"] = [{"PolicyName": "inline", "PolicyDocument": document(statements)}]
    if boundary:
        properties["PermissionsBoundary"] = {"Ref": boundary}
    if managed:
        properties["ManagedPolicyArns"] = managed
    if tags:
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def managed_policy(statements: list[Json], roles: list[Any] | None = None) -> Json:
    properties: Json = {"PolicyDocument": document(statements)}
    if roles:
        properties["Roles"] = roles
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": properties}


def bucket(name: str, key: str | None = None) -> Json:
    properties: Json = {"BucketName": name}
    if key:
        properties["BucketEncryption"] = {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]},
                    }
                }
            ]
        }
    return {"Type": "AWS::S3::Bucket", "Properties": properties}


def bucket_policy(bucket_logical_id: str, statements: list[Json]) -> Json:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": bucket_logical_id},
            "PolicyDocument": document(statements),
        },
    }


def key(statements: list[Json]) -> Json:
    return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": document(statements)}}


def org_policy(kind: str, targets: list[str], statements: list[Json]) -> Json:
    return {
        "Type": "AWS::Organizations::Policy",
        "Properties": {
            "Name": f"test-{kind.lower()}",
            "Type": kind,
            "TargetIds": targets,
            "Content": document(statements),
        },
    }


def allow(actions: str | list[str], resources: Any = "*", **extra: Any) -> Json:
    return _statement("Allow", actions, resources, **extra)


def deny(actions: str | list[str], resources: Any = "*", **extra: Any) -> Json:
    return _statement("Deny", actions, resources, **extra)


def _statement(effect: str, actions: str | list[str], resources: Any, **extra: Any) -> Json:
    statement: Json = {"Effect": effect, "Action": actions}
    if resources is not None:
        statement["Resource"] = resources
    for field, value in extra.items():
        statement[field[0].upper() + field[1:]] = value
    return statement


def document(statements: list[Json]) -> Json:
    return {"Version": "2012-10-17", "Statement": statements}


class World:
    """A written assembly and an evaluator over it."""

    def __init__(
        self,
        directory: Path,
        stacks: dict[str, tuple[str, dict[str, Json]]],
        exports: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """``stacks``: name -> (account, resources); ``exports``: stack name -> export name
        -> exported value."""
        directory.mkdir(parents=True, exist_ok=True)
        artifacts: Json = {}
        for name, (account, resources) in stacks.items():
            template = directory / f"{name}.template.json"
            outputs = {
                f"Output{index}": {"Value": value, "Export": {"Name": export}}
                for index, (export, value) in enumerate((exports or {}).get(name, {}).items())
            }
            template.write_text(json.dumps({"Resources": resources, "Outputs": outputs}))
            artifacts[name] = {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{account}/{REGION}",
                "properties": {"templateFile": template.name},
            }
        (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
        self.world = build_world(read_assembly(directory))
        self.evaluator = Evaluator(self.world, organization_id=ORGANIZATION_ID, root_id=ROOT_ID)

    def ask(self, principal: str, action: str, resource: str, *context: str) -> Decision:
        request = request_for(self.world, principal, action, resource, list(context))
        return self.evaluator.evaluate(request)

    def decide(self, principal: str, action: str, resource: str, *context: str) -> str:
        return self.ask(principal, action, resource, *context).decision
