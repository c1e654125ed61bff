"""Writers of the audit report: the same tables as Markdown and as a self-contained HTML page."""

from __future__ import annotations

import csv
from html import escape
from pathlib import Path
from typing import Any

from blueprint.assembly.audit_tables import Table, tables
from blueprint.assembly.diagram import architecture_svg

Json = dict[str, Any]
# Wide tables scroll inside their own box and long cells wrap: the page never scrolls sideways.
CSS = """
body{font-family:sans-serif;margin:2em;color:#223;max-width:100%}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccd;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top;
overflow-wrap:anywhere;max-width:40em}
svg{max-width:100%;height:auto}
th{background:#eef}
.missing{color:#a00;font-weight:bold}
"""


def slug(title: str) -> str:
    """A table's anchor and CSV file name."""
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def write_csv(report: Json, directory: Path, every: list[Table] | None = None) -> list[Path]:
    """Each table as ``csv/<slug>.csv`` (``every``: the report's tables, when made already)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(report) if every is None else every:
        path = directory / f"{slug(table.title)}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.headers)
            writer.writerows(table.rows)
        written.append(path)
    return written


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Json, every: list[Table] | None = None) -> str:
    every = tables(report) if every is None else every
    out = ["# Platform audit", "", "Contents:", ""]
    out += [f"- [{t.title}](#{slug(t.title)}) (csv/{slug(t.title)}.csv)" for t in every]
    out.append("")
    for table in every:
        out += [f'<a id="{slug(table.title)}"></a>', "", f"## {table.title}", ""]
        if table.note:
            out += [table.note, ""]
        if table.csv_only:
            out += [_csv_only_line(table), ""]
            continue
        out.append("| " + " | ".join(table.headers) + " |")
        out.append("|" + "---|" * len(table.headers))
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        out.append("")
    return "\n".join(out)


def _html_cell(value: Any) -> str:
    text = escape(str(value))
    flagged = text.startswith(("NONE", "NOT ", "NO"))
    return f'<td class="missing">{text}</td>' if flagged else f"<td>{text}</td>"


def _csv_only_line(table: Table) -> str:
    return f"{len(table.rows)} rows ({', '.join(table.headers)}), in csv/{slug(table.title)}.csv."


def _html_table(table: Table) -> str:
    if table.csv_only:
        anchor = slug(table.title)
        note = f"<p>{escape(table.note)}</p>" if table.note else ""
        return (
            f'<h2 id="{anchor}">{escape(table.title)}</h2>{note}'
            f'<p><a href="csv/{anchor}.csv">{escape(_csv_only_line(table))}</a></p>'
        )
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in table.rows)
    note = f"<p>{escape(table.note)}</p>" if table.note else ""
    anchor = slug(table.title)
    csv_link = f'<p><a href="csv/{anchor}.csv">CSV</a></p>'
    return (
        f'<h2 id="{anchor}">{escape(table.title)}</h2>{note}{csv_link}'
        f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'
    )


def render_html(report: Json, every: list[Table] | None = None) -> str:
    every = tables(report) if every is None else every
    sections = [_html_table(t) for t in every]
    diagram = '<h2 id="architecture">Architecture</h2>' + architecture_svg(report["inventory"])
    sections.insert(1, diagram)
    # In the order the sections render: the architecture second.
    entries = [(slug(t.title), t.title) for t in every]
    entries.insert(1, ("architecture", "Architecture"))
    contents = "".join(
        f'<li><a href="#{anchor}">{escape(title)}</a></li>' for anchor, title in entries
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Platform audit</title><style>{CSS}</style></head><body>"
        f"<h1>Platform audit</h1><nav><h2>Contents</h2><ul>{contents}</ul></nav>"
        + "".join(sections)
        + "</body></html>\n"
    )
