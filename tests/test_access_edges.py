"""The privilege graph's shortcuts: the trusts left out before the evaluator decides and the
requests a chain skips are only those it would deny, and edges decided on several cores are
those found one role at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.assembly.access import chains
from blueprint.assembly.access.chains import Hop, PrivilegeGraph, Probe
from blueprint.assembly.access.evaluate import Decision
from blueprint.assembly.access.policies import Principal
from blueprint.assembly.access.question import request_for
from blueprint.assembly.access.roles import Role
from blueprint.assembly.access.symbols import Symbol, Tri
from tests.access_worlds import ALICE, BOB, World, allow, bucket, bucket_policy, deny, key, role

ACCOUNT_TRUST = allow("sts:AssumeRole", None, principal={"AWS": f"arn:aws:iam::{ALICE}:root"})
BOB_TRUSTS_ALICE = allow("sts:AssumeRole", None, principal={"AWS": ALICE})
Edges = dict[Symbol, list[tuple[Hop, Role, Tri]]]


def world(tmp_path: Path) -> World:
    """Alice's account: callers allowed to assume one role by name, every role, roles by a
    pattern, none (but named by a trust), or by a statement whose action CloudFormation
    decides; roles trusting the account; Bob's role trusting Alice's account."""
    target = f"arn:aws:iam::{ALICE}:role/target-one"
    return World(
        tmp_path / "cdk.out",
        {
            "alice": (
                ALICE,
                {
                    "One": role("caller-one", statements=[allow("sts:AssumeRole", target)]),
                    "Any": role("caller-any", statements=[allow("sts:*")]),
                    "Pattern": role(
                        "caller-pattern",
                        statements=[allow("sts:AssumeRole", f"arn:aws:iam::{ALICE}:role/target-*")],
                    ),
                    "Other": role(
                        "caller-other",
                        statements=[allow("sts:AssumeRole", f"arn:aws:iam::{BOB}:role/*")],
                    ),
                    "NotResource": role(
                        "caller-not-resource",
                        statements=[
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "NotResource": target,
                            }
                        ],
                    ),
                    "Decided": role(
                        "caller-decided",
                        statements=[
                            {
                                "Effect": "Allow",
                                "Action": {"Fn::If": ["Cond", "sts:AssumeRole", "s3:GetObject"]},
                                "Resource": "*",
                            }
                        ],
                    ),
                    "Denied": role(
                        "caller-denied",
                        statements=[allow("sts:AssumeRole"), deny("sts:AssumeRole", target)],
                    ),
                    "Named": role(
                        "caller-named", statements=[allow("s3:GetObject", "arn:aws:s3:::x/*")]
                    ),
                    "TargetOne": role("target-one", trust=[ACCOUNT_TRUST]),
                    "TargetTwo": role("target-two", trust=[ACCOUNT_TRUST]),
                    "ByName": role(
                        "by-name",
                        trust=[
                            allow(
                                "sts:AssumeRole",
                                None,
                                principal={"AWS": f"arn:aws:iam::{ALICE}:role/caller-named"},
                            )
                        ],
                    ),
                },
            ),
            "bob": (BOB, {"Bob": role("bob-target", trust=[BOB_TRUSTS_ALICE])}),
        },
    )


def every_edge(graph: PrivilegeGraph) -> Edges:
    return {role.arn: graph.edges(role) for role in graph.world.roles}


def reached(edges: Edges) -> dict[str, list[str]]:
    return {
        str(arn): [f"{hop.describe()} {hop.decision.decision}" for hop, _, _ in found]
        for arn, found in edges.items()
    }


def test_the_trusts_left_out_are_only_those_the_evaluator_denies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = world(tmp_path)
    filtered = reached(every_edge(PrivilegeGraph(written.world, written.evaluator)))
    monkeypatch.setattr(chains, "_may_assume", lambda role: lambda target: True)
    unfiltered = reached(every_edge(PrivilegeGraph(written.world, written.evaluator)))

    assert filtered == unfiltered
    becomes = {
        name: sorted(
            hop.split("]-> ")[1].split(":")[1].split(" ")[0]
            for hop in hops
            if "[assume-role" in hop
        )
        for arn, hops in filtered.items()
        if (name := arn.rsplit("/", 1)[1]).startswith("caller-")
    }
    assert becomes == {
        "caller-one": ["target-one"],
        "caller-any": ["bob-target", "target-one", "target-two"],
        "caller-pattern": ["target-one", "target-two"],
        "caller-other": ["bob-target"],
        "caller-not-resource": ["bob-target", "target-two"],
        "caller-decided": ["bob-target", "target-one", "target-two"],
        "caller-denied": ["bob-target", "target-two"],
        "caller-named": ["by-name"],
    }


def test_a_caller_allowed_one_role_is_not_tried_against_every_role_trusting_its_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = world(tmp_path)
    graph = PrivilegeGraph(written.world, written.evaluator)
    tried: list[str] = []
    decide = graph._decide

    def deciding(principal: Principal, probe: Probe) -> Decision:
        if probe.action == "sts:AssumeRole":
            tried.append(str(probe.resource))
        return decide(principal, probe)

    monkeypatch.setattr(graph, "_decide", deciding)
    caller = next(r for r in written.world.roles if r.name.text == "caller-one")

    graph.edges(caller)

    assert tried == [f"arn:aws:iam::{ALICE}:role/target-one"]


def test_edges_decided_on_several_cores_are_those_found_one_role_at_a_time(
    tmp_path: Path,
) -> None:
    written = world(tmp_path)
    one_by_one = every_edge(PrivilegeGraph(written.world, written.evaluator))
    graph = PrivilegeGraph(written.world, written.evaluator)

    graph.decide_edges(workers=2)

    assert graph._edges == one_by_one
    roles = {id(role) for role in written.world.roles}
    assert all(id(target) in roles for found in graph._edges.values() for _, target, _ in found)


def test_a_request_no_statement_may_allow_is_one_the_evaluator_denies(tmp_path: Path) -> None:
    """Every role of a world asked every action on every resource: where ``may_allow`` says
    no, ``evaluate`` denies; it says no often, and never where the evaluator allows."""
    data = "arn:aws:s3:::alice-data/report.csv"
    written = World(
        tmp_path / "cdk.out",
        {
            "alice": (
                ALICE,
                {
                    "Reader": role("reader", statements=[allow("s3:GetObject", data)]),
                    "Keyed": role("keyed", statements=[allow("kms:Decrypt")]),
                    "Nobody": role("nobody", statements=[allow("logs:GetLogEvents")]),
                    "Data": bucket("alice-data", key="Key"),
                    "Key": key([allow("kms:*", principal={"AWS": f"arn:aws:iam::{ALICE}:root"})]),
                    "Open": bucket("alice-open"),
                    "OpenPolicy": bucket_policy(
                        "Open",
                        [
                            allow(
                                "s3:GetObject",
                                "arn:aws:s3:::alice-open/*",
                                principal={"AWS": f"arn:aws:iam::{ALICE}:role/nobody"},
                            )
                        ],
                    ),
                },
            ),
        },
    )
    principals = [f"{ALICE}:{name}" for name in ("reader", "keyed", "nobody")]
    actions = ["s3:GetObject", "s3:PutObject", "kms:Decrypt", "sts:AssumeRole"]
    resources = [data, "arn:aws:s3:::alice-open/x", f"arn:aws:iam::{ALICE}:role/reader"]
    asked = [
        (request_for(written.world, principal, action, resource, []), (principal, action, resource))
        for principal in principals
        for action in actions
        for resource in resources
    ]
    skipped = {
        asking: written.evaluator.evaluate(request).decision
        for request, asking in asked
        if not written.evaluator.may_allow(request)
    }

    assert skipped and set(skipped.values()) == {"deny"}
    # Allowed by the bucket's policy alone: not skipped, nor the reader's own object.
    assert (f"{ALICE}:nobody", "s3:GetObject", "arn:aws:s3:::alice-open/x") not in skipped
    assert (f"{ALICE}:reader", "s3:GetObject", data) not in skipped
    allowed = [r for r, _ in asked if written.evaluator.evaluate(r).decision != "deny"]
    assert len(allowed) >= 2 and all(written.evaluator.may_allow(request) for request in allowed)


@pytest.mark.parametrize(
    "written",
    [
        {"NotAction": "s3:*"},
        {"Action": {"Fn::If": ["Cond", "sts:AssumeRole", "s3:GetObject"]}},
    ],
    ids=["not-action", "decided-action"],
)
def test_a_trust_that_may_cover_assume_role_otherwise_than_by_name_is_followed(
    tmp_path: Path, written: dict[str, object]
) -> None:
    """A trust statement whose NotAction leaves sts:AssumeRole in, or whose action
    CloudFormation decides, may admit the caller: the graph tries it as the evaluator reads
    it, whoever the caller is."""
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ALICE}:role/caller"}}
    written_world = World(
        tmp_path / "cdk.out",
        {
            "alice": (
                ALICE,
                {
                    "Caller": role("caller", statements=[allow("s3:ListBucket")]),
                    "Loose": role("loose", trust=[{**trust, **written}]),
                },
            )
        },
    )
    graph = PrivilegeGraph(written_world.world, written_world.evaluator)
    caller = next(r for r in written_world.world.roles if r.name.text == "caller")

    assert [hop.becomes for hop, _, _ in graph.edges(caller)] == [f"{ALICE}:loose"]
