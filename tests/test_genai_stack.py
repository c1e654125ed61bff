"""The GenAI layer, checked on the synthesized templates of the example organization."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk.assertions import Match

from blueprint.assembly.access.question import Questions
from blueprint.model.config import OrgConfig
from blueprint.model.sections.catalog import ModelKind
from blueprint.model.sections.values import DataClassification
from genai_constructs.naming import pascal
from tests.conftest import EXAMPLE, Synthesized, only_lobs, synthesize_org

INVOKE = {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_documents(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(logical id, type, document) of every identity policy in a template; boundaries, which
    grant nothing, are left out."""
    documents = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if str(properties.get("ManagedPolicyName", "")).endswith("-permissions-boundary"):
            continue
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, resource["Type"], properties["PolicyDocument"]))
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                documents.append((logical_id, resource["Type"], policy["PolicyDocument"]))
    return documents


def _invoke_allows(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical_id, statement)
        for logical_id, _, document in _policy_documents(template)
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        and (
            INVOKE & set(_as_list(statement["Action"]))
            or any(a in ("bedrock:*", "*") for a in _as_list(statement["Action"]))
        )
    ]


def _model_ids(statement: dict[str, Any]) -> set[str]:
    return {
        resource.rsplit("/", 1)[1].removeprefix("eu.")
        for resource in _as_list(statement["Resource"])
        if isinstance(resource, str)
        and ("foundation-model/" in resource or "inference-profile/" in resource)
    }


def _guardrail(example: Synthesized, stack: str) -> str:
    """The context entry of an invoke that names the stack's guardrail version."""
    template = example.template_json(stack)["Resources"]
    guardrail, version = (
        next(lid for lid, r in template.items() if r["Type"] == resource_type)
        for resource_type in ("AWS::Bedrock::Guardrail", "AWS::Bedrock::GuardrailVersion")
    )
    arn, version_number = f"{stack}/{guardrail}.GuardrailArn", f"{stack}/{version}.Version"
    return f"bedrock:GuardrailIdentifier={{{arn}}}:{{{version_number}}}"


def test_people_invoke_only_models_up_to_their_lob_classification(
    example: Synthesized, example_config: OrgConfig, example_access: Questions
) -> None:
    asked = 0
    for placement in example.plan.lob_environments():
        if placement.environment != "interactive":
            continue
        guardrail = _guardrail(example, f"{placement.key}-genai")
        for model in example_config.catalog.bedrock:
            if model.kind is not ModelKind.TEXT:
                continue
            decision = example_access.ask(
                f"{placement.account}:example-corp-data-scientist",
                "bedrock:InvokeModel",
                f"arn:aws:bedrock:{placement.region}::foundation-model/{model.id}",
                [guardrail],
            )
            allowed = model.max_classification.rank >= placement.classification.rank
            assert decision.decision == ("allow" if allowed else "deny"), (
                placement.key,
                model.id,
                decision.reasons,
            )
            asked += 1
    assert asked == 6
    assert DataClassification.RESTRICTED.rank > DataClassification.CONFIDENTIAL.rank


def test_applications_invoke_only_their_use_case_model(
    example: Synthesized, example_config: OrgConfig, example_access: Questions
) -> None:
    """Through its use case's profile only (Bedrock names the profile in the model's request,
    as ``bedrock:InferenceProfileArn``): every call counts under the profile."""
    for placement in example.plan.lob_environments():
        stack = f"{placement.key}-genai"
        guardrail = _guardrail(example, stack)
        for use_case in placement.lob.genai.use_cases:
            through_profile = _profile(example, stack, use_case.name)
            for model in example_config.catalog.bedrock:
                if model.kind is not ModelKind.TEXT:
                    continue
                for context, expected in (
                    (
                        [guardrail, through_profile],
                        "allow" if model.id == use_case.model else "deny",
                    ),
                    ([guardrail], "deny"),
                ):
                    decision = example_access.ask(
                        f"{placement.account}:example-corp-app-{use_case.name}",
                        "bedrock:InvokeModel",
                        f"arn:aws:bedrock:{placement.region}::foundation-model/{model.id}",
                        context,
                    )
                    assert decision.decision == expected, (
                        placement.key,
                        model.id,
                        context,
                        decision.reasons,
                    )


def _profile(example: Synthesized, stack: str, use_case: str) -> str:
    """The context entry of a model request made through the use case's profile."""
    template = example.template_json(stack)["Resources"]
    [profile] = [
        logical_id
        for logical_id, resource in template.items()
        if resource["Type"] == "AWS::Bedrock::ApplicationInferenceProfile"
        and logical_id.startswith(f"UseCases{pascal(use_case)}")
    ]
    return f"bedrock:InferenceProfileArn={{{stack}/{profile}.InferenceProfileArn}}"


def test_no_invoke_permission_exists_without_the_guardrail(
    example: Synthesized, example_config: OrgConfig
) -> None:
    embedding = {m.id for m in example_config.catalog.bedrock if m.kind is ModelKind.EMBEDDING}
    checked = 0
    for name, template in example.templates().items():
        for logical_id, statement in _invoke_allows(template):
            checked += 1
            assert "*" not in _as_list(statement["Action"]), (name, logical_id)
            condition = statement.get("Condition", {}).get("StringEquals", {})
            if "bedrock:GuardrailIdentifier" in condition:
                continue
            # The one exception: a knowledge base's service role computing embeddings.
            assert logical_id.startswith("KnowledgeBase"), (name, logical_id, statement)
            assert _model_ids(statement) <= embedding, (name, logical_id)
    assert checked > 0


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("555555555555:example-corp-ml-engineer", "deny"),
        ("555555555555:example-corp-app-claims-assistant", "deny"),
    ],
)
def test_invoking_without_the_guardrail_is_denied(
    example_access: Questions, principal: str, expected: str
) -> None:
    decision = example_access.ask(
        principal,
        "bedrock:InvokeModel",
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0",
    )
    assert decision.decision == expected, decision.reasons


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("444444444444:example-corp-data-scientist", "allow"),
        ("444444444444:example-corp-ml-engineer", "allow"),
        ("444444444444:example-corp-platform-admin", "deny"),
        ("555555555555:example-corp-ml-engineer", "allow"),
        ("555555555555:example-corp-auditor", "deny"),
        ("666666666666:example-corp-ml-engineer", "deny"),
        # An application reaches the model through its profile only (the test above).
        ("666666666666:example-corp-app-claims-assistant", "deny"),
    ],
)
def test_model_access_is_for_applications_and_non_prod_humans(
    example: Synthesized, example_access: Questions, principal: str, expected: str
) -> None:
    environment = {"4": "interactive", "5": "nonprod", "6": "prod"}[principal[0]]
    decision = example_access.ask(
        principal,
        "bedrock:InvokeModel",
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0",
        [_guardrail(example, f"claims-{environment}-genai")],
    )
    assert decision.decision == expected, decision.reasons


def _two_small_orgs(tmp_path: Path, change: dict[str, Any]) -> tuple[Synthesized, Synthesized]:
    data = yaml.safe_load(EXAMPLE.read_text())
    only_lobs(data, [data["lobs"][1]])
    data["lobs"][0]["environments"] = {"prod": data["lobs"][0]["environments"]["prod"]}
    changed = copy.deepcopy(data)
    changed["guardrails"] |= change
    out = []
    for index, variant in enumerate((data, data, changed)):
        path = tmp_path / f"org{index}.yaml"
        path.write_text(yaml.safe_dump(variant))
        out.append(synthesize_org(OrgConfig.model_validate(variant), tmp_path / f"out{index}"))
    return out[0], out[1], out[2]  # type: ignore[return-value]


def test_guardrail_version_changes_when_the_policy_changes(tmp_path: Path) -> None:
    first, same, changed = _two_small_orgs(tmp_path, {"grounding_threshold": 0.8})

    def version_ids(synthesized: Synthesized) -> set[str]:
        template = synthesized.template("marketing-prod-genai")
        return set(template.find_resources("AWS::Bedrock::GuardrailVersion"))

    assert len(version_ids(first)) == 1
    assert version_ids(first) == version_ids(same)
    assert version_ids(first) != version_ids(changed)


def test_guardrail_is_encrypted_and_complete(example: Synthesized) -> None:
    example.template("claims-prod-genai").has_resource_properties(
        "AWS::Bedrock::Guardrail",
        {
            "Name": "example-corp-claims-prod",
            "KmsKeyArn": {
                "Fn::ImportValue": Match.string_like_regexp("claims-prod-security:.*DataKey")
            },
            "ContentPolicyConfig": {
                "FiltersConfig": Match.array_with(
                    [
                        {"Type": "HATE", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                        {
                            "Type": "PROMPT_ATTACK",
                            "InputStrength": "HIGH",
                            "OutputStrength": "NONE",
                        },
                    ]
                )
            },
            "SensitiveInformationPolicyConfig": {
                "PiiEntitiesConfig": Match.array_with(
                    [
                        {"Type": "EMAIL", "Action": "ANONYMIZE"},
                        {"Type": "US_SOCIAL_SECURITY_NUMBER", "Action": "BLOCK"},
                    ]
                )
            },
            "TopicPolicyConfig": {
                "TopicsConfig": [Match.object_like({"Name": "investment-advice", "Type": "DENY"})]
            },
            "WordPolicyConfig": {
                "WordsConfig": [{"Text": "confidential-project-aurora"}],
                "ManagedWordListsConfig": [{"Type": "PROFANITY"}],
            },
            "ContextualGroundingPolicyConfig": {
                "FiltersConfig": [
                    {"Type": "GROUNDING", "Threshold": 0.75},
                    {"Type": "RELEVANCE", "Threshold": 0.75},
                ]
            },
        },
    )


@pytest.mark.parametrize("env", ["interactive", "nonprod", "prod"])
def test_enforced_guardrail_in_every_environment(example: Synthesized, env: str) -> None:
    template = example.template(f"claims-{env}-genai")
    template.resource_count_is("AWS::Bedrock::EnforcedGuardrailConfiguration", 1)


def test_invocation_logging_in_every_lob_account(example: Synthesized) -> None:
    for placement in example.plan.lob_environments():
        example.template(f"{placement.key}-genai").has_resource_properties(
            "Custom::BedrockModelInvocationLogging",
            {
                "ServiceToken": {
                    "Fn::GetAtt": [Match.string_like_regexp("InvocationLogging"), "Arn"]
                },
                "LogGroupName": {
                    "Fn::ImportValue": Match.string_like_regexp(
                        f"{placement.key}-security:.*ModelInvocationLogs"
                    )
                },
                "BucketName": {
                    "Fn::ImportValue": Match.string_like_regexp(
                        f"{placement.key}-security:.*ModelInvocationArchive"
                    )
                },
                "KeyPrefix": "invocations/",
                "TextDelivery": "true",
                "ImageDelivery": "true",
                "EmbeddingDelivery": "true",
            },
        )


def test_logging_function_runs_outside_the_vpc_with_a_dead_letter_queue(
    example: Synthesized,
) -> None:
    """It calls Bedrock's control plane at deployment only: outside the VPC, no operational
    VPC pays a Bedrock API endpoint for it; each in-VPC rule is acknowledged with that reason."""
    template = example.template_json("marketing-nonprod-genai")
    [function] = [
        f
        for f in template["Resources"].values()
        if f["Type"] == "AWS::Lambda::Function"
        and f["Properties"]["Handler"]
        == "genai_constructs.handlers.invocation_logging.index.handler"
    ]
    properties = function["Properties"]
    assert "VpcConfig" not in properties
    assert properties["ReservedConcurrentExecutions"] == 2
    assert "TargetArn" in properties["DeadLetterConfig"]
    skipped = {check["id"] for check in function["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_117" in skipped
    acknowledged = {r["id"] for r in function["Metadata"]["cdk_nag"]["rules_to_suppress"]}
    assert {
        "NIST.800.53.R5-LambdaInsideVPC",
        "HIPAA.Security-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
    } <= acknowledged


def test_each_use_case_counts_its_tokens_and_a_budget_stops_its_answer_api(
    example: Synthesized,
) -> None:
    prod = example.template_json("claims-prod-genai")
    namespaces = {
        f["Properties"]["MetricTransformations"][0]["MetricNamespace"]
        for f in prod["Resources"].values()
        if f["Type"] == "AWS::Logs::MetricFilter"
    }
    assert "GenAIPlatform/claims-prod-genai/claims-assistant/observed" in namespaces
    budget_alarms = sorted(
        a["Properties"]["AlarmDescription"]
        for a in prod["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and "token budget" in a["Properties"]["AlarmDescription"]
    )
    assert budget_alarms == [
        "claims-assistant: 100 % of the day's token budget (2,000,000 tokens) used, its answer "
        "API refuses until 00:00 UTC",
        "claims-assistant: 80 % of the day's token budget (2,000,000 tokens) used",
    ]
    # The check may change the concurrency of the answer API's function, and nothing else's.
    concurrency = [
        statement["Resource"]
        for policy in prod["Resources"].values()
        if policy["Type"] == "AWS::IAM::Policy"
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:PutFunctionConcurrency" in statement["Action"]
    ]
    [answer_function] = [
        logical_id
        for logical_id, f in prod["Resources"].items()
        if f["Type"] == "AWS::Lambda::Function"
        and f["Properties"]["Handler"] == "genai_constructs.handlers.answer.index.handler"
    ]
    assert concurrency == [{"Fn::GetAtt": [answer_function, "Arn"]}]
    # A use case without an answer API: the alarms only.
    marketing = example.template_json("marketing-prod-genai")
    assert not [
        s
        for p in marketing["Resources"].values()
        if p["Type"] == "AWS::IAM::Policy"
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:PutFunctionConcurrency" in s["Action"]
    ]
    assert any(
        "campaign-copy: 100 % of the day's token budget"
        in a["Properties"].get("AlarmDescription", "")
        for a in marketing["Resources"].values()
    )


def test_alarms_on_interventions_and_oversized_prompts(example: Synthesized) -> None:
    template = example.template("claims-prod-genai")
    template.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": '?"INTERVENED" ?"guardrail_intervened"',
            "MetricTransformations": [Match.object_like({"MetricName": "GuardrailInterventions"})],
        },
    )
    template.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": "{ $.input.inputTokenCount > 8000 }",
            "MetricTransformations": [Match.object_like({"MetricName": "OversizedPrompts"})],
        },
    )
    alarms = {
        logical_id: alarm
        for logical_id, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
        if logical_id.startswith("InvocationLogging")
    }
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    assert len(alarms) == 2
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::ImportValue": Match.string_like_regexp("LogsKey")}},
    )


def test_invocation_archive_admits_bedrock_of_this_account_only(example: Synthesized) -> None:
    example.template("claims-prod-security").has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowBedrockInvocationLogDelivery",
                                "Principal": {"Service": "bedrock.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "666666666666"},
                                    "ArnLike": {
                                        "aws:SourceArn": "arn:aws:bedrock:eu-west-1:666666666666:*"
                                    },
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_inference_profiles_are_tagged_for_cost_attribution(example: Synthesized) -> None:
    template = example.template("research-nonprod-genai")
    template.has_resource_properties(
        "AWS::Bedrock::ApplicationInferenceProfile",
        {
            "InferenceProfileName": "research-nonprod-literature-review",
            "ModelSource": {
                "CopyFrom": (
                    "arn:aws:bedrock:eu-west-1:555555555557:inference-profile/eu.amazon.nova-lite-v1:0"
                )
            },
            "Tags": Match.array_with(
                [
                    {"Key": "cost-center", "Value": "CC-3003"},
                    {"Key": "environment", "Value": "nonprod"},
                    {"Key": "lob", "Value": "research"},
                    {"Key": "use-case", "Value": "literature-review"},
                ]
            ),
        },
    )
    profiles = set(template.find_resources("AWS::Bedrock::ApplicationInferenceProfile"))
    allowed = {
        r["Fn::GetAtt"][0]
        for _, s in _invoke_allows(template.to_json())
        for r in _as_list(s["Resource"])
        if isinstance(r, dict)
    }
    assert profiles == allowed


def test_prompts_are_versioned_and_encrypted(example: Synthesized) -> None:
    template = example.template("claims-interactive-genai")
    template.has_resource_properties(
        "AWS::Bedrock::Prompt",
        {
            "Name": "claims-interactive-summarize-claim",
            "CustomerEncryptionKeyArn": Match.any_value(),
            "Variants": [
                Match.object_like(
                    {
                        "ModelId": "amazon.nova-pro-v1:0",
                        "TemplateConfiguration": {
                            "Text": Match.object_like({"InputVariables": [{"Name": "claim"}]})
                        },
                    }
                )
            ],
        },
    )
    template.resource_count_is("AWS::Bedrock::PromptVersion", 1)


def test_knowledge_bases_on_each_vector_store_kind(example: Synthesized) -> None:
    claims = example.template("claims-prod-genai")
    claims.has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        {
            "StorageConfiguration": {
                "Type": "S3_VECTORS",
                "S3VectorsConfiguration": Match.any_value(),
            },
            "KnowledgeBaseConfiguration": {
                "Type": "VECTOR",
                "VectorKnowledgeBaseConfiguration": {
                    "EmbeddingModelArn": (
                        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"
                    )
                },
            },
        },
    )
    research = example.template("research-prod-genai")
    research.has_resource_properties(
        "AWS::Bedrock::KnowledgeBase",
        {
            "StorageConfiguration": {
                "Type": "OPENSEARCH_SERVERLESS",
                "OpensearchServerlessConfiguration": Match.object_like(
                    {"VectorIndexName": "bedrock-knowledge-base"}
                ),
            },
        },
    )
    example.template("research-interactive-genai").resource_count_is(
        "AWS::Bedrock::KnowledgeBase", 0
    )
    example.template("claims-prod-data").resource_count_is("AWS::S3Vectors::Index", 1)
    data = example.template("research-prod-data")
    data.has_resource_properties(
        "AWS::OpenSearchServerless::Collection",
        {"Name": "research-prod-studies", "Type": "VECTORSEARCH", "StandbyReplicas": "ENABLED"},
    )
    example.template("research-nonprod-data").has_resource_properties(
        "AWS::OpenSearchServerless::Collection", {"StandbyReplicas": "DISABLED"}
    )


def test_knowledge_base_role_has_no_wildcard_resource(example: Synthesized) -> None:
    checked = 0
    for stack in ("claims-prod-genai", "research-prod-genai"):
        template = example.template_json(stack)
        for logical_id, _, document in _policy_documents(template):
            # The ingestion state machine's role is not the knowledge base's (tests/test_rag.py).
            if not logical_id.startswith("KnowledgeBase") or "Ingestion" in logical_id:
                continue
            for statement in document["Statement"]:
                checked += 1
                assert "*" not in _as_list(statement["Resource"]), (stack, statement)
                assert not any(a.endswith(":*") for a in _as_list(statement["Action"]))
    assert checked >= 10


def test_knowledge_base_reads_one_prefix_of_the_curated_zone(example: Synthesized) -> None:
    template = example.template_json("claims-nonprod-genai")
    statements = {
        statement.get("Sid"): statement
        for logical_id, _, document in _policy_documents(template)
        if logical_id.startswith("KnowledgeBasePolicies")
        for statement in document["Statement"]
    }
    assert statements["ReadTheSourcePrefix"]["Action"] == "s3:GetObject"
    assert statements["ReadTheSourcePrefix"]["Resource"] == {
        "Fn::Join": [
            "",
            [{"Fn::ImportValue": "claims-nonprod-data-curated-bucket-arn"}, "/policies/*"],
        ]
    }
    assert statements["ListTheSourcePrefix"]["Condition"] == {
        "StringLike": {"s3:prefix": ["policies/*"]}
    }
    assert statements["EmbedWithTheCatalogModel"]["Resource"] == (
        "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"
    )


def test_no_platform_principal_gets_vector_store_access(example: Synthesized) -> None:
    for placement in example.plan.lob_environments():
        for layer in ("data", "genai"):
            template = example.template_json(f"{placement.key}-{layer}")
            for resource in template["Resources"].values():
                if resource["Type"] != "AWS::OpenSearchServerless::AccessPolicy":
                    continue
                text = str(resource["Properties"]["Policy"])
                for platform_account in ("111111111111", "222222222222", "333333333333"):
                    assert platform_account not in text


def test_invocation_log_stores_are_retained_in_operational_environments(
    example: Synthesized,
) -> None:
    resources = example.template_json("claims-prod-security")["Resources"]
    stores = {
        k: v
        for k, v in resources.items()
        if k.startswith("ModelInvocation")
        and v["Type"] in ("AWS::Logs::LogGroup", "AWS::S3::Bucket")
    }
    assert {v["Type"] for v in stores.values()} == {"AWS::Logs::LogGroup", "AWS::S3::Bucket"}
    assert all(v["DeletionPolicy"] == "Retain" for v in stores.values())


def test_the_boundary_denies_unguarded_invocation_by_any_role(example: Synthesized) -> None:
    template = example.template("claims-interactive-foundation")
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "ManagedPolicyName": "example-corp-permissions-boundary",
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "DenyModelInvocationWithoutGuardrail",
                            "Effect": "Deny",
                            "Action": sorted(INVOKE),
                            "NotResource": (
                                "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0"
                            ),
                            "Condition": {
                                "StringNotLike": {
                                    "bedrock:GuardrailIdentifier": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                ":bedrock:*:",
                                                {"Ref": "AWS::AccountId"},
                                                ":guardrail/*",
                                            ],
                                        ]
                                    }
                                }
                            },
                        }
                    ]
                )
            },
        },
    )


def schedules(template: dict[str, Any]) -> list[str]:
    return [
        rule["Properties"]["ScheduleExpression"]
        for rule in template["Resources"].values()
        if rule["Type"] == "AWS::Events::Rule"
        and rule["Properties"].get("Description", "").startswith("Evaluates the answers of")
    ]


def test_in_prod_the_answers_are_evaluated_on_a_schedule_and_watched(
    example: Synthesized,
) -> None:
    """The answer API's four alarms everywhere; the scheduled evaluation and its two alarms in
    prod only."""
    prod = example.template_json("claims-prod-genai")
    nonprod = example.template_json("claims-nonprod-genai")
    assert schedules(prod) == ["rate(7 days)"]
    assert schedules(nonprod) == []

    def watched(template: dict[str, Any]) -> set[str]:
        return {
            alarm["Properties"]["AlarmDescription"].split(": ", 1)[1]
            for alarm in template["Resources"].values()
            if alarm["Type"] == "AWS::CloudWatch::Alarm"
            and alarm["Properties"]["AlarmDescription"].startswith("claims-assistant: ")
            and "token budget" not in alarm["Properties"]["AlarmDescription"]
        }

    answers = {
        "the guardrail stopped 25% or more of the answers of the last hour",
        "25% or more of the questions of the last hour found no passage",
        "5 or more answers failed in five minutes",
        "the p90 answer took 20000 ms or more",
        "the answer function crashed or timed out",
        # claims-assistant's record asks for human review
        "an answer that needs review could not be left for review",
    }
    evaluations = {
        "an evaluation of its answers scored under a threshold (the report is in the artifacts "
        "zone)",
        "an evaluation of its answers failed to run",
    }
    assert watched(nonprod) == answers
    assert watched(prod) == answers | evaluations
