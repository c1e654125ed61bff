"""CloudFormation values of a cloud assembly as ``Symbol``s.

Intrinsic functions are evaluated the way CloudFormation would in the stack's account and
region; what CloudFormation decides at deploy time (generated names, IDs) becomes an atom
keyed by the resource, so that a resource and every policy that names it, in any stack,
resolve to the same symbol. Imports are followed to the exporting stack's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from blueprint.assembly.access.symbols import UNKNOWN, Atom, Symbol, text
from blueprint.assembly.reader import Assembly, AssemblyStack
from blueprint.model.names import PARTITION

Json = dict[str, Any]
SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")

# Per resource type: the property that names it (when the template gives a name) and how its
# ARN reads. ``{name}`` is the physical name (or its atom), ``{id}`` a generated ID.
NAMED: dict[str, str] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
    "AWS::SageMaker::Pipeline": "PipelineName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::InferenceComponent": "InferenceComponentName",
    "AWS::SageMaker::MonitoringSchedule": "MonitoringScheduleName",
    "AWS::SageMaker::MlflowTrackingServer": "TrackingServerName",
    "AWS::SageMaker::UserProfile": "UserProfileName",
    "AWS::OpenSearchServerless::Collection": "Name",
    "AWS::CloudTrail::Trail": "TrailName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::CodePipeline::Pipeline": "Name",
    "AWS::ECR::Repository": "RepositoryName",
    "AWS::Events::EventBus": "Name",
    "AWS::Pipes::Pipe": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Glue::DataQualityRuleset": "Name",
    "AWS::S3Vectors::VectorBucket": "VectorBucketName",
    "AWS::S3Vectors::Index": "IndexName",
    "AWS::SecretsManager::Secret": "Name",
}
ARNS: dict[str, str] = {
    "AWS::S3::Bucket": "arn:{p}:s3:::{name}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{name}",
    "AWS::IAM::ManagedPolicy": "arn:{p}:iam::{a}:policy/{name}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{id}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}:*",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{name}",
    "AWS::SageMaker::ModelPackageGroup": "arn:{p}:sagemaker:{r}:{a}:model-package-group/{name}",
    "AWS::SageMaker::Pipeline": "arn:{p}:sagemaker:{r}:{a}:pipeline/{name}",
    "AWS::SageMaker::Endpoint": "arn:{p}:sagemaker:{r}:{a}:endpoint/{name}",
    "AWS::SageMaker::InferenceComponent": "arn:{p}:sagemaker:{r}:{a}:inference-component/{name}",
    "AWS::SageMaker::MonitoringSchedule": "arn:{p}:sagemaker:{r}:{a}:monitoring-schedule/{name}",
    "AWS::SageMaker::MlflowTrackingServer": (
        "arn:{p}:sagemaker:{r}:{a}:mlflow-tracking-server/{name}"
    ),
    "AWS::SageMaker::Domain": "arn:{p}:sagemaker:{r}:{a}:domain/{id}",
    "AWS::SageMaker::MlflowApp": "arn:{p}:sagemaker:{r}:{a}:mlflow-app/{id}",
    "AWS::Bedrock::Guardrail": "arn:{p}:bedrock:{r}:{a}:guardrail/{id}",
    "AWS::Bedrock::KnowledgeBase": "arn:{p}:bedrock:{r}:{a}:knowledge-base/{id}",
    "AWS::Bedrock::Prompt": "arn:{p}:bedrock:{r}:{a}:prompt/{id}",
    "AWS::Bedrock::ApplicationInferenceProfile": (
        "arn:{p}:bedrock:{r}:{a}:application-inference-profile/{id}"
    ),
    "AWS::OpenSearchServerless::Collection": "arn:{p}:aoss:{r}:{a}:collection/{id}",
    "AWS::BedrockAgentCore::Runtime": "arn:{p}:bedrock-agentcore:{r}:{a}:runtime/{id}",
    "AWS::BedrockAgentCore::Memory": "arn:{p}:bedrock-agentcore:{r}:{a}:memory/{id}",
    "AWS::BedrockAgentCore::Gateway": "arn:{p}:bedrock-agentcore:{r}:{a}:gateway/{id}",
    "AWS::BedrockAgentCore::PolicyEngine": ("arn:{p}:bedrock-agentcore:{r}:{a}:policy-engine/{id}"),
    # Secrets Manager adds a hyphen and six random characters to the name.
    "AWS::SecretsManager::Secret": "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{id}",
    "AWS::CloudTrail::Trail": "arn:{p}:cloudtrail:{r}:{a}:trail/{name}",
    "AWS::CodeBuild::Project": "arn:{p}:codebuild:{r}:{a}:project/{name}",
    "AWS::CodePipeline::Pipeline": "arn:{p}:codepipeline:{r}:{a}:{name}",
    "AWS::ECR::Repository": "arn:{p}:ecr:{r}:{a}:repository/{name}",
    "AWS::Events::EventBus": "arn:{p}:events:{r}:{a}:event-bus/{name}",
    "AWS::Pipes::Pipe": "arn:{p}:pipes:{r}:{a}:pipe/{name}",
    "AWS::SSM::Parameter": "arn:{p}:ssm:{r}:{a}:parameter{name}",
    "AWS::StepFunctions::StateMachine": "arn:{p}:states:{r}:{a}:stateMachine:{name}",
    "AWS::Glue::DataQualityRuleset": "arn:{p}:glue:{r}:{a}:dataQualityRuleset/{name}",
    "AWS::S3Vectors::VectorBucket": "arn:{p}:s3vectors:{r}:{a}:bucket/{name}",
    "AWS::S3Vectors::Index": "arn:{p}:s3vectors:{r}:{a}:bucket/{bucket}/index/{name}",
}
# Which attribute is the ARN, and which return the name or the ID, per type.
ARN_ATTRIBUTES = {
    "Arn",
    "TopicArn",
    "ModelPackageGroupArn",
    "PipelineArn",
    "EndpointArn",
    "MonitoringScheduleArn",
    "TrackingServerArn",
    "DomainArn",
    "GuardrailArn",
    "KnowledgeBaseArn",
    "InferenceProfileArn",
    "VectorBucketArn",
    "IndexArn",
    "AgentRuntimeArn",
    "MemoryArn",
    "GatewayArn",
    "PolicyEngineArn",
}
REF_IS_ARN = {
    "AWS::IAM::ManagedPolicy",
    "AWS::SecretsManager::Secret",
    "AWS::StepFunctions::StateMachine",
    "AWS::SNS::Topic",
    "AWS::SageMaker::Endpoint",
    "AWS::SageMaker::MonitoringSchedule",
}
# How many leading characters of the stack's name a name CloudFormation generates keeps.
GENERATED_PREFIX = 8
NAME_ATTRIBUTES = {"TopicName", "QueueName", "EndpointName", "ModelPackageGroupName", "Name"}
ID_ATTRIBUTES = {
    "DomainId",
    "GuardrailId",
    "KnowledgeBaseId",
    "InferenceProfileId",
    "Id",
    "KeyId",
    "MlflowAppId",
    "AgentRuntimeId",
    "MemoryId",
    "GatewayIdentifier",
    "PolicyEngineId",
}


class Resolver:
    """Resolves values of the assembly's templates, each in its own stack."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self._exports: dict[tuple[str, str, str], tuple[AssemblyStack, Any]] = {}
        # A resource's name and ARN, by its stack's template and its logical ID: asked again
        # for every policy and question that names the resource.
        self._names: dict[tuple[Path, str], Symbol] = {}
        self._arns: dict[tuple[Path, str], Symbol] = {}
        for stack in assembly.stacks:
            for output in stack.template.get("Outputs", {}).values():
                name = output.get("Export", {}).get("Name")
                if isinstance(name, str):
                    self._exports[(stack.account, stack.region, name)] = (stack, output["Value"])

    # --- values ----------------------------------------------------------------------

    def value(self, stack: AssemblyStack, value: Any) -> Symbol:
        """A scalar value; lists and unknown constructs resolve to ``UNKNOWN``."""
        resolved = self._resolve(stack, value)
        return resolved if isinstance(resolved, Symbol) else UNKNOWN

    def values(self, stack: AssemblyStack, value: Any) -> list[Symbol]:
        """A value that may be a list (a policy element such as ``Resource``)."""
        resolved = self._resolve(stack, value)
        if resolved is None:
            return []
        if isinstance(resolved, Symbol):
            return [resolved]
        return [item for item in resolved if isinstance(item, Symbol)]

    def json(self, stack: AssemblyStack, value: Any) -> Any:
        """A JSON document given as a string with references in it (OpenSearch policies):
        parsed, each string of it a Symbol."""
        symbol = self.value(stack, value)
        if symbol.unknown:
            return UNKNOWN
        atoms = [part for part in symbol.parts if not isinstance(part, str)]
        placeholders = {f"\ue000{index}\ue000": atom for index, atom in enumerate(atoms)}
        rendered = "".join(
            part if isinstance(part, str) else f"\ue000{atoms.index(part)}\ue000"
            for part in symbol.parts
        )
        return _symbols(json.loads(rendered), placeholders)

    def _resolve(self, stack: AssemblyStack, value: Any) -> Symbol | list[Any] | None:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, bool):
            return text("true" if value else "false")
        if isinstance(value, int | float):
            return text(str(value))
        if isinstance(value, list):
            return [self._resolve(stack, item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            return UNKNOWN
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(stack, str(argument))
        if function == "Fn::GetAtt":
            target, attribute = (
                argument if isinstance(argument, list) else str(argument).split(".", 1)
            )
            return self.get_att(stack, str(target), str(attribute))
        if function == "Fn::Join":
            delimiter, items = argument
            pieces: list[Symbol | str] = []
            for index, item in enumerate(self.values(stack, items)):
                if index:
                    pieces.append(str(delimiter))
                pieces.append(item)
            return Symbol.of(*pieces)
        if function == "Fn::ImportValue":
            return self._import(stack, self.value(stack, argument))
        if function == "Fn::Sub":
            return self._sub(stack, argument)
        if function == "Fn::Select":
            index, items = argument
            options = self._resolve(stack, items)
            if isinstance(options, list) and str(index).isdigit() and int(index) < len(options):
                chosen = options[int(index)]
                return chosen if isinstance(chosen, Symbol) else UNKNOWN
            return UNKNOWN
        if function == "Fn::Split":
            delimiter, source = argument
            return list(self.value(stack, source).split(str(delimiter)))
        return UNKNOWN

    def _import(self, stack: AssemblyStack, name: Symbol) -> Symbol:
        exported = self._exports.get((stack.account, stack.region, name.text or ""))
        if exported is None:
            return UNKNOWN
        exporter, value = exported
        return self.value(exporter, value)

    def _sub(self, stack: AssemblyStack, argument: Any) -> Symbol:
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        pieces: list[Symbol | str] = []
        position = 0
        for match in SUB_VARIABLE.finditer(template):
            pieces.append(template[position : match.start()])
            name = match.group(1)
            if name in variables:
                pieces.append(self.value(stack, variables[name]))
            elif "." in name and not name.startswith("AWS::"):
                target, attribute = name.split(".", 1)
                pieces.append(self.get_att(stack, target, attribute))
            else:
                pieces.append(self.ref(stack, name))
            position = match.end()
        pieces.append(template[position:])
        return Symbol.of(*pieces)

    # --- references ------------------------------------------------------------------

    def ref(self, stack: AssemblyStack, name: str) -> Symbol:
        pseudo = {
            "AWS::AccountId": stack.account,
            "AWS::Region": stack.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack.name,
        }
        if name in pseudo:
            return text(pseudo[name])
        resource = stack.resources.get(name)
        if resource is None:
            return UNKNOWN
        kind = resource.get("Type", "")
        if kind in REF_IS_ARN:
            return self.arn(stack, name)
        if kind == "AWS::SQS::Queue":
            return Symbol.of(
                f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/",
                self.name(stack, name),
            )
        if kind in NAMED:
            return self.name(stack, name)
        return Symbol.of(Atom(f"{stack.name}/{name}.Ref"))

    def get_att(self, stack: AssemblyStack, name: str, attribute: str) -> Symbol:
        resource = stack.resources.get(name)
        if resource is None:
            return UNKNOWN
        if attribute in ARN_ATTRIBUTES and resource.get("Type") in ARNS:
            return self.arn(stack, name)
        if attribute in NAME_ATTRIBUTES and resource.get("Type") in NAMED:
            return self.name(stack, name)
        if attribute in ID_ATTRIBUTES:
            return self.generated_id(stack, name)
        return Symbol.of(Atom(f"{stack.name}/{name}.{attribute}"))

    def name(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        """The physical name: the template's, or the one CloudFormation generates, which
        starts with the stack's name (lower-cased for buckets) and ends with a random suffix;
        only its first characters are taken as known, since long names are shortened."""
        key = (stack.template_path, logical_id)
        if key not in self._names:
            self._names[key] = self._name(stack, logical_id)
        return self._names[key]

    def _name(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        resource = stack.resources[logical_id]
        kind = resource.get("Type", "")
        given = resource.get("Properties", {}).get(NAMED.get(kind, ""))
        if given is not None:
            return self.value(stack, given)
        prefix = stack.name[:GENERATED_PREFIX]
        if kind == "AWS::S3::Bucket":
            prefix = prefix.lower()
        return Symbol.of(prefix, Atom(f"{stack.name}/{logical_id}.Name"))

    def generated_id(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        return Symbol.of(Atom(f"{stack.name}/{logical_id}.Id"))

    def arn(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        key = (stack.template_path, logical_id)
        if key not in self._arns:
            self._arns[key] = self._arn(stack, logical_id)
        return self._arns[key]

    def _arn(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        kind = stack.resources[logical_id].get("Type", "")
        pattern = ARNS.get(kind)
        if pattern is None:
            return Symbol.of(Atom(f"{stack.name}/{logical_id}.Arn"))
        pieces: list[Symbol | str] = []
        for literal, field in _fields(pattern):
            pieces.append(literal)
            if field == "name":
                pieces.append(
                    Symbol.of(self._role_path(stack, logical_id), self.name(stack, logical_id))
                )
            elif field == "id":
                pieces.append(self.generated_id(stack, logical_id))
            elif field == "bucket":
                pieces.append(self._vector_bucket_name(stack, logical_id))
            elif field:
                pieces.append({"p": PARTITION, "a": stack.account, "r": stack.region}[field])
        return Symbol.of(*pieces)

    def _role_path(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        """A role's path between ``role`` and its name (``/`` unless the template sets one)."""
        resource = stack.resources[logical_id]
        path = resource.get("Properties", {}).get("Path")
        if resource.get("Type") != "AWS::IAM::Role" or path is None:
            return text("")
        return text(path.lstrip("/")) if isinstance(path, str) else UNKNOWN

    def _vector_bucket_name(self, stack: AssemblyStack, logical_id: str) -> Symbol:
        """The name of the vector bucket an S3 Vectors index is in: given, or read from the
        bucket's ARN."""
        props = stack.resources[logical_id].get("Properties", {})
        if "VectorBucketName" in props:
            return self.value(stack, props["VectorBucketName"])
        pieces = self.value(stack, props.get("VectorBucketArn")).split(":bucket/")
        return pieces[1] if len(pieces) == 2 else UNKNOWN


def _fields(pattern: str) -> Iterator[tuple[str, str]]:
    """``arn:{p}:s3:::{name}`` -> ("arn:", "p"), (":s3:::", "name"), ("", "")."""
    position = 0
    for match in re.finditer(r"\{(\w+)\}", pattern):
        yield pattern[position : match.start()], match.group(1)
        position = match.end()
    yield pattern[position:], ""


def _symbols(value: Any, placeholders: dict[str, Atom]) -> Any:
    if isinstance(value, str):
        pieces: list[str | Atom] = []
        for chunk in re.split("(\ue000\\d+\ue000)", value):
            pieces.append(placeholders.get(chunk, chunk))
        return Symbol.of(*pieces)
    if isinstance(value, list):
        return [_symbols(item, placeholders) for item in value]
    if isinstance(value, dict):
        return {key: _symbols(item, placeholders) for key, item in value.items()}
    return value
