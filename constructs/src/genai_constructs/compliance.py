"""Narrow, auditable acknowledgments of cdk-nag and checkov findings.

An acknowledgment names one CloudFormation resource and one finding, carries a reason an
auditor can check, and is written to the template's metadata: cdk-nag's by its
``write_suppressions_to_cloud_formation`` aspect, checkov's as ``Metadata: checkov: skip``
(the form checkov reads). Acknowledging on a stack or a whole L2 construct is refused: it would
silence findings on resources nobody looked at.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from typing import TYPE_CHECKING

from aws_cdk import CfnResource, Stack, Validations
from constructs import Construct, IConstruct

from genai_constructs.naming import FRAMEWORK_PACKS, PLATFORM_PACK
from genai_constructs.tree import node_of, resource_of

if TYPE_CHECKING:
    from cdk_nag import NagPack

# The rule-ID prefixes of the cdk-nag packs every app of the platform runs: the four of
# cdk-nag and the platform's own (genai_constructs.checks).
NAG_PACKS = ("AwsSolutions", *FRAMEWORK_PACKS, PLATFORM_PACK)
_RULE_ID = re.compile(
    r"^(" + "|".join(re.escape(p) for p in NAG_PACKS) + r")-[A-Za-z0-9]+(\[.+\])?$"
)
_PLUGIN = re.compile(r"^[A-Za-z0-9.]+$")
# checkov's CloudFormation check IDs, e.g. CKV_AWS_18 (graph checks CKV2_AWS_...).
_CHECKOV_ID = re.compile(r"^CKV2?_AWS_\d+$")
CHECKOV_METADATA = "checkov"
MIN_REASON_LENGTH = 40
_ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def _without_plugin(rule_id: str) -> str:
    """``AwsSolutions::AwsSolutions-S1`` (cdk-nag's documented form, the plugin's name first)
    -> ``AwsSolutions-S1``."""
    plugin, separator, rule = rule_id.partition("::")
    if separator and _PLUGIN.match(plugin) and rule.startswith(f"{plugin}-"):
        return rule
    return rule_id


def acknowledge(resource: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    """Acknowledge ``rule_ids`` on one resource.

    ``resource`` is a CfnResource or an L2 construct whose default child is one; ``rule_ids``
    are cdk-nag IDs such as ``AwsSolutions-S1`` (or ``AwsSolutions::AwsSolutions-S1``, as
    cdk-nag's documentation writes them) or ``AwsSolutions-IAM5[Resource::*]``, or
    checkov IDs such as ``CKV_AWS_18``, one finding each (the same finding in several packs
    may share a reason).
    """
    # Every call into node is a round trip (acknowledgments were a third of them): a
    # construct's node is read once (genai_constructs.tree).
    cfn = resource_of(resource)
    if cfn is None:
        inside = _resources_inside(resource)
        hint = f"; pass one of what it wraps: {', '.join(inside)}" if inside else ""
        raise ValueError(
            f"acknowledge() needs a CloudFormation resource; '{resource.node.path}' is not one "
            f"and has no default CloudFormation resource{hint}"
        )
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"acknowledge() needs a specific reason of at least {MIN_REASON_LENGTH} characters; "
            f"got '{reason}'"
        )
    rules = [_without_plugin(r) for r in ([rule_ids] if isinstance(rule_ids, str) else rule_ids)]
    for rule_id in rules:
        if not (_RULE_ID.match(rule_id) or _CHECKOV_ID.match(rule_id)):
            raise ValueError(
                f"'{rule_id}' is not a cdk-nag rule ID of the packs {', '.join(NAG_PACKS)} "
                "nor a checkov check ID (CKV_AWS_<n>)"
            )
        if _RULE_ID.match(rule_id):
            _check_rule_exists(rule_id)
    checkov = [rule for rule in rules if _CHECKOV_ID.match(rule)]
    if checkov:
        skipped = dict(cfn.get_metadata(CHECKOV_METADATA) or {"skip": []})
        skipped["skip"] = [*skipped["skip"], *({"id": i, "comment": reason} for i in checkov)]
        cfn.add_metadata(CHECKOV_METADATA, skipped)
        rules = [rule for rule in rules if rule not in checkov]
        if not rules:
            return
    # Validations.acknowledge() parses '::' as a plugin prefix and would mangle finding IDs
    # such as 'AwsSolutions-IAM5[Resource::*]', so the metadata is written directly, in one
    # entry (each jsii call costs a round trip to node).
    node_of(cfn).add_metadata(_ACKNOWLEDGED, dict.fromkeys(rules, reason))


def _check_rule_exists(rule_id: str) -> None:
    """Refuse a well-formed ID that no pack has: an acknowledgment of it would silence nothing,
    and the finding meant would stay unacknowledged under a misspelt name."""
    base = rule_id.split("[", 1)[0]
    pack = base.rsplit("-", 1)[0]
    known = _known_rules(pack)
    if base not in known:
        close = difflib.get_close_matches(base, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"'{base}' is not a rule of the {pack} pack{hint}")


@cache
def _known_rules(pack: str) -> tuple[str, ...]:
    if pack == PLATFORM_PACK:
        from genai_constructs.checks import RULES, rule_id

        return tuple(rule_id(rule) for rule in RULES)
    from genai_constructs.nag_rules import pack_rules

    return tuple(rule.rule_id for rule in pack_rules(pack))


def in_every_framework(rule: str) -> list[str]:
    """The IDs of one rule of the framework packs, e.g. ``IAMNoInlinePolicy`` in each."""
    return [f"{pack}-{rule}" for pack in FRAMEWORK_PACKS]


def ignore_cfn_lint(resource: CfnResource, check_ids: list[str], reason: str) -> None:
    """Skip cfn-lint ``check_ids`` on one resource; ``reason`` is kept in the metadata."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"ignore_cfn_lint() needs a specific reason of at least {MIN_REASON_LENGTH} "
            f"characters; got '{reason}'"
        )
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": check_ids}, "reason": reason})


def accept_cdk_provider(stack: Stack, provider_id: str) -> None:
    """Skip what the linters report on the handler of a CDK-internal custom resource provider.

    The CDK emits an explicit DependsOn beside a GetAtt on the provider's role (cfn-lint
    W3005); the handler runs only while CloudFormation deploys, calls one AWS API and is not
    ours to place in the VPC or give a concurrency limit or dead-letter queue (checkov).
    """
    provider = stack.node.try_find_child(provider_id)
    handler = provider.node.try_find_child("Handler") if provider else None
    if not isinstance(handler, CfnResource):
        raise ValueError(f"'{stack.node.path}' has no CDK provider '{provider_id}' with a Handler")
    ignore_cfn_lint(
        handler,
        ["W3005"],
        "CDK-generated provider handler: DependsOn on its role is emitted by the CDK beside the "
        "GetAtt and is harmless.",
    )
    acknowledge(
        handler,
        ["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"],
        "CDK's own provider function runs only while CloudFormation deploys the stack, calls the "
        "EC2 API once, and CloudFormation reports its failure; it needs no VPC placement, "
        "concurrency limit or dead-letter queue.",
    )


def nag_reference(scope: IConstruct, value: object) -> str:
    """How cdk-nag spells ``value`` (an ARN token) in a finding ID such as IAM5's ``Resource::``.

    Only references that resolve the same at construction and at validation time (local
    resources, explicit imports) give the right spelling; automatic cross-stack references are
    rewritten during synthesis.
    """
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: object) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def acknowledge_wildcards(policy: IConstruct, reason: str) -> list[str]:
    """Acknowledge each AwsSolutions-IAM5 finding of one generated policy, with ``reason``.

    For policies whose wildcards are inherent (object prefixes, job ARNs of the workload, KMS
    data-key variants, actions without resource-level permissions). The findings are computed
    from the policy as synthesized, so an added wildcard shows up in the acknowledgment list;
    references must resolve at construction (local resources or explicit imports).
    """
    cfn = resource_of(policy)
    written = getattr(cfn, "policy_document", None)
    if cfn is None or written is None:
        raise ValueError(f"acknowledge_wildcards(): '{policy.node.path}' has no policy resource")
    document = Stack.of(cfn).resolve(written)
    findings: list[str] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if "*" in action:
                findings.append(f"Action::{action}")
        for resource in resources if isinstance(resources, list) else [resources]:
            flat = _flatten(resource)
            if "*" in flat:
                findings.append(f"Resource::{flat}")
    unique = sorted(set(findings))
    if unique:
        acknowledge(cfn, [f"AwsSolutions-IAM5[{finding}]" for finding in unique], reason)
    return unique


def grants_policy(role: IConstruct) -> IConstruct | None:
    """The policy CDK writes a role's grants into: ``DefaultPolicy`` of a role of this app
    (whatever other child's ID starts with ``Policy``), ``Policy<id>`` of an imported mutable
    one; ``None`` before the first grant."""
    node = node_of(role)
    default = node.try_find_child("DefaultPolicy")
    if default is not None:
        return default
    return next((child for child in node.children if node_of(child).id.startswith("Policy")), None)


def acknowledge_role_policy(role: IConstruct, what: str, wildcard_findings: list[str]) -> None:
    """Acknowledge the findings of a role's CDK-generated policy (``grants_policy``): an
    inline policy of this one role, and the listed ``AwsSolutions-IAM5`` wildcards."""
    policy = grants_policy(role)
    if policy is None:
        return
    reason = f"CDK grants on this role's own resources: {what}"
    acknowledge(
        policy,
        in_every_framework("IAMNoInlinePolicy"),
        f"{reason}; attached to this one role and managed with it.",
    )
    if wildcard_findings:
        acknowledge(
            policy, [f"AwsSolutions-IAM5[{finding}]" for finding in wildcard_findings], f"{reason}."
        )


def acknowledge_scoped_policy(role: IConstruct, what: str) -> None:
    """Acknowledge the findings of the policy CDK generated for a construct's own role (its
    ``DefaultPolicy``, complete when this is called): an inline policy of this one role, and
    each of its ``AwsSolutions-IAM5`` wildcards, all scoped to ``what``."""
    policy = role.node.find_child("DefaultPolicy")
    reason = f"Scoped to {what}"
    acknowledge(
        policy,
        in_every_framework("IAMNoInlinePolicy"),
        f"{reason}; CDK-generated and attached to this one role only.",
    )
    acknowledge_wildcards(
        policy,
        f"{reason}: object prefixes, job and log ARNs of this workload, KMS data-key "
        "variants, and EC2/ECR actions that have no resource-level permissions.",
    )


def nag_pack_classes() -> tuple[type[NagPack], ...]:
    """The four cdk-nag packs this library is checked against: AWS Solutions, NIST 800-53
    R5, HIPAA Security and PCI DSS 3.2.1 (imported on use: cdk-nag starts with the CDK)."""
    from cdk_nag import (
        AwsSolutionsChecks,
        HIPAASecurityChecks,
        NIST80053R5Checks,
        PCIDSS321Checks,
    )

    return (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks)


def add_nag_packs(app: IConstruct, *, write_suppressions_to_cloud_formation: bool = False) -> None:
    """Run the four packs on every stack of ``app``: synthesis fails on any unacknowledged
    finding. The library's constructs acknowledge their own inherent findings, each with its
    reason, so an app made of them starts clean."""
    from aws_cdk import Validations

    Validations.of(app).add_plugins(
        *(
            pack(app, write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation)
            for pack in nag_pack_classes()
        )
    )


def _resources_inside(wrapper: IConstruct) -> list[str]:
    """The attributes of ``wrapper`` (a construct of this library such as ``GovernedBucket``)
    that acknowledge() takes, as ``.bucket``: resources, or constructs with a default one."""
    found = []
    for name, value in sorted(vars(wrapper).items()):
        if name.startswith("_") or not isinstance(value, Construct):
            continue
        if isinstance(value, CfnResource) or isinstance(value.node.default_child, CfnResource):
            found.append(f".{name}")
    return found
