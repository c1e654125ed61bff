"""The platform's own cdk-nag pack: each rule on hand-written templates, and the pack as a
synthesis gate (failure, acknowledgment, control IDs, the construct-tree path)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from conftest import CDK_JSON
from genai_constructs import acknowledge
from genai_constructs.checks import (
    RULES,
    CheckSettings,
    Compliance,
    Resource,
    Rule,
    Template,
    evaluate,
    read_templates,
)
from genai_constructs.checks.pack import GenAIPlatformChecks
from genai_constructs.checks.rules import (
    audit_logging,
    cost_tags,
    data_residency,
    encryption_at_rest,
    model_guardrail,
    no_internet_path,
    role_boundary,
    signed_requests_only,
    tls_only,
)

Json = dict[str, Any]
COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE = (
    Compliance.COMPLIANT,
    Compliance.NON_COMPLIANT,
    Compliance.NOT_APPLICABLE,
)
EMBEDDING = "amazon.titan-embed-text-v2:0"
SETTINGS = CheckSettings(allowed_regions=("eu-west-1",), unguarded_model_ids=(EMBEDDING,))


def verdicts(rule: Rule, resources: Json, region: str = "eu-west-1") -> dict[str, Compliance]:
    template = Template("probe", region, {"Resources": resources})
    return {
        logical_id: rule.check(Resource(logical_id, body, template), SETTINGS)
        for logical_id, body in resources.items()
    }


def resource(kind: str, **properties: Any) -> Json:
    return {"Type": kind, "Properties": properties}


def test_every_rule_names_its_control_and_framework_ids() -> None:
    assert [rule.name for rule in RULES] == [
        "EncryptionAtRest",
        "TlsOnly",
        "RoleBoundary",
        "NoInternetPath",
        "AuditLogging",
        "DataResidency",
        "ModelGuardrail",
        "CostTags",
        "SignedRequestsOnly",
    ]
    for rule in RULES:
        assert rule.control and rule.info and rule.explanation
        assert set(rule.controls) <= {"NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"}
        assert all(rule.controls.values()), rule.name


def test_nist_control_ids_are_written_as_the_cdk_nag_pack_writes_them() -> None:
    """``AU-2b`` as cdk-nag writes it, not ``AU-2(b)``: the audit merges the platform's rules
    and the pack's into one row per control ID."""
    notation = re.compile(r"^[A-Z]{2}-\d+(\(\d+\))*[a-z]?$")
    written = {
        control
        for rule in RULES
        for control in rule.controls.get("NIST.800.53.R5", ())
        if not notation.match(control)
    }
    assert written == set()


def test_encryption_at_rest() -> None:
    assert verdicts(
        encryption_at_rest.RULE,
        {
            "Encrypted": resource("AWS::S3::Bucket", BucketEncryption={}),
            "Plain": resource("AWS::S3::Bucket"),
            "Rotating": resource("AWS::KMS::Key", EnableKeyRotation=True),
            "Static": resource("AWS::KMS::Key", EnableKeyRotation=False),
            "Logs": resource("AWS::Logs::LogGroup", KmsKeyId="key"),
            "PlainLogs": resource("AWS::Logs::LogGroup"),
            "Queue": resource("AWS::SQS::Queue", KmsMasterKeyId="key"),
            "Topic": resource("AWS::SNS::Topic"),
            "Other": resource("AWS::EC2::VPC"),
        },
    ) == {
        "Encrypted": COMPLIANT,
        "Plain": NON_COMPLIANT,
        "Rotating": COMPLIANT,
        "Static": NON_COMPLIANT,
        "Logs": COMPLIANT,
        "PlainLogs": NON_COMPLIANT,
        "Queue": COMPLIANT,
        "Topic": NON_COMPLIANT,
        "Other": NOT_APPLICABLE,
    }


def test_signed_requests_only() -> None:
    assert verdicts(
        signed_requests_only.RULE,
        {
            "Signed": resource("AWS::Lambda::Url", AuthType="AWS_IAM", TargetFunctionArn="f"),
            "Open": resource("AWS::Lambda::Url", AuthType="NONE", TargetFunctionArn="f"),
            "Function": resource("AWS::Lambda::Function"),
        },
    ) == {"Signed": COMPLIANT, "Open": NON_COMPLIANT, "Function": NOT_APPLICABLE}


def tls_policy(bucket: str, condition: Json) -> Json:
    return resource(
        "AWS::S3::BucketPolicy",
        Bucket={"Ref": bucket},
        PolicyDocument={"Statement": [{"Effect": "Deny", "Condition": condition}]},
    )


def test_tls_only() -> None:
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    assert verdicts(
        tls_only.RULE,
        {
            "Guarded": resource("AWS::S3::Bucket"),
            "GuardedPolicy": tls_policy("Guarded", insecure),
            "OtherCondition": resource("AWS::S3::Bucket"),
            "OtherPolicy": tls_policy("OtherCondition", {"Bool": {"aws:ViaAWSService": "false"}}),
            "NoPolicy": resource("AWS::S3::Bucket"),
        },
    ) == {
        "Guarded": COMPLIANT,
        "GuardedPolicy": NOT_APPLICABLE,
        "OtherCondition": NON_COMPLIANT,
        "OtherPolicy": NOT_APPLICABLE,
        "NoPolicy": NON_COMPLIANT,
    }


def test_role_boundary() -> None:
    assert verdicts(
        role_boundary.RULE,
        {
            "Bounded": resource("AWS::IAM::Role", PermissionsBoundary="arn"),
            "Unbounded": resource("AWS::IAM::Role"),
            "Policy": resource("AWS::IAM::Policy"),
        },
    ) == {"Bounded": COMPLIANT, "Unbounded": NON_COMPLIANT, "Policy": NOT_APPLICABLE}


def test_no_internet_path() -> None:
    isolated = {"VpcConfig": {}, "EnableNetworkIsolation": True}
    private = {
        "Vpc": resource("AWS::EC2::VPC"),
        "Model": resource("AWS::SageMaker::Model", **isolated),
        "OpenModel": resource("AWS::SageMaker::Model", VpcConfig={}),
        "Monitor": resource("AWS::SageMaker::DataQualityJobDefinition", NetworkConfig=isolated),
    }
    assert verdicts(no_internet_path.RULE, private) == {
        "Vpc": COMPLIANT,
        "Model": COMPLIANT,
        "OpenModel": NON_COMPLIANT,
        "Monitor": COMPLIANT,
    }
    public = {"Vpc": resource("AWS::EC2::VPC"), "Gateway": resource("AWS::EC2::InternetGateway")}
    assert verdicts(no_internet_path.RULE, public) == {
        "Vpc": NON_COMPLIANT,
        "Gateway": NON_COMPLIANT,
    }


def test_audit_logging() -> None:
    assert verdicts(
        audit_logging.RULE,
        {
            "Logged": resource("AWS::EC2::VPC"),
            "FlowLog": resource("AWS::EC2::FlowLog", ResourceId={"Ref": "Logged"}),
            "Unlogged": resource("AWS::EC2::VPC"),
            "Trail": resource("AWS::CloudTrail::Trail", IsLogging=True),
            "Stopped": resource("AWS::CloudTrail::Trail", IsLogging=False),
        },
    ) == {
        "Logged": COMPLIANT,
        "FlowLog": NOT_APPLICABLE,
        "Unlogged": NON_COMPLIANT,
        "Trail": COMPLIANT,
        "Stopped": NON_COMPLIANT,
    }


def test_data_residency() -> None:
    resources = {"Bucket": resource("AWS::S3::Bucket")}
    assert verdicts(data_residency.RULE, resources) == {"Bucket": COMPLIANT}
    assert verdicts(data_residency.RULE, resources, "us-east-1") == {"Bucket": NON_COMPLIANT}
    template = Template("probe", "us-east-1", {"Resources": resources})
    bucket = Resource("Bucket", resources["Bucket"], template)
    anywhere = data_residency.RULE.check(bucket, CheckSettings())
    assert anywhere is NOT_APPLICABLE


def policy(*statements: Json, kind: str = "AWS::IAM::ManagedPolicy") -> Json:
    if kind == "AWS::IAM::Role":
        return resource(kind, Policies=[{"PolicyDocument": {"Statement": list(statements)}}])
    return resource(kind, PolicyDocument={"Statement": list(statements)})


def invoke(resource_arn: Any, *, guarded: bool, action: str = "bedrock:InvokeModel") -> Json:
    statement: Json = {"Effect": "Allow", "Action": action, "Resource": resource_arn}
    if guarded:
        statement["Condition"] = {"StringEquals": {"bedrock:GuardrailIdentifier": "arn:1"}}
    return statement


def test_model_guardrail() -> None:
    text = "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0"
    embedding = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":bedrock:eu-west-1::foundation-model/{EMBEDDING}",
            ],
        ]
    }
    assert verdicts(
        model_guardrail.RULE,
        {
            "Guarded": policy(invoke(text, guarded=True)),
            "Unguarded": policy(invoke(text, guarded=False)),
            "Wildcard": policy(invoke("*", guarded=False, action="bedrock:*")),
            "Embedding": policy(invoke(embedding, guarded=False), kind="AWS::IAM::Policy"),
            "InlineRole": policy(invoke(text, guarded=False), kind="AWS::IAM::Role"),
            "DenyOnly": policy(
                {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"}
            ),
            "Other": policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        },
    ) == {
        "Guarded": COMPLIANT,
        "Unguarded": NON_COMPLIANT,
        "Wildcard": NON_COMPLIANT,
        "Embedding": COMPLIANT,
        "InlineRole": NON_COMPLIANT,
        "DenyOnly": NOT_APPLICABLE,
        "Other": NOT_APPLICABLE,
    }


def test_cost_tags() -> None:
    both = [{"Key": "lob", "Value": "claims"}, {"Key": "cost-center", "Value": "CC-1"}]
    assert verdicts(
        cost_tags.RULE,
        {
            "Tagged": resource("AWS::S3::Bucket", Tags=both),
            "MapTagged": resource("AWS::SSM::Parameter", Tags={"lob": "x", "cost-center": "y"}),
            "Untagged": resource("AWS::S3::Bucket", Tags=both[:1]),
            "Untaggable": resource("AWS::IAM::Policy"),
        },
    ) == {
        "Tagged": COMPLIANT,
        "MapTagged": COMPLIANT,
        "Untagged": NON_COMPLIANT,
        "Untaggable": NOT_APPLICABLE,
    }


def test_acknowledged_findings_are_results_but_not_violations() -> None:
    unbounded = resource("AWS::IAM::Role")
    unbounded["Metadata"] = {
        "cdk_nag": {"rules_to_suppress": [{"id": "GenAIPlatform-RoleBoundary", "reason": "why"}]}
    }
    template = Template("probe", "eu-west-1", {"Resources": {"Role": unbounded}})
    [result] = [r for r in evaluate([template], SETTINGS) if r.rule is role_boundary.RULE]
    assert (result.compliance, result.acknowledgment, result.violation) == (
        NON_COMPLIANT,
        "why",
        False,
    )


def probe_app(outdir: Path, *, acknowledged: bool = False, **pack: Any) -> tuple[App, Stack]:
    app = App(outdir=str(outdir), context=json.loads(CDK_JSON.read_text())["context"])
    stack = Stack(app, "probe", env=Environment(account="123456789012", region="eu-west-1"))
    role = iam.Role(stack, "Unbounded", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    if acknowledged:
        acknowledge(
            role,
            "GenAIPlatform-RoleBoundary",
            "A probe role that tests that an acknowledgment is honoured.",
        )
    Validations.of(app).add_plugins(GenAIPlatformChecks(app, **pack))
    return app, stack


def test_a_finding_fails_synthesis_with_its_control_ids(tmp_path: Path) -> None:
    app, _ = probe_app(tmp_path)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    [plugin] = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    [violation] = plugin["violations"]
    assert plugin["pluginName"] == "GenAIPlatform"
    assert violation["ruleName"] == "GenAIPlatform-RoleBoundary"
    assert violation["ruleMetadata"] == {
        "control": "least privilege",
        "NIST.800.53.R5": "AC-3, AC-6, AC-6(10)",
        "HIPAA.Security": "164.308(a)(3)(i), 164.308(a)(4)(ii)(B), 164.312(a)(1)",
        "PCI.DSS.321": "7.1.2, 7.2.1",
    }
    [construct] = violation["violatingConstructs"]
    assert construct["constructPath"] == "probe/Unbounded/Resource"


def test_an_acknowledged_finding_passes_and_is_recorded(tmp_path: Path) -> None:
    app, _ = probe_app(tmp_path, acknowledged=True)
    assembly = app.synth()
    role = next(
        r
        for r in assembly.get_stack_by_name("probe").template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    )
    assert {
        "id": "GenAIPlatform-RoleBoundary",
        "reason": "A probe role that tests that an acknowledgment is honoured.",
    } in (role["Metadata"]["cdk_nag"]["rules_to_suppress"])


def test_validate_scope_walks_the_tree_of_a_synthesized_app(tmp_path: Path) -> None:
    app, _ = probe_app(tmp_path, acknowledged=True)
    before = GenAIPlatformChecks()
    with pytest.raises(Exception, match="synthesize the app before validate_scope"):
        before.validate_scope(app)
    app.synth()
    report = GenAIPlatformChecks().validate_scope(app)
    assert report.success
    bare = App(outdir=str(tmp_path / "bare"), context=json.loads(CDK_JSON.read_text())["context"])
    bare_stack = Stack(bare, "probe", env=Environment(account="123456789012", region="us-east-1"))
    s3.Bucket(bare_stack, "Plain")
    bare.synth()
    found = GenAIPlatformChecks(allowed_regions=["eu-west-1"]).validate_scope(bare)
    assert {v.rule_name for v in found.violations} == {
        "GenAIPlatform-EncryptionAtRest",
        "GenAIPlatform-TlsOnly",
        "GenAIPlatform-DataResidency",
    }


def test_a_rule_that_fails_to_run_fails_synthesis(tmp_path: Path) -> None:
    def broken(*_: Any) -> Compliance:
        raise KeyError("Properties")

    rule = Rule("Broken", "probe", "info", "explanation", {"NIST.800.53.R5": ("AC-1",)}, broken)
    app, _ = probe_app(tmp_path, acknowledged=True, rules=[rule])
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "GenAIPlatform-CheckError" in report and "KeyError('Properties')" in report


def test_templates_are_read_with_their_region(tmp_path: Path) -> None:
    app, _ = probe_app(tmp_path, acknowledged=True)
    app.synth()
    [template] = read_templates([tmp_path / "probe.template.json"])
    assert (template.name, template.region) == ("probe", "eu-west-1")
