"""The documentation holds together: every relative link of README.md and docs/*.md reaches a
file that exists and, with a ``#anchor``, a heading of that file (GitHub's anchors); the
README opens with the two commands and routes each reader; each document says whom it is for
and lists its sections; and the few figures the documents quote come from the code they
describe. No synthesis: the files alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from blueprint.assembly.access.selectors import GRAMMAR_FILE, TABLES, grammar_text
from blueprint.model.sections.genai import RagEvaluationConfig
from genai_constructs.rag.answer_api import AnswerThresholds
from tests.docs import README, REPO, documentation, documents, headings, outside_fences

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: its text (links and code as their text), lower-case,
    punctuation other than '-' and '_' removed, each space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = "".join(c for c in text if c.isalnum() or c in "-_ " or c.isspace())
    return re.sub(r"\s", "-", text)


def anchors(text: str) -> set[str]:
    """Every anchor of a Markdown text; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for _, _, title in headings(text):
        base = anchor(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        candidate = base if count == 0 else f"{base}-{count}"
        while candidate in found:  # a heading whose own text ends like a suffix
            count += 1
            candidate = f"{base}-{count}"
        found.add(candidate)
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number from 1, target) of every link outside fenced code blocks and code spans."""
    return [
        (number + 1, target)
        for number, line in outside_fences(text)
        for target in LINK.findall(CODE_SPAN.sub("code", line))
    ]


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """What is wrong with each relative link of ``path`` (a file under ``root``), one line
    each."""
    problems = []
    for line, target in links(path.read_text()):
        if SCHEME.match(target):
            continue  # https:, mailto:: not this test's business
        file_part, _, fragment = target.partition("#")
        where = f"{path.relative_to(root)}:{line}: {target}"
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{where}: no file {file_part}")
        elif fragment and linked.suffix != ".md":
            problems.append(f"{where}: an anchor into a file that is not Markdown")
        elif fragment and fragment not in anchors(linked.read_text()):
            problems.append(f"{where}: no heading of {linked.name} has the anchor #{fragment}")
    return problems


# --- the link check ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_reaches_a_file_and_a_heading(path: Path) -> None:
    assert broken_links(path) == []


def test_the_anchors_are_githubs() -> None:
    text = (
        "# Title\n## What `make synth` does\n## Data: the ETL (raw to curated, checked)\n"
        "## Deploy to AWS\n```bash\n# a comment, not a heading\n```\n## Deploy to AWS\n"
        "### Deploy to AWS\n## [Linked](x.md) heading_one\n"
    )
    assert anchors(text) == {
        "title",
        "what-make-synth-does",
        "data-the-etl-raw-to-curated-checked",
        "deploy-to-aws",
        "deploy-to-aws-1",
        "deploy-to-aws-2",
        "linked-heading_one",
    }


def test_a_broken_link_is_reported_and_a_fenced_one_is_not(tmp_path: Path) -> None:
    """The check can fail: a missing file, a missing heading and an anchor past the last
    duplicate are each reported; a link in a code block or a code span is no link."""
    (tmp_path / "README.md").write_text("# Title\n## Where to go next\n")
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Example\n## Twice\n## Twice\n\n[ok](#twice-1) [ok](../README.md#where-to-go-next)\n"
        "[gone](missing.md) [no heading](#nowhere) [third](#twice-2) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n[web](https://example.com/#x)\n"
    )
    problems = broken_links(page, root=tmp_path)
    assert [problem.split(": ")[1] for problem in problems] == [
        "missing.md",
        "#nowhere",
        "#twice-2",
    ]


# --- what each reader meets first -------------------------------------------------------------


def test_the_readme_opens_with_the_two_commands() -> None:
    """CI runs the README's test command: the first code block holds both commands."""
    text = README.read_text()
    first_block = text.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]
    assert [command for command in commands if command] == ["make synth", "make test"]


def test_the_readme_routes_each_reader_to_a_document() -> None:
    where_to_go = README.read_text().split("## Where to go next", 1)[1]
    for document in ("platform-engineers", "lob-teams", "auditors", "contributors"):
        assert f"(docs/{document}.md)" in where_to_go


READERS = ["platform-engineers.md", "lob-teams.md", "auditors.md", "contributors.md"]


@pytest.mark.parametrize("name", READERS)
def test_each_reader_document_says_whom_it_is_for_and_lists_its_sections(name: str) -> None:
    text = (REPO / "docs" / name).read_text()
    title, intro = text.split("\n\n", 2)[:2]
    assert title.startswith("# ")
    assert intro.startswith("For ")
    sections = [title for _, level, title in headings(text) if level == 2]
    assert sections[0] == "Contents"
    listed = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^- \[(.*)\]\(#(.*)\)$", listed, re.MULTILINE) == [
        (title, anchor(title)) for title in sections[1:]
    ]


# --- figures the documents quote ----------------------------------------------------------------


def constant(module: str, name: str) -> int:
    match = re.search(rf"^{name} = (\d+)$", (REPO / module).read_text(), re.MULTILINE)
    assert match, f"{name} is not an integer constant of {module}"
    return int(match[1])


def test_the_figures_the_documents_quote_come_from_the_code() -> None:
    """Prices are the snapshot's eu-west-1 prices at its hours a month (rounded as quoted);
    the shards of the budget and oversight stacks are their modules' constants."""
    text = re.sub(r"\s+", " ", documentation())
    prices = json.loads((REPO / "blueprint/model/prices.json").read_text())
    hours, items = prices["hours_per_month"], prices["regions"]["eu-west-1"]
    mlflow = items["mlflow_tracking_server_hour:Small"]["price"] * hours
    endpoint_zone = items["interface_endpoint_az_hour"]["price"] * hours
    derived = {round(mlflow, -1), round(endpoint_zone)}
    quoted = {float(n) for n in re.findall(r"about (\d+) USD", text)}
    assert quoted == derived
    budgets = constant("stacks/budgets.py", "LOBS_PER_BUDGET_STACK")
    oversight = constant("stacks/governance.py", "LOBS_PER_OVERSIGHT_STACK")
    budget_row = f"budget per LOB over the spend of its accounts, {budgets} LOBs per stack"
    assert budget_row in text
    assert f"a metrics-only dashboard per LOB, {oversight} LOBs per stack" in text


def test_the_answers_alarms_the_documents_quote_are_the_constructs_defaults() -> None:
    text = re.sub(r"\s+", " ", documentation())
    limits = AnswerThresholds()
    quoted = (
        f"over an hour of at least {limits.min_answers} answers, the guardrail stopped "
        f"{limits.intervention_percent:g} % or more or {limits.empty_retrieval_percent:g} % or "
        f"more found no passage, when {limits.failed_answers} answers fail in five minutes, "
        f"when the p90 invocation takes {limits.latency_ms // 1000} s"
    )
    assert quoted in text
    schedule = RagEvaluationConfig().schedule
    assert f"`rag.evaluation.schedule` (default `{schedule}`" in text


# --- the access catalog's selector grammar ------------------------------------------------------


def test_the_selector_grammar_lists_exactly_the_registered_kinds() -> None:
    """docs/catalog-selectors.md is what the registries render (`make schema`), and each of its
    tables lists every kind of its registry, and no other."""
    page = (REPO / "docs" / GRAMMAR_FILE).read_text()
    assert page == grammar_text(), "docs/catalog-selectors.md is stale: run `make schema`"
    sections = dict(re.findall(r"^## (.+)\n((?:(?!^## ).*\n?)*)", page, re.MULTILINE))
    for registry, title, _, _ in TABLES:
        rows = re.findall(r"^\| (`.*?) \| .* \|$", sections[title], re.MULTILINE)
        listed = {s.split("/")[0] for row in rows for s in re.findall(r"`([^`]+)`", row)}
        assert listed == set(registry.kinds), title
        assert len(rows) == len(registry.kinds), title
    assert [title for _, title, _, _ in TABLES] == list(sections)
