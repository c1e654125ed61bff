"""Whether a policy's resource could be of a resource type, by the type's ARN format.

Both sides are patterns: the format's ``${Variables}`` stand for any non-empty text, the
resource's ``*`` for any text and ``?`` for one character. A deploy-time value is any text,
except a name or ID CloudFormation generates (an atom ``<stack/LogicalId.Name>`` or ``.Id``),
which never holds ``/`` or ``:``. The resource could be of the type when some ARN matches
both. The test is lenient on purpose (a variable may span ``/`` and ``:``, case is ignored),
so only a resource that cannot be of the type fails, such as a bucket ARN where an object is
taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from blueprint.assembly.access.symbols import Atom, Symbol

# Units of a pattern besides literal characters (each of these is no single character):
ANY = "\0*"  # any run of characters
ONE = "\0?"  # any one character
NAME_RUN = "\0n*"  # any run of characters other than / and :
NAME_ONE = "\0n?"  # one character other than / and :
RUNS = (ANY, NAME_RUN)
SEPARATORS = "/:"
FORMAT_VARIABLE = re.compile(r"\$\{[^}]*\}")
GENERATED = (".Name", ".Id")


@cache
def could_be(resource: Symbol, arn_format: str) -> bool:
    return overlap(_resource_units(resource), _format_units(arn_format))


@cache
def _resource_units(resource: Symbol) -> tuple[str, ...]:
    units: list[str] = []
    for part in resource.parts:
        if isinstance(part, Atom):
            units += [NAME_ONE, NAME_RUN] if part.key.endswith(GENERATED) else [ANY]
        else:
            units += [{"*": ANY, "?": ONE}.get(char, char.lower()) for char in part]
    return tuple(units)


@cache
def _format_units(arn_format: str) -> tuple[str, ...]:
    units: list[str] = []
    for index, piece in enumerate(FORMAT_VARIABLE.split(arn_format)):
        if index:
            units += [ONE, ANY]
        units += list(piece.lower())
    return tuple(units)


def overlap(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Whether some string matches both patterns.

    The pairs of positions (one in each pattern) reachable from the start, one position of
    ``left`` at a time: those of ``right`` are the bits of an integer, so each unit of ``left``
    costs a few operations on it rather than a step per pair.
    """
    masks = _masks(right)
    row = 1
    for unit in left:
        step = masks.step(unit)
        row = masks.along(step.along, row)
        row = (row & step.down) | ((row & step.diagonal) << 1)
        if not row:
            return False
    return bool(masks.along(masks.runs, row) >> len(right) & 1)


@dataclass(frozen=True)
class _Step:
    """Moves from the positions of one unit of the left pattern, as bits of the right's:
    ``along`` (the right's position advances alone: the bit of the position it leaves),
    ``down`` (the left's alone), ``diagonal`` (both, one character each)."""

    along: int
    down: int
    diagonal: int


class _Masks:
    """The moves a right-hand pattern allows against each unit of a left-hand one."""

    def __init__(self, right: tuple[str, ...]) -> None:
        self._right = right
        self.runs = sum(1 << j for j, unit in enumerate(right) if unit in RUNS)
        self._every = (1 << (len(right) + 1)) - 1
        self._steps: dict[str, _Step] = {}

    def along(self, moves: int, row: int) -> int:
        """``row`` and every position reached from it by moves along the right pattern: a
        carry runs from each position of ``row`` through the run of moves above it."""
        return (row | (((row & moves) + moves) ^ moves)) & self._every

    def step(self, unit: str) -> _Step:
        if unit not in self._steps:
            self._steps[unit] = self._moves(unit)
        return self._steps[unit]

    def _moves(self, unit: str) -> _Step:
        along, down, diagonal = self.runs, 0, 0
        for j, there in enumerate(self._right):
            bit = 1 << j
            if unit in RUNS and there not in RUNS and _fits(unit, there):
                along |= bit  # the left's run takes the right's character
            elif there in RUNS and unit not in RUNS and _fits(there, unit):
                down |= bit  # the right's run takes the left's character
            elif unit not in RUNS and there not in RUNS and _same(unit, there):
                diagonal |= bit
        if unit in RUNS:
            down = self._every  # the left's run ends
        return _Step(along, down, diagonal)


@cache
def _masks(right: tuple[str, ...]) -> _Masks:
    return _Masks(right)


def _fits(run: str, unit: str) -> bool:
    return run == ANY or unit not in SEPARATORS


def _same(one: str, other: str) -> bool:
    """Whether two single-character units can be the same character."""
    if ONE in (one, other) or one == other:
        return True
    if NAME_ONE in (one, other):
        return (other if one == NAME_ONE else one) not in SEPARATORS
    return False
