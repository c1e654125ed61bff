"""The access evaluator against an independent IAM simulator: every single request the
catalog asks of the example is decided by both, and they agree (but for the reviewed
disagreements of ``tests/simulator/known-disagreements.yaml``). The centralized and
decentralized models are compared in ``tests/test_operating_models.py``, on their assemblies.

The simulator is @cloud-copilot/iam-simulate (AGPL-3.0-or-later): a test-time tool that
`make test` installs in ``tests/simulator``, run as a process of its own, never shipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.assembly.access.catalog import catalog_queries
from blueprint.assembly.access.question import Questions, request_for
from tests.access_worlds import ALICE, BOB, World, allow, bucket, bucket_policy, deny, role
from tests.conftest import Synthesized
from tests.simulator_requests import compare, simulate, simulator_request, unexplained


def test_the_evaluator_agrees_with_the_simulator_on_the_example(
    example: Synthesized, example_access: Questions
) -> None:
    queries = catalog_queries(example_access.world, example.plan)
    compared, left_out = compare(example_access.evaluator, queries)
    assert unexplained("federated (the example)", compared, left_out) == []
    assert len(compared) > len(queries), "every check and the key requests S3 makes"
    assert left_out == 0


OBJECT = "arn:aws:s3:::alice-data/report.csv"
ROLE = f"arn:aws:iam::{ALICE}:role/reader"
SESSION = f"arn:aws:sts::{ALICE}:assumed-role/reader/catalog"


@pytest.mark.parametrize(
    "not_principal",
    [[ROLE], [ROLE, f"arn:aws:iam::{ALICE}:root"], [SESSION, ROLE], [f"arn:aws:iam::{BOB}:root"]],
    ids=["role", "role-and-account", "session-and-role", "another-account"],
)
def test_a_deny_with_not_principal_is_decided_as_the_simulator_decides_it(
    tmp_path: Path, not_principal: list[str]
) -> None:
    """NotPrincipal against a role's session: the evaluator and the simulator agree on which
    entries exclude the session from the deny."""
    world = World(
        tmp_path / "cdk.out",
        {
            "alice": (
                ALICE,
                {
                    "Data": bucket("alice-data"),
                    "Guard": bucket_policy(
                        "Data", [deny("s3:GetObject", OBJECT, notPrincipal={"AWS": not_principal})]
                    ),
                    "Reader": role("reader", statements=[allow("s3:GetObject", OBJECT)]),
                },
            )
        },
    )
    request = request_for(world.world, f"{ALICE}:reader", "s3:GetObject", OBJECT, [])
    ours = world.evaluator.evaluate(request).decision
    if ours == "unknown":
        pytest.fail("the evaluator leaves it unknown")
    [theirs] = simulate([simulator_request(world.evaluator, request)])
    assert ours == theirs["decision"]
