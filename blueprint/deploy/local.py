"""Deploy a cloud assembly into moto, every account of the organization, before touching AWS.

``blueprint deploy --local`` starts moto's server in this process on 127.0.0.1 (a free port),
assumes a role into each account as the CDK deploy roles would, bootstraps the account the way
``cdk bootstrap`` leaves it for a deployment (asset bucket, version parameter), publishes the
file assets, and creates the stacks through the CloudFormation API in the assembly's
dependency order (templates over 51,200 bytes go by TemplateURL). Resources moto cannot create
are listed per stack (blueprint/emulation.py); the smoke checks then run against the emulator.
"""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.request
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from blueprint.assembly.reader import (
    CAPABILITIES,
    Assembly,
    AssemblyStack,
    FileAsset,
    read_assembly,
)
from blueprint.assembly.references import broken_references
from blueprint.deploy import smoke
from blueprint.deploy.emulation import PreparedTemplate, prepare
from blueprint.deploy.smoke import Finding
from blueprint.model import names

BOOTSTRAP_VERSION_PARAMETER = names.BOOTSTRAP_VERSION_PARAMETER
BOOTSTRAP_VERSION = "30"
DEFAULT_ROLE = names.cdk_role_name("deploy", "{account}", "{region}")
SMOKE_LAYERS = ("security", "foundation", "data", "genai", "ml")
TERMINAL = ("CREATE_COMPLETE", "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")


@dataclass
class StackResult:
    """How one stack's deployment into the emulator went."""

    stack: AssemblyStack
    status: str
    created: int = 0
    gaps: dict[str, str] = field(default_factory=dict)  # logical id -> resource type
    reasons: dict[str, str] = field(default_factory=dict)  # resource type -> why not emulated
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "CREATE_COMPLETE"

    def gap_summary(self) -> str:
        counts: dict[str, int] = {}
        for kind in self.gaps.values():
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{kind} x{count}" for kind, count in sorted(counts.items())) or "-"


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 on a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    # The gaps are reported per stack; moto's own warnings about them would only repeat them.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation")
            # moto keeps its state per process: start from empty accounts.
            urllib.request.urlopen(
                urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
            )
            yield endpoint
    finally:
        server.stop()


class Emulator:
    """Sessions into the accounts of one running moto server."""

    def __init__(self, endpoint: str, *, role_name: str = DEFAULT_ROLE) -> None:
        self.endpoint = endpoint
        self.role_name = role_name
        self._sessions: dict[tuple[str, str], Any] = {}

    def session(self, account: str, region: str) -> Any:
        """A boto3 session in ``account``, from assuming the deploy role there."""
        if (account, region) not in self._sessions:
            caller = boto3.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name=region
            )
            role = self.role_name.format(account=account, region=region)
            credentials = self.client(caller, "sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="deploy-local"
            )["Credentials"]
            self._sessions[account, region] = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        return self._sessions[account, region]

    def client(self, session: Any, service: str) -> Any:
        return session.client(service, endpoint_url=self.endpoint)

    def account_client(self, account: str, region: str, service: str) -> Any:
        return self.client(self.session(account, region), service)


def deploy_assembly(
    emulator: Emulator,
    assembly: Assembly,
    *,
    select: Callable[[AssemblyStack], bool] = lambda stack: True,
    progress: Callable[[str], None] = print,
) -> list[StackResult]:
    """Create the selected stacks in dependency order; a stack whose dependency failed is
    skipped. Dependencies outside the selection must already exist in the emulator."""
    stacks = [stack for stack in assembly.stacks if select(stack)]
    results: dict[str, StackResult] = {}
    exports: dict[tuple[str, str], set[str]] = {}
    bootstrapped: set[tuple[str, str]] = set()
    for index, stack in enumerate(stacks, start=1):
        failed = [d for d in stack.depends_on if d in results and not results[d].ok]
        if failed:
            result = StackResult(stack, "SKIPPED", message=f"dependency {failed[0]} not created")
        else:
            if (stack.account, stack.region) not in bootstrapped:
                bootstrap(emulator, stack.account, stack.region)
                bootstrapped.add((stack.account, stack.region))
            environment_exports = exports.setdefault(
                (stack.account, stack.region), existing_exports(emulator, stack)
            )
            result = deploy_stack(emulator, stack, environment_exports)
        results[stack.name] = result
        progress(
            f"[{index}/{len(stacks)}] {stack.name} ({stack.account}/{stack.region}): "
            f"{result.status} in {result.seconds:.1f} s"
            + (f": {result.message}" if result.message else "")
        )
    return list(results.values())


def bootstrap(emulator: Emulator, account: str, region: str) -> None:
    """What ``cdk bootstrap`` leaves that a deployment reads: asset bucket, version."""
    s3 = emulator.account_client(account, region, "s3")
    bucket = asset_bucket(account, region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    emulator.account_client(account, region, "ssm").put_parameter(
        Name=BOOTSTRAP_VERSION_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )


def asset_bucket(account: str, region: str) -> str:
    return names.asset_bucket_name(account, region)


def existing_exports(emulator: Emulator, stack: AssemblyStack) -> set[str]:
    cloudformation = emulator.account_client(stack.account, stack.region, "cloudformation")
    names: set[str] = set()
    for page in cloudformation.get_paginator("list_exports").paginate():
        names.update(export["Name"] for export in page["Exports"])
    return names


def deploy_stack(emulator: Emulator, stack: AssemblyStack, exports: set[str]) -> StackResult:
    """Publish the stack's assets and create it; ``exports`` gains the stack's exports."""
    started = time.monotonic()
    prepared = prepare(stack.template, account=stack.account, region=stack.region)
    problems = broken_references(stack.template, exports)
    if problems:
        return StackResult(
            stack,
            "REJECTED",
            gaps=prepared.gaps,
            reasons=prepared.reasons,
            message=f"{stack.name}: " + "; ".join(problems),
        )
    try:
        for asset in stack.code_assets:
            publish(emulator, stack, asset)
        status, reason = create(emulator, stack, prepared)
        cloudformation = emulator.account_client(stack.account, stack.region, "cloudformation")
        created = _created_resources(cloudformation, stack.name) if status else 0
    except (ClientError, BotoCoreError) as error:
        status, reason, created = "CREATE_FAILED", _error_message(error), 0
    result = StackResult(
        stack,
        status,
        created=created,
        gaps=prepared.gaps,
        reasons=prepared.reasons,
        message=reason,
        seconds=time.monotonic() - started,
    )
    if result.ok:
        exports.update(_exports(prepared.template))
    return result


def publish(emulator: Emulator, stack: AssemblyStack, asset: FileAsset) -> None:
    """Upload a file asset where the template expects it (directories zipped)."""
    if asset.source.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(asset.source.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(asset.source).as_posix())
        body = buffer.getvalue()
    else:
        body = asset.source.read_bytes()
    s3 = emulator.account_client(stack.account, asset.region or stack.region, "s3")
    s3.put_object(Bucket=asset.bucket, Key=asset.key, Body=body)


def create(emulator: Emulator, stack: AssemblyStack, prepared: PreparedTemplate) -> tuple[str, str]:
    """Create the stack; its final status and reason."""
    cloudformation = emulator.account_client(stack.account, stack.region, "cloudformation")
    body = json.dumps(prepared.template)
    source: dict[str, str]
    if stack.needs_template_url:
        key = stack.template_asset.key if stack.template_asset else f"{stack.name}.template.json"
        bucket = asset_bucket(stack.account, stack.region)
        emulator.account_client(stack.account, stack.region, "s3").put_object(
            Bucket=bucket, Key=key, Body=body.encode()
        )
        source = {"TemplateURL": f"https://{bucket}.s3.{stack.region}.amazonaws.com/{key}"}
    else:
        source = {"TemplateBody": body}
    cloudformation.create_stack(
        StackName=stack.name,
        Capabilities=CAPABILITIES,
        EnableTerminationProtection=stack.termination_protection,
        **source,
    )
    for _ in range(600):
        description = cloudformation.describe_stacks(StackName=stack.name)["Stacks"][0]
        if description["StackStatus"] in TERMINAL:
            return description["StackStatus"], description.get("StackStatusReason", "")
        time.sleep(0.1)
    return description["StackStatus"], "still in progress after 60 s"


def _created_resources(cloudformation: Any, stack_name: str) -> int:
    count = 0
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        count += sum(
            1
            for summary in page["StackResourceSummaries"]
            if summary["ResourceStatus"] == "CREATE_COMPLETE"
        )
    return count


def _exports(template: dict[str, Any]) -> set[str]:
    names = set()
    for output in template.get("Outputs", {}).values():
        name = output.get("Export", {}).get("Name")
        if isinstance(name, str):
            names.add(name)
    return names


def _error_message(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return f"emulator error: {error}"


def smoke_findings(emulator: Emulator, results: list[StackResult]) -> list[Finding]:
    """The smoke checks of every environment (``<prefix>-<layer>`` stacks) that was created."""
    environments: dict[str, list[StackResult]] = {}
    for result in results:
        prefix, _, layer = result.stack.name.rpartition("-")
        if result.ok and layer in SMOKE_LAYERS:
            environments.setdefault(prefix, []).append(result)
    findings: list[Finding] = []
    for prefix, created in sorted(environments.items()):
        stack = created[0].stack
        not_created = {kind for result in created for kind in result.gaps.values()}
        findings += smoke.findings(
            emulator.session(stack.account, stack.region),
            stack.account,
            prefix,
            [result.stack.name.rpartition("-")[2] for result in created],
            endpoint=emulator.endpoint,
            not_created=not_created,
        )
    return findings


def summary_table(results: list[StackResult]) -> str:
    rows = [("stack", "account/region", "status", "created", "not emulated")]
    rows += [
        (
            r.stack.name,
            f"{r.stack.account}/{r.stack.region}",
            r.status,
            str(r.created),
            r.gap_summary(),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + f"  {row[4]}"
        for row in rows
    )


def run_local(
    directory: Path,
    *,
    role_name: str = DEFAULT_ROLE,
    patterns: list[str] | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Deploy ``directory`` into a fresh emulator, print the summary and the smoke checks;
    0 when every selected stack was created and no smoke check failed, 1 otherwise."""

    def selected(stack: AssemblyStack) -> bool:
        return not patterns or any(fnmatch(stack.name, pattern) for pattern in patterns)

    assembly = read_assembly(directory)
    with moto_server() as endpoint:
        out(f"moto server on {endpoint}; deploying {directory} (role {role_name})")
        emulator = Emulator(endpoint, role_name=role_name)
        results = deploy_assembly(emulator, assembly, select=selected, progress=out)
        out("")
        out(summary_table(results))
        created = sum(r.ok for r in results)
        gaps = sum(len(r.gaps) for r in results)
        out(f"\n{created}/{len(results)} stack(s) created; {gaps} resource(s) not emulated")
        for kind, reason in sorted({k: v for r in results for k, v in r.reasons.items()}.items()):
            out(f"  not emulated: {kind}: {reason}")
        findings = smoke_findings(emulator, results)
    counts = Counter(finding.outcome for finding in findings)
    out(
        f"\nsmoke checks: {counts[smoke.PASS]} passed, {counts[smoke.FAIL]} failed, "
        f"{counts[smoke.NOT_EMULATED]} not verifiable in the emulator (not counted as passes)"
    )
    by_check = Counter((f.check, f.outcome) for f in findings)
    for (check, outcome), count in sorted(by_check.items()):
        out(f"  {check}: {outcome} x{count}")
    for finding in findings:
        if finding.outcome == smoke.FAIL:
            out(f"  FAIL: {finding.line()}")
    return 0 if created == len(results) and not counts[smoke.FAIL] else 1
