"""The vector stores a knowledge base keeps its embeddings in: S3 Vectors and OpenSearch
Serverless.

They are stateful and live in the LOB's data stack; a knowledge base (stateless, with the
GenAI resources) takes one as a ``VectorStore``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Protocol

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from genai_constructs.function import PlatformFunction
from genai_constructs.grants import grant
from genai_constructs.naming import collection_part_name
from genai_constructs.validation import check_range

VECTOR_FIELD = "bedrock-knowledge-base-vector"
TEXT_FIELD = "AMAZON_BEDROCK_TEXT_CHUNK"
METADATA_FIELD = "AMAZON_BEDROCK_METADATA"
INDEX_NAME = "bedrock-knowledge-base"
_COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")


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
