"""A fine-tuned model's path on the example's templates, hop by hop: the nonprod pipeline's
merged output, its registry, the approval forwarded to prod, prod's own approval, the release
function and the prod endpoint's model data location. Each hop's access is a journey of the
catalog, answered by the evaluator; what the function does at runtime is in
constructs/tests/test_model_release_handler.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blueprint.assembly.access.catalog import load_catalog, run_catalog
from blueprint.assembly.access.question import Questions
from tests.conftest import Synthesized, joined

NONPROD, PROD = "555555555555", "666666666666"
MODEL = "claims-summarizer"
BUS = "example-corp-model-releases"
RELEASE_ROLE = f"arn:aws:iam::{PROD}:role/example-corp-model-release"
STATE_CHANGE = "SageMaker Model Package State Change"

Json = dict[str, Any]


def resources(example: Synthesized, stack: str, kind: str) -> dict[str, Json]:
    return {
        logical_id: resource
        for logical_id, resource in example.template_json(stack)["Resources"].items()
        if resource["Type"] == kind
    }


def only(found: dict[str, Json]) -> tuple[str, Json]:
    [(logical_id, resource)] = found.items()
    return logical_id, resource


def state_change_rules(example: Synthesized, stack: str) -> list[Json]:
    return [
        rule["Properties"]
        for rule in resources(example, stack, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventPattern", {}).get("detail-type") == [STATE_CHANGE]
    ]


def test_hop_1_the_pipeline_registers_its_merged_weights(example: Synthesized) -> None:
    pipelines = resources(example, "claims-nonprod-ml", "AWS::SageMaker::Pipeline")
    _, pipeline = only(
        {k: p for k, p in pipelines.items() if p["Properties"]["PipelineName"] == MODEL}
    )
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    steps = {step["Name"]: step for step in json.loads(joined(body))["Steps"]}
    [merged] = steps["MergeAdapter"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    runs, kind, execution = merged["S3Output"]["S3Uri"]["Std:Join"]["Values"]
    assert (runs.endswith(f"/pipelines/{MODEL}"), kind) == (True, "merged")
    assert execution == {"Get": "Execution.PipelineExecutionId"}
    register = steps["EvaluationGate"]["Arguments"]["IfSteps"][0]["Arguments"]
    source = register["InferenceSpecification"]["Containers"][0]["ModelDataSource"]
    assert source["S3DataSource"]["S3Uri"]["Std:Join"]["Values"][0] == {
        "Get": "Steps.MergeAdapter.ProcessingOutputConfig.Outputs['merged'].S3Output.S3Uri"
    }
    assert register["ModelPackageGroupName"] == MODEL
    _, group = only(resources(example, "claims-nonprod-ml", "AWS::SageMaker::ModelPackageGroup"))
    assert group["Properties"]["ModelPackageGroupName"] == MODEL


def test_hop_2_the_registry_admits_prods_release_role_only(example: Synthesized) -> None:
    _, group = only(resources(example, "claims-nonprod-ml", "AWS::SageMaker::ModelPackageGroup"))
    [statement] = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [RELEASE_ROLE]}}


def test_hop_3_an_approval_is_forwarded_to_prods_release_bus(example: Synthesized) -> None:
    [forward] = [
        rule
        for rule in state_change_rules(example, "claims-nonprod-ml")
        if rule["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved"]
    ]
    assert forward["EventPattern"]["detail"]["ModelPackageGroupName"] == [MODEL]
    bus_arn = f"arn:aws:events:eu-west-1:{PROD}:event-bus/{BUS}"
    [target] = [t for t in forward["Targets"] if t["Arn"] == bus_arn]
    assert "RoleArn" in target
    _, bus = only(resources(example, "claims-prod-ml", "AWS::Events::EventBus"))
    assert bus["Properties"]["Name"] == BUS
    [grant] = bus["Properties"]["Policy"]["Statement"]
    assert grant["Principal"] == {"AWS": f"arn:aws:iam::{NONPROD}:root"}
    assert grant["Action"] == "events:PutEvents"
    assert grant["Resource"] == bus_arn


def test_hop_4_prod_stages_the_release_and_releases_on_its_own_approval(
    example: Synthesized,
) -> None:
    rules = state_change_rules(example, "claims-prod-ml")
    staged = next(r for r in rules if r["EventPattern"]["account"] == [NONPROD])
    decided = next(r for r in rules if r["EventPattern"]["account"] == [PROD])
    assert staged["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved"]
    assert "EventBusName" in staged
    assert decided["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    assert "EventBusName" not in decided  # this account's own default bus
    functions = resources(example, "claims-prod-ml", "AWS::Lambda::Function")
    release_id = next(
        logical_id
        for logical_id, function in functions.items()
        if function["Properties"]["Handler"].endswith("model_release.index.handler")
    )
    for rule in (staged, decided):
        assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [release_id, "Arn"]}
    _, group = only(resources(example, "claims-prod-ml", "AWS::SageMaker::ModelPackageGroup"))
    assert group["Properties"]["ModelPackageGroupName"] == MODEL


def test_hop_5_the_prod_endpoint_serves_what_the_function_releases(example: Synthesized) -> None:
    functions = resources(example, "claims-prod-ml", "AWS::Lambda::Function")
    [config] = [
        f["Properties"]["Environment"]["Variables"]["RELEASE_CONFIG"]
        for f in functions.values()
        if "RELEASE_CONFIG" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    text = json.dumps(config)
    assert f'\\"registry_account\\":\\"{NONPROD}\\"' in text
    assert '\\"second_approval\\":true' in text
    assert f'\\"releases\\":\\"models/{MODEL}/releases/\\"' in text
    assert f'\\"serving\\":\\"models/{MODEL}/serving/\\"' in text
    models = resources(example, "claims-prod-ml", "AWS::SageMaker::Model")
    [location] = [
        m["Properties"]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"]
        for m in models.values()
    ]
    assert json.dumps(location).endswith(f'/models/{MODEL}/serving/"]]}}')


HOPS = {
    "claims-nonprod": [
        "pipeline-records-its-evaluation",
        "ml-engineer-approves-a-model-package",
        "prod-release-reads-the-registry",
        "prod-release-reads-merged-models",
        "prod-release-lists-merged-models",
        "prod-release-decrypts-merged-models-through-s3",
    ],
    "claims-prod": [
        "release-writes-its-releases",
        "release-stages-prod-packages",
        "ml-engineer-approves-prod-releases",
        "release-updates-its-endpoints",
        "endpoints-load-their-releases",
    ],
}


@pytest.mark.parametrize("placement", sorted(HOPS))
def test_every_hop_is_a_journey_the_evaluator_allows(
    placement: str, example: Synthesized, example_access: Questions
) -> None:
    entries = [entry for entry in load_catalog() if entry.id in HOPS[placement]]
    assert sorted(entry.id for entry in entries) == sorted(HOPS[placement])
    outcomes = [
        outcome
        for outcome in run_catalog(example_access.world, example.plan, entries)
        if outcome.query.placement == placement
    ]
    decided = {(o.query.entry.id, o.decision.decision) for o in outcomes}
    assert decided == {(entry_id, "allow") for entry_id in HOPS[placement]}
