"""Progress of the long steps, on stderr: a bar on a terminal, a line every few seconds in a
log (CI), nothing for steps that end sooner; details only with ``--verbose``."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

LOG_INTERVAL_S = 5.0


class Progress:
    """``with Progress("linting", total, "templates") as progress: progress.advance()``."""

    def __init__(
        self,
        label: str,
        total: int,
        unit: str,
        *,
        verbose: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.label, self.total, self.unit, self.verbose = label, total, unit, verbose
        self.stream = stream or sys.stderr
        self.done = 0
        self._started = self._last_line = time.monotonic()
        self._bar: Bar | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        if self.stream.isatty():
            self._bar = Bar(
                TextColumn(f"{self.label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, count: int = 1, detail: str | None = None) -> None:
        self.done += count
        if self.verbose and detail:
            self._print(detail)
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, count)
            return
        now = time.monotonic()
        if now - self._last_line >= LOG_INTERVAL_S and self.done < self.total:
            self._last_line = now
            self._print(
                f"{self.label}: {self.done}/{self.total} {self.unit} ({now - self._started:.0f} s)"
            )

    def _print(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)
