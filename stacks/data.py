"""Stateful data layer of one LOB environment: governed data-lake zones and the Glue catalog."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Fn, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blueprint.model.config import EnvironmentName, KnowledgeBaseConfig, VectorStoreKind
from blueprint.model.plan import PIPELINE_TAG, Persona, Placement, Plan
from genai_constructs import DataLakeZones, acknowledge
from genai_constructs.compliance import nag_reference
from genai_constructs.knowledge_base import OpenSearchVectorStore, S3VectorStore
from stacks.security import SecurityStack

ZONES = ("raw", "curated", "training", "artifacts")
DATA_SCIENTIST_ZONES = ("curated", "training")


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
        plan: Plan,
        placement: Placement,
        security: SecurityStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if placement.lob is None:
            raise ValueError(f"DataStack: {placement.key} is not an LOB environment")
        interactive = not placement.operational
        data_scientist = plan.role_arn(placement, Persona.DATA_SCIENTIST)
        auditor = plan.role_arn(plan.governance, Persona.AUDITOR)
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
            noncurrent_version_days=placement.protection.noncurrent_version_days,
            object_lock_days=(
                {"raw": placement.protection.raw_object_lock_days}
                if placement.protection.raw_object_lock_days
                else None
            ),
            metadata_reader_arns=[auditor] if placement.lob.auditor_metadata_read else [],
            writer_tag=None if interactive else PIPELINE_TAG,
            denied_readers=(
                {zone: [data_scientist] for zone in ZONES if zone not in DATA_SCIENTIST_ZONES}
                if interactive
                else None
            ),
        )
        self.database = glue.CfnDatabase(
            self,
            "CuratedDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=f"{placement.lob.name}_{placement.environment}_curated".replace("-", "_"),
                description=f"Curated zone of {placement.key}",
                location_uri=self.lake.zones["curated"].s3_url_for_object(),
            ),
        )
        self.database.apply_removal_policy(security.removal_policy)
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
        if interactive:
            self._grant_data_scientist_reads(data_scientist)
        # Exported by name: stacks that use a zone import it explicitly, so that its ARN reads
        # the same at construction and in the template (nag acknowledgments cite it).
        for zone in ZONES:
            CfnOutput(
                self,
                f"{zone.capitalize()}BucketArn",
                value=self.lake.zones[zone].bucket_arn,
                export_name=self.zone_export(zone),
            )
        self.vector_stores = {
            kb.name: self._vector_store(plan, placement, kb, security)
            for kb in plan.knowledge_bases(placement)
        }

    def zone_export(self, zone: str) -> str:
        return f"{self.stack_name}-{zone}-bucket-arn"

    def import_zone(self, scope: Construct, zone: str) -> s3.IBucket:
        """The zone bucket, imported into ``scope`` by its export (see ``zone_export``)."""
        return s3.Bucket.from_bucket_arn(
            scope, f"{zone.capitalize()}Zone", Fn.import_value(self.zone_export(zone))
        )

    def _vector_store(
        self,
        plan: Plan,
        placement: Placement,
        kb: KnowledgeBaseConfig,
        security: SecurityStack,
    ) -> S3VectorStore | OpenSearchVectorStore:
        """The LOB-owned vector store of one knowledge base, retained like the data."""
        dimensions = plan.config.model(kb.embedding_model).dimensions
        construct_id = f"Vectors{_pascal(kb.name)}"
        if kb.vector_store is VectorStoreKind.S3_VECTORS:
            return S3VectorStore(
                self,
                construct_id,
                encryption_key=security.data_key,
                dimensions=dimensions,
                removal_policy=security.removal_policy,
            )
        qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
        deploy_role = (
            f"arn:{self.partition}:iam::{self.account}:role/"
            f"cdk-{qualifier}-cfn-exec-role-{self.account}-{self.region}"
        )
        return OpenSearchVectorStore(
            self,
            construct_id,
            collection_name=collection_name(placement, kb),
            encryption_key=security.data_key,
            index_admin_arns=[deploy_role],
            dimensions=dimensions,
            standby_replicas=placement.environment is EnvironmentName.PROD,
            removal_policy=security.removal_policy,
        )

    def _grant_data_scientist_reads(self, role_arn: str) -> None:
        role = iam.Role.from_role_arn(self, "DataScientist", role_arn)
        for zone in DATA_SCIENTIST_ZONES:
            self.lake.zones[zone].grant_read(role)
        policy = next(c for c in role.node.find_all() if isinstance(c, iam.CfnPolicy))
        reason = (
            "Read of the curated and training zones of this LOB environment only, generated by "
            "CDK grants on those two buckets and their key"
        )
        acknowledge(
            policy,
            [
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "HIPAA.Security-IAMNoInlinePolicy",
                "PCI.DSS.321-IAMNoInlinePolicy",
            ],
            f"{reason}; it is attached to the data-scientist persona role alone.",
        )
        for finding in ("Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"):
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", f"{reason}.")
        for zone in DATA_SCIENTIST_ZONES:
            objects = nag_reference(self, self.lake.zones[zone].arn_for_objects("*"))
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Resource::{objects}]",
                f"{reason}: objects of the {zone} zone.",
            )


def collection_name(placement: Placement, kb: KnowledgeBaseConfig) -> str:
    """OpenSearch collection names are physical (3-32 characters), unique in the account."""
    return f"{placement.key}-{kb.name}"[:32].rstrip("-")


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))
