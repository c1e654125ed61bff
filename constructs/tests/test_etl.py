"""DataEtl: the environment's ETL, its table, its quality rules and what its role may do."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from conftest import new_stack
from genai_constructs.etl import DataEtl, DatasetSpec

CLAIMS = DatasetSpec(
    name="claims-2026",
    table_name="claims_2026",
    raw_format="csv",
    columns=(("claim_id", "string"), ("amount", "double")),
    quality_rules=("RowCount > 0", 'IsComplete "claim_id"'),
)


def built(
    then: Callable[[DataEtl], None] | None = None, **overrides: Any
) -> tuple[Template, DataEtl]:
    stack = new_stack()
    database = glue.CfnDatabase(
        stack,
        "Database",
        catalog_id="123456789012",
        database_input=glue.CfnDatabase.DatabaseInputProperty(name="claims_nonprod_curated"),
    )
    arguments: dict[str, Any] = {
        "name": "example-corp-etl",
        "prefix": "example-corp",
        "datasets": [CLAIMS],
        "database": database,
        "database_name": "claims_nonprod_curated",
        "raw": s3.Bucket.from_bucket_name(stack, "Raw", "raw-zone"),
        "curated": s3.Bucket.from_bucket_name(stack, "Curated", "curated-zone"),
        "role": iam.Role.from_role_name(stack, "Ingestion", "example-corp-ingestion"),
        "log_key": kms.Key(stack, "Key", enable_key_rotation=True),
        "vpc": ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        ),
        "log_retention": logs.RetentionDays.ONE_YEAR,
        "metric_namespace": "GenAIPlatform/claims-nonprod-genai",
        "alarm_topic": sns.Topic(stack, "Alarms"),
    }
    for name, value in overrides.items():
        arguments[name] = value(stack) if callable(value) else value
    etl = DataEtl(stack, "Etl", **arguments)
    if then is not None:
        then(etl)
    return Template.from_stack(stack), etl


@pytest.fixture(scope="module")
def template() -> Template:
    return built(schedule=events.Schedule.expression("cron(0 2 * * ? *)"))[0]


def role_statements(template: Template) -> dict[str, Any]:
    [policy] = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": ["example-corp-ingestion"]}}
    ).values()
    return {
        s.get("Sid", str(i)): s
        for i, s in enumerate(policy["Properties"]["PolicyDocument"]["Statement"])
    }


def test_the_tables_read_the_staged_and_the_published_json_lines(template: Template) -> None:
    tables = {
        table["Properties"]["TableInput"]["Name"]: table["Properties"]
        for table in template.find_resources("AWS::Glue::Table").values()
    }
    assert sorted(tables) == ["claims_2026", "claims_2026_staged"]
    for name, prefix in (
        ("claims_2026", "/datasets/claims-2026/"),
        ("claims_2026_staged", "/staging/datasets/claims-2026/"),
    ):
        table = tables[name]
        assert table["DatabaseName"] == "claims_nonprod_curated"
        descriptor = table["TableInput"]["StorageDescriptor"]
        assert descriptor["Columns"] == [
            {"Name": "claim_id", "Type": "string"},
            {"Name": "amount", "Type": "double"},
        ]
        assert descriptor["SerdeInfo"] == {
            "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"
        }
        assert descriptor["Location"] == f"s3://curated-zone{prefix}"


def test_the_ruleset_holds_the_configured_rules_on_the_table(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Glue::DataQualityRuleset",
        {
            "Name": "example-corp-claims-2026",
            "Ruleset": 'Rules = [\n    RowCount > 0,\n    IsComplete "claim_id"\n]',
            "TargetTable": {
                "DatabaseName": "claims_nonprod_curated",
                "TableName": "claims_2026_staged",
            },
        },
    )


def test_everything_runs_as_the_ingestion_role(template: Template) -> None:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    [function] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": "example-corp-etl-curate"}}
    ).values()
    for role in (machine["Properties"]["RoleArn"], function["Properties"]["Role"]):
        assert "role/example-corp-ingestion" in json.dumps(role)
    # The logs name the states only (CloudFormation's default): quality results describe the
    # LOB's data, and the platform team reads logs.
    assert "IncludeExecutionData" not in machine["Properties"]["LoggingConfiguration"]
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"RoleArn\\"' not in definition
    assert "role/example-corp-ingestion" in definition  # the quality run's role


def test_the_role_passes_itself_to_glue_only_and_writes_its_metrics_only(
    template: Template,
) -> None:
    statements = role_statements(template)
    assert statements["RunQualityRulesAsItself"]["Action"] == "iam:PassRole"
    assert statements["RunQualityRulesAsItself"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}
    }
    assert statements["PublishQualityMetrics"]["Condition"] == {
        "StringEquals": {
            "cloudwatch:namespace": ["GenAIPlatform/claims-nonprod-genai", "Glue Data Quality"]
        }
    }
    glue_calls = {
        action
        for statement in statements.values()
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("glue:")
    }
    assert glue_calls == {
        "glue:StartDataQualityRulesetEvaluationRun",
        "glue:GetDataQualityRulesetEvaluationRun",
        "glue:GetDataQualityResult",
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetPartitions",
        "glue:GetDataQualityRuleset",
        "glue:PublishDataQuality",
    }


def test_the_rules_run_on_the_staged_table_and_only_a_pass_publishes(template: Template) -> None:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(part if isinstance(part, str) else "ARN" for part in parts))
    assert definition["StartAt"] == "FindOtherRuns"
    assert definition["States"]["RunningAlone"]["Choices"] == [
        {"Variable": "$.running.count", "NumericGreaterThan": 1, "Next": "AnotherRunIsUnderWay"}
    ]
    assert definition["States"]["RunningAlone"]["Default"] == "Datasets"
    items = definition["States"]["Datasets"]["Parameters"]["datasets"]
    assert items == [
        {
            "dataset": "claims-2026",
            "table": "claims_2026_staged",
            "ruleset": "example-corp-claims-2026",
        }
    ]
    states = definition["States"]["EachDataset"]["ItemProcessor"]["States"]
    assert states["StageTheDataset"]["Parameters"]["Payload"] == {
        "dataset.$": "$.dataset",
        "step": "stage",
    }
    passed = states["EveryRulePassed"]
    assert passed["Choices"] == [
        {"Variable": "$.result.Score", "NumericLessThan": 1, "Next": "RulesFailed"}
    ]
    assert passed["Default"] == "PublishTheDataset"
    assert states["PublishTheDataset"]["Parameters"]["Payload"]["step"] == "publish"
    recorded = states["RecordTheScore"]["Parameters"]
    assert recorded["Namespace"] == "GenAIPlatform/claims-nonprod-genai"
    assert [(m["MetricName"], m["Value.$"]) for m in recorded["MetricData"]] == [
        ("DataQualityScore", "$.result.Score"),
        ("CuratedRows", "$.curated.rows"),
    ]


def test_staged_data_is_read_by_the_role_alone() -> None:
    template, _ = built(curated=lambda stack: s3.Bucket(stack, "CuratedZone"))
    [policy] = template.find_resources("AWS::S3::BucketPolicy").values()
    [deny] = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "DenyStagedDataReads"
    ]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert json.dumps(deny["Resource"]).endswith('/staging/*"]]}')
    assert "role/example-corp-ingestion" in json.dumps(deny["Condition"]["ArnNotEquals"])


def test_a_failed_or_timed_out_run_raises_an_alarm(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert sorted(a["Properties"]["MetricName"] for a in alarms.values()) == [
        "ExecutionsAborted",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"]


def test_the_schedule_starts_the_etl_with_no_input(template: Template) -> None:
    [rule] = template.find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert rule["Properties"]["Targets"][0]["Input"] == "{}"


def test_an_etl_has_a_dataset() -> None:
    with pytest.raises(ValueError, match="there is no dataset to curate"):
        built(datasets=[])


def test_grants_start_the_etl_and_read_its_results() -> None:
    def grant(etl: DataEtl) -> None:
        engineer = iam.Role(etl, "Engineer", assumed_by=iam.AccountRootPrincipal())
        etl.grant_start(engineer)
        etl.grant_read_results(engineer)

    template, _ = built(then=grant)
    [engineer] = [
        role
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if "Engineer" in logical_id
    ]
    [attached] = engineer["Properties"]["ManagedPolicyArns"]
    policy = template.to_json()["Resources"][attached["Ref"]]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0]["Action"] == "states:StartExecution"
    assert "glue:GetDataQualityResult" in statements[1]["Action"]
    assert "dataQualityRuleset/example-corp-claims-2026" in json.dumps(statements[1]["Resource"])
