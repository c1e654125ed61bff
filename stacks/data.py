"""Stateful data layer of one LOB environment: governed data-lake zones and the Glue catalog."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model import names
from blueprint.model.config import VectorStoreKind
from blueprint.model.layers import DataInputs, VectorStoreInputs
from genai_constructs import DataLakeZones, PrivateNetwork, acknowledge
from genai_constructs.compliance import acknowledge_wildcards, in_every_framework, nag_reference
from genai_constructs.knowledge_base import OpenSearchVectorStore, S3VectorStore
from genai_constructs.naming import EXPERIMENTS_PREFIX, MLFLOW_ARTIFACTS_PREFIX, pascal
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
            denied_readers=(
                {zone: [data_scientist] for zone in ZONES if zone not in DATA_SCIENTIST_ZONES}
                if data_scientist
                else None
            ),
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
            mark(bucket, f"zone/{zone}")
        if data_scientist:
            self._grant_data_scientist_access(data_scientist)
        self._grant_ingestion_writes(inputs.ingestion_role)
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
                mark(vector_store.collection, f"vector-collection/{name}")
            else:
                mark(vector_store.bucket, f"vector-bucket/{name}")
                mark(vector_store.index, f"vector-index/{name}")

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

    def _grant_ingestion_writes(self, role_name: str) -> None:
        """The ingestion role reads and writes the raw, curated and training zones (in
        operational environments its pipeline tag makes it their only writer)."""
        role = iam.Role.from_role_name(self, "Ingestion", role_name)
        for zone in INGESTION_ZONES:
            self.lake.zones[zone].grant_read_write(role)
        policy = next(c for c in role.node.find_all() if isinstance(c, iam.CfnPolicy))
        reason = (
            "Read and write of the raw, curated and training zones of this LOB environment, "
            "generated by CDK grants on those buckets and their key"
        )
        acknowledge(
            policy,
            in_every_framework("IAMNoInlinePolicy"),
            f"{reason}; it is attached to the ingestion role alone.",
        )
        acknowledge_wildcards(policy, f"{reason}: object keys are the data, KMS data-key variants.")

    def _grant_data_scientist_access(self, role_arn: str) -> None:
        role = iam.Role.from_role_arn(self, "DataScientist", role_arn)
        for zone in DATA_SCIENTIST_ZONES:
            self.lake.zones[zone].grant_read(role)
        # Read and add, never delete: a colleague's runs and artifacts (kept as versions when
        # overwritten) stay.
        for prefix in DATA_SCIENTIST_WORKSPACES:
            self.lake.zones["artifacts"].grant_read(role, f"{prefix}*")
            self.lake.zones["artifacts"].grant_put(role, f"{prefix}*")
        policy = next(c for c in role.node.find_all() if isinstance(c, iam.CfnPolicy))
        reason = (
            "Read of the curated and training zones of this LOB environment, read and put of "
            "the experiments and MLflow prefixes of its artifacts zone, generated by CDK grants "
            "on those buckets and their key"
        )
        acknowledge(
            policy,
            in_every_framework("IAMNoInlinePolicy"),
            f"{reason}; it is attached to the data-scientist persona role alone.",
        )
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
