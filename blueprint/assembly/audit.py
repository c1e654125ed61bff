"""The auditor toolkit: read a synthesized cloud assembly and describe what it deploys.

Every figure comes from the assembly (``manifest.json``, the templates, ``nag-report.json``)
and from the organization file; nothing is hard-coded. ``write_audit`` writes ``audit/``
inside the assembly: ``audit.json`` (the model), ``audit.md`` and ``index.html``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from blueprint.assembly.cost import estimate_costs, load_prices
from blueprint.assembly.reader import Assembly, AssemblyStack, read_assembly

Json = dict[str, Any]
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
MODEL_ARN_MARKERS = ("foundation-model/", "inference-profile/")
PLATFORM = "platform"


def ref(stack: AssemblyStack, logical_id: str) -> str:
    return f"{stack.name}/{logical_id}"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """A CloudFormation value as cdk-nag prints it (``<Id.Arn>``, export names, joins)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{'.'.join(as_list(argument))}>"
        if function == "Fn::ImportValue":
            return render(argument)
        if function == "Fn::Join":
            return str(argument[0]).join(render(part) for part in argument[1])
    return json.dumps(value, sort_keys=True)


def policy_statements(resource: Json) -> Iterator[Json]:
    """The statements of an IAM policy, managed policy or role's inline policies."""
    properties = resource.get("Properties", {})
    if resource.get("Type") == "AWS::IAM::Role":
        for policy in properties.get("Policies", []):
            yield from as_list(policy.get("PolicyDocument", {}).get("Statement", []))
    else:
        yield from as_list(properties.get("PolicyDocument", {}).get("Statement", []))


def statement_actions(statement: Json) -> list[str]:
    return [render(a) for a in as_list(statement.get("Action", statement.get("NotAction", [])))]


def statement_resources(statement: Json) -> list[str]:
    resources = statement.get("Resource", statement.get("NotResource", []))
    return [render(r) for r in as_list(resources)]


# --- inventory ---------------------------------------------------------------------------


def inventory(assembly: Assembly) -> Json:
    accounts: dict[str, Json] = defaultdict(lambda: {"regions": set(), "stacks": []})
    for stack in assembly.stacks:
        counts = Counter(r.get("Type", "?") for r in stack.resources.values())
        accounts[stack.account]["regions"].add(stack.region)
        accounts[stack.account]["stacks"].append(
            {
                "stack": stack.name,
                "environment": f"aws://{stack.account}/{stack.region}",
                "placement": stack.identity.placement,
                "kind": stack.identity.kind.value,
                "layer": stack.identity.layer.value,
                "lob": stack.identity.lob,
                "lob_environment": (
                    stack.identity.environment.value if stack.identity.environment else None
                ),
                "resources": sum(counts.values()),
                "by_type": dict(sorted(counts.items())),
            }
        )
    by_type = Counter(r.get("Type", "?") for _, _, r in assembly.resources())
    return {
        "accounts": [
            {
                "account": account,
                "regions": sorted(entry["regions"]),
                "resources": sum(s["resources"] for s in entry["stacks"]),
                "stacks": entry["stacks"],
            }
            for account, entry in sorted(accounts.items())
        ],
        "by_type": dict(by_type.most_common()),
        "totals": {
            "accounts": len(accounts),
            "stacks": len(assembly.stacks),
            "resources": sum(by_type.values()),
        },
    }


# --- compliance --------------------------------------------------------------------------


def compliance(assembly: Assembly, lint: bool = True) -> Json:
    acknowledgments = list(assembly.nag_report.get("acknowledgments", []))
    packs = [
        {
            "pack": pack["pack"],
            "unacknowledged": len(pack.get("unacknowledged", [])),
            "findings": pack.get("unacknowledged", []),
            "acknowledgments": [a for a in acknowledgments if a["rule"].startswith(pack["pack"])],
        }
        for pack in assembly.nag_report.get("packs", [])
    ]
    prefixes = tuple(pack["pack"] for pack in packs)
    other = [a for a in acknowledgments if not a["rule"].startswith(prefixes)]
    return {
        "nag_packs": packs,
        "other_acknowledgments": other,
        "cfn_lint": cfn_lint(assembly) if lint else {"ran": False, "findings": []},
    }


def cfn_lint(assembly: Assembly) -> Json:
    """cfn-lint over every template, in the stack's own region (reusing `blueprint lint`'s
    result while the templates are unchanged)."""
    from blueprint.assembly.lint import cached_lint, lint_assembly

    result = cached_lint(assembly.directory) or lint_assembly(assembly.directory)
    return {key: result[key] for key in ("ran", "templates", "findings")}


# --- IAM ---------------------------------------------------------------------------------


def iam_summary(assembly: Assembly) -> Json:
    roles = [
        {
            "role": ref(stack, logical_id),
            "boundary": _boundary(resource),
        }
        for stack, logical_id, resource in assembly.resources("AWS::IAM::Role")
    ]
    acks_by_path = _acknowledgments_by_path(assembly)
    wildcards = [
        _wildcard_entry(stack, logical_id, resource, statement, acks_by_path)
        for stack, logical_id, resource in assembly.resources(*POLICY_TYPES)
        for statement in policy_statements(resource)
        if statement.get("Effect") == "Allow" and _wildcards(statement)
    ]
    return {
        "roles": roles,
        "roles_without_boundary": [r["role"] for r in roles if r["boundary"] is None],
        "wildcard_statements": wildcards,
        "unjustified_wildcards": sum(1 for w in wildcards if not w["acknowledgment"]),
    }


def _boundary(resource: Json) -> str | None:
    boundary = resource.get("Properties", {}).get("PermissionsBoundary")
    return None if boundary is None else render(boundary)


def _wildcards(statement: Json) -> list[str]:
    found = [f"Action::{a}" for a in statement_actions(statement) if "*" in a]
    return found + [f"Resource::{r}" for r in statement_resources(statement) if "*" in r]


def _acknowledgments_by_path(assembly: Assembly) -> dict[str, dict[str, str]]:
    by_path: dict[str, dict[str, str]] = defaultdict(dict)
    for ack in assembly.nag_report.get("acknowledgments", []):
        by_path[ack["resource"]][ack["rule"]] = ack["reason"]
    return by_path


def _suppressions(resource: Json, acks_by_path: dict[str, dict[str, str]]) -> dict[str, str]:
    metadata = resource.get("Metadata", {})
    rules = {
        rule["id"]: rule.get("reason", "")
        for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    return {**acks_by_path.get(metadata.get("aws:cdk:path", ""), {}), **rules}


def _wildcard_entry(
    stack: AssemblyStack,
    logical_id: str,
    resource: Json,
    statement: Json,
    acks_by_path: dict[str, dict[str, str]],
) -> Json:
    wildcards = _wildcards(statement)
    suppressions = _suppressions(resource, acks_by_path)
    reasons = {
        w: suppressions.get(f"AwsSolutions-IAM5[{w}]", suppressions.get("AwsSolutions-IAM5"))
        for w in wildcards
    }
    covered = all(reasons.values())
    return {
        "policy": ref(stack, logical_id),
        "type": resource["Type"],
        "sid": statement.get("Sid", ""),
        "wildcards": wildcards,
        "acknowledgment": sorted({r for r in reasons.values() if r}) if covered else [],
        "uncovered": [w for w, reason in reasons.items() if not reason],
    }


# --- models and residency ----------------------------------------------------------------


def model_access(assembly: Assembly) -> Json:
    """LOB environment -> the Bedrock models its IAM policies allow invoking."""
    matrix: dict[str, set[str]] = defaultdict(set)
    for stack, _, resource in assembly.resources(*POLICY_TYPES):
        for statement in policy_statements(resource):
            if statement.get("Effect") == "Allow" and _allows_invoke(statement):
                matrix[stack.identity.placement].update(_model_ids(statement))
    rows = {key: sorted(models) for key, models in sorted(matrix.items()) if models}
    models = sorted({m for ids in rows.values() for m in ids})
    return {"models": models, "matrix": rows}


def _allows_invoke(statement: Json) -> bool:
    if "Action" not in statement:
        return False
    return any(fnmatchcase("bedrock:InvokeModel", a) for a in statement_actions(statement))


def _model_ids(statement: Json) -> set[str]:
    ids = set()
    for resource in statement_resources(statement):
        for marker in MODEL_ARN_MARKERS:
            if marker in resource:
                ids.add(resource.split(marker, 1)[1])
    return ids


def residency(assembly: Assembly, allowed_regions: list[str]) -> Json:
    regions: dict[str, set[str]] = defaultdict(set)
    for stack in assembly.stacks:
        regions[stack.identity.lob or PLATFORM].add(stack.region)
    outside = sorted({s.region for s in assembly.stacks} - set(allowed_regions))
    return {
        "allowed_regions": sorted(allowed_regions),
        "regions_by_lob": {lob: sorted(r) for lob, r in sorted(regions.items())},
        "outside_allowed": outside,
    }


# --- control matrix ----------------------------------------------------------------------


@dataclass
class Control:
    """One control: the resources that implement it and those that should but don't."""

    name: str
    description: str
    implemented: list[str]
    missing: list[str]

    def as_json(self) -> Json:
        return {
            "control": self.name,
            "description": self.description,
            "implemented": len(self.implemented),
            "missing": len(self.missing),
            "implementing_resources": self.implemented,
            "missing_resources": self.missing,
        }


def _split(checks: Iterator[tuple[str, bool]]) -> tuple[list[str], list[str]]:
    implemented: list[str] = []
    missing: list[str] = []
    for resource, ok in checks:
        (implemented if ok else missing).append(resource)
    return implemented, missing


ENCRYPTION_AT_REST = {
    "AWS::S3::Bucket": lambda p: "BucketEncryption" in p,
    "AWS::KMS::Key": lambda p: p.get("EnableKeyRotation") is True,
    "AWS::Logs::LogGroup": lambda p: "KmsKeyId" in p,
    "AWS::SQS::Queue": lambda p: "KmsMasterKeyId" in p,
    "AWS::SNS::Topic": lambda p: "KmsMasterKeyId" in p,
}


def encryption_at_rest(assembly: Assembly) -> Control:
    implemented, missing = _split(
        (ref(stack, lid), ENCRYPTION_AT_REST[r["Type"]](r.get("Properties", {})))
        for stack, lid, r in assembly.resources(*ENCRYPTION_AT_REST)
    )
    return Control(
        "encryption at rest",
        "S3 buckets with BucketEncryption, KMS keys with rotation, log groups with KmsKeyId, "
        "SQS queues and SNS topics with a KMS key",
        implemented,
        missing,
    )


def _denies_insecure_transport(statement: Json) -> bool:
    condition = json.dumps(statement.get("Condition", {}))
    return statement.get("Effect") == "Deny" and "aws:SecureTransport" in condition


def encryption_in_transit(assembly: Assembly) -> Control:
    enforced = {
        (stack.name, render(r["Properties"].get("Bucket")))
        for stack, _, r in assembly.resources("AWS::S3::BucketPolicy")
        if any(_denies_insecure_transport(s) for s in policy_statements(r))
    }
    implemented, missing = _split(
        (ref(stack, lid), (stack.name, f"<{lid}>") in enforced)
        for stack, lid, _ in assembly.resources("AWS::S3::Bucket")
    )
    return Control(
        "encryption in transit",
        "S3 buckets whose bucket policy denies requests without aws:SecureTransport",
        implemented,
        missing,
    )


def least_privilege(assembly: Assembly) -> Control:
    implemented, missing = _split(
        (ref(stack, lid), "PermissionsBoundary" in r.get("Properties", {}))
        for stack, lid, r in assembly.resources("AWS::IAM::Role")
    )
    return Control("least privilege", "IAM roles with a permissions boundary", implemented, missing)


SAGEMAKER_NETWORKED = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)
INTERNET_PATHS = ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway")


def _sagemaker_isolated(properties: Json) -> bool:
    network = properties.get("NetworkConfig", properties)
    return "VpcConfig" in network and network.get("EnableNetworkIsolation") is True


def network_isolation(assembly: Assembly) -> Control:
    def checks() -> Iterator[tuple[str, bool]]:
        for stack, lid, _ in assembly.resources("AWS::EC2::VPC"):
            types = {r.get("Type") for r in stack.resources.values()}
            yield ref(stack, lid), not types & set(INTERNET_PATHS)
        for stack, lid, r in assembly.resources(*SAGEMAKER_NETWORKED):
            yield ref(stack, lid), _sagemaker_isolated(r.get("Properties", {}))

    implemented, missing = _split(checks())
    return Control(
        "network isolation",
        "VPCs without an internet or NAT gateway; SageMaker models and monitoring jobs "
        "with VpcConfig and network isolation",
        implemented,
        missing,
    )


def logging_and_audit(assembly: Assembly) -> Control:
    logged_vpcs = {
        (stack.name, render(r["Properties"].get("ResourceId")))
        for stack, _, r in assembly.resources("AWS::EC2::FlowLog")
    }

    def checks() -> Iterator[tuple[str, bool]]:
        for stack, lid, _ in assembly.resources("AWS::EC2::VPC"):
            yield ref(stack, lid), (stack.name, f"<{lid}>") in logged_vpcs
        for stack, lid, r in assembly.resources("AWS::CloudTrail::Trail"):
            yield ref(stack, lid), r.get("Properties", {}).get("IsLogging") is True
        for stack, lid, _ in assembly.resources("Custom::BedrockModelInvocationLogging"):
            yield ref(stack, lid), True

    implemented, missing = _split(checks())
    return Control(
        "logging and audit trail",
        "VPCs with flow logs, CloudTrail trails that log, Bedrock model invocation logging",
        implemented,
        missing,
    )


def data_residency_control(assembly: Assembly, allowed_regions: list[str]) -> Control:
    implemented, missing = _split(
        (f"{stack.name} ({stack.region})", stack.region in allowed_regions)
        for stack in assembly.stacks
    )
    return Control(
        "data residency",
        f"stacks in the organization's allowed regions ({', '.join(sorted(allowed_regions))})",
        implemented,
        missing,
    )


GUARDRAIL_TYPES = (
    "AWS::Bedrock::Guardrail",
    "AWS::Bedrock::GuardrailVersion",
    "AWS::Bedrock::EnforcedGuardrailConfiguration",
)


def _gated(statement: Json) -> bool:
    return "bedrock:GuardrailIdentifier" in json.dumps(statement.get("Condition", {}))


def model_governance(assembly: Assembly) -> Control:
    implemented = [ref(s, lid) for s, lid, _ in assembly.resources(*GUARDRAIL_TYPES)]
    granting: set[str] = set()
    for stack, lid, r in assembly.resources(*POLICY_TYPES):
        statements = list(policy_statements(r))
        if any(_gated(s) for s in statements):
            implemented.append(ref(stack, lid))
        if any(s.get("Effect") == "Allow" and _allows_invoke(s) for s in statements):
            granting.add(stack.name)
    governed = {ref.split("/", 1)[0] for ref in implemented}
    return Control(
        "model governance",
        "Bedrock guardrails, their versions, account-enforced guardrails and IAM statements "
        "conditioned on bedrock:GuardrailIdentifier; missing: stacks that grant "
        "bedrock:InvokeModel with none of these",
        implemented,
        sorted(granting - governed),
    )


COST_TAGS = ("lob", "cost-center")


def _tag_keys(tags: Any) -> set[str]:
    if isinstance(tags, dict):
        return set(tags)
    if not isinstance(tags, list):
        return set()
    return {str(t.get("Key")) for t in tags if isinstance(t, dict)}


def cost_attribution(assembly: Assembly) -> Control:
    implemented, missing = _split(
        (ref(stack, lid), set(COST_TAGS) <= _tag_keys(r["Properties"]["Tags"]))
        for stack, lid, r in assembly.resources()
        if "Tags" in r.get("Properties", {})
    )
    return Control(
        "cost attribution",
        "taggable resources (those with Tags) tagged lob and cost-center",
        implemented,
        missing,
    )


def control_matrix(assembly: Assembly, allowed_regions: list[str]) -> list[Json]:
    controls = [
        encryption_at_rest(assembly),
        encryption_in_transit(assembly),
        least_privilege(assembly),
        network_isolation(assembly),
        logging_and_audit(assembly),
        data_residency_control(assembly, allowed_regions),
        model_governance(assembly),
        cost_attribution(assembly),
    ]
    return [control.as_json() for control in controls]


# --- the report --------------------------------------------------------------------------


def build_report(
    directory: Path,
    allowed_regions: list[str],
    prices_file: Path | None = None,
    lint: bool = True,
) -> Json:
    assembly = read_assembly(directory)
    return {
        "assembly": str(directory),
        "inventory": inventory(assembly),
        "compliance": compliance(assembly, lint=lint),
        "controls": control_matrix(assembly, allowed_regions),
        "iam": iam_summary(assembly),
        "model_access": model_access(assembly),
        "residency": residency(assembly, allowed_regions),
        "cost": estimate_costs(assembly, load_prices(prices_file)),
    }


def write_audit(report: Json, directory: Path) -> Path:
    from blueprint.assembly.audit_report import render_html, render_markdown

    out = directory / "audit"
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    (out / "audit.md").write_text(render_markdown(report))
    (out / "index.html").write_text(render_html(report))
    return out
