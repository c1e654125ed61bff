"""An LOB team's own app: `cdk init`'s default context (not this repository's cdk.json), the
library's public API only, the four cdk-nag packs applied with the library's helper. It
synthesizes with no unacknowledged finding."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from genai_constructs import (
    AccessLogBucket,
    ApprovedModel,
    FineTuningPipeline,
    FineTuningSpec,
    GovernedBucket,
    GovernedGuardrail,
    GovernedKnowledgeBase,
    GpuEndpoint,
    GuardrailSpec,
    ModelAccessPolicy,
    PrivateNetwork,
    S3VectorStore,
)
from genai_constructs.compliance import add_nag_packs

TGI = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:3.3.6"
EMBEDDING = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"


@pytest.fixture(scope="module")
def cdk_init_context(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The context `cdk init app --language python` writes, from the pinned CDK CLI."""
    cdk = shutil.which("cdk")
    assert cdk, "make test puts the pinned CDK CLI (node_modules/.bin) on PATH"
    directory = tmp_path_factory.mktemp("lob-app")
    subprocess.run(
        [cdk, "init", "app", "--language", "python", "--generate-only"],
        cwd=directory,
        capture_output=True,
        check=True,
        timeout=120,
    )
    context: dict[str, object] = json.loads((directory / "cdk.json").read_text())["context"]
    return context


def lob_stack(app: App) -> Stack:
    stack = Stack(app, "lob-team", env=Environment(account="123456789012", region="eu-west-1"))
    key = kms.Key(stack, "DataKey", enable_key_rotation=True)
    flow_logs = logs.LogGroup(stack, "FlowLogs", encryption_key=key)
    network = PrivateNetwork(
        stack,
        "Network",
        cidr="10.0.0.0/16",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        flow_log_group=flow_logs,
    )
    access_logs = AccessLogBucket(stack, "AccessLogs").bucket
    curated, training, artifacts = (
        GovernedBucket(stack, name, encryption_key=key, access_log_bucket=access_logs).bucket
        for name in ("Curated", "Training", "Artifacts")
    )
    guardrail = GovernedGuardrail(
        stack,
        "Guardrail",
        name="lob-team",
        spec=GuardrailSpec({"HATE": "HIGH", "PROMPT_ATTACK": "HIGH"}, "Blocked.", "Blocked."),
        encryption_key=key,
    )
    knowledge_base = GovernedKnowledgeBase(
        stack,
        "Policies",
        name="policies",
        source_bucket=curated,
        source_prefix="policies/",
        data_key=key,
        vector_store=S3VectorStore(stack, "Vectors", encryption_key=key, dimensions=1024),
        embedding_model_arn=EMBEDDING,
    )
    application = iam.Role(
        stack, "Application", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    ModelAccessPolicy(
        stack,
        "ModelAccess",
        models=[ApprovedModel("amazon.nova-pro-v1:0")],
        guardrail=guardrail,
        knowledge_bases=[knowledge_base],
        roles=[application],
    )
    jobs = ec2.SecurityGroup(stack, "Jobs", vpc=network.vpc, allow_all_outbound=False)
    pipeline = FineTuningPipeline(
        stack,
        "Tuning",
        spec=FineTuningSpec(
            name="claims-summarizer",
            base_model_prefix="models/mistral-7b/base/",
            dataset_prefix="claims-summarizer/",
            training_instance="ml.g5.12xlarge",
            serving_instance="ml.g5.2xlarge",
            gpus=4,
        ),
        vpc=network.vpc,
        vpc_subnets=network.vpc.isolated_subnets,
        security_group=jobs,
        encryption_key=key,
        log_retention=logs.RetentionDays.ONE_YEAR,
        training_bucket=training,
        artifacts_bucket=artifacts,
    )
    endpoint = GpuEndpoint(
        stack,
        "Endpoint",
        image_uri=TGI,
        model_data_url=artifacts.s3_url_for_object("models/claims-summarizer/serving/"),
        instance_type="ml.g5.2xlarge",
        min_instances=0,
        max_instances=1,
        vpc_subnets=network.vpc.isolated_subnets,
        security_group=jobs,
        encryption_key=key,
        model_bucket=artifacts,
        model_prefix="models/claims-summarizer/",
        capture_bucket=artifacts,
        capture_prefix="capture/claims-summarizer/",
        alarm_topic=sns.Topic(stack, "Alarms", master_key=key, enforce_ssl=True),
    )
    grants = [
        endpoint.grant_invoke(application),
        guardrail.grant_apply(application),
        knowledge_base.grant_retrieve(application),
        pipeline.grant_start(application),
    ]
    assert all(grant.success for grant in grants)
    return stack


def test_an_lob_teams_app_synthesizes_nag_clean(cdk_init_context: dict[str, object]) -> None:
    app = App(context=cdk_init_context)
    stack = lob_stack(app)
    add_nag_packs(app)
    app.synth()  # the packs fail synthesis on any unacknowledged finding
    template = Template.from_stack(stack)
    for kind in (
        "AWS::Bedrock::Guardrail",
        "AWS::Bedrock::KnowledgeBase",
        "AWS::S3Vectors::Index",
        "AWS::SageMaker::Pipeline",
        "AWS::SageMaker::Endpoint",
    ):
        assert template.find_resources(kind), kind
    [application] = [
        role
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if logical_id.startswith("Application")
    ]
    attached = {reference["Ref"] for reference in application["Properties"]["ManagedPolicyArns"]}
    granted = {
        action
        for logical_id, policy in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if logical_id in attached
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {
        "sagemaker:InvokeEndpoint",
        "bedrock:ApplyGuardrail",
        "bedrock:Retrieve",
        "sagemaker:StartPipelineExecution",
    } <= granted
    # No inline policy on the team's role, so nothing of theirs needs acknowledging.
    assert not [
        policy
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if any(
            role.get("Ref", "").startswith("Application")
            for role in policy["Properties"].get("Roles", [])
        )
    ]
    assert "Policies" not in application["Properties"]


def test_the_helper_fails_synthesis_on_an_unacknowledged_finding(
    cdk_init_context: dict[str, object], tmp_path: Path
) -> None:
    app = App(context=cdk_init_context, outdir=str(tmp_path))
    stack = Stack(app, "careless", env=Environment(account="123456789012", region="eu-west-1"))
    kms.Key(stack, "NoRotation")
    add_nag_packs(app)
    with pytest.raises(Exception, match="AwsSolutions-KMS5"):
        app.synth()
