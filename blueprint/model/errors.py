"""Config errors that carry the file, the YAML path and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One thing wrong in an organization file."""

    path: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigError(Exception):
    """Every problem found in one organization file, reported together."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = sorted(set(problems), key=lambda p: (p.line or 0, p.path, p.message))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [problem.render(self.file) for problem in self.problems]
