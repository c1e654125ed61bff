"""A persona is one record (blueprint/model/personas.py): adding one, here a prompt engineer,
gives it a role under the boundary where the record places it, a permission set its group
signs in with, a trust that admits only that sign-in role, validation of its assignments and
answers to its catalog entries, with no other change (docs/platform-engineers.md
"Adding a persona")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from blueprint.assembly.access.catalog import Entry, privilege_graph, run_catalog
from blueprint.assembly.access.doors import group_reach
from blueprint.assembly.access.question import Questions
from blueprint.assembly.reader import read_assembly
from blueprint.model import personas
from blueprint.model.fields import EnvironmentName
from blueprint.model.loader import load_config
from blueprint.model.personas import LOB_KINDS, Job, Persona
from tests.conftest import Synthesized, only_lobs, synthesize_org
from tests.test_config import example_data, problems

PROMPT_ENGINEER = Persona(
    name="prompt-engineer",
    description="Writes prompts and tries them on the approved models",
    managed_policies=("job-function/ViewOnlyAccess",),
    placed_in=LOB_KINDS,
    environments=frozenset({EnvironmentName.INTERACTIVE, EnvironmentName.NONPROD}),
    works_for_lob=True,
    jobs=(Job.CONFIGURATION_READS,),
)
GROUP = "claims-prompt-engineers"
CLAIMS_INTERACTIVE, CLAIMS_NONPROD, CLAIMS_PROD = "444444444444", "555555555555", "666666666666"
SIGN_IN_ROLE = "AWSReservedSSO_genai-prompt-engineer_0123456789abcdef"


def with_prompt_engineers(data: dict, **assignment: object) -> dict:
    identity = data["organization"]["identity"]
    identity["groups"][GROUP] = "9a6702d4-1011-70c3-5b7e-1f2a3b4c5d99"
    identity["assignments"].append({"group": GROUP, "persona": PROMPT_ENGINEER.name, **assignment})
    return data


@pytest.fixture(scope="module")
def added() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(personas, "PERSONAS", [*personas.PERSONAS, PROMPT_ENGINEER])
        yield


@pytest.fixture(scope="module")
def org(added: None, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    data = example_data()
    only_lobs(data, [lob for lob in data["lobs"] if lob["name"] == "claims"])
    with_prompt_engineers(data, lobs=["claims"])
    folder = tmp_path_factory.mktemp("prompt-engineers")
    path = folder / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return synthesize_org(load_config(path), folder / "cdk.out")


@pytest.fixture(scope="module")
def questions(org: Synthesized) -> Questions:
    return Questions(read_assembly(org.outdir), org.plan.config.organization)


def roles_named(org: Synthesized, stack: str, name: str) -> list[dict]:
    return [
        role
        for role in org.template(stack).find_resources("AWS::IAM::Role").values()
        if role["Properties"].get("RoleName") == name
    ]


def test_the_role_exists_where_the_record_places_it_under_the_boundary(
    org: Synthesized,
) -> None:
    for stack in ("claims-interactive-foundation", "claims-nonprod-foundation"):
        [role] = roles_named(org, stack, "example-corp-prompt-engineer")
        properties = role["Properties"]
        assert properties["Description"] == PROMPT_ENGINEER.description
        assert "PermissionsBoundary" in properties
        assert "job-function/ViewOnlyAccess" in str(properties["ManagedPolicyArns"])
    for stack in ("claims-prod-foundation", "platform-governance-foundation"):
        assert roles_named(org, stack, "example-corp-prompt-engineer") == []


def test_its_group_signs_in_and_becomes_it_and_nothing_else(
    org: Synthesized, questions: Questions
) -> None:
    permission_sets = org.template("organization-workforce").find_resources(
        "AWS::SSO::PermissionSet", {"Properties": {"Name": "genai-prompt-engineer"}}
    )
    assert len(permission_sets) == 1
    reaches = group_reach(privilege_graph(questions.world, org.plan), org.plan)
    assert [r.problems for r in reaches] == [()] * len(reaches)
    [reach] = [r for r in reaches if r.group == GROUP]
    assert (
        sorted(reach.assigned)
        == sorted(reach.reached)
        == [
            f"arn:aws:iam::{account}:role/example-corp-prompt-engineer"
            for account in (CLAIMS_INTERACTIVE, CLAIMS_NONPROD)
        ]
    )


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (f"{CLAIMS_NONPROD}:{SIGN_IN_ROLE}", "allow"),
        (f"{CLAIMS_NONPROD}:AWSReservedSSO_genai-ml-engineer_0123456789abcdef", "deny"),
        (f"{CLAIMS_NONPROD}:example-corp-platform-admin", "deny"),
    ],
)
def test_its_role_trusts_only_its_sign_in_role(
    questions: Questions, principal: str, expected: str
) -> None:
    role = f"arn:aws:iam::{CLAIMS_NONPROD}:role/example-corp-prompt-engineer"
    decision = questions.ask(principal, "sts:AssumeRole", role)
    assert decision.decision == expected, decision.reasons


ENTRIES = [
    Entry(
        id="prompt-engineer-reads-prompts",
        expect="allow",
        environments=[EnvironmentName.INTERACTIVE, EnvironmentName.NONPROD],
        principal="persona/prompt-engineer",
        action="bedrock:GetPrompt",
        resource="prompt/*",
        why="Its configuration reads job lets it read the managed prompts.",
    ),
    Entry(
        id="prompt-engineer-invokes-an-approved-model",
        expect="allow",
        environments=[EnvironmentName.INTERACTIVE, EnvironmentName.NONPROD],
        principal="persona/prompt-engineer",
        action="bedrock:InvokeModel",
        resource="model/approved",
        context={"bedrock:GuardrailIdentifier": "guardrail"},
        why="Working for the LOB, it calls the approved models through the guardrail.",
    ),
    Entry(
        id="prompt-engineer-reads-raw-data",
        expect="deny",
        environments=[EnvironmentName.INTERACTIVE, EnvironmentName.NONPROD],
        principal="persona/prompt-engineer",
        action="s3:GetObject",
        resource="object/raw",
        why="Nothing in its record grants data; no chain of roles reaches it either.",
    ),
    Entry(
        id="prompt-engineer-becomes-the-ml-engineer",
        expect="deny",
        environments=[EnvironmentName.INTERACTIVE, EnvironmentName.NONPROD],
        principal="persona/prompt-engineer",
        action="sts:AssumeRole",
        resource="role/ml-engineer",
        why="A persona role becomes no other persona.",
    ),
]


def test_its_catalog_entries_hold(org: Synthesized, questions: Questions) -> None:
    outcomes = run_catalog(questions.world, org.plan, ENTRIES)
    asked = {outcome.query.entry.id for outcome in outcomes}
    assert asked == {entry.id for entry in ENTRIES}
    assert [o for o in outcomes if not o.matches] == []


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        (
            {"lobs": ["claims"], "environments": ["prod"]},
            "organization.identity.assignments[9].environments[0]: the prompt-engineer persona "
            "exists only in interactive, nonprod environments; allowed: interactive, nonprod "
            "(got prod)",
        ),
        (
            {"platform": True},
            "organization.identity.assignments[9].platform: the prompt-engineer persona exists "
            "only in LOB environments; allowed: lobs",
        ),
    ],
)
def test_validation_reads_where_the_record_places_it(
    added: None, tmp_path: Path, assignment: dict, expected: str
) -> None:
    data = with_prompt_engineers(example_data(), **assignment)
    assert problems(data, tmp_path) == [expected]
