from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.knowledge_base import (
    GovernedKnowledgeBase,
    OpenSearchVectorStore,
    S3VectorStore,
)

MODEL = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"


def _vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


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
        vpc=_vpc(stack),
        dimensions=1024,
        log_retention=logs.RetentionDays.ONE_YEAR,
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
    [index] = template.find_resources("Custom::VectorIndex").values()
    body = json.loads(index["Properties"]["Body"])
    assert body["mappings"]["properties"]["bedrock-knowledge-base-vector"] == {
        "type": "knn_vector",
        "dimension": 1024,
        "method": {"name": "hnsw", "engine": "faiss", "space_type": "l2"},
    }
    assert index["Properties"]["IndexName"] == "bedrock-knowledge-base"


def test_collection_is_private_to_its_endpoint_and_bedrock(template: Template) -> None:
    [network] = [
        p
        for p in template.find_resources("AWS::OpenSearchServerless::SecurityPolicy").values()
        if p["Properties"]["Type"] == "network"
    ]
    parts = network["Properties"]["Policy"]["Fn::Join"][1]
    assert '"AllowFromPublic":false' in parts[0]
    assert parts[1]["Fn::GetAtt"][0].startswith("SearchVpcEndpoint")
    assert parts[1]["Fn::GetAtt"][1] == "Id"
    assert '"SourceServices":["bedrock.amazonaws.com"]' in parts[2]
    template.resource_count_is("AWS::OpenSearchServerless::VpcEndpoint", 1)
    template.resource_count_is("AWS::OpenSearchServerless::Index", 0)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "genai_constructs.handlers.vector_index.index.handler",
            "VpcConfig": Match.object_like({"SubnetIds": Match.any_value()}),
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
            "DataDeletionPolicy": "DELETE",  # a replaced data source takes its vectors along
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


def test_collection_names_are_checked() -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError, match="OpenSearchVectorStore: 'Bad_Name' is not a valid collection name"
    ):
        OpenSearchVectorStore(
            stack,
            "S",
            collection_name="Bad_Name",
            encryption_key=kms.Key(stack, "K"),
            vpc=_vpc(stack),
            dimensions=8,
            log_retention=logs.RetentionDays.ONE_YEAR,
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


def test_only_the_index_function_reaches_the_collection_endpoint(template: Template) -> None:
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    [endpoint_group] = [g for k, g in groups.items() if k.startswith("SearchEndpointSecurityGroup")]
    [function_group] = [
        k for k in groups if k.startswith("SearchIndexFunctionFunctionSecurityGroup")
    ]
    rules = template.find_resources("AWS::EC2::SecurityGroupIngress")
    ingress = endpoint_group["Properties"].get("SecurityGroupIngress", []) + [
        r["Properties"] for r in rules.values()
    ]
    assert [
        (rule.get("SourceSecurityGroupId"), rule["FromPort"], rule["ToPort"])
        for rule in ingress
        if rule.get("GroupId", {}).get("Fn::GetAtt", [""])[0].startswith("SearchEndpoint")
        or "GroupId" not in rule
    ] == [({"Fn::GetAtt": [function_group, "GroupId"]}, 443, 443)]


def test_vector_store_grants_return_what_they_granted() -> None:
    stack = new_stack()
    store = S3VectorStore(stack, "V", encryption_key=kms.Key(stack, "K"), dimensions=1024)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com"))
    grant = store.grant_knowledge_base(role)
    assert isinstance(grant, iam.Grant) and grant.success
    statement = grant.principal_statements[0].to_statement_json()
    assert "s3vectors:QueryVectors" in statement["Action"]
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["s3vectors:QueryVectors"])})]
                )
            }
        },
    )


def test_a_key_of_the_app_is_opened_to_s3_vectors_indexing_once() -> None:
    stack = new_stack()
    key = kms.Key(stack, "K")
    S3VectorStore(stack, "V1", encryption_key=key, dimensions=1024)
    S3VectorStore(stack, "V2", encryption_key=key, dimensions=1024)
    [policy] = [
        r["Properties"]["KeyPolicy"]
        for r in Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    ]
    admitted = [
        s
        for s in policy["Statement"]
        if s.get("Principal", {}).get("Service") == "indexing.s3vectors.amazonaws.com"
    ]
    assert len(admitted) == 1
    assert admitted[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
