"""The construct (``DataEtl``): the curation function, the datasets' tables and rulesets, the
role's grants, the staging prefix kept to the role, the schedule and the alarms."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_constructs.alarms import announced_alarm
from genai_constructs.etl.datasets import DatasetSpec, staged_table
from genai_constructs.etl.workflow import curation_state_machine
from genai_constructs.function import PlatformFunction
from genai_constructs.grants import grant
from genai_constructs.naming import (
    STAGING_PREFIX,
    dataset_prefix,
    quality_ruleset_name,
    staged_prefix,
)
from genai_constructs.state_machines import start_on_schedule

# What Glue Data Quality reads and writes as the role it runs as: the table's definition,
# its ruleset, its results, its metrics and its logs.
QUALITY_CATALOG_READS = ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions")
QUALITY_RULESET_USE = ("glue:GetDataQualityRuleset", "glue:PublishDataQuality")
QUALITY_METRIC_NAMESPACE = "Glue Data Quality"
# The network interfaces a function in a VPC needs (the role is imported: the Lambda managed
# policies that grant them are not attached to it).
FUNCTION_NETWORK = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class DataEtl(Construct):
    """Curate ``datasets`` from ``raw`` into ``curated`` as ``role``, check and catalog them.

    :param name: the state machine's name; ``prefix`` starts its rulesets' names.
    :param database: the Glue database of the curated zone (its tables are made here).
    :param role: the role everything runs as (an imported role: its policy is added here).
    :param log_key: encrypts the logs, the function's environment and its dead letters (a key
        CloudWatch Logs may use).
    :param metric_namespace: where each dataset's quality score and rows go.
    :param alarm_topic: told when a run fails (an error, or a rule that did not pass).
    :param schedule: default none (on request only); also run on this schedule.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        prefix: str,
        datasets: Sequence[DatasetSpec],
        database: glue.CfnDatabase,
        database_name: str,
        raw: s3.IBucket,
        curated: s3.IBucket,
        role: iam.IRole,
        log_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
        metric_namespace: str,
        alarm_topic: sns.ITopic,
        schedule: events.Schedule | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not datasets:
            raise ValueError("DataEtl: there is no dataset to curate")
        stack = Stack.of(self)
        self.role = role
        self.database_name = database_name
        self.table_names = [t for d in datasets for t in (d.table_name, staged_table(d))]
        self.tables = {d.name: self._table(d, database, curated, staged=False) for d in datasets}
        self.staged_tables = {
            d.name: self._table(d, database, curated, staged=True) for d in datasets
        }
        self.rulesets = {d.name: self._ruleset(d, prefix) for d in datasets}
        self.ruleset_arns = [
            stack.format_arn(
                service="glue",
                resource="dataQualityRuleset",
                resource_name=quality_ruleset_name(prefix, d.name),
            )
            for d in datasets
        ]
        self.curate = PlatformFunction(
            self,
            "Curate",
            description="Curates the datasets of the raw zone into the curated zone",
            handler="curate.index.handler",
            encryption_key=log_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.minutes(15),
            memory_size=1024,
            role=role,
            function_name=f"{name}-curate",
            environment={
                "RAW_BUCKET": raw.bucket_name,
                "CURATED_BUCKET": curated.bucket_name,
                "DATASETS": json.dumps(
                    {
                        d.name: {"format": d.raw_format, "columns": [list(c) for c in d.columns]}
                        for d in datasets
                    },
                    separators=(",", ":"),
                ),
            },
        )
        self.state_machine = curation_state_machine(
            self,
            name,
            prefix,
            datasets,
            log_key,
            log_retention,
            metric_namespace,
            role=self.role,
            database_name=self.database_name,
            ruleset_arns=self.ruleset_arns,
        )
        self._grant_runs(metric_namespace, log_key)
        self._keep_staging_to_the_role(curated)
        self.alarms = self._alarms(alarm_topic)
        if schedule is not None:
            self._schedule(name, schedule)

    def _schedule(self, name: str, schedule: events.Schedule) -> None:
        start_on_schedule(
            self,
            self.state_machine,
            schedule,
            role_description=f"Starts the ETL {name} on its schedule",
            rule_description=f"Runs the ETL {name}",
            starts="this ETL's state machine",
        )

    def _table(
        self, dataset: DatasetSpec, database: glue.CfnDatabase, curated: s3.IBucket, *, staged: bool
    ) -> glue.CfnTable:
        """The dataset's table: as published, or as staged for its quality rules."""
        name, prefix = (
            (staged_table(dataset), staged_prefix(dataset.name))
            if staged
            else (dataset.table_name, dataset_prefix(dataset.name))
        )
        table = glue.CfnTable(
            self,
            f"Table{name}",
            catalog_id=Stack.of(self).account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                description=f"The curated {dataset.name} dataset, "
                + ("staged for its quality rules" if staged else "as the ETL published it"),
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "json"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[
                        glue.CfnTable.ColumnProperty(name=column, type=kind)
                        for column, kind in dataset.columns
                    ],
                    location=curated.s3_url_for_object(prefix),
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"
                    ),
                ),
            ),
        )
        table.add_dependency(database)
        return table

    def _ruleset(self, dataset: DatasetSpec, prefix: str) -> glue.CfnDataQualityRuleset:
        ruleset = glue.CfnDataQualityRuleset(
            self,
            f"Rules{dataset.table_name}",
            name=quality_ruleset_name(prefix, dataset.name),
            description=f"The quality rules of the curated {dataset.name} dataset",
            ruleset=dataset.ruleset,
            target_table=glue.CfnDataQualityRuleset.DataQualityTargetTableProperty(
                database_name=self.database_name, table_name=staged_table(dataset)
            ),
        )
        ruleset.add_dependency(self.staged_tables[dataset.name])
        return ruleset

    def _grant_runs(self, namespace: str, log_key: kms.IKey) -> None:
        """What the role does besides the calls of the state machine's tasks: pass itself to
        Glue Data Quality, which runs as it; run the function in the VPC (its environment
        decrypted through Lambda); publish metrics."""
        stack = Stack.of(self)
        database = stack.format_arn(
            service="glue", resource="database", resource_name=self.database_name
        )
        statements = [
            iam.PolicyStatement(
                sid="RunQualityRulesAsItself",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="ReadCuratedTables",
                actions=list(QUALITY_CATALOG_READS),
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    database,
                    *(
                        stack.format_arn(
                            service="glue",
                            resource="table",
                            resource_name=f"{self.database_name}/{table_name}",
                        )
                        for table_name in self.table_names
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="UseQualityRulesets",
                actions=list(QUALITY_RULESET_USE),
                resources=self.ruleset_arns,
            ),
            iam.PolicyStatement(
                sid="PublishQualityMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringEquals": {"cloudwatch:namespace": [namespace, QUALITY_METRIC_NAMESPACE]}
                },
            ),
            iam.PolicyStatement(
                sid="WriteQualityRunLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws-glue/*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="CurateInTheVpc",
                actions=list(FUNCTION_NETWORK),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DecryptTheCurationEnvironment",
                actions=["kms:Decrypt"],
                resources=[log_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}
                },
            ),
            iam.PolicyStatement(
                sid="WriteCurationLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.curate.function.log_group.log_group_arn],
            ),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)

    def _keep_staging_to_the_role(self, curated: s3.IBucket) -> None:
        """Staged data is not yet checked: nobody but the role reads it (where the bucket's
        policy is this app's)."""
        curated.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyStagedDataReads",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[curated.arn_for_objects(f"{STAGING_PREFIX}*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": self.role.role_arn}},
            )
        )

    def _alarms(self, topic: sns.ITopic) -> tuple[cloudwatch.Alarm, ...]:
        period = Duration.minutes(5)
        return tuple(
            announced_alarm(
                self,
                alarm_id,
                description=description,
                metric=metric,
                topic=topic,
                announce_recovery=True,
            )
            for alarm_id, description, metric in (
                (
                    "FailedAlarm",
                    "An ETL run failed: an error, or a dataset's quality rule did not pass",
                    self.state_machine.metric_failed(period=period),
                ),
                (
                    "TimedOutAlarm",
                    "An ETL run timed out",
                    self.state_machine.metric_timed_out(period=period),
                ),
                (
                    "AbortedAlarm",
                    "An ETL run was stopped before it finished",
                    self.state_machine.metric_aborted(period=period),
                ),
            )
        )

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start the ETL and follow its runs."""
        return grant(
            grantee=grantee,
            actions=["states:StartExecution"],
            resource_arns=[self.state_machine.state_machine_arn],
        )

    def grant_read_results(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the datasets' rulesets and quality results."""
        return grant(
            grantee=grantee,
            actions=[
                "glue:GetDataQualityRuleset",
                "glue:GetDataQualityResult",
                "glue:ListDataQualityResults",
                "glue:GetDataQualityRulesetEvaluationRun",
                "glue:ListDataQualityRulesetEvaluationRuns",
            ],
            resource_arns=self.ruleset_arns,
        )
