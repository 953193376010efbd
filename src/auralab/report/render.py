"""HTML and Markdown pages for ``auralab report``.

Both renderers take the same list of :class:`Section` objects, built by ``auralab.report.cli``
from run folders, so the two pages always show the same numbers.
"""

import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    """A table of already formatted cells; ``header`` names the columns."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """One run folder as the report shows it.

    Attributes:
        title: heading, usually the folder name and its kind.
        source: the folder it was read from.
        config: configuration text shown in a collapsed block, or None.
        config_lang: language of ``config`` (for the Markdown fence).
        tables: metric tables, in order.
        figures: ``(caption, path relative to the report folder)`` pairs.
        notes: one-line remarks (e.g. what a CI means).
    """

    title: str
    source: Path
    config: str | None = None
    config_lang: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# Inline CSS only: the page must open offline with no external stylesheet or font.
_CSS = """
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { font-weight: bold; text-align: left; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; }
"""


def to_html(sections: list[Section], title: str = "auralab report") -> str:
    """A self-contained HTML page: inline CSS, images referenced under ``assets/``."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for s in sections:
        parts += _html_section(s)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_section(s: Section) -> list[str]:
    e = html.escape
    out = [f"<section><h2>{e(s.title)}</h2>", f"<p>source: <code>{e(str(s.source))}</code></p>"]
    if s.config is not None:
        out.append(f"<details><summary>config</summary><pre>{e(s.config)}</pre></details>")
    for t in s.tables:
        out.append(f"<table><caption>{e(t.caption)}</caption>")
        out.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in t.header) + "</tr>")
        for row in t.rows:
            out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
        out.append("</table>")
    out += [f"<p>{e(n)}</p>" for n in s.notes]
    for caption, src in s.figures:
        out.append(
            f'<figure><img src="{e(src)}" alt="{e(caption)}">'
            f"<figcaption>{e(caption)}</figcaption></figure>"
        )
    out.append("</section>")
    return out


def to_markdown(sections: list[Section], title: str = "auralab report") -> str:
    """The same content as :func:`to_html`, as GitHub-flavoured Markdown."""
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", "", f"source: `{s.source}`", ""]
        if s.config is not None:
            lines += ["<details><summary>config</summary>", ""]
            lines += [f"```{s.config_lang}", s.config.rstrip("\n"), "```", "", "</details>", ""]
        for t in s.tables:
            lines += [f"**{_md_cell(t.caption)}**", "", _md_row(t.header)]
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(t.header) - 1)) + "|")
            lines += [_md_row(r) for r in t.rows] + [""]
        lines += [n + "\n" for n in s.notes]
        lines += [f"![{_md_cell(c)}]({src})\n" for c, src in s.figures]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md_cell(text: str) -> str:
    # A bare pipe would end the table cell; markup characters would change its look.
    out = text
    for ch in "\\`*_[]|<>":
        out = out.replace(ch, "\\" + ch)
    return out


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"
