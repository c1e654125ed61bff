"""RecipeImage: the recipe image's repository, its build and the state machine people start
it through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from conftest import new_stack
from genai_constructs.fine_tuning.jobs import training_image_uri
from genai_constructs.recipe_image import RecipeImage


def built(**overrides: Any) -> tuple[Template, RecipeImage]:
    stack = new_stack()
    arguments: dict[str, Any] = {
        "repository_name": "claims-training-recipe",
        "parameter_name": "/genai-platform/claims/nonprod/recipe-image/uri",
        "encryption_key": kms.Key(stack, "Key", enable_key_rotation=True),
        "log_retention": logs.RetentionDays.ONE_YEAR,
        **overrides,
    }
    image = RecipeImage(stack, "Recipe", **arguments)
    return Template.from_stack(stack), image


@pytest.fixture(scope="module")
def template() -> Template:
    return built()[0]


def test_the_repository_keeps_every_tag_scans_and_encrypts(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryName": "claims-training-recipe",
            "ImageTagMutability": "IMMUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": Match.any_value()},
        },
    )
    [repository] = template.find_resources("AWS::ECR::Repository").values()
    policy = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
    # Only untagged layers expire: a pinned image is never removed by a count of builds.
    assert [rule["selection"]["tagStatus"] for rule in policy["rules"]] == ["untagged"]


def test_the_build_uses_the_dockerfile_on_the_sagemaker_training_image(
    template: Template,
) -> None:
    [project] = template.find_resources("AWS::CodeBuild::Project").values()
    environment = project["Properties"]["Environment"]
    assert environment["PrivilegedMode"] is True
    variables = {v["Name"]: v["Value"] for v in environment["EnvironmentVariables"]}
    assert variables["BASE_IMAGE"] == training_image_uri("eu-west-1", "ml.g5.2xlarge")
    assert variables["PARAMETER"] == "/genai-platform/claims/nonprod/recipe-image/uri"
    assert project["Properties"]["Source"]["Type"] == "S3"
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    commands = " ".join(c for phase in spec["phases"].values() for c in phase["commands"])
    assert "docker build --build-arg BASE_IMAGE=" in commands
    assert 'aws ssm put-parameter --name "$PARAMETER"' in commands
    assert '"$REPOSITORY_URI@$DIGEST"' in commands


def test_the_state_machine_starts_the_project_with_no_overrides(template: Template) -> None:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["StateMachineName"] == "claims-training-recipe-build"
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    [state] = json.loads(text)["States"].values()
    assert state["Resource"].endswith(":states:::aws-sdk:codebuild:startBuild")
    assert state["Parameters"] == {"ProjectName": "TOKEN"}


def test_grant_build_names_the_state_machine_only() -> None:
    _, image = built()
    role = iam.Role(image, "Engineer", assumed_by=iam.AccountRootPrincipal())
    grant = image.grant_build(role)
    statement = grant.principal_statement
    assert statement is not None
    assert statement.actions == ["states:StartExecution"]


def test_a_bad_repository_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'Claims_Recipe' is not an ECR repository name"):
        built(repository_name="Claims_Recipe")
