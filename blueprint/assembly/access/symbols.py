"""Strings known only in part at synthesis time, and how IAM patterns match them.

A CloudFormation value such as ``arn:aws:s3:::<bucket name>/*`` is known except for the
bucket's name, which CloudFormation generates at deploy time. Such a value is a ``Symbol``:
literal text and ``Atom`` parts. An atom stands for one unknown string: the same atom is the
same string everywhere (a bucket and the policies that name it agree), two different atoms of
named resources are different strings. Whatever cannot be modelled is ``UNKNOWN`` and makes
every comparison it takes part in unknown, never a silent yes or no.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache, cached_property


class Tri(Enum):
    """Three-valued logic: a comparison that involves an unknown string may be unknown."""

    NO = 0
    UNKNOWN = 1
    YES = 2

    def __invert__(self) -> Tri:
        return _BY_VALUE[2 - self._value_]

    def __and__(self, other: Tri) -> Tri:
        return _BY_VALUE[min(self._value_, other._value_)]

    def __or__(self, other: Tri) -> Tri:
        return _BY_VALUE[max(self._value_, other._value_)]

    @staticmethod
    def of(value: bool) -> Tri:
        return Tri.YES if value else Tri.NO

    @staticmethod
    def any(values: Iterable[Tri]) -> Tri:
        result = Tri.NO
        for value in values:
            result = result | value
            if result is Tri.YES:
                break
        return result

    @staticmethod
    def all(values: Iterable[Tri]) -> Tri:
        result = Tri.YES
        for value in values:
            result = result & value
            if result is Tri.NO:
                break
        return result


# Tri by value, read by the operators (faster than calling the enum).
_BY_VALUE = (Tri.NO, Tri.UNKNOWN, Tri.YES)


@dataclass(frozen=True, order=True)
class Atom:
    """One string decided at deploy time, keyed by where it comes from: ``stack/LogicalId``
    and the attribute (``Ref``, ``Arn``, ...)."""

    key: str

    def __str__(self) -> str:
        return f"<{self.key}>"


UNKNOWN_ATOM = Atom("?unknown")
Part = str | Atom


@dataclass(frozen=True)
class Symbol:
    """A string of literal text and atoms, adjacent text merged."""

    parts: tuple[Part, ...]

    @staticmethod
    def of(*parts: Part | Symbol) -> Symbol:
        merged: list[Part] = []
        for part in parts:
            for piece in part.parts if isinstance(part, Symbol) else (part,):
                if isinstance(piece, str) and merged and isinstance(merged[-1], str):
                    merged[-1] += piece
                elif piece != "":
                    merged.append(piece)
        return Symbol(tuple(merged))

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        # Symbols key most of the evaluator's indexes and caches: hashed once.
        return hash(self.parts)

    @cached_property
    def text(self) -> str | None:
        """The literal string, when the symbol has no atom."""
        if all(isinstance(part, str) for part in self.parts):
            return "".join(str(part) for part in self.parts)
        return None

    @cached_property
    def unknown(self) -> bool:
        return UNKNOWN_ATOM in self.parts

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)

    def split(self, delimiter: str) -> list[Symbol]:
        """Split on ``delimiter`` in the literal text (atoms never contain it)."""
        pieces: list[list[Part]] = [[]]
        for part in self.parts:
            if isinstance(part, Atom):
                pieces[-1].append(part)
                continue
            chunks = part.split(delimiter)
            pieces[-1].append(chunks[0])
            pieces.extend([chunk] for chunk in chunks[1:])
        return [Symbol.of(*piece) for piece in pieces]


@cache
def text(value: str) -> Symbol:
    return Symbol.of(value)


UNKNOWN = Symbol((UNKNOWN_ATOM,))


def equals(left: Symbol, right: Symbol, *, ignore_case: bool = False) -> Tri:
    """Exact comparison; atoms of different resources differ, unknowns are unknown."""
    if left.unknown or right.unknown:
        return Tri.UNKNOWN
    return glob(left, right, ignore_case=ignore_case, wildcards=False)


@cache
def arn_start(arn: Symbol) -> str | None:
    """The literal text of ``arn`` up to its fifth colon (``arn:aws:s3:::``,
    ``arn:aws:iam::111122223333:``), when no atom comes before it and none is unknown (an
    unknown compares unknown with anything)."""
    if arn.unknown:
        return None
    head = arn.parts[0] if arn.parts and isinstance(arn.parts[0], str) else ""
    colons = [index for index, char in enumerate(head) if char == ":"]
    return head[: colons[4] + 1] if len(colons) >= 5 else None


@cache
def glob(
    pattern: Symbol, value: Symbol, *, ignore_case: bool = False, wildcards: bool = True
) -> Tri:
    """IAM string matching: ``*`` any run, ``?`` one character (when ``wildcards``)."""
    if pattern.unknown or value.unknown:
        return Tri.UNKNOWN
    pattern_text, value_text = pattern.text, value.text
    if pattern_text is not None and value_text is not None:
        return Tri.of(literal_match(pattern_text, value_text, ignore_case, wildcards, arn=False))
    if _literal_ends_differ(
        _ends(pattern, ignore_case, wildcards), _ends(value, ignore_case, False)
    ):
        return Tri.NO
    return _match(_units(pattern, ignore_case, wildcards), _units(value, ignore_case, False))


def _literal_ends_differ(pattern: tuple[str, str], value: tuple[str, str]) -> bool:
    """Whether the literal characters both strings start (or end) with already differ: no
    deploy-time name or wildcard can change a fixed first or last character."""
    (pattern_head, pattern_tail), (value_head, value_tail) = pattern, value
    length = min(len(pattern_head), len(value_head))
    if pattern_head[:length] != value_head[:length]:
        return True
    length = min(len(pattern_tail), len(value_tail))
    return pattern_tail[len(pattern_tail) - length :] != value_tail[len(value_tail) - length :]


@cache
def _ends(symbol: Symbol, ignore_case: bool, wildcards: bool) -> tuple[str, str]:
    """The literal text ``symbol`` starts and ends with, up to its first (from its last)
    atom or wildcard."""
    if not symbol.parts:
        return "", ""
    first, last = symbol.parts[0], symbol.parts[-1]
    head = first.lower() if isinstance(first, str) and ignore_case else first
    tail = last.lower() if isinstance(last, str) and ignore_case else last
    head = head if isinstance(head, str) else ""
    tail = tail if isinstance(tail, str) else ""
    if wildcards:
        head, tail = _WILDCARD.split(head)[0], _WILDCARD.split(tail)[-1]
    return head, tail


_WILDCARD = re.compile(r"[*?]")


@cache
def arn_like(pattern: Symbol, value: Symbol, *, wildcards: bool = True) -> Tri:
    """ARN matching as ``ArnLike``: the five leading components separately, wildcards within
    a component, the resource part as a whole."""
    pattern_text, value_text = pattern.text, value.text
    if pattern_text is not None and value_text is not None and pattern_text.count(":") >= 5:
        if value_text.count(":") < 5:
            return Tri.NO
        return Tri.of(literal_match(pattern_text, value_text, False, wildcards, arn=True))
    pattern_parts, value_parts = pattern.split(":"), value.split(":")
    if len(pattern_parts) < 6 or len(value_parts) < 6:
        return glob(pattern, value, wildcards=wildcards)
    heads = [
        glob(p, v, wildcards=wildcards)
        for p, v in zip(pattern_parts[:5], value_parts[:5], strict=True)
    ]
    resource = glob(
        Symbol.of(*_joined(pattern_parts[5:])),
        Symbol.of(*_joined(value_parts[5:])),
        wildcards=wildcards,
    )
    return Tri.all([*heads, resource])


def literal_match(
    pattern: str, value: str, ignore_case: bool, wildcards: bool, *, arn: bool
) -> bool:
    """Whether literal ``value`` matches literal ``pattern``: ``*`` any run, ``?`` one
    character (when ``wildcards``); for ARNs, wildcards stay within each of the five leading
    components and the resource part is matched as a whole. Matched without a regular
    expression: at a hundred LOBs the patterns name thousands of accounts, and compiling
    each cost more than all its matches."""
    if ignore_case and not (pattern.isascii() and value.isascii()):
        # Case as regular expressions fold it, which lower() does not for some letters
        # (a dotted capital I, a long s): rare in IAM values, so compiled there only.
        return pattern_regex(pattern, ignore_case, wildcards, arn=arn).fullmatch(value) is not None
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if not wildcards:
        return pattern == value
    if not arn:
        return _wildcard_match(pattern, value)
    # The five leading components each, then the rest (which may hold colons) as a whole.
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    if len(patterns) != len(values):
        return False
    return all(_wildcard_match(p, v) for p, v in zip(patterns, values, strict=True))


@cache
def pattern_regex(
    pattern: str, ignore_case: bool, wildcards: bool, *, arn: bool
) -> re.Pattern[str]:
    """``literal_match``'s rules as a regular expression: for ARNs, a wildcard within the
    five leading components stops at a colon."""
    pieces = []
    colons = 0
    for char in pattern:
        within = arn and colons < 5
        colons += char == ":"
        if wildcards and char == "*":
            pieces.append("[^:]*" if within else ".*")
        elif wildcards and char == "?":
            pieces.append("[^:]" if within else ".")
        else:
            pieces.append(re.escape(char))
    return re.compile("".join(pieces), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _wildcard_match(pattern: str, value: str) -> bool:
    """``*`` any run (backtracking to the last star only, which is enough), ``?`` one
    character, anything else itself."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    i = j = 0
    star, resume = -1, 0
    while j < len(value):
        # A star is a wildcard first, even where the value holds a star (an S3 key may).
        if i < len(pattern) and pattern[i] == "*":
            star, resume = i, j
            i += 1
        elif i < len(pattern) and pattern[i] in ("?", value[j]):
            i, j = i + 1, j + 1
        elif star >= 0:
            resume += 1
            i, j = star + 1, resume
        else:
            return False
    while i < len(pattern) and pattern[i] == "*":
        i += 1
    return i == len(pattern)


def _joined(pieces: list[Symbol]) -> list[Part | Symbol]:
    joined: list[Part | Symbol] = []
    for index, piece in enumerate(pieces):
        if index:
            joined.append(":")
        joined.append(piece)
    return joined


# A unit of a pattern or value: one character, a wildcard, or an atom.
_STAR, _ONE = ("*",), ("?",)
Unit = str | tuple[str] | Atom


@cache
def _units(symbol: Symbol, ignore_case: bool, wildcards: bool) -> tuple[Unit, ...]:
    units: list[Unit] = []
    for part in symbol.parts:
        if isinstance(part, Atom):
            units.append(part)
            continue
        for char in part.lower() if ignore_case else part:
            if wildcards and char == "*":
                units.append(_STAR)
            elif wildcards and char == "?":
                units.append(_ONE)
            else:
                units.append(char)
    return tuple(units)


def _match(pattern: tuple[Unit, ...], value: tuple[Unit, ...]) -> Tri:
    @cache
    def at(i: int, j: int) -> Tri:
        if i == len(pattern):
            return Tri.of(j == len(value))
        unit = pattern[i]
        if unit == _STAR:
            return Tri.any(at(i + 1, k) for k in range(j, len(value) + 1))
        if j == len(value):
            # An atom in the pattern could stand for an empty string only in theory; the
            # names it stands for are never empty.
            return Tri.NO
        current = value[j]
        if isinstance(unit, Atom) and isinstance(current, Atom):
            return at(i + 1, j + 1) if unit == current else Tri.NO
        if isinstance(unit, Atom) or isinstance(current, Atom):
            # Literal text (or ``?``) against a deploy-time name, or the reverse: it may or
            # may not match.
            return Tri.UNKNOWN
        if unit in (_ONE, current):
            return at(i + 1, j + 1)
        return Tri.NO

    return at(0, 0)
