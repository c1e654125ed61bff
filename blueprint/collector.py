"""How often Python's cyclic garbage collector runs in the app and in the commands.

Both build a model that lives to the end of the process (the CDK's constructs; an
assembly's world and questions: millions of objects at a hundred LOBs). At the default
thresholds the collector scanned them again and again: half of the time spent building the
access world and its questions (12.5 s -> 6.4 s at 100 LOBs), and 2.4 s of a 33 s synthesis
of 10 LOBs. Collections still run, a hundred times less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Objects allocated between young collections, then collections of each older generation.
THRESHOLDS = (100_000, 50, 100)


def collect_less() -> None:
    """Raise the collector's thresholds for the rest of the process."""
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def collecting_less() -> Iterator[None]:
    """Raise the collector's thresholds while the block runs."""
    before = gc.get_threshold()
    collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)
