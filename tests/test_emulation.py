"""Templates cut down to what moto can create, and broken references found before sending."""

from __future__ import annotations

from typing import Any

from blueprint.assembly.references import broken_references
from blueprint.deploy.emulation import CUSTOM_RESOURCE_REASON, UNMODELLED_REASON, prepare

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "k", "Value": "v"}]}},
        "Guardrail": {"Type": "AWS::Bedrock::Guardrail", "Properties": {"Name": "g"}},
        "Logging": {"Type": "Custom::Logging", "Properties": {"ServiceToken": "arn"}},
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "DependsOn": ["Guardrail", "Key"],
            "Properties": {
                "KmsMasterKeyId": {"Ref": "Key"},
                "DisplayName": {
                    "Fn::Sub": "${Guardrail.Version} of ${Guardrail} in ${AWS::Region}"
                },
                "TopicName": {"Fn::GetAtt": ["Guardrail", "GuardrailArn"]},
            },
        },
    },
    "Outputs": {"Arn": {"Value": {"Ref": "Guardrail"}, "Export": {"Name": "guardrail-arn"}}},
}


def test_unemulated_resources_are_removed_and_listed_with_the_reason() -> None:
    prepared = prepare(TEMPLATE, account="111111111111", region="eu-west-1")
    assert set(prepared.template["Resources"]) == {"Key", "Topic"}
    assert prepared.gaps == {"Guardrail": "AWS::Bedrock::Guardrail", "Logging": "Custom::Logging"}
    assert prepared.reasons == {
        "AWS::Bedrock::Guardrail": UNMODELLED_REASON,
        "Custom::Logging": CUSTOM_RESOURCE_REASON,
    }


def test_references_to_removed_resources_become_placeholders() -> None:
    prepared = prepare(TEMPLATE, account="111111111111", region="eu-west-1")
    placeholder = "arn:aws:bedrock:eu-west-1:111111111111:not-emulated/Guardrail"
    topic = prepared.template["Resources"]["Topic"]
    assert topic["DependsOn"] == ["Key"]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "Key"}
    assert topic["Properties"]["TopicName"] == f"{placeholder}/GuardrailArn"
    assert topic["Properties"]["DisplayName"] == {
        "Fn::Sub": f"{placeholder}/Version of {placeholder} in ${{AWS::Region}}"
    }
    assert prepared.template["Outputs"]["Arn"]["Value"] == placeholder
    assert TEMPLATE["Resources"]["Topic"]["DependsOn"] == ["Guardrail", "Key"], "input unchanged"


def test_kms_keys_are_given_in_moto_shape() -> None:
    prepared = prepare(TEMPLATE, account="111111111111", region="eu-west-1")
    assert prepared.template["Resources"]["Key"]["Properties"]["Tags"] == [
        {"TagKey": "k", "TagValue": "v"}
    ]


def test_endpoints_on_instance_types_moto_does_not_know_are_gaps() -> None:
    template = {
        "Resources": {
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"ProductionVariants": [{"InstanceType": "ml.g5.2xlarge"}]},
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}
                },
            },
        }
    }
    prepared = prepare(template, account="111111111111", region="eu-west-1")
    assert prepared.template["Resources"] == {}
    assert "lacks ml.g5.2xlarge" in prepared.reasons["AWS::SageMaker::EndpointConfig"]
    assert prepared.reasons["AWS::SageMaker::Endpoint"] == "looks up Config, not emulated"


def test_broken_references_name_the_resource() -> None:
    template = {
        "Parameters": {"Size": {"Type": "Number"}},
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "DependsOn": "Gone",
                "Properties": {
                    "A": {"Ref": "Size"},
                    "B": {"Ref": "AWS::AccountId"},
                    "C": {"Ref": "Missing"},
                    "D": {"Fn::GetAtt": "Missing.Arn"},
                    "E": {"Fn::Sub": ["${Queue.Arn}/${x}/${Nope}", {"x": "1"}]},
                    "F": {"Fn::ImportValue": "shared-key"},
                    "G": {"Fn::ImportValue": "other-key"},
                },
            }
        },
        "Outputs": {"Out": {"Value": {"Ref": "Absent"}}},
    }
    assert broken_references(template, exports={"shared-key"}) == [
        "resource Queue (AWS::SQS::Queue): DependsOn Gone, which the template does not declare",
        "resource Queue (AWS::SQS::Queue): Ref Missing, which the template does not declare",
        "resource Queue (AWS::SQS::Queue): Fn::GetAtt Missing, which the template does not declare",
        "resource Queue (AWS::SQS::Queue): Fn::Sub ${Nope}, which the template does not declare",
        "resource Queue (AWS::SQS::Queue): Fn::ImportValue other-key: no stack in this account "
        "and region exports it",
        "output Out: Ref Absent, which the template does not declare",
    ]
