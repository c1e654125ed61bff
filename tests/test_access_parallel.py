"""Questions dealt out among forked processes come back in order, whoever decided them."""

from __future__ import annotations

import os

import pytest

from blueprint.assembly.access.parallel import PARALLEL_FROM, in_processes, workers_for


def test_answers_come_back_in_the_questions_order() -> None:
    items = list(range(40))
    answers = in_processes(items, lambda item: (item, os.getpid()), 3, lambda item: str(item % 5))

    assert [item for item, _ in answers] == items
    # Each group is decided by one process (a process may take more than one share).
    by_group = {str(item % 5): set() for item in items}
    for item, pid in answers:
        by_group[str(item % 5)].add(pid)
    assert all(len(pids) == 1 for pids in by_group.values())
    assert 1 <= len({pid for _, pid in answers}) <= 3
    assert os.getpid() not in {pid for _, pid in answers}


def test_a_failing_question_fails_the_run() -> None:
    def work(item: int) -> int:
        if item == 7:
            raise ValueError("question 7 cannot be decided")
        return item

    with pytest.raises(ValueError, match="question 7"):
        in_processes(list(range(10)), work, 2, str)


def test_small_catalogs_stay_in_one_process() -> None:
    assert workers_for(PARALLEL_FROM - 1) == 1
    assert workers_for(PARALLEL_FROM) == min(4, len(os.sched_getaffinity(0)))
    assert in_processes([1, 2], lambda item: (item, os.getpid()), 1, str) == [
        (1, os.getpid()),
        (2, os.getpid()),
    ]
