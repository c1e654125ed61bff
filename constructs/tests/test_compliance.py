from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_cdk import CfnResource, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from conftest import new_stack
from genai_constructs import acknowledge
from genai_constructs.compliance import acknowledge_wildcards, ignore_cfn_lint
from genai_constructs.nag_rules import nag_rules

REASON = "A reason specific enough for an auditor to check it later."


def test_acknowledgment_lands_on_the_cloudformation_resource() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge(bucket, ["AwsSolutions-S1", "AwsSolutions-IAM5[Resource::*]"], REASON)
    entries = [
        m
        for m in bucket.node.default_child.node.metadata
        if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    assert [e.data for e in entries] == [
        {"AwsSolutions-S1": REASON, "AwsSolutions-IAM5[Resource::*]": REASON}
    ]
    assert not [
        m for m in bucket.node.metadata if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]


def test_cdk_nags_documented_form_names_the_same_rule() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge(
        bucket,
        ["AwsSolutions::AwsSolutions-S1", "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled"],
        REASON,
    )
    [entry] = [
        m.data
        for m in bucket.node.default_child.node.metadata
        if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    assert entry == {"AwsSolutions-S1": REASON, "NIST.800.53.R5-S3BucketLoggingEnabled": REASON}
    with pytest.raises(ValueError, match=r"'AwsSolutions::HIPAA\.Security-S1' is not a cdk-nag"):
        acknowledge(bucket, "AwsSolutions::HIPAA.Security-S1", REASON)


def test_acknowledging_a_stack_is_refused() -> None:
    stack = new_stack()
    with pytest.raises(
        ValueError,
        match=(
            "acknowledge\\(\\) needs a CloudFormation resource; 'test' is not one and has no "
            "default CloudFormation resource"
        ),
    ):
        acknowledge(stack, "AwsSolutions-S1", REASON)


def test_acknowledging_a_plain_construct_is_refused() -> None:
    stack = new_stack()
    group = Construct(stack, "Group")
    with pytest.raises(ValueError, match="'test/Group' is not one"):
        acknowledge(group, "AwsSolutions-S1", REASON)


def test_a_construct_given_its_resource_later_is_acknowledged_on_it() -> None:
    stack = new_stack()
    group = Construct(stack, "Group")
    with pytest.raises(ValueError, match="'test/Group' is not one"):
        acknowledge(group, "AwsSolutions-S1", REASON)
    resource = CfnResource(group, "Resource", type="AWS::SNS::Topic")
    acknowledge(group, "AwsSolutions-SNS3", REASON)
    assert [
        m.data
        for m in resource.node.metadata
        if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ] == [{"AwsSolutions-SNS3": REASON}]


def test_an_acknowledgment_follows_a_default_child_set_later() -> None:
    stack = new_stack()
    group = Construct(stack, "Group")
    first = CfnResource(group, "Resource", type="AWS::SNS::Topic")
    acknowledge(group, "AwsSolutions-SNS3", REASON)
    second = CfnResource(group, "Other", type="AWS::SNS::Topic")
    group.node.default_child = second
    acknowledge(group, "AwsSolutions-SQS2", REASON)

    def acknowledged(resource: CfnResource) -> list[dict[str, str]]:
        return [
            m.data
            for m in resource.node.metadata
            if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        ]

    assert acknowledged(first) == [{"AwsSolutions-SNS3": REASON}]
    assert acknowledged(second) == [{"AwsSolutions-SQS2": REASON}]


def test_a_policys_wildcards_are_acknowledged_in_one_entry() -> None:
    stack = new_stack()
    policy = iam.ManagedPolicy(
        stack,
        "Policy",
        statements=[
            iam.PolicyStatement(actions=["s3:Get*"], resources=["arn:aws:s3:::data/*"]),
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=["*"]),
        ],
    )
    found = acknowledge_wildcards(policy, REASON)
    assert found == ["Action::s3:Get*", "Resource::*", "Resource::arn:aws:s3:::data/*"]
    assert [
        m.data
        for m in policy.node.default_child.node.metadata
        if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ] == [{f"AwsSolutions-IAM5[{finding}]": REASON for finding in found}]


def test_acknowledging_the_wildcards_of_what_is_no_policy_is_refused() -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    with pytest.raises(
        ValueError, match="acknowledge_wildcards\\(\\): 'test/Bucket' has no policy resource"
    ):
        acknowledge_wildcards(bucket, REASON)


def test_a_vague_reason_is_refused() -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    with pytest.raises(
        ValueError,
        match=("acknowledge\\(\\) needs a specific reason of at least 40 characters; got 'ok'"),
    ):
        acknowledge(bucket, "AwsSolutions-S1", "ok")


def test_an_unknown_rule_id_is_refused() -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    with pytest.raises(ValueError, match="'S1' is not a cdk-nag rule ID of the packs"):
        acknowledge(bucket, "S1", REASON)


@pytest.mark.parametrize(
    ("rule_id", "message"),
    [
        (
            "NIST.800.53.R5-IAMNoInlinePolicies",
            r"'NIST\.800\.53\.R5-IAMNoInlinePolicies' is not a rule of the NIST\.800\.53\.R5 "
            r"pack; did you mean NIST\.800\.53\.R5-IAMNoInlinePolicy",
        ),
        ("AwsSolutions-S99[Resource::*]", r"'AwsSolutions-S99' is not a rule of the AwsSolutions"),
        (
            "GenAIPlatform-Encryption",
            r"not a rule of the GenAIPlatform pack; did you mean GenAIPlatform-EncryptionAtRest",
        ),
    ],
)
def test_a_rule_no_pack_has_is_refused_with_the_rules_meant(rule_id: str, message: str) -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    with pytest.raises(ValueError, match=message):
        acknowledge(bucket, rule_id, REASON)


def test_rules_of_every_pack_are_accepted() -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    acknowledge(
        bucket,
        [
            "AwsSolutions-S1",
            "AwsSolutions-IAM5[Resource::*]",
            "HIPAA.Security-S3BucketLoggingEnabled",
            "PCI.DSS.321-S3BucketLoggingEnabled",
            "GenAIPlatform-EncryptionAtRest",
        ],
        REASON,
    )


def test_the_rules_are_read_from_the_installed_cdk_nag() -> None:
    rules = nag_rules()
    packs = {rule.pack for rule in rules.values()}
    assert packs == {"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321"}
    inline = rules["NIST.800.53.R5-IAMNoInlinePolicy"]
    assert inline.function == "IAMNoInlinePolicy"
    assert "AC-2(1)" in inline.controls
    assert inline.inspects_type("AWS::IAM::Policy") and inline.inspects_type("AWS::IAM::Role")
    assert not inline.inspects_type("AWS::S3::Bucket")
    assert rules["AwsSolutions-S1"].function == "S3BucketLoggingEnabled"
    assert rules["AwsSolutions-S1"].controls == ()
    assert all(rule.inspects for rule in rules.values())


def test_cfn_lint_ignores_need_a_reason() -> None:
    bucket = s3.Bucket(new_stack(), "Bucket")
    with pytest.raises(ValueError, match="ignore_cfn_lint\\(\\) needs a specific reason"):
        ignore_cfn_lint(bucket.node.default_child, ["W3010"], "because")


def test_a_rule_names_each_control_once() -> None:
    """cdk-nag's text repeats some controls (AC-17(1), AU-14b): each is counted once."""
    from genai_constructs.nag_rules import controls_of

    assert controls_of("Rule text. (Control IDs: AC-17(1), AU-14b, AC-17(1))") == (
        "AC-17(1)",
        "AU-14b",
    )
    assert all(len(rule.controls) == len(set(rule.controls)) for rule in nag_rules().values())


def test_a_cdk_nag_without_its_rules_tarball_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from genai_constructs import nag_rules as module

    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(FileNotFoundError, match=r"expected one cdk-nag@\*\.jsii\.tgz .* none"):
        module._cdk_nag_tarball()
