"""Post-deploy smoke check of one LOB environment (run by the pipeline; boto3 only).

    python3 blueprint/smoke.py --account 444444444444 --region eu-west-1 \\
        --prefix claims-interactive --stacks security,foundation,data,genai,ml [--role-arn ARN]

Checks that each stack ``<prefix>-<layer>`` is CREATE_COMPLETE or UPDATE_COMPLETE, the data
stack's buckets have default encryption and a bucket policy, every KMS key of the stacks
rotates, and the foundation's VPC has endpoints and its roles a permissions boundary. Exits 1
listing every problem. ``blueprint deploy --local`` runs the same checks against moto.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import ClientError

from genai_constructs.naming import OUTSIDE_BOUNDARY_TAG

HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def session_for(account: str, region: str, role_arn: str | None, purpose: str = "smoke") -> Any:
    """A boto3 session in ``account`` (through ``role_arn`` when given)."""
    if role_arn is None:
        return boto3.Session(region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName=f"{purpose}-{account}"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


PASS, FAIL, NOT_EMULATED = "pass", "FAIL", "not emulated"


@dataclass(frozen=True)
class Finding:
    """One smoke check on one target: passed, failed, or impossible where it ran."""

    check: str
    target: str
    outcome: str
    detail: str = ""

    def line(self) -> str:
        return ": ".join(part for part in (self.target, self.detail) if part)


def check(session: Any, account: str, prefix: str, layers: list[str]) -> list[str]:
    """Every problem found in the stacks ``<prefix>-<layer>``; empty when all is well."""
    return [f.line() for f in findings(session, account, prefix, layers) if f.outcome == FAIL]


def findings(
    session: Any,
    account: str,
    prefix: str,
    layers: list[str],
    *,
    endpoint: str | None = None,
    not_created: Collection[str] = (),
) -> list[Finding]:
    """Each check on the stacks ``<prefix>-<layer>``. A check on a resource type listed in
    ``not_created`` (an emulator's gaps) is reported as not emulated, never as a pass."""
    client = partial(session.client, endpoint_url=endpoint) if endpoint else session.client
    caller = client("sts").get_caller_identity()["Account"]
    if caller != account:
        return [
            Finding(
                "account", "", FAIL, f"credentials are for account {caller}, expected {account}"
            )
        ]
    cloudformation = client("cloudformation")
    results: list[Finding] = []
    resources: dict[str, list[tuple[str, str]]] = {}
    for layer in layers:
        name = f"{prefix}-{layer}"
        try:
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError:
            results.append(Finding("stack status", f"stack {name}", FAIL, "missing"))
            continue
        status = stack["StackStatus"]
        healthy = status in HEALTHY
        detail = "" if healthy else f"status {status}, expected {HEALTHY}"
        results.append(Finding("stack status", f"stack {name}", PASS if healthy else FAIL, detail))
        resources[layer] = list(_resources(cloudformation, name))
    everything = [resource for listed in resources.values() for resource in listed]
    if "data" in resources:
        results += _bucket_findings(client("s3"), prefix, resources["data"], not_created)
    results += _key_findings(client("kms"), prefix, everything)
    if "foundation" in resources:
        results += _vpc_findings(client("ec2"), prefix, everything)
        results += _role_findings(client("iam"), prefix, everything)
    return results


def _resources(cloudformation: Any, stack: str) -> Iterator[tuple[str, str]]:
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            yield summary["ResourceType"], summary.get("PhysicalResourceId", "")


def _bucket_findings(
    s3: Any, prefix: str, resources: list[tuple[str, str]], not_created: Collection[str]
) -> list[Finding]:
    buckets = [name for kind, name in resources if kind == "AWS::S3::Bucket"]
    if not buckets:
        return [Finding("bucket encryption", f"{prefix}-data", FAIL, "no data-zone buckets")]
    results = []
    for bucket in buckets:
        target = f"bucket {bucket}"
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            algorithm = rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            ok = algorithm.startswith("aws:kms")
            detail = "" if ok else f"encryption {algorithm}, expected aws:kms"
            results.append(Finding("bucket encryption", target, PASS if ok else FAIL, detail))
        except ClientError:
            results.append(Finding("bucket encryption", target, FAIL, "no default encryption"))
        if "AWS::S3::BucketPolicy" in not_created:
            results.append(Finding("bucket policy", target, NOT_EMULATED, "policy not created"))
            continue
        try:
            s3.get_bucket_policy(Bucket=bucket)
            results.append(Finding("bucket policy", target, PASS))
        except ClientError:
            results.append(Finding("bucket policy", target, FAIL, "no bucket policy"))
    return results


def _key_findings(kms: Any, prefix: str, resources: list[tuple[str, str]]) -> list[Finding]:
    keys = [key for kind, key in resources if kind == "AWS::KMS::Key"]
    if not keys:
        return [Finding("KMS rotation", prefix, FAIL, "no KMS keys")]
    results = []
    for key in keys:
        rotates = kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
        detail = "" if rotates else "rotation disabled"
        results.append(Finding("KMS rotation", f"KMS key {key}", PASS if rotates else FAIL, detail))
    return results


def _vpc_findings(ec2: Any, prefix: str, resources: list[tuple[str, str]]) -> list[Finding]:
    vpcs = [vpc for kind, vpc in resources if kind == "AWS::EC2::VPC"]
    if not vpcs:
        return [Finding("VPC endpoints", prefix, FAIL, "no VPC")]
    results = []
    for vpc in vpcs:
        endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        ok = bool(endpoints["VpcEndpoints"])
        detail = "" if ok else "no VPC endpoints"
        results.append(Finding("VPC endpoints", f"VPC {vpc}", PASS if ok else FAIL, detail))
    return results


def _role_findings(iam: Any, prefix: str, resources: list[tuple[str, str]]) -> list[Finding]:
    roles = [role for kind, role in resources if kind == "AWS::IAM::Role"]
    if not roles:
        return [Finding("role boundary", prefix, FAIL, "no roles")]
    results = []
    for role in roles:
        found = iam.get_role(RoleName=role)["Role"]
        boundary = found.get("PermissionsBoundary")
        tags = {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}
        if not boundary and tags.get(OUTSIDE_BOUNDARY_TAG[0]) == OUTSIDE_BOUNDARY_TAG[1]:
            results.append(
                Finding("role boundary", f"role {role}", PASS, "break glass: outside by design")
            )
            continue
        detail = "" if boundary else "no permissions boundary"
        results.append(Finding("role boundary", f"role {role}", PASS if boundary else FAIL, detail))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--account", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--prefix", required=True, help="e.g. claims-interactive")
    parser.add_argument("--stacks", default="security,foundation,data,genai,ml")
    parser.add_argument("--role-arn", help="role to assume in the account (CDK lookup role)")
    args = parser.parse_args(argv)
    session = session_for(args.account, args.region, args.role_arn)
    problems = check(session, args.account, args.prefix, args.stacks.split(","))
    if problems:
        print(f"smoke check FAILED for {args.prefix} ({args.account}/{args.region}):")
        print("\n".join(f"  - {problem}" for problem in problems))
        return 1
    print(f"smoke check passed for {args.prefix} ({args.account}/{args.region})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
