"""The report's HTML: one self-contained page (inline CSS and SVG, no script, no network).

Small builders return HTML fragments as strings; every text from the data goes through
``html.escape``. SVG figures come from ``punkml.report.plots`` and are inlined as they are.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CSS = """
:root { --ink:#1d1d1f; --muted:#555b63; --line:#dedad2; --accent:#0a6e6e; --warn:#8a4b00;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
  background: #fbfaf7; line-height: 1.5; }
body { margin: 0; }
header { background: #16181b; color: #fff; padding: 1.25rem 2rem; }
header h1 { margin: 0; font-size: 1.6rem; }
header p { margin: 0.25rem 0 0; color: #cfd3d8; }
nav { padding: 0.5rem 2rem; border-bottom: 1px solid var(--line); background: #fff;
  position: sticky; top: 0; font-size: 0.9rem; }
nav a { color: var(--accent); margin-right: 1rem; }
main { max-width: 1040px; margin: 0 auto; padding: 1rem 2rem 3rem; }
section { margin: 2rem 0; }
h2 { border-bottom: 2px solid var(--accent); padding-bottom: 0.2rem; }
h3 { margin-bottom: 0.3rem; }
figure { margin: 1rem 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 0.75rem; }
figure svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 0.88rem; margin-top: 0.4rem; }
table { border-collapse: collapse; background: #fff; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { padding: 0.3rem 0.7rem; border-bottom: 1px solid var(--line); text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f1eee8; }
.notice { border-left: 4px solid #e59a00; background: #fff6e5; padding: 0.6rem 1rem;
  color: var(--warn); border-radius: 0 6px 6px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; }
.muted { color: var(--muted); font-size: 0.9rem; }
code { background: #efece5; padding: 0 0.25em; border-radius: 4px; }
"""


@dataclass(frozen=True)
class Section:
    """One titled part of the report; ``body`` is already-safe HTML."""

    anchor: str
    title: str
    body: str


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def paragraph(text: str, css_class: str | None = None) -> str:
    """A paragraph of plain text (escaped); backquoted words become ``<code>``."""
    escaped = esc(text)
    parts = escaped.split("`")
    body = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    attr = f' class="{css_class}"' if css_class else ""
    return f"<p{attr}>{body}</p>"


def notice(text: str) -> str:
    """A highlighted message about something missing, with ``role=note``."""
    return paragraph(text, "notice").replace("<p ", '<p role="note" ', 1)


def figure(svg: str, caption: str) -> str:
    """An inline SVG figure with its caption; the caption also labels the figure."""
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[bool] = ()
) -> str:
    """A table; columns flagged in ``numeric`` are right-aligned."""

    def cls(i: int) -> str:
        return ' class="num"' if i < len(numeric) and numeric[i] else ""

    head = "".join(f'<th scope="col"{cls(i)}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{esc(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document."""
    toc = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    parts = "".join(
        f'<section id="{esc(s.anchor)}" aria-labelledby="{esc(s.anchor)}-h">'
        f'<h2 id="{esc(s.anchor)}-h">{esc(s.title)}</h2>{s.body}</section>'
        for s in sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f'<nav aria-label="Sections">{toc}</nav><main>{parts}</main></body></html>\n'
    )
