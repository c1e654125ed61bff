"""What each use case spends in tokens, and a daily budget that stops its answer API.

``UseCaseTokens`` counts a use case's input and output tokens from the account's model
invocation logs: two metric filters match the records whose ``modelId`` is the use case's
application inference profile, into an observed namespace of its own (no role under the
boundary may publish there, so nobody hides spend). Prompts stay in the logs: the metrics
carry counts only, and the governance account reads them through the metrics-only sink.

``TokenBudgets`` checks every five minutes, with a state machine, how many tokens each
budgeted use case has used since 00:00 UTC; it publishes the share of the budget used (the
alarms watch it: one at ``alarm_percent``, one at 100 %) and, for a use case with an answer
API, sets the function's reserved concurrency to 0 once the budget is spent (its URL then
answers 429) and back to its configured value once the day's usage is under the budget again.
The budgets are written into the state machine's definition, not read from its input, so an
execution started by hand checks the same budgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.compliance import acknowledge_role_policy
from genai_constructs.naming import observed_metric_namespace, pascal
from genai_constructs.state_machines import logged_state_machine, start_on_schedule
from genai_constructs.validation import check_range

INPUT_TOKENS = "InputTokens"
OUTPUT_TOKENS = "OutputTokens"
BUDGET_USED = "TokenBudgetUsedPercent"
CHECK_EVERY = Duration.minutes(5)


def token_metric_namespace(environment_namespace: str, use_case: str) -> str:
    """Where a use case's token counts are published (the governance account reads them by
    this name)."""
    return observed_metric_namespace(f"{environment_namespace}/{use_case}")


class UseCaseTokens(Construct):
    """The input and output tokens of one use case, from the invocation log group.

    :param log_group: the account's model invocation log group.
    :param profile_arn: the use case's application inference profile; applications call it by
        this ARN, which Bedrock writes as the record's ``modelId``.
    :param namespace: ``token_metric_namespace`` of the use case.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_group: logs.ILogGroup,
        profile_arn: str,
        namespace: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.namespace = namespace
        pattern = logs.FilterPattern.string_value("$.modelId", "=", profile_arn)
        self.filters = {
            name: logs.MetricFilter(
                self,
                name,
                log_group=log_group,
                filter_pattern=pattern,
                metric_namespace=namespace,
                metric_name=name,
                metric_value=value,
            )
            for name, value in (
                (INPUT_TOKENS, "$.input.inputTokenCount"),
                (OUTPUT_TOKENS, "$.output.outputTokenCount"),
            )
        }

    def metric(self, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace, metric_name=name, statistic="Sum", period=Duration.days(1)
        )


@dataclass(frozen=True)
class TokenBudget:
    """One use case's daily budget.

    :param use_case: its name (the budget metric's ``UseCase`` dimension).
    :param tokens: the use case's token counts.
    :param daily_tokens: input and output tokens a UTC day.
    :param alarm_percent: the share of the budget at which the first alarm goes off.
    :param answer_function: default none; the answer API's function, stopped once the budget
        is spent.
    :param concurrency: the function's reserved concurrency, restored the next day.
    """

    use_case: str
    tokens: UseCaseTokens
    daily_tokens: int
    alarm_percent: int = 80
    answer_function: lambda_.IFunction | None = None
    concurrency: int = 10


class TokenBudgets(Construct):
    """The daily token budgets of an environment's use cases (see the module's docstring).

    :param name: the state machine's name.
    :param namespace: where the share of each budget used is published (not an observed
        namespace: the state machine publishes it).
    :param topic: where the alarms are announced.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        budgets: Sequence[TokenBudget],
        namespace: str,
        topic: sns.ITopic,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        if not budgets:
            raise ValueError("TokenBudgets: budgets must name at least one use case")
        for budget in budgets:
            check_range("TokenBudgets", "daily_tokens", budget.daily_tokens, 1000, 10**12)
            check_range("TokenBudgets", "alarm_percent", budget.alarm_percent, 1, 100)
        self.namespace = namespace
        self.machine = logged_state_machine(
            self,
            "Check",
            name=name,
            definition=sfn.DefinitionBody.from_string(
                Stack.of(self).to_json_string(self._definition(budgets))
            ),
            timeout=Duration.minutes(2),
            encryption_key=encryption_key,
            log_retention=log_retention,
            log_group_id="CheckLogs",
            steps="read the day's tokens, publish the share used, stop or restart an answer API",
            express=True,
        )
        self._permissions(budgets)
        start_on_schedule(
            self,
            self.machine,
            events.Schedule.rate(CHECK_EVERY),
            role_description="Starts the token budget check on its schedule",
            rule_description="Check the daily token budgets",
            starts="the token budget check",
        )
        self.alarms = {
            (budget.use_case, percent): announced_alarm(
                self,
                f"{pascal(budget.use_case)}Budget{percent}",
                description=f"{budget.use_case}: {percent} % of the day's token budget "
                f"({budget.daily_tokens:,} tokens) used"
                + (", its answer API refuses until 00:00 UTC" if percent >= 100 else ""),
                metric=self.used_percent(budget.use_case),
                topic=topic,
                threshold=percent,
            )
            for budget in budgets
            for percent in sorted({budget.alarm_percent, 100})
        }

    def used_percent(self, use_case: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=BUDGET_USED,
            dimensions_map={"UseCase": use_case},
            statistic="Maximum",
            period=CHECK_EVERY,
        )

    def _permissions(self, budgets: Sequence[TokenBudget]) -> None:
        role = self.machine.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": self.namespace}},
            )
        )
        functions = [b.answer_function.function_arn for b in budgets if b.answer_function]
        if functions:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency"],
                    resources=functions,
                )
            )
        acknowledge_role_policy(
            role,
            "read metrics and publish the budget metric to its own namespace (neither has "
            "resource-level permissions), change the concurrency of its answer APIs only",
            ["Resource::*"],
        )

    def _definition(self, budgets: Sequence[TokenBudget]) -> dict[str, Any]:
        """JSONata: a Map over the budgets written here, each read, published and enforced."""
        items = [
            {
                "useCase": b.use_case,
                "namespace": b.tokens.namespace,
                "dailyTokens": b.daily_tokens,
                "function": b.answer_function.function_arn if b.answer_function else "",
                "concurrency": b.concurrency,
            }
            for b in budgets
        ]
        midnight = "{% $substring($states.context.Execution.StartTime, 0, 10) & 'T00:00:00Z' %}"

        def tokens(query_id: str, metric: str) -> dict[str, Any]:
            return {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {"Namespace": "{% $states.input.namespace %}", "MetricName": metric},
                    "Period": 86400,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }

        def concurrency(value: str, then: str) -> dict[str, Any]:
            return {
                "Type": "Task",
                "Retry": retry,
                "Resource": "arn:aws:states:::aws-sdk:lambda:putFunctionConcurrency",
                "Arguments": {
                    "FunctionName": "{% $states.input.function %}",
                    "ReservedConcurrentExecutions": value,
                },
                "Output": "{% $states.input %}",
                "Next": then,
            }

        # A throttled or failed call is tried again; the next check, five minutes on, also would.
        retry = [
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 2,
                "MaxAttempts": 3,
                "BackoffRate": 2,
            }
        ]
        steps = {
            "ReadTokens": {
                "Type": "Task",
                "Retry": retry,
                "Resource": "arn:aws:states:::aws-sdk:cloudwatch:getMetricData",
                "Arguments": {
                    "StartTime": midnight,
                    "EndTime": "{% $states.context.Execution.StartTime %}",
                    "MetricDataQueries": [
                        tokens("given", INPUT_TOKENS),
                        tokens("produced", OUTPUT_TOKENS),
                        {"Id": "used", "Expression": "FILL(given, 0) + FILL(produced, 0)"},
                    ],
                },
                "Output": (
                    "{% $merge([$states.input, {'used': "
                    "$sum($states.result.MetricDataResults[Id = 'used'].Values)}]) %}"
                ),
                "Next": "PublishShare",
            },
            "PublishShare": {
                "Type": "Task",
                "Retry": retry,
                "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
                "Arguments": {
                    "Namespace": self.namespace,
                    "MetricData": [
                        {
                            "MetricName": BUDGET_USED,
                            "Dimensions": [
                                {"Name": "UseCase", "Value": "{% $states.input.useCase %}"}
                            ],
                            "Value": "{% $states.input.used * 100 / $states.input.dailyTokens %}",
                            "Unit": "Percent",
                        }
                    ],
                },
                "Output": "{% $states.input %}",
                "Next": "HasAnswerApi",
            },
            "HasAnswerApi": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.function != '' %}", "Next": "ReadConcurrency"}
                ],
                "Default": "Checked",
            },
            "ReadConcurrency": {
                "Type": "Task",
                "Retry": retry,
                "Resource": "arn:aws:states:::aws-sdk:lambda:getFunctionConcurrency",
                "Arguments": {"FunctionName": "{% $states.input.function %}"},
                # -1: no reserved concurrency (the answer API always has some).
                "Output": (
                    "{% $merge([$states.input, {'reserved': "
                    "$exists($states.result.ReservedConcurrentExecutions) ? "
                    "$states.result.ReservedConcurrentExecutions : -1}]) %}"
                ),
                "Next": "Enforce",
            },
            "Enforce": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.used >= $states.input.dailyTokens "
                        "and $states.input.reserved != 0 %}",
                        "Next": "StopAnswers",
                    },
                    {
                        "Condition": "{% $states.input.used < $states.input.dailyTokens "
                        "and $states.input.reserved = 0 %}",
                        "Next": "RestartAnswers",
                    },
                ],
                "Default": "Checked",
            },
            "StopAnswers": concurrency("{% 0 %}", "Checked"),
            "RestartAnswers": concurrency("{% $states.input.concurrency %}", "Checked"),
            "Checked": {"Type": "Succeed"},
        }
        return {
            "QueryLanguage": "JSONata",
            "Comment": "Daily token budgets: read, publish the share used, enforce",
            "StartAt": "EachBudget",
            "States": {
                "EachBudget": {
                    "Type": "Map",
                    "Items": items,
                    "MaxConcurrency": 5,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "ReadTokens",
                        "States": steps,
                    },
                    "End": True,
                }
            },
        }
