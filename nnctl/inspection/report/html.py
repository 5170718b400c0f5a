"""The page's pieces as HTML text: escaping, tables, pictures with their captions, sections.

Every piece of text that comes from a run (a config value, a column name, a label, a path) goes
through `esc`; nothing else builds HTML from data. Pictures are PNG bytes inline as ``data:``
URIs, so that the page needs no other file and makes no request.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

#: The page's only style sheet, inline; system fonts, so that no font is fetched.
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0; color: #1f2328; background: #fff; line-height: 1.45; }
header { background: #24292f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header p { margin: 4px 0 0; color: #d0d7de; font-size: 14px; }
nav { padding: 8px 32px; border-bottom: 1px solid #d0d7de; font-size: 14px; background: #f6f8fa; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
main { padding: 8px 32px 40px; max-width: 1100px; }
section { margin-top: 28px; }
h2 { font-size: 19px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 10px; font-size: 12.5px;
  overflow-x: auto; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { font-size: 13.5px; color: #57606a; max-width: 900px; margin-top: 4px; }
.warn { color: #9a6700; font-weight: 600; }
.info { color: #0969da; font-weight: 600; }
.muted { color: #57606a; font-size: 13px; }
.scroll { overflow-x: auto; }
"""


def esc(value: Any) -> str:
    """``value`` as text safe inside an HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int = 4) -> str:
    """A number as a table shows it (``digits`` significant digits); text as it is, escaped."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return esc(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return esc(value)
    return f"{value:.{digits}g}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 4) -> str:
    """A table: ``headers`` escaped, numbers right-aligned, every cell escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    head = f"<tr>{head}</tr>" if any(headers) else ""
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{number(cell, digits)}</td>'
            if isinstance(cell, int | float) and not isinstance(cell, bool)
            else f"<td>{esc('' if cell is None else cell)}</td>"
            for cell in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table>{head}{"".join(body)}</table></div>'


def picture(png: bytes, alt: str, caption: str) -> str:
    """A PNG inline, with ``caption`` under it: what it shows and what to look for."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def paragraph(text: str, css: str = "") -> str:
    """A paragraph of escaped text."""
    cls = f' class="{css}"' if css else ""
    return f"<p{cls}>{esc(text)}</p>"


def section(anchor: str, title: str, body: str) -> str:
    """A section with its heading; ``anchor`` is the link the navigation bar points to."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole page: header, a navigation bar to each of ``sections`` (anchor, title, body)."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(section(a, t, b) for a, t, b in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{links}</nav><main>{body}</main></body></html>\n"
    )
