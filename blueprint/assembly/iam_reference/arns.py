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
    return _overlap(_resource_units(resource), _format_units(arn_format))


def _resource_units(resource: Symbol) -> tuple[str, ...]:
    units: list[str] = []
    for part in resource.parts:
        if isinstance(part, Atom):
            units += [NAME_ONE, NAME_RUN] if part.key.endswith(GENERATED) else [ANY]
        else:
            units += [{"*": ANY, "?": ONE}.get(char, char.lower()) for char in part]
    return tuple(units)


def _format_units(arn_format: str) -> tuple[str, ...]:
    units: list[str] = []
    for index, piece in enumerate(FORMAT_VARIABLE.split(arn_format)):
        if index:
            units += [ONE, ANY]
        units += list(piece.lower())
    return tuple(units)


def _overlap(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """Whether some string matches both patterns: a search over pairs of positions."""
    end = (len(left), len(right))
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        position = todo.pop()
        if position == end:
            return True
        if position not in seen:
            seen.add(position)
            todo += _steps(left, right, *position)
    return False


def _steps(left: tuple[str, ...], right: tuple[str, ...], i: int, j: int) -> list[tuple[int, int]]:
    here = left[i] if i < len(left) else None
    there = right[j] if j < len(right) else None
    steps = []
    if here in RUNS:
        steps.append((i + 1, j))  # the run ends
    if there in RUNS:
        steps.append((i, j + 1))
    if here is None or there is None:
        return steps
    if here in RUNS and there not in RUNS and _fits(here, there):
        steps.append((i, j + 1))  # the run takes the other side's character
    elif there in RUNS and here not in RUNS and _fits(there, here):
        steps.append((i + 1, j))
    elif here not in RUNS and there not in RUNS and _same(here, there):
        steps.append((i + 1, j + 1))
    return steps


def _fits(run: str, unit: str) -> bool:
    return run == ANY or unit not in SEPARATORS


def _same(one: str, other: str) -> bool:
    """Whether two single-character units can be the same character."""
    if ONE in (one, other) or one == other:
        return True
    if NAME_ONE in (one, other):
        return (other if one == NAME_ONE else one) not in SEPARATORS
    return False
