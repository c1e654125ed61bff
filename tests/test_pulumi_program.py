"""The Pulumi program on the example organization, run against Pulumi's mock engine.

No Pulumi CLI and no AWS: ``pulumi.runtime.set_mocks`` stands in for the engine, and a
recording monitor keeps every resource registration as the engine would receive it, options
(provider, depends_on, protect) included.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from blueprint.assembly.reader import AssemblyStack, read_assembly
from blueprint.deploy.pulumi_program import deploy_assembly
from tests.conftest import REPO, Synthesized

PROGRAM = REPO / "deploy" / "pulumi" / "__main__.py"
PROJECT = "genai-platform"
STACK = "aws:cloudformation/stack:Stack"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
PROVIDER = "pulumi:providers:aws"
CUSTOM_ROLE = "platform-deployer-{region}"
INLINE_TEMPLATE_LIMIT = 51_200  # bytes, CloudFormation's limit for TemplateBody

# Importing pulumi_aws.s3 warns about its own deprecated classes, none of which is used here.
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")


@dataclass(frozen=True)
class Registration:
    """One resource as the engine received it; resource references are by logical name."""

    type: str
    name: str
    state: dict[str, Any]
    provider: str
    dependencies: frozenset[str]
    protect: bool


class FakeCloud(pulumi.runtime.Mocks):
    """Every resource gets id ``<name>-id``; CloudFormation stacks get one fake output."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = {"outputs": {"StackName": args.name}} if args.typ == STACK else {}
        return f"{args.name}-id", {**args.inputs, **outputs}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """The mock engine, also keeping what ``MockResourceArgs`` lacks: dependencies, protect."""

    def __init__(self) -> None:
        super().__init__(FakeCloud())
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    state=self.resources[response.urn].state,
                    provider=request.provider.split("::")[3] if request.provider else "",
                    dependencies=frozenset(urn.split("::")[-1] for urn in request.dependencies),
                    protect=request.protect,
                )
            )
        return response

    def of_type(self, resource_type: str) -> dict[str, Registration]:
        return {r.name: r for r in self.registrations if r.type == resource_type}

    def objects(self) -> dict[tuple[str, str], Registration]:
        """The uploaded S3 objects by (bucket, key)."""
        return {(r.state["bucket"], r.state["key"]): r for r in self.of_type(OBJECT).values()}


@pytest.fixture
def engine() -> Iterator[RecordingMonitor]:
    """A fresh mock engine and root stack: Pulumi's runtime settings are process-wide."""
    monitor = RecordingMonitor()
    pulumi.runtime.reset_options()
    pulumi.runtime.set_mocks(FakeCloud(), project=PROJECT, preview=False, monitor=monitor)
    yield monitor
    pulumi.runtime.reset_options()


def run(program: Callable[[], object]) -> dict[str, Any]:
    """Run ``program`` until the engine has every registration; returns the resolved exports."""
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def run_on_mock_engine() -> pulumi.Output[None]:
        program()
        root = pulumi.runtime.get_root_resource()
        return pulumi.Output.all(**root.outputs).apply(exports.update)

    run_on_mock_engine()
    return exports


@pytest.fixture
def assembly(example: Synthesized) -> dict[str, AssemblyStack]:
    return {stack.name: stack for stack in read_assembly(example.outdir).stacks}


@pytest.fixture
def deployed(example: Synthesized, engine: RecordingMonitor) -> dict[str, Any]:
    """The example organization deployed with the default role names; returns the exports."""
    return run(lambda: deploy_assembly(example.outdir))


def provider_name(stack: AssemblyStack) -> str:
    return f"aws-{stack.account}-{stack.region}"


def too_large_inline(stack: AssemblyStack) -> bool:
    return stack.template_path.stat().st_size > INLINE_TEMPLATE_LIMIT


def uploads(stack: AssemblyStack) -> bool:
    """Whether the stack has anything to upload: code assets or a template too large inline."""
    return bool(stack.code_assets) or too_large_inline(stack)


def bootstrap_role_arn(stack: AssemblyStack, role: str) -> str:
    return f"arn:aws:iam::{stack.account}:role/cdk-genai-{role}-{stack.account}-{stack.region}"


def assumed_roles(provider: Registration) -> list[str]:
    return [role["roleArn"] for role in json.loads(provider.state["assumeRoles"])]


def assets_bucket(stack: AssemblyStack) -> str:
    return f"cdk-genai-assets-{stack.account}-{stack.region}"


def test_one_cloudformation_stack_per_assembly_stack(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    stacks = engine.of_type(STACK)
    assert len(assembly) == 59
    assert sum(r.type == STACK for r in engine.registrations) == len(stacks)
    assert set(stacks) == set(assembly)
    for name, registration in stacks.items():
        stack = assembly[name]
        assert registration.state["name"] == name
        assert registration.state["capabilities"] == [
            "CAPABILITY_IAM",
            "CAPABILITY_NAMED_IAM",
            "CAPABILITY_AUTO_EXPAND",
        ]
        assert registration.state.get("iamRoleArn") == stack.execution_role_arn
        assert registration.protect == stack.termination_protection
    assert any(stack.termination_protection for stack in assembly.values())


def test_default_roles_are_the_cdk_bootstrap_deploy_and_file_publishing_roles(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    providers = engine.of_type(PROVIDER)
    publishing = {f"{provider_name(s)}-publishing" for s in assembly.values() if uploads(s)}
    assert set(providers) == {provider_name(s) for s in assembly.values()} | publishing
    for stack in assembly.values():
        deployer = providers[provider_name(stack)]
        assert assumed_roles(deployer) == [bootstrap_role_arn(stack, "deploy-role")]
        if uploads(stack):
            publisher = providers[f"{provider_name(stack)}-publishing"]
            assert assumed_roles(publisher) == [bootstrap_role_arn(stack, "file-publishing-role")]


def test_program_takes_assembly_and_role_names_from_config(
    example: Synthesized,
    engine: RecordingMonitor,
    assembly: dict[str, AssemblyStack],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {
        f"{PROJECT}:assembly": str(example.outdir),
        f"{PROJECT}:roleName": CUSTOM_ROLE,
        f"{PROJECT}:publishingRoleName": CUSTOM_ROLE,
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    run(lambda: runpy.run_path(str(PROGRAM), run_name="__main__"))

    # One role for both deploying and publishing: one provider per account and region.
    providers = engine.of_type(PROVIDER)
    environments = {(stack.account, stack.region) for stack in assembly.values()}
    # The governance account holds a metrics sink in each LOB region; the hub is one more.
    assert len(environments) == 14
    assert len({account for account, _ in environments}) == 13
    assert set(providers) == {f"aws-{account}-{region}" for account, region in environments}
    for account, region in environments:
        provider = providers[f"aws-{account}-{region}"]
        assert provider.state["region"] == region
        assert json.loads(provider.state["allowedAccountIds"]) == [account]
        role_arn = f"arn:aws:iam::{account}:role/platform-deployer-{region}"
        assert assumed_roles(provider) == [role_arn]
    assert set(engine.of_type(STACK)) == set(assembly)
    assert {r.provider for r in engine.of_type(OBJECT).values()} <= set(providers)


def test_every_resource_uses_the_provider_of_its_account(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    for name, registration in engine.of_type(STACK).items():
        assert registration.provider == provider_name(assembly[name])
    publisher = {assets_bucket(s): f"{provider_name(s)}-publishing" for s in assembly.values()}
    for (bucket, _), registration in engine.objects().items():
        assert registration.provider == publisher[bucket]
    providers = engine.of_type(PROVIDER)
    for provider in providers.values():
        account = provider.name.split("-")[1]
        assert json.loads(provider.state["allowedAccountIds"]) == [account]
        assert all(f":iam::{account}:role/" in arn for arn in assumed_roles(provider))


def test_stacks_wait_for_exactly_their_assembly_dependencies(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    stacks = engine.of_type(STACK)
    waits_for = {name: r.dependencies & stacks.keys() for name, r in stacks.items()}
    assert "claims-interactive-security" in waits_for["claims-interactive-foundation"]
    assert "claims-prod-foundation" in waits_for["claims-prod-data"]
    deployed_edges = {(name, d) for name, needs in waits_for.items() for d in needs}
    assembly_edges = {(s.name, d) for s in assembly.values() for d in s.depends_on}
    assert assembly_edges
    assert deployed_edges == assembly_edges


def test_large_templates_are_uploaded_and_small_ones_passed_inline(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    stacks, objects = engine.of_type(STACK), engine.objects()
    large = {name for name, stack in assembly.items() if too_large_inline(stack)}
    assert large and large != set(assembly)
    for name, stack in assembly.items():
        state = stacks[name].state
        if name not in large:
            assert state["templateBody"] == stack.template_body
            assert "templateUrl" not in state
            continue
        assert "templateBody" not in state
        asset = stack.template_asset
        assert asset is not None and asset.bucket == assets_bucket(stack)
        url = f"https://{asset.bucket}.s3.{stack.region}.amazonaws.com/{asset.key}"
        assert state["templateUrl"] == url
        template_object = objects[(asset.bucket, asset.key)]
        assert Path(template_object.state["source"].path) == stack.template_path
        assert template_object.name in stacks[name].dependencies


def test_lambda_code_is_uploaded_where_the_template_expects_it_before_the_stack(
    deployed: dict[str, Any], engine: RecordingMonitor, assembly: dict[str, AssemblyStack]
) -> None:
    stacks, objects = engine.of_type(STACK), engine.objects()
    with_code = set()
    for name, stack in assembly.items():
        for resource in stack.template["Resources"].values():
            code = resource.get("Properties", {}).get("Code", {})
            if resource["Type"] != "AWS::Lambda::Function" or "S3Key" not in code:
                continue
            with_code.add(name)
            code_object = objects[(code["S3Bucket"], code["S3Key"])]
            assert code["S3Bucket"] == assets_bucket(stack)
            assert isinstance(code_object.state["source"], pulumi.FileArchive)
            assert Path(code_object.state["source"].path).is_dir()
            assert code_object.name in stacks[name].dependencies
    genai = {name for name in assembly if name.endswith("-genai")}
    assert genai and genai <= with_code


def test_stack_outputs_are_exported(
    deployed: dict[str, Any], assembly: dict[str, AssemblyStack]
) -> None:
    assert deployed == {name: {"StackName": name} for name in assembly}
