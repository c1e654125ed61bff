"""The knowledge base: the interface the other constructs take (``IKnowledgeBase``), the
importer of one made elsewhere, and ``GovernedKnowledgeBase``.

Vector stores (``vector_stores``) are stateful and live in the LOB's data
stack; the knowledge base, its data source and its service role are stateless and live with
the GenAI resources.
"""

from __future__ import annotations

import re
from typing import Protocol

from aws_cdk import Arn, ArnFormat, Stack, Token
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genai_constructs.bedrock.versions import fingerprint
from genai_constructs.compliance import (
    acknowledge,
    grants_policy,
    in_every_framework,
    nag_reference,
)
from genai_constructs.grants import grant
from genai_constructs.knowledge_base.chunking import Chunking, chunking_configuration
from genai_constructs.knowledge_base.vector_stores import VectorStore
from genai_constructs.naming import collection_part_name
from genai_constructs.validation import BEDROCK_MODEL, check_arn

_KNOWLEDGE_BASE_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:knowledge-base/[0-9a-zA-Z]{10}$"
)


class IKnowledgeBase(Protocol):
    """A Bedrock knowledge base, of this app (``GovernedKnowledgeBase``) or imported
    (``GovernedKnowledgeBase.from_knowledge_base_arn``)."""

    @property
    def knowledge_base_arn(self) -> str: ...

    @property
    def knowledge_base_id(self) -> str: ...

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def grant_start_ingestion(self, grantee: iam.IGrantable) -> iam.Grant: ...


def _grant_start_ingestion(grantee: iam.IGrantable, knowledge_base_arn: str) -> iam.Grant:
    return grant(
        grantee=grantee,
        actions=["bedrock:StartIngestionJob", "bedrock:GetIngestionJob"],
        resource_arns=[knowledge_base_arn],
    )


def _grant_retrieve(grantee: iam.IGrantable, knowledge_base_arn: str) -> iam.Grant:
    """``Retrieve`` on one knowledge base. Not ``RetrieveAndGenerate``: IAM has no resource
    type for it, so it cannot be limited to a knowledge base; generate with Converse and the
    guardrail instead."""
    return grant(grantee=grantee, actions=["bedrock:Retrieve"], resource_arns=[knowledge_base_arn])


class _ImportedKnowledgeBase(Construct):
    def __init__(self, scope: Construct, construct_id: str, knowledge_base_arn: str) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(knowledge_base_arn) and not _KNOWLEDGE_BASE_ARN.match(
            knowledge_base_arn
        ):
            raise ValueError(
                "GovernedKnowledgeBase.from_knowledge_base_arn: "
                f"'{knowledge_base_arn}' is not a knowledge base ARN "
                "(arn:aws:bedrock:REGION:ACCOUNT:knowledge-base/ID, ID 10 letters and digits)"
            )
        self.knowledge_base_arn = knowledge_base_arn
        self.knowledge_base_id = str(
            Arn.split(knowledge_base_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        )

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_retrieve(grantee, self.knowledge_base_arn)

    def grant_start_ingestion(self, grantee: iam.IGrantable) -> iam.Grant:
        return _grant_start_ingestion(grantee, self.knowledge_base_arn)


class GovernedKnowledgeBase(Construct):
    """A Bedrock knowledge base on one prefix of an LOB bucket and one vector store.

    Its service role may read only that prefix (and decrypt with the data key), use only that
    vector store and invoke only the embedding model. It trusts Bedrock of this account only.

    :param name: knowledge base name (Bedrock requires one).
    :param source_bucket: the LOB's curated zone.
    :param source_prefix: the prefix ingested, e.g. ``policies/``.
    :param data_key: the key of the source bucket (and of the data source's transient data).
    :param vector_store: an S3VectorStore or OpenSearchVectorStore.
    :param embedding_model_arn: foundation-model ARN of the embedding model.
    :param chunking: default ``Chunking.fixed_size()`` (Bedrock's default, made explicit).
        Changing it replaces the data source (Bedrock cannot update a vector ingestion
        configuration) and deletes the old one's vectors: ingest again after the deploy.
    :param parsing_model_arn: default none (Bedrock's text parser); a foundation model that
        parses documents (tables, figures, scanned pages) before chunking.
    :param role: default a new service role; a role of your own must trust
        ``bedrock.amazonaws.com`` (this construct adds its permissions to it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        source_bucket: s3.IBucket,
        source_prefix: str,
        data_key: kms.IKey,
        vector_store: VectorStore,
        embedding_model_arn: str,
        chunking: Chunking | None = None,
        parsing_model_arn: str | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = name
        check_arn(
            "GovernedKnowledgeBase", "embedding_model_arn", embedding_model_arn, BEDROCK_MODEL
        )
        if parsing_model_arn is not None:
            check_arn(
                "GovernedKnowledgeBase", "parsing_model_arn", parsing_model_arn, BEDROCK_MODEL
            )
        if not Token.is_unresolved(source_prefix) and (
            not source_prefix.endswith("/") or source_prefix.startswith("/")
        ):
            raise ValueError(
                f"GovernedKnowledgeBase: source_prefix must be a relative folder ending in '/' "
                f"(got '{source_prefix}')"
            )
        stack = Stack.of(self)
        self.role = role or iam.Role(
            self,
            "ServiceRole",
            description=f"Bedrock knowledge base {name}: one prefix, one vector store, one model",
            assumed_by=iam.ServicePrincipal(
                "bedrock.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:"
                        f"{stack.account}:knowledge-base/*"
                    },
                },
            ),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListTheSourcePrefix",
                actions=["s3:ListBucket"],
                resources=[source_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{source_prefix}*"]}},
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheSourcePrefix",
                actions=["s3:GetObject"],
                resources=[source_bucket.arn_for_objects(f"{source_prefix}*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptTheSource",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EmbedWithTheCatalogModel",
                actions=["bedrock:InvokeModel"],
                resources=[embedding_model_arn],
            )
        )
        if parsing_model_arn is not None:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ParseWithTheCatalogModel",
                    actions=["bedrock:InvokeModel"],
                    resources=[parsing_model_arn],
                )
            )
        vector_store.grant_knowledge_base(self.role)
        collection_name = vector_store.collection_name
        if collection_name is not None:
            aoss.CfnAccessPolicy(
                self,
                "CollectionAccess",
                name=collection_part_name(collection_name, "kb"),
                type="data",
                policy=stack.to_json_string(
                    [
                        {
                            "Rules": [
                                {
                                    "ResourceType": "collection",
                                    "Resource": [f"collection/{collection_name}"],
                                    "Permission": ["aoss:DescribeCollectionItems"],
                                },
                                {
                                    "ResourceType": "index",
                                    "Resource": [f"index/{collection_name}/*"],
                                    "Permission": [
                                        "aoss:DescribeIndex",
                                        "aoss:ReadDocument",
                                        "aoss:WriteDocument",
                                        "aoss:UpdateIndex",
                                    ],
                                },
                            ],
                            "Principal": [self.role.role_arn],
                        }
                    ]
                ),
            )

        self.knowledge_base = bedrock.CfnKnowledgeBase(
            self,
            "KnowledgeBase",
            name=name,
            role_arn=self.role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=embedding_model_arn
                ),
            ),
            storage_configuration=vector_store.storage_configuration(),
        )
        # Bedrock checks the role's permissions when the knowledge base is created.
        policy = grants_policy(self.role)
        if policy is None:
            raise ValueError(
                f"GovernedKnowledgeBase: role '{self.role.node.path}' cannot be given the "
                "knowledge base's permissions (an immutable imported role); pass a role of this "
                "app or a mutable import"
            )
        self.knowledge_base.node.add_dependency(policy)
        ingestion = self._ingestion_configuration(
            chunking or Chunking.fixed_size(), parsing_model_arn
        )
        self.data_source = bedrock.CfnDataSource(
            self,
            "DataSource",
            vector_ingestion_configuration=ingestion,
            # Chunking and parsing cannot change in place: a change replaces the data source,
            # created (under a new name) before the old one is deleted with its vectors.
            name=f"{name[:89]}-{fingerprint(stack.resolve(ingestion))}",
            knowledge_base_id=self.knowledge_base.attr_knowledge_base_id,
            data_deletion_policy="DELETE",
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                    bucket_arn=source_bucket.bucket_arn,
                    inclusion_prefixes=[source_prefix],
                ),
            ),
            server_side_encryption_configuration=bedrock.CfnDataSource.ServerSideEncryptionConfigurationProperty(
                kms_key_arn=data_key.key_arn
            ),
        )
        self.knowledge_base_arn: str = self.knowledge_base.attr_knowledge_base_arn
        reason = (
            f"Service role of knowledge base {name}: CDK-generated statements scoped to one "
            "source prefix, one vector store and one embedding model"
        )
        acknowledge(
            policy,
            in_every_framework("IAMNoInlinePolicy"),
            f"{reason}; attached to this one role only.",
        )
        objects = nag_reference(self, source_bucket.arn_for_objects(f"{source_prefix}*"))
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{objects}]",
            f"{reason}: reads objects under {source_prefix} of the curated zone only.",
        )
        self.policy = policy

    @property
    def knowledge_base_id(self) -> str:
        return str(self.knowledge_base.attr_knowledge_base_id)

    @property
    def data_source_id(self) -> str:
        return str(self.data_source.attr_data_source_id)

    @staticmethod
    def _ingestion_configuration(
        chunking: Chunking, parsing_model_arn: str | None
    ) -> bedrock.CfnDataSource.VectorIngestionConfigurationProperty:
        parsing = (
            bedrock.CfnDataSource.ParsingConfigurationProperty(
                parsing_strategy="BEDROCK_FOUNDATION_MODEL",
                bedrock_foundation_model_configuration=bedrock.CfnDataSource.BedrockFoundationModelConfigurationProperty(
                    model_arn=parsing_model_arn
                ),
            )
            if parsing_model_arn is not None
            else None
        )
        return bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
            chunking_configuration=chunking_configuration(chunking), parsing_configuration=parsing
        )

    def grant_start_ingestion(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start and follow ingestion jobs of this knowledge base."""
        return _grant_start_ingestion(grantee, self.knowledge_base_arn)

    def grant_retrieve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` query the knowledge base (``Retrieve`` only, see
        ``IKnowledgeBase``)."""
        return _grant_retrieve(grantee, self.knowledge_base_arn)

    @staticmethod
    def from_knowledge_base_arn(
        scope: Construct, construct_id: str, knowledge_base_arn: str
    ) -> IKnowledgeBase:
        """A knowledge base made elsewhere (another stack or app), by its ARN."""
        return _ImportedKnowledgeBase(scope, construct_id, knowledge_base_arn)
