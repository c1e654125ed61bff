from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.knowledge_base import (
    GovernedKnowledgeBase,
    OpenSearchVectorStore,
    S3VectorStore,
)

DEPLOYER = "arn:aws:iam::123456789012:role/deployer"
MODEL = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_name(stack, "Source", "curated")
    vectors = S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=1024)
    search = OpenSearchVectorStore(
        stack,
        "Search",
        collection_name="lob-kb",
        encryption_key=key,
        index_admin_arns=[DEPLOYER],
        dimensions=1024,
    )
    GovernedKnowledgeBase(
        stack,
        "Kb1",
        name="kb1",
        source_bucket=bucket,
        source_prefix="docs/",
        data_key=key,
        vector_store=vectors,
        embedding_model_arn=MODEL,
    )
    GovernedKnowledgeBase(
        stack,
        "Kb2",
        name="kb2",
        source_bucket=bucket,
        source_prefix="docs/",
        data_key=key,
        vector_store=search,
        embedding_model_arn=MODEL,
        collection_name="lob-kb",
    )
    return Template.from_stack(stack)


def test_s3_vectors_are_encrypted_with_the_key(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3Vectors::VectorBucket",
        {"EncryptionConfiguration": {"SseType": "aws:kms", "KmsKeyArn": Match.any_value()}},
    )
    template.has_resource_properties(
        "AWS::S3Vectors::Index",
        {"Dimension": 1024, "DistanceMetric": "cosine", "DataType": "float32"},
    )


def test_collection_is_encrypted_and_admits_named_principals_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::OpenSearchServerless::Collection",
        {"Name": "lob-kb", "Type": "VECTORSEARCH", "StandbyReplicas": "ENABLED"},
    )
    policies = template.find_resources("AWS::OpenSearchServerless::AccessPolicy")
    assert len(policies) == 2
    template.has_resource_properties(
        "AWS::OpenSearchServerless::Index",
        {
            "IndexName": "bedrock-knowledge-base",
            "Mappings": {
                "Properties": Match.object_like(
                    {
                        "bedrock-knowledge-base-vector": Match.object_like(
                            {"Type": "knn_vector", "Dimension": 1024}
                        )
                    }
                )
            },
        },
    )


def test_service_role_trusts_bedrock_of_this_account(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": "123456789012"},
                                "ArnLike": {
                                    "aws:SourceArn": (
                                        "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/*"
                                    )
                                },
                            },
                        }
                    )
                ]
            },
        },
    )
    template.resource_count_is("AWS::Bedrock::KnowledgeBase", 2)
    template.has_resource_properties(
        "AWS::Bedrock::DataSource",
        {
            "DataDeletionPolicy": "RETAIN",
            "DataSourceConfiguration": {
                "Type": "S3",
                "S3Configuration": Match.object_like({"InclusionPrefixes": ["docs/"]}),
            },
        },
    )


def test_dimensions_are_checked() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=r"S3VectorStore: dimensions must be 1-4096 \(got 0\)"):
        S3VectorStore(stack, "V", encryption_key=kms.Key(stack, "K"), dimensions=0)


@pytest.mark.parametrize(
    ("name", "admins", "message"),
    [
        (
            "Bad_Name",
            [DEPLOYER],
            "OpenSearchVectorStore: 'Bad_Name' is not a valid collection name",
        ),
        ("good-name", [], "OpenSearchVectorStore: index_admin_arns must name the deploying role"),
    ],
)
def test_collection_props_are_checked(name: str, admins: list[str], message: str) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        OpenSearchVectorStore(
            stack,
            "S",
            collection_name=name,
            encryption_key=kms.Key(stack, "K"),
            index_admin_arns=admins,
            dimensions=8,
        )


def test_source_prefix_is_a_folder() -> None:
    stack = new_stack()
    key = kms.Key(stack, "K")
    with pytest.raises(ValueError, match="GovernedKnowledgeBase: source_prefix must be a relative"):
        GovernedKnowledgeBase(
            stack,
            "Kb",
            name="kb",
            source_prefix="/docs",
            source_bucket=s3.Bucket.from_bucket_name(stack, "B", "bucket"),
            data_key=key,
            embedding_model_arn=MODEL,
            vector_store=S3VectorStore(stack, "V", encryption_key=key, dimensions=8),
        )
