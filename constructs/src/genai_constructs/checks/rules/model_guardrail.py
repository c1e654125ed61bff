"""Model invocations are granted only with a guardrail."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

from genai_constructs.checks.rule import (
    CheckSettings,
    Compliance,
    Json,
    Resource,
    Rule,
    as_list,
    render,
    statements,
)

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")


def _statements(resource: Resource) -> list[Json]:
    if resource.type == "AWS::IAM::Role":
        policies = resource.properties.get("Policies", [])
        return [s for policy in policies for s in statements(policy.get("PolicyDocument"))]
    return statements(resource.properties.get("PolicyDocument"))


def _grants_invoke(statement: Json) -> bool:
    actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
    return statement.get("Effect") == "Allow" and any(
        fnmatchcase(invoke, action) for invoke in INVOKE_ACTIONS for action in actions
    )


def _unguarded_only(statement: Json, settings: CheckSettings) -> bool:
    resources = as_list(statement.get("Resource", []))
    models = tuple(f"foundation-model/{model}" for model in settings.unguarded_model_ids)
    return bool(models) and all(render(resource).endswith(models) for resource in resources)


def _guarded(statement: Json) -> bool:
    return "bedrock:GuardrailIdentifier" in json.dumps(statement.get("Condition", {}))


def check(resource: Resource, settings: CheckSettings) -> Compliance:
    if resource.type not in POLICY_TYPES:
        return Compliance.NOT_APPLICABLE
    grants = [s for s in _statements(resource) if _grants_invoke(s)]
    if not grants:
        return Compliance.NOT_APPLICABLE
    return Compliance.of(all(_guarded(s) or _unguarded_only(s, settings) for s in grants))


RULE = Rule(
    name="ModelGuardrail",
    control="model governance",
    info="The policy allows invoking a model without requiring the guardrail "
    "(bedrock:GuardrailIdentifier).",
    explanation="Every model call that returns text goes through the organization's "
    "guardrail; only embedding models of the catalog are exempt.",
    controls={"NIST.800.53.R5": ("AC-3", "SI-10", "SI-15")},
    check=check,
)
