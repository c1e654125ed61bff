"""The auditor toolkit: read a synthesized cloud assembly and describe what it deploys.

Every figure comes from the assembly (``manifest.json``, the templates, ``nag-report.json``)
and from the organization file; nothing is hard-coded. ``write_audit`` writes ``audit/``
inside the assembly: ``audit.json`` (the model), ``audit.md`` and ``index.html``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from blueprint.assembly.access.matrix import access_matrix
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.world import World, build_world
from blueprint.assembly.cost import estimate_costs, load_prices
from blueprint.assembly.frameworks import framework_results
from blueprint.assembly.reader import Assembly, AssemblyStack, read_assembly
from blueprint.assembly.replacement import stateful_changes
from blueprint.model.plan import Plan
from blueprint.model.sections.platform import AcknowledgmentReview
from genai_constructs.checks import (
    RULES,
    CheckSettings,
    Compliance,
    Result,
    Template,
    evaluate,
    rule_id,
)
from genai_constructs.checks.rule import as_list, render

Json = dict[str, Any]
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
PLATFORM = "platform"


def ref(stack: AssemblyStack, logical_id: str) -> str:
    return f"{stack.name}/{logical_id}"


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


def acknowledgments_by_pack(nag_report: Json) -> tuple[dict[str, list[Json]], list[Json]]:
    """The nag report's acknowledgments of each pack's rules, and the others (cfn-lint
    ignores, acknowledged annotations)."""
    acknowledgments = list(nag_report.get("acknowledgments", []))
    names = [pack["pack"] for pack in nag_report.get("packs", [])]
    by_pack = {
        name: [a for a in acknowledgments if a["rule"].startswith(f"{name}-")] for name in names
    }
    prefixes = tuple(f"{name}-" for name in names)
    return by_pack, [a for a in acknowledgments if not a["rule"].startswith(prefixes)]


def compliance(assembly: Assembly, lint: bool = True) -> Json:
    by_pack, other = acknowledgments_by_pack(assembly.nag_report)
    packs = [
        {
            "pack": pack["pack"],
            "unacknowledged": len(pack.get("unacknowledged", [])),
            "findings": pack.get("unacknowledged", []),
            "acknowledgments": by_pack[pack["pack"]],
        }
        for pack in assembly.nag_report.get("packs", [])
    ]
    return {
        "nag_packs": packs,
        "other_acknowledgments": other,
        "cfn_lint": cfn_lint(assembly) if lint else {"ran": False, "findings": []},
        "checkov_skips": checkov_skips(assembly),
    }


def checkov_skips(assembly: Assembly) -> list[Json]:
    """Each checkov check skipped on a resource, with its reason (``Metadata: checkov``)."""
    return [
        {
            "stack": stack.name,
            "resource": logical_id,
            "check": skip["id"],
            "reason": skip["comment"],
        }
        for stack, logical_id, resource in assembly.resources()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def cfn_lint(assembly: Assembly) -> Json:
    """cfn-lint over every template, in the stack's own region (reusing `blueprint lint`'s
    result while the templates are unchanged)."""
    from blueprint.assembly.lint import cached_lint, lint_assembly

    result = cached_lint(assembly.directory) or lint_assembly(assembly.directory)
    return {key: result[key] for key in ("ran", "templates", "findings")}


# --- IAM ---------------------------------------------------------------------------------


def iam_summary(assembly: Assembly, world: World) -> Json:
    """Each role (its IAM name, boundary and what its policies allow) and every Allow
    statement with a wildcard, with the acknowledgment that covers it."""
    by_place = {role.where: role for role in world.roles}
    roles = [
        {
            "role": ref(stack, logical_id),
            "name": _role_name(stack, resource),
            "boundary": _boundary(stack, resource),
            "allows": allowed_actions(by_place[f"{stack.name}/{logical_id}"]),
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


def allowed_actions(role: Role) -> str:
    """What the role's own policies (inline, customer and AWS managed) allow, by service:
    ``bedrock: ApplyGuardrail, Retrieve; kms: Decrypt``. Its boundary, its denies and the
    resources' policies may narrow it; the who-can-do-what tables decide with all of them."""
    by_service: dict[str, set[str]] = defaultdict(set)
    parts = []
    for statement in role.identity:
        if not statement.allow:
            continue
        if statement.not_actions:
            parts.append(f"every action but {', '.join(statement.actions)}")
            continue
        if not statement.actions_known:
            parts.append("actions decided at deploy time")
        for action in statement.actions:
            if action == "*":
                parts.append("every action")
                continue
            service, _, verb = action.partition(":")
            by_service[service].add(verb or "*")
    parts += [
        f"{service}: {', '.join(sorted(verbs))}" for service, verbs in sorted(by_service.items())
    ]
    if role.unreadable:
        parts.append(f"and what {', '.join(role.unreadable)} allows (not readable here)")
    return "; ".join(dict.fromkeys(parts)) or "nothing"


def _role_name(stack: AssemblyStack, resource: Json) -> str:
    """The role's name in IAM: its RoleName, or the one CloudFormation makes up on deploy."""
    name = resource.get("Properties", {}).get("RoleName")
    if name is None:
        return f"{stack.name}-<logical ID>-<random> (named by CloudFormation)"
    return (
        render(name)
        .replace("${AWS::AccountId}", stack.account)
        .replace("${AWS::Region}", stack.region)
    )


def _boundary(stack: AssemblyStack, resource: Json) -> str | None:
    """The boundary's policy name, however the template names it: a reference to a managed
    policy of the same stack (its ``ManagedPolicyName``) or the policy's ARN."""
    boundary = resource.get("Properties", {}).get("PermissionsBoundary")
    if boundary is None:
        return None
    if isinstance(boundary, dict) and set(boundary) == {"Ref"}:
        policy = stack.resources.get(boundary["Ref"], {})
        name = policy.get("Properties", {}).get("ManagedPolicyName")
        if name is not None:
            return render(name)
    return render(boundary).rsplit(":policy/", 1)[-1]


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


# --- residency ---------------------------------------------------------------------------


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


def control_matrix(assembly: Assembly, settings: CheckSettings) -> list[Json]:
    """Each control of the platform pack (the rules that gate synthesis) over the assembly:
    the resources that implement it, those acknowledged, those missing."""
    templates = [Template(stack.name, stack.region, stack.template) for stack in assembly.stacks]
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for result in evaluate(templates, settings):
        by_rule[result.rule.name].append(result)
    rows = []
    for rule in RULES:
        results = by_rule[rule.name]

        def where(result: Result) -> str:
            return f"{result.template.name}/{result.logical_id}"

        implemented = [where(r) for r in results if r.compliance is Compliance.COMPLIANT]
        acknowledged = [
            where(r)
            for r in results
            if r.compliance is Compliance.NON_COMPLIANT and r.acknowledgment is not None
        ]
        missing = [where(r) for r in results if r.violation]
        rows.append(
            {
                "control": rule.control,
                "rule": rule_id(rule),
                "description": rule.explanation,
                "frameworks": {pack: list(ids) for pack, ids in rule.controls.items()},
                "implemented": len(implemented),
                "acknowledged": len(acknowledged),
                "missing": len(missing),
                "implementing_resources": implemented,
                "acknowledged_resources": acknowledged,
                "missing_resources": missing,
            }
        )
    return rows


# --- the report --------------------------------------------------------------------------


def build_report(
    directory: Path,
    plan: Plan,
    settings: CheckSettings,
    prices_file: Path | None = None,
    lint: bool = True,
    baseline: Path | None = None,
    org_file: Path | None = None,
) -> Json:
    """The report of the assembly in ``directory`` of the organization ``plan``; ``settings``
    are what the platform pack checked during synthesis; ``baseline``, an earlier assembly
    whose stateful resources this one would delete or replace; ``org_file``, the organization
    file ``plan`` was read from (named, with its digest, in the release section)."""
    assembly = read_assembly(directory)
    allowed_regions = list(settings.allowed_regions)
    controls = control_matrix(assembly, settings)
    world = build_world(assembly)
    return {
        "assembly": str(directory),
        "release": release_metadata(org_file),
        "operating_model": operating_model(plan),
        "baseline": baseline_changes(baseline, directory, plan) if baseline else None,
        "frameworks": framework_results(assembly.nag_report, assembly, controls),
        "acknowledgment_groups": acknowledgment_groups(
            assembly.nag_report, plan.config.platform.acknowledgment_reviews
        ),
        "inventory": inventory(assembly),
        "compliance": compliance(assembly, lint=lint),
        "controls": controls,
        "iam": iam_summary(assembly, world),
        "access": access_matrix(world, plan),
        "residual_risks": residual_risks(assembly),
        "residency": residency(assembly, allowed_regions),
        "cost": estimate_costs(assembly, load_prices(prices_file)),
    }


def operating_model(plan: Plan) -> Json:
    """The organization's operating model and where it puts each placement's layers."""
    return {
        "model": plan.operating_model.value,
        "placements": [
            {
                "placement": p.key,
                "account": p.account,
                "region": p.region,
                "lob": p.lob.name if p.lob else "platform",
                "layers": [layer.value for layer in p.layers],
                "tenancy_of": p.tenancy_of or "",
            }
            for p in plan.placements
        ],
    }


def release_metadata(org_file: Path | None = None) -> Json:
    """When, from which commit, organization file and tools the report was made."""
    repository = Path(__file__).resolve().parents[2]

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(
                ["git", *arguments], cwd=repository, capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    package = json.loads((repository / "package.json").read_text())
    pins = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD") or "unknown (not a git checkout)",
        "uncommitted_changes": bool(git("status", "--porcelain")),
        "organization_file": _organization_file(org_file, repository, git) if org_file else None,
        "tools": {
            "python": platform.python_version(),
            **{name: _version(name) for name in TOOL_PACKAGES},
            "aws-cdk (CLI)": pins.get("aws-cdk", "unknown"),
        },
    }


def _organization_file(path: Path, repository: Path, git: Callable[..., str]) -> Json:
    """The organization file: its path, SHA-256, and whether git holds it as it is."""
    resolved = path.resolve()
    if not resolved.is_relative_to(repository):
        state = "outside the repository: not under its version control"
    else:
        relative = str(resolved.relative_to(repository))
        if not git("ls-files", "--error-unmatch", "--", relative):
            state = "untracked: not in any commit"
        elif git("status", "--porcelain", "--", relative):
            state = "changed since the commit"
        else:
            state = "as committed"
    return {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "version_control": state,
    }


TOOL_PACKAGES = (
    "genai-platform-blueprint",
    "aws-cdk-lib",
    "cdk-nag",
    "cfn-lint",
    "sagemaker",
    "pydantic",
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def baseline_changes(baseline: Path, candidate: Path, plan: Plan) -> Json:
    """The stateful resources of ``baseline`` that deploying ``candidate`` deletes or replaces
    (``at_risk``), the retained ones it orphans (kept in the account, no longer managed), and
    who gains or loses what in the access tables (``access``)."""
    changes = stateful_changes(baseline, candidate)

    def rows(orphaned: bool) -> list[Json]:
        return [
            {
                "stack": item.stack,
                "logical_id": item.logical_id,
                "type": item.resource_type,
                "reason": item.reason,
            }
            for item in changes
            if item.orphaned is orphaned
        ]

    return {
        "baseline": str(baseline),
        "at_risk": rows(False),
        "orphaned": rows(True),
        "access": access_changes(
            access_matrix(build_world(read_assembly(baseline)), plan),
            access_matrix(build_world(read_assembly(candidate)), plan),
        ),
    }


def access_changes(before: Json, after: Json) -> list[Json]:
    """Each cell of the access tables that differs: who gained or lost what, per environment
    (a principal or column only one side has counts as "-" on the other)."""

    def cells(matrix: Json) -> dict[tuple[str, str, str], str]:
        return {
            (environment["placement"], row["principal"], column): cell
            for environment in matrix["environments"]
            for row in environment["rows"]
            for column, cell in zip(environment["columns"], row["cells"], strict=True)
        }

    old, new = cells(before), cells(after)
    return [
        {
            "placement": placement,
            "principal": principal,
            "resource": column,
            "before": old.get((placement, principal, column), "-"),
            "after": new.get((placement, principal, column), "-"),
        }
        for placement, principal, column in sorted(set(old) | set(new))
        if old.get((placement, principal, column), "-")
        != new.get((placement, principal, column), "-")
    ]


def acknowledgment_groups(nag_report: Json, reviews: Sequence[AcknowledgmentReview]) -> list[Json]:
    """The acknowledgments grouped by reason (one reason covers many resources), largest
    first, each with the owner and expiry of the first review whose rule prefix matches."""
    groups: dict[str, Json] = {}
    for entry in nag_report.get("acknowledgments", []):
        group = groups.setdefault(
            entry["reason"], {"reason": entry["reason"], "rules": set(), "resources": 0}
        )
        group["rules"].add(entry["rule"].split("[")[0])
        group["resources"] += 1
    today = datetime.now(UTC).date()
    rows = []
    for group in groups.values():
        rules = sorted(group["rules"])
        review = next((r for r in reviews if any(rule.startswith(r.rule) for rule in rules)), None)
        rows.append(
            {
                "reason": group["reason"],
                "rules": rules,
                "resources": group["resources"],
                "owner": review.owner if review else None,
                "expires": review.expires.isoformat() if review else None,
                "expired": bool(review and review.expires < today),
            }
        )
    return sorted(rows, key=lambda row: (-row["resources"], row["reason"]))


RESIDUAL_RISKS = Path(__file__).with_name("residual_risks.yaml")


def residual_risks(assembly: Assembly, path: Path = RESIDUAL_RISKS) -> list[Json]:
    """The known risks the blueprint leaves open, with their compensating controls: those
    whose resource type the assembly deploys, and those that always apply."""
    deployed = {resource.get("Type") for _, _, resource in assembly.resources()}
    return [
        {key: entry[key] for key in ("id", "risk", "why", "compensating")}
        for entry in yaml.safe_load(path.read_text())
        if entry.get("when") is None or entry["when"] in deployed
    ]


def write_audit(report: Json, directory: Path) -> Path:
    from blueprint.assembly.audit_report import render_html, render_markdown, write_csv

    out = directory / "audit"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(report, out / "csv")
    (out / "audit.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    (out / "audit.md").write_text(render_markdown(report))
    (out / "index.html").write_text(render_html(report))
    return out
