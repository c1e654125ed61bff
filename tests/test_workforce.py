"""Workforce identity: Identity Center permission sets and group assignments, break-glass
roles, per-person Studio, and what each group becomes through every chain."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from blueprint.assembly.access.catalog import load_catalog, privilege_graph, run_catalog
from blueprint.assembly.access.doors import group_reach
from blueprint.assembly.access.question import Questions
from blueprint.assembly.access.symbols import text
from blueprint.assembly.reader import read_assembly
from blueprint.model import names
from blueprint.model.workforce import sign_ins
from tests.access_worlds import ALICE, allow, deny, role
from tests.conftest import Synthesized, joined
from tests.test_access_catalog import copy_assembly, edit_template
from tests.test_access_evaluator import OBJECT, one_account
from tests.test_config import example_data, problems

Json = dict[str, Any]
USER, TAG = "genai-user", "aws:PrincipalTag/genai-user"


# --- the organization file --------------------------------------------------------------


def identity_edited(change: Any) -> dict:
    data = example_data()
    change(data["organization"]["identity"])
    return data


def assignment(**fields: Any) -> Any:
    return lambda identity: identity["assignments"].append(fields)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            assignment(group="nobody", persona="auditor", platform=True),
            "organization.identity.assignments[9].group: unknown group 'nobody'; allowed: ",
        ),
        (
            assignment(group="genai-auditors", persona="auditor", lobs=["payments"]),
            "organization.identity.assignments[9].lobs[0]: unknown LOB 'payments'; allowed: "
            "claims, marketing, research",
        ),
        (
            assignment(
                group="claims-data-scientists",
                persona="data-scientist",
                lobs=["claims"],
                environments=["prod"],
            ),
            "organization.identity.assignments[9].environments[0]: the data-scientist persona "
            "exists only in interactive environments; allowed: interactive (got prod)",
        ),
        (
            assignment(group="genai-auditors", persona="release-approver", lobs=["claims"]),
            "organization.identity.assignments[9].lobs: the release-approver persona exists only "
            "in the platform's accounts; allowed: platform: true",
        ),
        (
            assignment(group="genai-auditors", persona="ml-engineer", platform=True),
            "organization.identity.assignments[9].platform: the ml-engineer persona exists only "
            "in LOB environments; allowed: lobs",
        ),
        (
            assignment(group="genai-auditors", persona="auditor"),
            "organization.identity.assignments[9]: the assignment selects no account; allowed: "
            "lobs (and environments), platform",
        ),
        (
            assignment(group="genai-auditors", persona="auditor", environments=["prod"]),
            "organization.identity.assignments[9].environments: environments need lobs; "
            "allowed: lobs",
        ),
        (
            lambda identity: identity.update(break_glass={"group": "firefighters"}),
            "organization.identity.break_glass.group: unknown group 'firefighters'; allowed: ",
        ),
        (
            lambda identity: identity.update(admin_account="123456789012"),
            "organization.identity.admin_account: 123456789012 is not an account of this "
            "organization; allowed: the management account or another account the file names",
        ),
        (
            lambda identity: identity["groups"].update(
                {"copy": identity["groups"]["genai-auditors"]}
            ),
            "organization.identity.groups.copy: the group ID 9a6702d4-1011-70c3-5b7e-"
            "1f2a3b4c5d02 is given to more than one group; allowed: each group its own ID",
        ),
        (
            assignment(group="genai-auditors", persona="architect", platform=True),
            "organization.identity.assignments[9].persona: unknown persona 'architect'; allowed: "
            "platform-admin, data-scientist, ml-engineer, auditor, release-approver",
        ),
        (
            lambda identity: identity.update(instance_arn="ssoins-123"),
            "organization.identity.instance_arn: 'ssoins-123' is not an Identity Center "
            "instance ARN",
        ),
    ],
)
def test_identity_problems_name_the_yaml_path(change: Any, expected: str, tmp_path: Path) -> None:
    found = problems(identity_edited(change), tmp_path)
    assert any(line.startswith(expected) for line in found), found


def test_an_lob_without_the_environment_is_named(tmp_path: Path) -> None:
    data = identity_edited(
        assignment(
            group="genai-auditors", persona="auditor", lobs=["claims"], environments=["prod"]
        )
    )
    del data["lobs"][0]["environments"]["prod"]
    found = problems(data, tmp_path)
    assert (
        "organization.identity.assignments[9].environments: LOB claims has no prod "
        "environment; allowed: interactive, nonprod"
    ) in found, found


def test_an_assignment_to_an_lob_where_the_persona_does_not_exist_is_refused(
    tmp_path: Path,
) -> None:
    data = identity_edited(
        assignment(group="genai-auditors", persona="data-scientist", lobs=["claims"])
    )
    del data["lobs"][0]["environments"]["interactive"]
    found = problems(data, tmp_path)
    assert (
        "organization.identity.assignments[9].lobs[0]: LOB claims has no environment where the "
        "data-scientist persona exists (only interactive), so the assignment selects nothing "
        "there; allowed: an LOB with such an environment"
    ) in found, found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda identity: identity["groups"].update({12345: "9a6702d4-1011-70c3-5b7e-00"}),
            "organization.identity.groups[12345]: 12345 must be quoted text",
        ),
        (
            assignment(group="genai-auditors", persona="auditor", lobs=[["claims"]]),
            "organization.identity.assignments[9].lobs[0]: ['claims'] must be quoted text",
        ),
        (
            assignment(group="genai-auditors", persona="auditor", platform="yes"),
            "organization.identity.assignments[9].platform: input should be a valid boolean",
        ),
    ],
)
def test_values_of_the_wrong_type_are_problems_not_crashes(
    change: Any, expected: str, tmp_path: Path
) -> None:
    found = problems(identity_edited(change), tmp_path)
    assert any(line.startswith(expected) for line in found), found


def test_studio_users_are_one_profile_per_person(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["ml"]["studio"]["users"] = ["alice", {"name": "ana", "user_name": "alice"}]
    found = problems(data, tmp_path)
    assert any(
        "users repeat the user_name alice; allowed: one profile per person" in f for f in found
    )


def test_shared_spaces_are_owned_by_users_and_named_once(tmp_path: Path) -> None:
    data = example_data()
    data["lobs"][0]["ml"]["studio"]["shared_spaces"] = [
        {"name": "review", "owner": "zoe"},
        {"name": "review", "owner": "alice"},
    ]
    found = problems(data, tmp_path)
    assert any(
        "lobs[claims].ml.studio: shared_spaces repeat the name review; allowed: one space per "
        "name" in f
        for f in found
    ), found
    data["lobs"][0]["ml"]["studio"]["shared_spaces"] = [{"name": "review", "owner": "zoe"}]
    found = problems(data, tmp_path)
    assert any(
        "lobs[claims].ml.studio: shared_spaces are owned by zoe, who are not users; allowed: "
        "alice, bruno" in f
        for f in found
    ), found


def test_sign_ins_follow_the_assignments(example: Synthesized) -> None:
    found = sign_ins(example.plan)
    data_scientists = [s for s in found if s.group == "claims-data-scientists"]
    assert [(s.placement, s.persona) for s in data_scientists] == [
        ("claims-interactive", "data-scientist")
    ]
    research = {s.placement for s in found if s.group == "research-ml-engineers"}
    assert research == {"research-interactive", "research-nonprod"}
    approvers = {s.placement for s in found if s.group == "genai-release-approvers"}
    assert approvers == {"platform-tooling"}
    accounts = {p.account for p in example.plan.placements}
    assert {s.account for s in found if s.persona == "break-glass"} == accounts


# --- templates ----------------------------------------------------------------------------


def test_each_permission_set_only_becomes_its_persona(example: Synthesized) -> None:
    template = example.template(names.WORKFORCE_STACK)
    sets = template.find_resources("AWS::SSO::PermissionSet")
    by_name = {s["Properties"]["Name"]: s["Properties"] for s in sets.values()}
    assert set(by_name) == {
        "genai-platform-admin",
        "genai-auditor",
        "genai-release-approver",
        "genai-data-scientist",
        "genai-ml-engineer",
        "genai-data-engineer",
        "genai-break-glass",
    }
    for name, properties in by_name.items():
        statements = properties["InlinePolicy"]["Statement"]
        assert {s["Action"] for s in statements} == {"sts:AssumeRole", "sts:TagSession"}
        persona = name.removeprefix("genai-")
        for statement in statements:
            assert [joined(arn) for arn in statement["Resource"]] == [
                f"arn:<AWS::Partition>:iam::*:role/example-corp-{persona}"
            ], name
        assert "ManagedPolicies" not in properties and properties["SessionDuration"] == "PT1H"
    assignments = template.find_resources("AWS::SSO::Assignment")
    assert len(assignments) == len(sign_ins(example.plan))
    template.has_resource_properties(
        "AWS::SSO::Assignment",
        {
            "PrincipalType": "GROUP",
            "PrincipalId": "9a6702d4-1011-70c3-5b7e-1f2a3b4c5d11",
            "TargetType": "AWS_ACCOUNT",
            "TargetId": "444444444444",
        },
    )
    template.has_resource_properties(
        "AWS::SSO::InstanceAccessControlAttributeConfiguration",
        {
            "AccessControlAttributes": [
                {"Key": "genai-user", "Value": {"Source": ["${path:userName}"]}}
            ]
        },
    )
    manifest = example.assembly.get_stack_by_name(names.WORKFORCE_STACK)
    assert manifest.environment.account == example.plan.config.organization.management_account


def test_persona_roles_let_only_the_signed_in_person_tag_the_session(
    example: Synthesized,
) -> None:
    template = example.template("claims-interactive-foundation")
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "example-corp-data-scientist",
            "AssumeRolePolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sts:TagSession",
                                "Condition": {
                                    "ArnLike": Match.any_value(),
                                    "StringEquals": {f"aws:RequestTag/{USER}": f"${{{TAG}}}"},
                                    "ForAllValues:StringEquals": {"aws:TagKeys": ["genai-user"]},
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


BREAK_GLASS_DOOR = "666666666666:AWSReservedSSO_genai-break-glass_0123456789abcdef"


@pytest.mark.parametrize(
    ("principal", "region", "expected"),
    [
        (BREAK_GLASS_DOOR, "eu-west-1", "allow"),
        # Elsewhere CloudTrail's event reaches no alarm rule: refused.
        (BREAK_GLASS_DOOR, "us-east-1", "deny"),
        ("666666666666:AWSReservedSSO_genai-ml-engineer_0123456789abcdef", "eu-west-1", "deny"),
        ("666666666666:example-corp-platform-admin", "eu-west-1", "deny"),
    ],
)
def test_break_glass_is_entered_only_by_its_group_where_its_alarm_listens(
    example_access: Questions, principal: str, region: str, expected: str
) -> None:
    decision = example_access.ask(
        principal,
        "sts:AssumeRole",
        "arn:aws:iam::666666666666:role/example-corp-break-glass",
        [f"aws:RequestedRegion={region}"],
    )
    assert decision.decision == expected, decision.reasons


def test_every_account_has_one_alarmed_break_glass_role(example: Synthesized) -> None:
    roles: dict[str, int] = {}
    for name in example.stack_names():
        template = example.template_json(name)
        found = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Role"
            and r["Properties"].get("RoleName", "").endswith("-break-glass")
        ]
        if found:
            account = example.assembly.get_stack_by_name(name).environment.account
            roles[account] = roles.get(account, 0) + len(found)
            assert "PermissionsBoundary" not in found[0]["Properties"]
    assert roles == {p.account: 1 for p in example.plan.placements}
    template = example.template("claims-interactive-foundation")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sts"],
                "detail": {"eventName": ["AssumeRole"], "requestParameters": Match.any_value()},
                "detail-type": ["AWS API Call via CloudTrail"],
            },
            # CloudTrail marks AssumeRole read-only: only this state delivers it.
            "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            "Targets": [Match.object_like({"Arn": Match.any_value()})],
        },
    )
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Endpoint": "genai-platform@example.com", "Protocol": "email"}
    )


def test_studio_profiles_carry_their_owner(example: Synthesized) -> None:
    template = example.template("claims-interactive-ml")
    for name, owner in (("alice", "alice"), ("bruno", "bruno.costa@example.com")):
        template.has_resource_properties(
            "AWS::SageMaker::UserProfile",
            {
                "UserProfileName": name,
                "Tags": Match.array_with([{"Key": "genai-user", "Value": owner}]),
            },
        )


# --- who each group becomes ----------------------------------------------------------------


def test_each_group_becomes_its_persona_in_its_accounts_and_nobody_else(
    example: Synthesized, example_access: Questions
) -> None:
    reaches = group_reach(privilege_graph(example_access.world, example.plan), example.plan)
    assert [r.problems for r in reaches] == [()] * len(reaches)
    by_group = {r.group: r for r in reaches}
    assert set(by_group) == set(example.plan.config.organization.identity.groups)
    admins = by_group["genai-platform-admins"]
    assert set(admins.reached) == set(admins.assigned)
    assert len(by_group["genai-break-glass"].reached) > len(by_group["genai-break-glass"].assigned)


def mutated_reach(example: Synthesized, tmp_path: Path, *changes: tuple[str, Any]) -> list[str]:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    for stack, change in changes:
        edit_template(assembly, stack, change)
    questions = Questions(read_assembly(assembly), example.plan.config.organization)
    reaches = group_reach(privilege_graph(questions.world, example.plan), example.plan)
    return [problem for r in reaches for problem in r.problems]


def trust_the_ml_engineers_door(template: Json) -> None:
    """The data scientist's role also trusting the ML engineers' sign-in role."""
    for resource in template["Resources"].values():
        if resource["Properties"].get("RoleName") != "example-corp-data-scientist":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            text = json.dumps(statement)
            if 'AssumeRole"' in text and "AWSReservedSSO" in text:
                statement["Condition"] = json.loads(
                    text.replace("genai-data-scientist", "genai-*")
                )["Condition"]


def ml_engineers_assume_any_role(template: Json) -> None:
    for resource in template["Resources"].values():
        if resource["Properties"].get("Name") == "genai-ml-engineer":
            for statement in resource["Properties"]["InlinePolicy"]["Statement"]:
                statement["Resource"] = "*"


def test_a_role_that_trusts_another_door_is_a_problem(example: Synthesized, tmp_path: Path) -> None:
    found = mutated_reach(
        example,
        tmp_path,
        ("claims-interactive-foundation", trust_the_ml_engineers_door),
        (names.WORKFORCE_STACK, ml_engineers_assume_any_role),
    )
    assert any(
        "reaches data-scientist in claims-interactive (arn:aws:iam::444444444444:role/"
        "example-corp-data-scientist)" in problem
        for problem in found
    ), found


def group_outcomes(example: Synthesized, assembly: Path, *ids: str) -> dict[str, list[Any]]:
    entries = [entry for entry in load_catalog() if entry.id in ids]
    questions = Questions(read_assembly(assembly), example.plan.config.organization)
    outcomes: dict[str, list[Any]] = {entry_id: [] for entry_id in ids}
    for outcome in run_catalog(questions.world, example.plan, entries):
        outcomes[outcome.query.entry.id].append(outcome)
    return outcomes


def test_a_groups_journey_follows_sign_in_then_its_persona_role(example: Synthesized) -> None:
    found = group_outcomes(
        example,
        example.outdir,
        "group-data-scientists-open-their-studio",
        "group-release-approvers-approve-a-prod-release",
    )
    studios = {o.query.placement: o for o in found["group-data-scientists-open-their-studio"]}
    assert set(studios) == {"claims-interactive", "research-interactive"}
    studio = studios["claims-interactive"]
    assert studio.matches, studio.decision.reasons
    [hop] = studio.chain
    assert (hop.kind, hop.becomes) == ("assume-role", "444444444444:example-corp-data-scientist")
    approvals = found["group-release-approvers-approve-a-prod-release"]
    assert approvals and all(o.matches for o in approvals)
    assert {o.chain[-1].becomes for o in approvals} == {
        "333333333333:example-corp-release-approver"
    }


def test_a_group_that_reaches_another_persona_fails_its_attack(
    example: Synthesized, tmp_path: Path
) -> None:
    assembly = copy_assembly(example, tmp_path / "cdk.out")
    edit_template(assembly, "claims-interactive-foundation", trust_the_ml_engineers_door)
    edit_template(assembly, names.WORKFORCE_STACK, ml_engineers_assume_any_role)
    found = group_outcomes(example, assembly, "group-ml-engineers-open-a-studio")
    failed = [o for o in found["group-ml-engineers-open-a-studio"] if not o.matches]
    assert [o.query.placement for o in failed] == ["claims-interactive"]
    assert failed[0].chain[-1].becomes == "444444444444:example-corp-data-scientist"


def without_assignments_to(account: str) -> Any:
    def change(template: Json) -> None:
        template["Resources"] = {
            key: value
            for key, value in template["Resources"].items()
            if value["Properties"].get("TargetId") != account
        }

    return change


def test_a_group_without_its_sign_in_role_is_a_problem(
    example: Synthesized, tmp_path: Path
) -> None:
    found = mutated_reach(
        example, tmp_path, (names.WORKFORCE_STACK, without_assignments_to("444444444444"))
    )
    assert "no sign-in role of data-scientist in 444444444444" in found


# --- the evaluator: who signed in ------------------------------------------------------------


OWN = {"StringEquals": {"s3:ExistingObjectTag/owner": "${aws:PrincipalTag/genai-user}"}}


def test_a_principal_tag_variable_compares_with_the_callers_tag(tmp_path: Path) -> None:
    decisions = {}
    for user in ("alice", "bob", None):
        world = one_account(
            tmp_path / str(user),
            Reader=role(
                "reader",
                statements=[allow("s3:GetObject", OBJECT, condition=OWN)],
                tags={"genai-user": user} if user else None,
            ),
        )
        decisions[user] = world.decide(
            f"{ALICE}:reader", "s3:GetObject", OBJECT, "s3:ExistingObjectTag/owner=alice"
        )
    assert decisions == {"alice": "allow", "bob": "deny", None: "deny"}


def test_a_session_tag_only_the_caller_may_set_leaves_the_roles_other_tags_known(
    tmp_path: Path,
) -> None:
    door = allow(
        "sts:TagSession",
        None,
        principal={"AWS": f"arn:aws:iam::{ALICE}:root"},
        condition={
            "StringEquals": {"aws:RequestTag/genai-user": "${aws:PrincipalTag/genai-user}"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["genai-user"]},
        },
    )
    team_only = deny("s3:GetObject", condition={"StringNotEquals": {"aws:PrincipalTag/team": "a"}})
    world = one_account(
        tmp_path,
        Owner=role(
            "owner",
            statements=[allow("s3:GetObject", OBJECT, condition=OWN)],
            trust=[door],
        ),
        Team=role(
            "team",
            statements=[allow("s3:GetObject", OBJECT), team_only],
            trust=[door],
            tags={"team": "a"},
        ),
    )
    owner = world.decide(
        f"{ALICE}:owner", "s3:GetObject", OBJECT, "s3:ExistingObjectTag/owner=alice"
    )
    # Whoever signs in names the session: unknown until the question says who.
    assert owner == "unknown"
    # Only genai-user may come from a session: the role's own team tag stays known.
    assert world.decide(f"{ALICE}:team", "s3:GetObject", OBJECT) == "allow"


def test_a_session_tag_the_caller_may_pass_overrides_the_roles_own(tmp_path: Path) -> None:
    free = allow("sts:TagSession", None, principal={"AWS": f"arn:aws:iam::{ALICE}:root"})
    team_only = deny("s3:GetObject", condition={"StringNotEquals": {"aws:PrincipalTag/team": "a"}})
    world = one_account(
        tmp_path,
        Team=role(
            "team",
            statements=[allow("s3:GetObject", OBJECT), team_only],
            trust=[free],
            tags={"team": "a"},
        ),
    )
    # Whoever assumes it may pass team=b: the role's own team=a is not certain.
    assert world.decide(f"{ALICE}:team", "s3:GetObject", OBJECT) == "unknown"


def test_a_not_action_trust_statement_lets_callers_tag_sessions(tmp_path: Path) -> None:
    everything_but_saml = {
        "Effect": "Allow",
        "NotAction": "sts:AssumeRoleWithSAML",
        "Principal": {"AWS": f"arn:aws:iam::{ALICE}:root"},
    }
    world = one_account(
        tmp_path,
        Owner=role(
            "owner",
            statements=[allow("s3:GetObject", OBJECT, condition=OWN)],
            trust=[everything_but_saml],
        ),
    )
    decision = world.decide(
        f"{ALICE}:owner", "s3:GetObject", OBJECT, "s3:ExistingObjectTag/owner=alice"
    )
    assert decision == "unknown"


def test_the_user_travels_only_with_callers_that_may_tag_sessions(
    example: Synthesized, example_access: Questions
) -> None:
    world = example_access.world
    graph = privilege_graph(world, example.plan)
    lob_auditor = text("arn:aws:iam::444444444444:role/example-corp-auditor")
    starts = {
        # The central auditor's policy allows sts:AssumeRole only.
        "central": world.role("222222222222", "example-corp-auditor"),
        "door": world.role("444444444444", "AWSReservedSSO_genai-auditor_0123456789abcdef"),
    }
    at_end = {}
    for name, start in starts.items():
        assert start is not None
        chain, _ = graph.chains(start)[lob_auditor]
        alice = replace(start.principal(), tags=((USER, text("alice")),), session_known=True)
        at_end[name] = graph.along(chain, alice)
    assert not at_end["central"].session_known
    assert at_end["door"].session_known
    assert dict(at_end["door"].tags)[USER] == text("alice")
