"""A small Markdown-to-HTML converter for report sections, so one template per section serves both reports.

It handles exactly what the section templates write: ``#`` headings, paragraphs, ``-`` lists, pipe
tables (with ``\\|`` escapes inside cells), fenced code blocks, and inline ``code``, **bold** and
*emphasis*. Everything is HTML-escaped first, so text from a timeline can never inject markup into
the page.
"""

from __future__ import annotations

import re
from html import escape

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def cell(value: object) -> str:
    """Make a value safe inside a Markdown table cell: ``|`` escaped (read back by ``_cells``), newlines as spaces."""
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def inline(text: str) -> str:
    """Escape, then apply code, bold and emphasis (code spans are left untouched inside)."""
    pieces = _CODE.split(text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"<code>{escape(piece)}</code>")
        else:
            html = escape(piece)
            html = _BOLD.sub(r"<strong>\1</strong>", html)
            out.append(_EM.sub(r"<em>\1</em>", html))
    return "".join(out)


def _cells(row: str) -> list[str]:
    row = row.strip().removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells = re.split(r"(?<!\\)\|", row)
    return [c.strip().replace("\\|", "|") for c in cells]


def to_html(markdown: str, *, heading_offset: int = 0) -> str:
    """Convert a section's Markdown; ``heading_offset`` shifts heading levels (## -> h3 with 1)."""
    lines = markdown.splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        heading = _HEADING.match(line)
        if line.lstrip().startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + escape("\n".join(block)) + "</code></pre>")
        elif not line.strip():
            flush()
        elif heading:
            flush()
            level = min(6, len(heading.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1].strip()):
            flush()
            head = _cells(line)
            i += 2
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rows)
                       + "</tbody></table>")
            continue
        elif re.match(r"^\s*[-*]\s+", line):
            flush()
            items = []
            while i < len(lines) and re.match(r"^\s*[-*]\s+", lines[i]):
                items.append(re.sub(r"^\s*[-*]\s+", "", lines[i].rstrip()))
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(item)}</li>" for item in items) + "</ul>")
            continue
        else:
            paragraph.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)
