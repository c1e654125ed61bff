"""The documentation the tests read: README.md first, then every docs/*.md.

The README routes each reader to a document of docs/; a test that checks a claim of the
documentation reads it here, wherever the claim now lives."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def documents() -> list[Path]:
    """README.md and every Markdown file of docs/, in that order."""
    return [README, *sorted((REPO / "docs").glob("*.md"))]


def documentation() -> str:
    """The text of every document, one after the other."""
    return "\n".join(path.read_text() for path in documents())


def outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number from 0, line) of every line outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines()):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def headings(text: str) -> list[tuple[int, int, str]]:
    """(line number, level, title) of every ATX heading outside fenced code blocks."""
    found = []
    for number, line in outside_fences(text):
        match = HEADING.match(line)
        if match:
            found.append((number, len(match[1]), match[2]))
    return found


def section(heading: str) -> str:
    """From the line ``heading`` (e.g. "## Deploy to AWS") to the next heading of its level or
    above, in the one document that has it."""
    level = len(heading) - len(heading.lstrip("#"))
    title = heading.lstrip("#").strip()
    found = []
    for path in documents():
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        marks = headings(text)
        for index, (start, start_level, start_title) in enumerate(marks):
            if (start_level, start_title) != (level, title):
                continue
            end = next((n for n, lvl, _ in marks[index + 1 :] if lvl <= level), len(lines))
            found.append("".join(lines[start:end]))
    assert len(found) == 1, f"{heading!r} is a heading {len(found)} times, not once"
    return found[0]
