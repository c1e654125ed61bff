"""The ETL's state machine: one run at a time, and per dataset stage, check with Glue Data
Quality, record the score, and publish only when every rule passes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from genai_constructs.etl.datasets import DatasetSpec, staged_table
from genai_constructs.naming import quality_ruleset_name
from genai_constructs.state_machines import logged_state_machine

# A Glue Data Quality run's final states.
QUALITY_RUN_FAILED = ("FAILED", "STOPPED", "TIMEOUT")


def curation_state_machine(
    scope: Construct,
    name: str,
    prefix: str,
    datasets: Sequence[DatasetSpec],
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
    namespace: str,
    *,
    role: iam.IRole,
    database_name: str,
    ruleset_arns: list[str],
) -> sfn.StateMachine:
    each = sfn.Pass(
        scope,
        "Datasets",
        parameters={
            "datasets": [
                {
                    "dataset": d.name,
                    "table": staged_table(d),
                    "ruleset": quality_ruleset_name(prefix, d.name),
                }
                for d in datasets
            ]
        },
    )
    # By name: the role's policy names the function, which depends on that policy.
    function = lambda_.Function.from_function_name(scope, "CurateByName", f"{name}-curate")

    def curation(state_id: str, step: str, count: str, path: str) -> tasks.LambdaInvoke:
        return tasks.LambdaInvoke(
            scope,
            state_id,
            lambda_function=function,
            payload=sfn.TaskInput.from_object({"dataset.$": "$.dataset", "step": step}),
            result_selector={
                "objects.$": "$.Payload.objects",
                f"{count}.$": f"$.Payload.{count}",
            },
            result_path=path,
        )

    curate = curation("StageTheDataset", "stage", "rows", "$.curated")
    publish = curation("PublishTheDataset", "publish", "removed", "$.published")

    # Glue may authorize looking up a run or a result by any ruleset (the request names
    # the run or the result, not the ruleset): those calls are granted on the account's.
    any_ruleset = [
        Stack.of(scope).format_arn(service="glue", resource="dataQualityRuleset", resource_name="*")
    ]

    def glue_call(
        state_id: str, action: str, parameters: dict[str, object], path: str
    ) -> tasks.CallAwsService:
        return tasks.CallAwsService(
            scope,
            state_id,
            service="glue",
            action=action,
            parameters=parameters,
            iam_action=f"glue:{action[0].upper()}{action[1:]}",
            iam_resources=ruleset_arns if action.startswith("start") else any_ruleset,
            result_path=path,
        )

    check = glue_call(
        "CheckTheDataset",
        "startDataQualityRulesetEvaluationRun",
        {
            "DataSource": {"GlueTable": {"DatabaseName": database_name, "TableName.$": "$.table"}},
            "Role": role.role_arn,
            "RulesetNames.$": "States.Array($.ruleset)",
            "AdditionalRunOptions": {"CloudWatchMetricsEnabled": True},
        },
        "$.run",
    )
    wait = sfn.Wait(scope, "WaitForTheRules", time=sfn.WaitTime.duration(Duration.minutes(1)))
    follow = glue_call(
        "FollowTheRules",
        "getDataQualityRulesetEvaluationRun",
        {"RunId.$": "$.run.RunId"},
        "$.status",
    )
    result = glue_call(
        "ReadTheResult",
        "getDataQualityResult",
        {"ResultId.$": "$.status.ResultIds[0]"},
        "$.result",
    )
    # A raw SDK-integration state: CallAwsService would grant PutMetricData in every
    # namespace; the role's own statement limits it to the ETL's.
    integrations = f"arn:{Stack.of(scope).partition}:states:::aws-sdk"
    record = sfn.CustomState(
        scope,
        "RecordTheScore",
        state_json={
            "Type": "Task",
            "Resource": f"{integrations}:cloudwatch:putMetricData",
            "Parameters": {
                "Namespace": namespace,
                "MetricData": [
                    {
                        "MetricName": metric,
                        "Dimensions": [{"Name": "Dataset", "Value.$": "$.dataset"}],
                        "Unit": "None" if metric == "DataQualityScore" else "Count",
                        "Value.$": path,
                    }
                    for metric, path in (
                        ("DataQualityScore", "$.result.Score"),
                        ("CuratedRows", "$.curated.rows"),
                    )
                ],
            },
            "ResultPath": None,
        },
    )
    passed = (
        sfn.Choice(scope, "EveryRulePassed")
        .when(
            sfn.Condition.number_less_than("$.result.Score", 1),
            sfn.Fail(
                scope,
                "RulesFailed",
                error="DataQualityRulesFailed",
                cause="A quality rule of the dataset did not pass (see its result)",
            ),
        )
        .otherwise(publish.next(sfn.Succeed(scope, "Published")))
    )
    finished = (
        sfn.Choice(scope, "RulesEvaluated")
        .when(
            sfn.Condition.string_equals("$.status.Status", "SUCCEEDED"),
            result.next(record).next(passed),
        )
        .when(
            sfn.Condition.or_(
                *(sfn.Condition.string_equals("$.status.Status", s) for s in QUALITY_RUN_FAILED)
            ),
            sfn.Fail(
                scope,
                "QualityRunFailed",
                error="DataQualityRunFailed",
                cause="The Glue Data Quality run did not finish",
            ),
        )
        .otherwise(wait)
    )
    per_dataset = sfn.Map(scope, "EachDataset", items_path="$.datasets", max_concurrency=2)
    per_dataset.item_processor(curate.next(check).next(wait).next(follow).next(finished))
    machine = logged_state_machine(
        scope,
        "StateMachine",
        name=name,
        definition=_one_run_at_a_time(scope, name, each.next(per_dataset)),
        timeout=Duration.hours(6),
        encryption_key=log_key,
        log_retention=log_retention,
        log_group_id="Logs",
        steps="Two function calls and three Glue Data Quality calls per dataset, a wait loop",
        role=role,
    )
    return machine


def _one_run_at_a_time(scope: Construct, name: str, then: sfn.IChainable) -> sfn.IChainable:
    """A run that finds another one under way fails (and alarms): the two would share the
    datasets' staging prefixes, and one could publish what the other's rules never saw."""
    # By name: the role's policy would otherwise name the state machine it is the role of.
    own = Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    runs = tasks.CallAwsService(
        scope,
        "FindOtherRuns",
        service="sfn",
        action="listExecutions",
        parameters={"StateMachineArn": own, "StatusFilter": "RUNNING", "MaxResults": 2},
        iam_action="states:ListExecutions",
        iam_resources=[own],
        result_selector={"count.$": "States.ArrayLength($.Executions)"},
        result_path="$.running",
    )
    alone = sfn.Choice(scope, "RunningAlone").when(
        sfn.Condition.number_greater_than("$.running.count", 1),
        sfn.Fail(
            scope,
            "AnotherRunIsUnderWay",
            error="AnotherRunIsUnderWay",
            cause="Another run of the ETL is under way; start this one when it has finished",
        ),
    )
    return runs.next(alone.otherwise(then))
