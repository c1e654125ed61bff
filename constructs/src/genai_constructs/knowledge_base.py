"""Knowledge bases (RAG) on vector stores the LOB owns.

Vector stores are stateful and live in the LOB's data stack; the knowledge base, its data
source and its service role are stateless and live with the GenAI resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Protocol

from aws_cdk import Arn, ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from genai_constructs.bedrock import fingerprint
from genai_constructs.compliance import (
    acknowledge,
    grants_policy,
    in_every_framework,
    nag_reference,
)
from genai_constructs.function import PlatformFunction
from genai_constructs.grants import grant
from genai_constructs.naming import collection_part_name
from genai_constructs.validation import BEDROCK_MODEL, check_arn, check_range

VECTOR_FIELD = "bedrock-knowledge-base-vector"
TEXT_FIELD = "AMAZON_BEDROCK_TEXT_CHUNK"
METADATA_FIELD = "AMAZON_BEDROCK_METADATA"
INDEX_NAME = "bedrock-knowledge-base"
_COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")


# Bedrock's bound on the tokens of a chunk.
MAX_CHUNK_TOKENS = 8192


class Chunking:
    """How a data source splits documents before embedding them; build one with
    ``fixed_size``, ``hierarchical``, ``semantic`` or ``none``."""

    def __init__(self, configuration: bedrock.CfnDataSource.ChunkingConfigurationProperty) -> None:
        self.configuration = configuration

    @staticmethod
    def fixed_size(*, max_tokens: int = 300, overlap_percent: int = 20) -> Chunking:
        """Chunks of at most ``max_tokens``, consecutive ones sharing ``overlap_percent``."""
        check_range("Chunking.fixed_size", "max_tokens", max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range("Chunking.fixed_size", "overlap_percent", overlap_percent, 1, 99)
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="FIXED_SIZE",
                fixed_size_chunking_configuration=bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
                    max_tokens=max_tokens, overlap_percentage=overlap_percent
                ),
            )
        )

    @staticmethod
    def hierarchical(
        *, parent_max_tokens: int = 1500, child_max_tokens: int = 300, overlap_tokens: int = 60
    ) -> Chunking:
        """Parent chunks for context, child chunks for retrieval."""
        owner = "Chunking.hierarchical"
        check_range(owner, "parent_max_tokens", parent_max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "child_max_tokens", child_max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "overlap_tokens", overlap_tokens, 1, MAX_CHUNK_TOKENS)
        sizes = (parent_max_tokens, child_max_tokens, overlap_tokens)
        if not any(Token.is_unresolved(size) for size in sizes) and not (
            overlap_tokens < child_max_tokens < parent_max_tokens
        ):
            raise ValueError(
                f"{owner}: overlap_tokens < child_max_tokens < parent_max_tokens is required "
                f"(got {overlap_tokens}, {child_max_tokens}, {parent_max_tokens})"
            )
        levels = [
            bedrock.CfnDataSource.HierarchicalChunkingLevelConfigurationProperty(max_tokens=size)
            for size in (parent_max_tokens, child_max_tokens)
        ]
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="HIERARCHICAL",
                hierarchical_chunking_configuration=bedrock.CfnDataSource.HierarchicalChunkingConfigurationProperty(
                    level_configurations=levels, overlap_tokens=overlap_tokens
                ),
            )
        )

    @staticmethod
    def semantic(
        *, max_tokens: int = 300, buffer_size: int = 0, breakpoint_percentile: int = 95
    ) -> Chunking:
        """Chunks split where the meaning of consecutive sentences changes most."""
        owner = "Chunking.semantic"
        check_range(owner, "max_tokens", max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "buffer_size", buffer_size, 0, 1)
        check_range(owner, "breakpoint_percentile", breakpoint_percentile, 50, 99)
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="SEMANTIC",
                semantic_chunking_configuration=bedrock.CfnDataSource.SemanticChunkingConfigurationProperty(
                    max_tokens=max_tokens,
                    buffer_size=buffer_size,
                    breakpoint_percentile_threshold=breakpoint_percentile,
                ),
            )
        )

    @staticmethod
    def none() -> Chunking:
        """Each document is one chunk."""
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy="NONE")
        )


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


class VectorStore(Protocol):
    """What a knowledge base needs from a vector store; ``collection_name`` is the OpenSearch
    Serverless collection (whose data access policy the knowledge base adds for its role),
    ``None`` for other stores."""

    @property
    def collection_name(self) -> str | None: ...

    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty: ...

    def grant_knowledge_base(self, grantee: iam.IGrantable) -> iam.Grant: ...


S3_VECTORS_INDEXING = "indexing.s3vectors.amazonaws.com"


def _admits(key: kms.Key, service: str) -> bool:
    """Whether the key's policy already names ``service`` as a principal."""
    resource = key.node.default_child
    policy = resource.key_policy if isinstance(resource, kms.CfnKey) else None
    document = Stack.of(key).resolve(policy) if policy else {}
    for statement in document.get("Statement", []):
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if service in ([services] if isinstance(services, str) else services):
            return True
    return False


class S3VectorStore(Construct):
    """An S3 Vectors bucket and index, encrypted with the LOB's key (lowest idle cost).

    :param encryption_key: customer-managed key. S3 Vectors' indexing service must be allowed
        to use it: a key of this app gets the statement unless its policy already admits the
        service; an imported key's policy must (this construct cannot see it).
    :param dimensions: embedding size of the model, e.g. 1024 for Titan Text Embeddings V2.
    :param removal_policy: default ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        dimensions: int,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        check_range("S3VectorStore", "dimensions", dimensions, 1, 4096)
        if isinstance(encryption_key, kms.Key) and not _admits(encryption_key, S3_VECTORS_INDEXING):
            encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowS3VectorsIndexingForThisAccount",
                    principals=[iam.ServicePrincipal(S3_VECTORS_INDEXING)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                )
            )
        encryption = {"sse_type": "aws:kms", "kms_key_arn": encryption_key.key_arn}
        self.bucket = s3vectors.CfnVectorBucket(
            self,
            "Bucket",
            encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
                **encryption
            ),
        )
        self.bucket.apply_removal_policy(removal_policy)
        self.index = s3vectors.CfnIndex(
            self,
            "Index",
            vector_bucket_arn=self.bucket.attr_vector_bucket_arn,
            data_type="float32",
            dimension=dimensions,
            distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=[TEXT_FIELD, METADATA_FIELD]
            ),
        )
        self.index.apply_removal_policy(removal_policy)
        self.bucket_arn: str = self.bucket.attr_vector_bucket_arn
        self.index_arn: str = self.index.attr_index_arn

    @property
    def collection_name(self) -> str | None:
        return None

    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="S3_VECTORS",
            s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                vector_bucket_arn=self.bucket_arn, index_arn=self.index_arn
            ),
        )

    def grant_knowledge_base(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (a knowledge base's role) read and write the index's vectors."""
        return grant(
            grantee=grantee,
            actions=[
                "s3vectors:GetIndex",
                "s3vectors:PutVectors",
                "s3vectors:GetVectors",
                "s3vectors:QueryVectors",
                "s3vectors:DeleteVectors",
                "s3vectors:ListVectors",
            ],
            resource_arns=[self.index_arn],
        )


class OpenSearchVectorStore(Construct):
    """A private OpenSearch Serverless vector collection with its policies and k-NN index.

    The encryption policy uses the LOB's key. The network policy admits the collection only
    from its own OpenSearch Serverless VPC endpoint in ``vpc`` and from Bedrock (knowledge
    base ingestion and retrieval); nothing reaches it from the internet, and every request
    still needs a principal named in a data access policy. The index is created from inside
    the VPC by a custom resource function, the only principal of the admin access policy;
    knowledge-base roles get their own access policy from ``grant_knowledge_base``.

    :param collection_name: 3-32 lower-case characters (OpenSearch requires a name).
    :param encryption_key: customer-managed key.
    :param vpc: the VPC whose isolated subnets hold the collection's endpoint.
    :param dimensions: embedding size.
    :param log_retention: how long the index function's logs are kept.
    :param standby_replicas: default ``True``; ``False`` halves idle OCUs (non-production).
    :param removal_policy: default ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection_name: str,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        dimensions: int,
        log_retention: logs.RetentionDays,
        standby_replicas: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(collection_name) and not _COLLECTION_NAME.match(collection_name):
            raise ValueError(
                f"OpenSearchVectorStore: '{collection_name}' is not a valid collection name "
                "(3-32 lower-case letters, digits and '-', starting with a letter)"
            )
        self._collection_name = collection_name
        stack = Stack.of(self)
        resource = [f"collection/{collection_name}"]
        encryption = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=collection_part_name(collection_name, "enc"),
            type="encryption",
            policy=stack.to_json_string(
                {
                    "Rules": [{"ResourceType": "collection", "Resource": resource}],
                    "AWSOwnedKey": False,
                    "KmsARN": encryption_key.key_arn,
                }
            ),
        )
        self.index_function = PlatformFunction(
            self,
            "IndexFunction",
            description=f"Creates the vector index of the {collection_name} collection",
            handler="vector_index.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.minutes(5),
        )
        self.endpoint = self._vpc_endpoint(vpc, self.index_function.security_group)
        network = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=collection_part_name(collection_name, "net"),
            type="network",
            policy=stack.to_json_string(
                [
                    {
                        "Rules": [{"ResourceType": "collection", "Resource": resource}],
                        "AllowFromPublic": False,
                        "SourceVPCEs": [self.endpoint.attr_id],
                        "SourceServices": ["bedrock.amazonaws.com"],
                    }
                ]
            ),
        )
        self.collection = aoss.CfnCollection(
            self,
            "Collection",
            name=collection_name,
            type="VECTORSEARCH",
            standby_replicas="ENABLED" if standby_replicas else "DISABLED",
        )
        self.collection.node.add_dependency(encryption)
        self.collection.node.add_dependency(network)
        self.collection.apply_removal_policy(removal_policy)
        self.collection_arn: str = self.collection.attr_arn
        self.index = self._index(dimensions)
        self.index.node.add_dependency(network)

    def _vpc_endpoint(self, vpc: ec2.IVpc, clients: ec2.ISecurityGroup) -> aoss.CfnVpcEndpoint:
        """The collection's private endpoint, open to HTTPS from ``clients`` only (Bedrock
        reaches the collection as a service, not through the endpoint)."""
        security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description=f"HTTPS to the {self.collection_name} collection from its clients only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(clients, ec2.Port.tcp(443), "HTTPS from the clients")
        return aoss.CfnVpcEndpoint(
            self,
            "VpcEndpoint",
            name=collection_part_name(self.collection_name, "vpce"),
            vpc_id=vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets],
            security_group_ids=[security_group.security_group_id],
        )

    def _index(self, dimensions: int) -> CustomResource:
        """The k-NN index, created through the VPC endpoint by a function in the VPC."""
        function = self.index_function
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="UseTheCollection",
                actions=["aoss:APIAccessAll"],
                resources=[self.collection_arn],
            )
        )
        function.acknowledge_policy("reach its one collection, send to its dead-letter queue", [])
        access = self._access_policy("IndexAdminAccess", "admin", [function.role.role_arn])
        body = {
            "settings": {"index": {"knn": True}},
            "mappings": {
                "properties": {
                    VECTOR_FIELD: {
                        "type": "knn_vector",
                        "dimension": dimensions,
                        "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"},
                    },
                    TEXT_FIELD: {"type": "text", "index": True},
                    METADATA_FIELD: {"type": "text", "index": False},
                }
            },
        }
        index = CustomResource(
            self,
            "Index",
            service_token=function.function_arn,
            resource_type="Custom::VectorIndex",
            properties={
                "CollectionEndpoint": self.collection.attr_collection_endpoint,
                "IndexName": INDEX_NAME,
                "Body": json.dumps(body, sort_keys=True),
            },
        )
        index.node.add_dependency(access, self.endpoint)
        policy = function.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            index.node.add_dependency(policy)
        return index

    def _access_policy(
        self, construct_id: str, suffix: str, principals: Sequence[str]
    ) -> aoss.CfnAccessPolicy:
        return aoss.CfnAccessPolicy(
            self,
            construct_id,
            name=collection_part_name(self.collection_name, suffix),
            type="data",
            policy=Stack.of(self).to_json_string(
                [
                    {
                        "Rules": [
                            {
                                "ResourceType": "collection",
                                "Resource": [f"collection/{self.collection_name}"],
                                "Permission": [
                                    "aoss:DescribeCollectionItems",
                                    "aoss:CreateCollectionItems",
                                    "aoss:UpdateCollectionItems",
                                ],
                            },
                            {
                                "ResourceType": "index",
                                "Resource": [f"index/{self.collection_name}/*"],
                                "Permission": [
                                    "aoss:CreateIndex",
                                    "aoss:DescribeIndex",
                                    "aoss:UpdateIndex",
                                ],
                            },
                        ],
                        "Principal": list(principals),
                    }
                ]
            ),
        )

    def storage_configuration(self) -> bedrock.CfnKnowledgeBase.StorageConfigurationProperty:
        return bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="OPENSEARCH_SERVERLESS",
            opensearch_serverless_configuration=bedrock.CfnKnowledgeBase.OpenSearchServerlessConfigurationProperty(
                collection_arn=self.collection_arn,
                vector_index_name=INDEX_NAME,
                field_mapping=bedrock.CfnKnowledgeBase.OpenSearchServerlessFieldMappingProperty(
                    vector_field=VECTOR_FIELD, text_field=TEXT_FIELD, metadata_field=METADATA_FIELD
                ),
            ),
        )

    @property
    def collection_name(self) -> str:
        return self._collection_name

    def grant_knowledge_base(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` call the collection's API (its data access policy names the
        knowledge base's role separately)."""
        return grant(
            grantee=grantee, actions=["aoss:APIAccessAll"], resource_arns=[self.collection_arn]
        )


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
            chunking_configuration=chunking.configuration, parsing_configuration=parsing
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
