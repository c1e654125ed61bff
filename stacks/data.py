"""Stateful data layer of one LOB environment: governed data-lake zones and the Glue catalog."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model import names
from blueprint.model.assets import AssetKind
from blueprint.model.inputs.data import DataInputs, VectorStoreInputs
from blueprint.model.sections.genai import VectorStoreKind
from genai_constructs import DataLakeZones, PrivateNetwork, acknowledge
from genai_constructs.compliance import acknowledge_wildcards, in_every_framework, nag_reference
from genai_constructs.etl import DataEtl, DatasetSpec
from genai_constructs.knowledge_base import OpenSearchVectorStore, S3VectorStore
from genai_constructs.naming import (
    DATASETS_PREFIX,
    EXPERIMENTS_PREFIX,
    MLFLOW_ARTIFACTS_PREFIX,
    etl_name,
    pascal,
)
from stacks.alerts import alarm_topic
from stacks.assets import mark
from stacks.foundation import use_account_boundary
from stacks.security import SecurityStack

ZONES = ("raw", "curated", "training", "artifacts")
DATA_SCIENTIST_ZONES = ("curated", "training")
# What they read and write of the artifacts zone: their experiments and MLflow's artifacts
# (which the MLflow client uploads with the data scientist's own role).
DATA_SCIENTIST_WORKSPACES = (EXPERIMENTS_PREFIX, MLFLOW_ARTIFACTS_PREFIX)
# ETL lands source data in raw and writes curated (knowledge-base documents included) and
# training data from it.
INGESTION_ZONES = ("raw", "curated", "training")
# The data engineer reads what lands and what the ETL makes of it.
DATA_ENGINEER_ZONES = ("raw", "curated")


class DataStack(Stack):
    """The LOB's own data: four zones on its key, its Glue database, no outside access.

    In operational environments only principals tagged as pipelines may write objects; in
    interactive environments data scientists read the curated and training zones only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        inputs: DataInputs,
        security: SecurityStack,
        network: PrivateNetwork,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data_scientist = inputs.data_scientist_arn
        access_logs = s3.Bucket.from_bucket_attributes(
            self, "AccessLogs", bucket_name=security.access_log_bucket.bucket_name
        )

        self.lake = DataLakeZones(
            self,
            "Zones",
            encryption_key=security.data_key,
            access_log_bucket=access_logs,
            zones=ZONES,
            removal_policy=security.removal_policy,
            noncurrent_version_days=inputs.noncurrent_version_days,
            object_lock_days=(
                {"raw": inputs.raw_object_lock_days} if inputs.raw_object_lock_days else None
            ),
            metadata_reader_arns=inputs.metadata_reader_arns,
            writer_tag=names.PIPELINE_TAG if inputs.pipeline_writes_only else None,
            shared_prefixes=(
                {
                    zone: shares
                    for zone, shares in (
                        ("artifacts", inputs.shared_artifacts),
                        ("curated", inputs.shared_curated),
                    )
                    if shares
                }
                or None
            ),
            event_zones=inputs.event_zones,
            tenant_tag=("lob", inputs.lob) if inputs.tenancy else None,
            denied_readers=self._denied_readers(inputs) or None,
            denied_reader_workspaces=(
                {"artifacts": DATA_SCIENTIST_WORKSPACES} if data_scientist else None
            ),
        )
        self.database = glue.CfnDatabase(
            self,
            "CuratedDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=inputs.glue_database_name,
                description=f"Curated zone of {inputs.lob}-{inputs.environment.value}",
                location_uri=self.lake.zones["curated"].s3_url_for_object(),
            ),
        )
        self.database.apply_removal_policy(security.removal_policy)
        # Catalog encryption is set once per account and region: in a central account, by
        # the central placement, not by each tenancy.
        if not inputs.tenancy:
            self._encrypt_catalog(security)
        for zone, bucket in self.lake.zones.items():
            mark(bucket, AssetKind.ZONE, zone)
        if data_scientist:
            self._grant_data_scientist_access(data_scientist)
        ingestion = iam.Role.from_role_name(self, "Ingestion", inputs.ingestion_role)
        self.etl = self._etl(inputs, ingestion, security, network) if inputs.datasets else None
        self._grant_ingestion_writes(ingestion)
        if self.etl is not None and inputs.data_engineer_arn:
            self._grant_data_engineer_access(inputs.data_engineer_arn, inputs.pipeline_writes_only)
        # Exported by name: stacks that use a zone import it explicitly, so that its ARN reads
        # the same at construction and in the template (nag acknowledgments cite it).
        for zone in ZONES:
            CfnOutput(
                self,
                f"{zone.capitalize()}BucketArn",
                value=self.lake.zones[zone].bucket_arn,
                export_name=self.zone_export(zone),
            )
        # The vector stores' index functions run under the account's boundary.
        use_account_boundary(self, inputs.prefix)
        self.vector_stores = {
            store.knowledge_base: self._vector_store(store, security, network)
            for store in inputs.vector_stores
        }
        for name, vector_store in self.vector_stores.items():
            if isinstance(vector_store, OpenSearchVectorStore):
                mark(vector_store.collection, AssetKind.VECTOR_COLLECTION, name)
            else:
                mark(vector_store.bucket, AssetKind.VECTOR_BUCKET, name)
                mark(vector_store.index, AssetKind.VECTOR_INDEX, name)

    @staticmethod
    def _denied_readers(inputs: DataInputs) -> dict[str, list[str]]:
        """Each zone's objects, denied to the personas that do not read them."""
        readers = [
            (inputs.data_scientist_arn, DATA_SCIENTIST_ZONES),
            (inputs.data_engineer_arn, DATA_ENGINEER_ZONES),
        ]
        denied: dict[str, list[str]] = {}
        for arn, zones in readers:
            if arn is None:
                continue
            for zone in ZONES:
                if zone not in zones:
                    denied.setdefault(zone, []).append(arn)
        return denied

    def _etl(
        self,
        inputs: DataInputs,
        ingestion: iam.IRole,
        security: SecurityStack,
        network: PrivateNetwork,
    ) -> DataEtl:
        """The environment's ETL, run as the ingestion role; its alarms to the LOB."""
        alarms = alarm_topic(
            self, "DataAlarms", security.logs_key, inputs.alert_emails, "Data alarms"
        )
        etl = DataEtl(
            self,
            "Etl",
            name=etl_name(inputs.prefix),
            prefix=inputs.prefix,
            datasets=[
                DatasetSpec(
                    name=dataset.name,
                    table_name=dataset.table_name,
                    raw_format=dataset.format.value,
                    columns=tuple((c.name, c.type.value) for c in dataset.columns),
                    quality_rules=tuple(dataset.quality_rules),
                )
                for dataset in inputs.datasets
            ],
            database=self.database,
            database_name=inputs.glue_database_name,
            raw=self.lake.zones["raw"],
            curated=self.lake.zones["curated"],
            role=ingestion,
            log_key=security.logs_key,
            vpc=network.vpc,
            log_retention=security.retention,
            metric_namespace=inputs.metric_namespace,
            alarm_topic=alarms,
            schedule=events.Schedule.expression(inputs.etl_schedule)
            if inputs.etl_schedule
            else None,
        )
        mark(etl.state_machine, AssetKind.ETL, "etl")
        mark(etl.curate.function, AssetKind.ETL_FUNCTION, "curate")
        for name, ruleset in etl.rulesets.items():
            mark(ruleset, AssetKind.QUALITY_RULESET, name)
        for name, table in etl.tables.items():
            mark(table, AssetKind.CURATED_TABLE, name)
        for name, table in etl.staged_tables.items():
            mark(table, AssetKind.STAGED_TABLE, name)
        return etl

    @staticmethod
    def _zone_grants(role: iam.IRole, reason: str, attached_to: str) -> iam.CfnPolicy:
        """The policy the zones' grants to an imported ``role`` went into, acknowledged as an
        inline policy of that role alone."""
        policy = next(c for c in role.node.find_all() if isinstance(c, iam.CfnPolicy))
        acknowledge(
            policy,
            in_every_framework("IAMNoInlinePolicy"),
            f"{reason}; it is attached to {attached_to} alone.",
        )
        return policy

    def _grant_data_engineer_access(self, role_arn: str, pipeline_writes_only: bool) -> None:
        """Read the datasets of the raw and curated zones (not their other prefixes, such as
        the knowledge bases' documents); land objects under ``datasets/`` of the raw zone where
        people may write (interactive environments)."""
        role = iam.Role.from_role_arn(self, "DataEngineer", role_arn)
        for zone in DATA_ENGINEER_ZONES:
            self.lake.zones[zone].grant_read(role, f"{DATASETS_PREFIX}*")
        if not pipeline_writes_only:
            self.lake.zones["raw"].grant_put(role, f"{DATASETS_PREFIX}*")
        reason = (
            "Read under datasets/ of the raw and curated zones of this LOB environment and put "
            "under datasets/ of its raw zone, generated by CDK grants on those buckets and "
            "their key"
        )
        policy = self._zone_grants(role, reason, "the data-engineer persona role")
        acknowledge_wildcards(policy, f"{reason}: object keys are the data, KMS data-key variants.")

    def zone_export(self, zone: str) -> str:
        return f"{self.stack_name}-{zone}-bucket-arn"

    def _encrypt_catalog(self, security: SecurityStack) -> None:
        glue.CfnDataCatalogEncryptionSettings(
            self,
            "CatalogEncryption",
            catalog_id=self.account,
            data_catalog_encryption_settings=glue.CfnDataCatalogEncryptionSettings.DataCatalogEncryptionSettingsProperty(
                encryption_at_rest=glue.CfnDataCatalogEncryptionSettings.EncryptionAtRestProperty(
                    catalog_encryption_mode="SSE-KMS",
                    sse_aws_kms_key_id=security.data_key.key_arn,
                ),
                connection_password_encryption=glue.CfnDataCatalogEncryptionSettings.ConnectionPasswordEncryptionProperty(
                    return_connection_password_encrypted=True,
                    kms_key_id=security.data_key.key_arn,
                ),
            ),
        )

    def import_zone(self, scope: Construct, zone: str) -> s3.IBucket:
        """The zone bucket, imported into ``scope`` by its export (see ``zone_export``)."""
        return s3.Bucket.from_bucket_arn(
            scope, f"{zone.capitalize()}Zone", Fn.import_value(self.zone_export(zone))
        )

    def _vector_store(
        self, store: VectorStoreInputs, security: SecurityStack, network: PrivateNetwork
    ) -> S3VectorStore | OpenSearchVectorStore:
        """The LOB-owned vector store of one knowledge base, retained like the data."""
        construct_id = f"Vectors{pascal(store.knowledge_base)}"
        if store.kind is VectorStoreKind.S3_VECTORS:
            return S3VectorStore(
                self,
                construct_id,
                encryption_key=security.data_key,
                dimensions=store.dimensions,
                removal_policy=security.removal_policy,
            )
        return OpenSearchVectorStore(
            self,
            construct_id,
            collection_name=store.collection_name,
            encryption_key=security.data_key,
            vpc=network.vpc,
            log_retention=security.retention,
            dimensions=store.dimensions,
            standby_replicas=store.standby_replicas,
            removal_policy=security.removal_policy,
        )

    def _grant_ingestion_writes(self, role: iam.IRole) -> None:
        """The ingestion role reads and writes the raw, curated and training zones (in
        operational environments its pipeline tag makes it their only writer); its policy
        also holds what the ETL runs as it (``DataEtl``)."""
        for zone in INGESTION_ZONES:
            self.lake.zones[zone].grant_read_write(role)
        reason = (
            "Read and write of the raw, curated and training zones of this LOB environment, "
            "generated by CDK grants on those buckets and their key, and the ETL's runs as "
            "this role: its Glue Data Quality runs (the account's catalog, Glue's log groups, "
            "two metric namespaces) and its function's network interfaces, which EC2 does not "
            "scope by resource"
        )
        policy = self._zone_grants(role, reason, "the ingestion role")
        acknowledge_wildcards(policy, f"{reason}: object keys are the data, KMS data-key variants.")
        if self.etl is not None:
            acknowledge(
                policy,
                "CKV_AWS_111",
                f"{reason}. Every other write is scoped to this environment's buckets, rulesets "
                "and log groups.",
            )

    def _grant_data_scientist_access(self, role_arn: str) -> None:
        role = iam.Role.from_role_arn(self, "DataScientist", role_arn)
        for zone in DATA_SCIENTIST_ZONES:
            self.lake.zones[zone].grant_read(role)
        # Read and add, never delete: a colleague's runs and artifacts (kept as versions when
        # overwritten) stay.
        for prefix in DATA_SCIENTIST_WORKSPACES:
            self.lake.zones["artifacts"].grant_read(role, f"{prefix}*")
            self.lake.zones["artifacts"].grant_put(role, f"{prefix}*")
        reason = (
            "Read of the curated and training zones of this LOB environment, read and put of "
            "the experiments and MLflow prefixes of its artifacts zone, generated by CDK grants "
            "on those buckets and their key"
        )
        policy = self._zone_grants(role, reason, "the data-scientist persona role")
        for finding in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:Abort*",
            "Action::kms:ReEncrypt*",
            "Action::kms:GenerateDataKey*",
        ):
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", f"{reason}.")
        for zone in DATA_SCIENTIST_ZONES:
            objects = nag_reference(self, self.lake.zones[zone].arn_for_objects("*"))
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{objects}]",
                f"{reason}: objects of the {zone} zone.",
            )
        for prefix in DATA_SCIENTIST_WORKSPACES:
            objects = nag_reference(
                self, self.lake.zones["artifacts"].arn_for_objects(f"{prefix}*")
            )
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{objects}]",
                f"{reason}: objects under {prefix} of the artifacts zone.",
            )
