"""Post-deploy smoke check of one LOB environment (run by the pipeline; boto3 only).

    python3 blueprint/smoke.py --account 444444444444 --region eu-west-1 \\
        --prefix claims-interactive --stacks security,foundation,data,genai,ml [--role-arn ARN]

Checks that each stack ``<prefix>-<layer>`` is CREATE_COMPLETE or UPDATE_COMPLETE, the data
stack's buckets have default encryption and a bucket policy, every KMS key of the stacks
rotates, and every VPC has endpoints. Exits 1 listing every problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def session_for(account: str, region: str, role_arn: str | None) -> Any:
    """A boto3 session in ``account`` (through ``role_arn`` when given)."""
    if role_arn is None:
        return boto3.Session(region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName=f"smoke-{account}"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def check(session: Any, account: str, prefix: str, layers: list[str]) -> list[str]:
    """Every problem found in the stacks ``<prefix>-<layer>``; empty when all is well."""
    caller = session.client("sts").get_caller_identity()["Account"]
    if caller != account:
        return [f"credentials are for account {caller}, expected {account}"]
    cloudformation = session.client("cloudformation")
    problems: list[str] = []
    resources: dict[str, list[tuple[str, str]]] = {}
    for layer in layers:
        name = f"{prefix}-{layer}"
        try:
            stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError:
            problems.append(f"stack {name}: missing")
            continue
        if stack["StackStatus"] not in HEALTHY:
            problems.append(f"stack {name}: status {stack['StackStatus']}, expected {HEALTHY}")
        resources[layer] = list(_resources(cloudformation, name))
    problems += _bucket_problems(session, prefix, resources.get("data", []))
    everything = [resource for listed in resources.values() for resource in listed]
    problems += _key_problems(session, prefix, everything)
    problems += _vpc_problems(session, prefix, everything)
    return problems


def _resources(cloudformation: Any, stack: str) -> Iterator[tuple[str, str]]:
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            yield summary["ResourceType"], summary.get("PhysicalResourceId", "")


def _bucket_problems(session: Any, prefix: str, resources: list[tuple[str, str]]) -> list[str]:
    s3 = session.client("s3")
    buckets = [name for kind, name in resources if kind == "AWS::S3::Bucket"]
    if not buckets:
        return [f"{prefix}-data: no data-zone buckets"]
    problems = []
    for bucket in buckets:
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            algorithm = rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            if not algorithm.startswith("aws:kms"):
                problems.append(f"bucket {bucket}: encryption {algorithm}, expected aws:kms")
        except ClientError:
            problems.append(f"bucket {bucket}: no default encryption")
        try:
            s3.get_bucket_policy(Bucket=bucket)
        except ClientError:
            problems.append(f"bucket {bucket}: no bucket policy")
    return problems


def _key_problems(session: Any, prefix: str, resources: list[tuple[str, str]]) -> list[str]:
    kms = session.client("kms")
    keys = [key for kind, key in resources if kind == "AWS::KMS::Key"]
    if not keys:
        return [f"{prefix}: no KMS keys"]
    return [
        f"KMS key {key}: rotation disabled"
        for key in keys
        if not kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
    ]


def _vpc_problems(session: Any, prefix: str, resources: list[tuple[str, str]]) -> list[str]:
    ec2 = session.client("ec2")
    vpcs = [vpc for kind, vpc in resources if kind == "AWS::EC2::VPC"]
    if not vpcs:
        return [f"{prefix}: no VPC"]
    return [
        f"VPC {vpc}: no VPC endpoints"
        for vpc in vpcs
        if not ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
            "VpcEndpoints"
        ]
    ]


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
