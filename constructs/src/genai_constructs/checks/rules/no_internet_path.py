"""No internet path: VPCs without internet or NAT gateways, SageMaker workloads isolated."""

from __future__ import annotations

from genai_constructs.checks.rule import CheckSettings, Compliance, Resource, Rule

INTERNET_PATHS = ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway")
SAGEMAKER_NETWORKED = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)


def _isolated(resource: Resource) -> bool:
    network = resource.properties.get("NetworkConfig", resource.properties)
    return "VpcConfig" in network and network.get("EnableNetworkIsolation") is True


def check(resource: Resource, _: CheckSettings) -> Compliance:
    if resource.type in INTERNET_PATHS:
        return Compliance.NON_COMPLIANT
    if resource.type == "AWS::EC2::VPC":
        return Compliance.of(not any(resource.template.of_type(*INTERNET_PATHS)))
    if resource.type in SAGEMAKER_NETWORKED:
        return Compliance.of(_isolated(resource))
    return Compliance.NOT_APPLICABLE


RULE = Rule(
    name="NoInternetPath",
    control="network isolation",
    info="An internet or NAT gateway, or a SageMaker workload outside the VPC or without "
    "network isolation.",
    explanation="Platform VPCs reach AWS only through endpoints; models and monitoring jobs "
    "run in the VPC with network isolation, so LOB data has no path to the internet.",
    controls={
        "NIST.800.53.R5": ("AC-4", "SC-7", "SC-7(3)", "SC-7(4)"),
        "HIPAA.Security": ("164.308(a)(3)(i)", "164.308(a)(4)(ii)(A)", "164.312(e)(1)"),
        "PCI.DSS.321": ("1.2", "1.3", "1.3.1", "1.3.2", "1.3.4"),
    },
    check=check,
)
