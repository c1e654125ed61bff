"""Each use case's token counts and, where the organization file sets one, its daily token
budget (``genai_constructs.token_budget``), in an LOB environment's GenAI stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from blueprint.model.assets import AssetKind
from blueprint.model.inputs.genai import GenAIInputs
from genai_constructs.bedrock import ApplicationInferenceProfiles
from genai_constructs.naming import pascal
from genai_constructs.rag import AnswerApi
from genai_constructs.token_budget import (
    TokenBudget,
    TokenBudgets,
    UseCaseTokens,
    token_metric_namespace,
)
from stacks.assets import mark


def use_case_tokens(
    scope: Construct,
    inputs: GenAIInputs,
    profiles: ApplicationInferenceProfiles,
    own_log_group: logs.ILogGroup | None,
) -> dict[str, UseCaseTokens]:
    """Token counts of every use case, from the invocation log group of its account (a
    tenancy's are in its central account's)."""
    log_group = own_log_group
    if inputs.central_invocation_log_group:
        log_group = logs.LogGroup.from_log_group_name(
            scope, "CentralInvocationLogs", inputs.central_invocation_log_group
        )
    if log_group is None:
        raise ValueError(f"{inputs.label}: no invocation log group to count tokens in")
    return {
        use.name: UseCaseTokens(
            scope,
            f"UseCase{pascal(use.name)}Tokens",
            log_group=log_group,
            profile_arn=profiles.profiles[use.name].attr_inference_profile_arn,
            namespace=token_metric_namespace(inputs.metric_namespace, use.name),
        )
        for use in inputs.use_cases
    }


def _answer_api(api: AnswerApi | None) -> dict[str, Any]:
    """What a budget stops once spent: the use case's answer API, at its own concurrency."""
    return {"answer_function": api.function.function, "concurrency": api.concurrency} if api else {}


def token_budgets(
    scope: Construct,
    inputs: GenAIInputs,
    tokens: Mapping[str, UseCaseTokens],
    answer_apis: Mapping[str, AnswerApi],
    *,
    topic: sns.ITopic,
    encryption_key: kms.IKey,
    log_retention: logs.RetentionDays,
) -> TokenBudgets | None:
    """The budgets the organization file sets, checked by one state machine; none without."""
    budgets = [
        TokenBudget(
            use_case=use.name,
            tokens=tokens[use.name],
            daily_tokens=use.token_budget.daily_tokens,
            alarm_percent=use.token_budget.alarm_percent,
            **_answer_api(answer_apis.get(use.name)),
        )
        for use in inputs.use_cases
        if use.token_budget is not None
    ]
    if not budgets:
        return None
    checks = TokenBudgets(
        scope,
        "TokenBudgets",
        name=f"{inputs.label}-token-budgets",
        budgets=budgets,
        namespace=f"{inputs.metric_namespace}/token-budgets",
        topic=topic,
        encryption_key=encryption_key,
        log_retention=log_retention,
    )
    mark(checks.machine.role, AssetKind.TOKEN_BUDGET_ROLE, "daily")
    return checks
