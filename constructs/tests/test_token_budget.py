"""Token counts per use case and the daily token budgets: the template, and the budget check's
state machine run here on its synthesized definition against fake CloudWatch and Lambda."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from local_states import run

from conftest import new_stack
from genai_constructs.token_budget import (
    TokenBudget,
    TokenBudgets,
    UseCaseTokens,
    token_metric_namespace,
)

Json = dict[str, Any]
PROFILE = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:answer"
SDK = "arn:aws:states:::aws-sdk:"


def _budgets(**overrides: Any) -> tuple[Template, TokenBudgets]:
    stack = new_stack()
    log_group = logs.LogGroup(stack, "Invocations")
    answer = lambda_.Function.from_function_arn(stack, "Answer", FUNCTION)
    assistant = UseCaseTokens(
        stack,
        "AssistantTokens",
        log_group=log_group,
        profile_arn=PROFILE,
        namespace=token_metric_namespace("GenAIPlatform/claims-prod-genai", "assistant"),
    )
    copy = UseCaseTokens(
        stack,
        "CopyTokens",
        log_group=log_group,
        profile_arn=PROFILE.replace("abc123", "def456"),
        namespace=token_metric_namespace("GenAIPlatform/claims-prod-genai", "copy"),
    )
    budgets = TokenBudgets(
        stack,
        "Budgets",
        name="claims-prod-token-budgets",
        budgets=overrides.pop(
            "budgets",
            [
                TokenBudget("assistant", assistant, 100_000, 80, answer, concurrency=10),
                TokenBudget("copy", copy, 50_000, 50),
            ],
        ),
        namespace="GenAIPlatform/claims-prod-genai/token-budgets",
        topic=sns.Topic(stack, "Alarms"),
        encryption_key=kms.Key(stack, "Key", enable_key_rotation=True),
        log_retention=logs.RetentionDays.ONE_YEAR,
    )
    return Template.from_stack(stack), budgets


@pytest.fixture(scope="module")
def template() -> Template:
    return _budgets()[0]


def test_each_use_case_counts_its_own_profiles_tokens(template: Template) -> None:
    filters = template.find_resources("AWS::Logs::MetricFilter")
    counted = {
        (
            f["Properties"]["MetricTransformations"][0]["MetricNamespace"],
            f["Properties"]["MetricTransformations"][0]["MetricName"],
            f["Properties"]["MetricTransformations"][0]["MetricValue"],
            f["Properties"]["FilterPattern"],
        )
        for f in filters.values()
    }
    namespace = "GenAIPlatform/claims-prod-genai/assistant/observed"
    assert (
        namespace,
        "InputTokens",
        "$.input.inputTokenCount",
        f'{{ $.modelId = "{PROFILE}" }}',
    ) in counted
    assert (
        namespace,
        "OutputTokens",
        "$.output.outputTokenCount",
        f'{{ $.modelId = "{PROFILE}" }}',
    ) in counted
    assert len(counted) == 4


def test_alarms_at_the_threshold_and_at_the_whole_budget(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    thresholds = sorted(
        (a["Properties"]["Dimensions"][0]["Value"], a["Properties"]["Threshold"])
        for a in alarms.values()
    )
    assert thresholds == [("assistant", 80), ("assistant", 100), ("copy", 50), ("copy", 100)]
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(5 minutes)", "State": "ENABLED"}
    )
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"StateMachineType": "EXPRESS", "StateMachineName": "claims-prod-token-budgets"},
    )


def test_the_check_may_change_only_its_answer_apis_concurrency(template: Template) -> None:
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    lambda_actions = [s for s in statements if any(a.startswith("lambda:") for a in s["Action"])]
    assert lambda_actions == [
        {
            "Action": ["lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency"],
            "Effect": "Allow",
            "Resource": FUNCTION,
        }
    ]
    [publish] = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert publish["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "GenAIPlatform/claims-prod-genai/token-budgets"}
    }


def definition(template: Template) -> Json:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    text = machine["Properties"]["DefinitionString"]
    if isinstance(text, dict):
        text = "".join(part if isinstance(part, str) else "?" for part in text["Fn::Join"][1])
    return dict(json.loads(text))


class Account:
    """CloudWatch and Lambda as the check sees them."""

    def __init__(self, used: dict[str, int], reserved: int = 10) -> None:
        self.used = used
        self.reserved = reserved
        self.published: list[Json] = []
        self.concurrency_changes: list[int] = []
        self.queries: list[Json] = []

    def get_metric_data(self, arguments: Json) -> Json:
        self.queries.append(arguments)
        [stat] = [q for q in arguments["MetricDataQueries"] if q["Id"] == "given"]
        namespace = stat["MetricStat"]["Metric"]["Namespace"]
        total = self.used.get(namespace.split("/")[-2], 0)
        # As CloudWatch answers: each query, with the day's total in the expression's values.
        return {
            "MetricDataResults": [
                {"Id": "used", "Values": [total] if total else [], "StatusCode": "Complete"}
            ]
        }

    def put_metric_data(self, arguments: Json) -> Json:
        self.published.extend(arguments["MetricData"])
        return {}

    def get_function_concurrency(self, arguments: Json) -> Json:
        assert arguments == {"FunctionName": FUNCTION}
        return {"ReservedConcurrentExecutions": self.reserved}

    def put_function_concurrency(self, arguments: Json) -> Json:
        assert arguments["FunctionName"] == FUNCTION
        self.reserved = arguments["ReservedConcurrentExecutions"]
        self.concurrency_changes.append(self.reserved)
        return {}

    def services(self) -> Json:
        return {
            f"{SDK}cloudwatch:getMetricData": self.get_metric_data,
            f"{SDK}cloudwatch:putMetricData": self.put_metric_data,
            f"{SDK}lambda:getFunctionConcurrency": self.get_function_concurrency,
            f"{SDK}lambda:putFunctionConcurrency": self.put_function_concurrency,
        }


def check(template: Template, account: Account, at: str = "2026-12-06T14:05:00.123Z") -> None:
    run(definition(template), account.services(), start_time=at)


def shares(account: Account) -> dict[str, float]:
    return {m["Dimensions"][0]["Value"]: m["Value"] for m in account.published}


def test_under_budget_publishes_the_share_and_leaves_the_api_alone(template: Template) -> None:
    account = Account({"assistant": 40_000})
    check(template, account)
    assert shares(account) == {"assistant": 40, "copy": 0}
    assert account.concurrency_changes == []
    # The day so far: from 00:00 UTC of the execution's start to its start.
    assert {(q["StartTime"], q["EndTime"]) for q in account.queries} == {
        ("2026-12-06T00:00:00Z", "2026-12-06T14:05:00.123Z")
    }
    [expression] = [q for q in account.queries[0]["MetricDataQueries"] if "Expression" in q]
    assert expression["Expression"] == "FILL(given, 0) + FILL(produced, 0)"


def test_a_spent_budget_stops_the_answer_api_until_the_next_day(template: Template) -> None:
    account = Account({"assistant": 100_000, "copy": 60_000})
    check(template, account)
    assert account.concurrency_changes == [0]
    assert shares(account) == {"assistant": 100, "copy": 120}
    check(template, account)  # still spent: nothing more to change
    assert account.concurrency_changes == [0]
    account.used = {"assistant": 1_000}  # a new day
    check(template, account, at="2026-12-07T00:05:00Z")
    assert account.concurrency_changes == [0, 10]


def test_budgets_are_in_the_definition_not_in_the_execution_input(template: Template) -> None:
    account = Account({"assistant": 100_000})
    forged = {"budgets": [{"useCase": "assistant", "dailyTokens": 10**12}]}
    run(
        definition(template),
        account.services(),
        start_time="2026-12-06T10:00:00Z",
        state_input=forged,
    )
    assert account.concurrency_changes == [0]


@pytest.mark.parametrize(
    ("daily", "percent", "message"),
    [(999, 80, "daily_tokens"), (100_000, 0, "alarm_percent"), (100_000, 101, "alarm_percent")],
)
def test_budgets_out_of_range_are_refused(daily: int, percent: int, message: str) -> None:
    stack = new_stack()
    tokens = UseCaseTokens(
        stack, "T", log_group=logs.LogGroup(stack, "L"), profile_arn=PROFILE, namespace="n/observed"
    )
    with pytest.raises(ValueError, match=message):
        TokenBudgets(
            stack,
            "Budgets",
            name="b",
            budgets=[TokenBudget("assistant", tokens, daily, percent)],
            namespace="n",
            topic=sns.Topic(stack, "Alarms"),
            encryption_key=kms.Key(stack, "Key"),
            log_retention=logs.RetentionDays.ONE_YEAR,
        )


def test_no_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one use case"):
        _budgets(budgets=[])


def test_the_schedule_passes_the_check_no_input(template: Template) -> None:
    [rule] = template.find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["Targets"][0]["Input"] == "{}"


@pytest.mark.parametrize("in_vpc", [True, False])
def test_a_function_runs_in_a_vpc_or_says_why_not(in_vpc: bool) -> None:
    from aws_cdk import aws_ec2 as ec2

    from genai_constructs.function import PlatformFunction

    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0) if in_vpc else None
    with pytest.raises(ValueError, match=r"give vpc, or outside_vpc .*; allowed: exactly one"):
        PlatformFunction(
            stack,
            "F",
            description="f",
            handler="chargeback.index.handler",
            encryption_key=kms.Key(stack, "Key"),
            vpc=vpc,
            log_retention=logs.RetentionDays.ONE_YEAR,
            outside_vpc="a reason" if in_vpc else None,
        )
