"""Template shapes: templates that are the same but for LOB names, account IDs and the hashes
the CDK derives from names.

Two LOBs built from the same settings give templates that differ only in such tokens, so a
linter's verdict on one holds for the other once the tokens are swapped back. A template's
shape is its text with every token replaced by a placeholder that keeps what a rule could
depend on: the token's position among the template's distinct tokens (so a renaming is one to
one and references stay consistent), its kind, its length, and for names and accounts the class of
each character (lower case letter, upper case letter, digit, or the character itself; a hash,
which always follows a letter or digit inside an identifier, is hex digits). A length
limit, a pattern or a uniqueness rule therefore decides the same for every member of a shape;
a template whose tokens differ in any of these is of another shape and is linted alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

ACCOUNT = r"(?<![0-9])[0-9]{12}(?![0-9])"
# The CDK's path hashes: eight upper-case hex digits inside an identifier (never its start),
# taken with the hex digits around them (a truncated logical ID ends in part of another hash).
PATH_HASH = r"(?<=[A-Za-z0-9])[0-9A-F]{8,}"
# Every character a name's spellings may hold (a slug's, and the underscore).
_IDENTIFIER_RUN = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Shape:
    """A template's shape (``key``) and its tokens, in order of first appearance."""

    key: str
    tokens: tuple[str, ...]


class Shaper:
    """Shapes templates whose variable names are ``names`` (with their spellings in
    identifiers: dashes dropped or turned into underscores); with ``renaming=False`` nothing
    is renamed, so only exact copies share a shape."""

    def __init__(self, names: Iterable[str], *, renaming: bool = True) -> None:
        spellings = {
            spelling
            for name in names
            for spelling in (name, name.replace("-", ""), name.replace("-", "_"))
            if spelling
        }
        self._spellings = sorted(spellings, key=lambda s: (-len(s), s))
        self._renaming = renaming
        self._patterns: dict[tuple[str, ...], re.Pattern[str]] = {}

    def _pattern(self, text: str) -> re.Pattern[str]:
        """The tokens of ``text``: of the names, only those it holds (a hundred LOBs' names in
        one alternation would be tried at every character of every template)."""
        # A name lies within one run of identifier characters: searching each distinct run
        # once is the template's text without its repetitions.
        runs = "\n".join(set(_IDENTIFIER_RUN.findall(text)))
        present = tuple(spelling for spelling in self._spellings if spelling in runs)
        if present not in self._patterns:
            names = "|".join(re.escape(spelling) for spelling in present)
            names_pattern = f"(?P<name>{names})|" if names else ""
            self._patterns[present] = re.compile(
                f"{names_pattern}(?P<account>{ACCOUNT})|(?P<hash>{PATH_HASH})"
            )
        return self._patterns[present]

    def shape(self, region: str, text: str) -> Shape:
        """The shape of template ``text`` linted for ``region``."""
        index: dict[str, int] = {}

        def placeholder(match: re.Match[str]) -> str:
            token = match.group()
            number = index.setdefault(token, len(index))
            kind = match.lastgroup or ""
            return f"\x00{number}:{kind}:{_signature(kind, token)}\x00"

        skeleton = self._pattern(text).sub(placeholder, text) if self._renaming else text
        key = hashlib.sha256(f"{region}\n{skeleton}".encode()).hexdigest()
        return Shape(key, tuple(index))


def translate(text: str, source: Shape, target: Shape) -> str:
    """``text`` about the template of shape ``source``, said of its member ``target``."""
    if not source.tokens:
        return text
    swap = dict(zip(source.tokens, target.tokens, strict=True))
    pattern = re.compile("|".join(re.escape(t) for t in sorted(swap, key=len, reverse=True)))
    return pattern.sub(lambda match: swap[match.group()], text)


def _signature(kind: str, token: str) -> str:
    """What a rule may see of ``token``: a hash, which always follows a letter or digit inside an
    identifier, is eight hex digits; a name or an account keeps the class of each character."""
    if kind == "hash":
        return "X" * len(token)
    return "".join(
        "a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else c for c in token
    )
