"""Many questions decided on several cores.

The world is read once; forked processes share it (copy on write) and each decides a share of
the questions, grouped (the questions about one placement, one group's sign-ins) so that one
process follows a group's chains and keeps their edges. Answers come back in the questions'
order, the same as one process gives: a question's answer depends only on the world, never
on which questions were decided before it (the privilege graph only remembers edges).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

# Below this many questions a second process costs more (its own edges) than it saves.
PARALLEL_FROM = 5000
MAX_WORKERS = 4
SHARES_PER_WORKER = 4

# What the forked processes decide: the items and the work, set just before forking.
_WORK: tuple[Sequence[Any], Callable[[Any], Any]] | None = None


def workers_for(questions: int) -> int:
    """How many processes decide ``questions``: one per available core (at most four) from
    ``PARALLEL_FROM`` questions, else one."""
    if questions < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def in_processes(
    items: Sequence[Item],
    work: Callable[[Item], Answer],
    workers: int,
    group: Callable[[Item], str],
) -> list[Answer]:
    """``work`` of each item, in order; with several ``workers``, the groups dealt out in
    turn (sorted by name, so each run deals alike) into a few shares per process, which the
    forked processes take as they finish the last (groups differ in cost)."""
    if workers <= 1 or len(items) < 2:
        return [work(item) for item in items]
    names = sorted({group(item) for item in items})
    count = min(len(names), workers * SHARES_PER_WORKER)
    dealt = {name: number % count for number, name in enumerate(names)}
    shares = [
        [index for index, item in enumerate(items) if dealt[group(item)] == share]
        for share in range(count)
    ]
    global _WORK
    _WORK = (items, work)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            decided = pool.map(_decide_share, shares, chunksize=1)
    finally:
        _WORK = None
    answers: dict[int, Answer] = {}
    for share, found in zip(shares, decided, strict=True):
        answers.update(zip(share, found, strict=True))
    return [answers[index] for index in range(len(items))]


def _decide_share(indices: list[int]) -> list[Any]:
    if _WORK is None:
        raise RuntimeError("a forked process started with no questions to decide")
    items, work = _WORK
    return [work(items[index]) for index in indices]
