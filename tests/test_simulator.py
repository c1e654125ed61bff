"""The access evaluator against an independent IAM simulator: every single request the
catalog asks of the example is decided by both, and they agree (but for the reviewed
disagreements of ``tests/simulator/known-disagreements.yaml``). The centralized and
decentralized models are compared in ``tests/test_operating_models.py``, on their assemblies.

The simulator is @cloud-copilot/iam-simulate (AGPL-3.0-or-later): a test-time tool that
`make test` installs in ``tests/simulator``, run as a process of its own, never shipped.
"""

from __future__ import annotations

from blueprint.assembly.access.catalog import catalog_queries
from blueprint.assembly.access.question import Questions
from tests.conftest import Synthesized
from tests.simulator_requests import compare, unexplained


def test_the_evaluator_agrees_with_the_simulator_on_the_example(
    example: Synthesized, example_access: Questions
) -> None:
    queries = catalog_queries(example_access.world, example.plan)
    compared, left_out = compare(example_access.evaluator, queries)
    assert unexplained("federated (the example)", compared, left_out) == []
    assert len(compared) > len(queries), "every check and the key requests S3 makes"
    assert left_out == 0
