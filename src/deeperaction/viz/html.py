"""Small HTML builders for the reports: escaped text, number cells, sortable tables, figures, sections.

Number cells carry their exact value in ``data-v`` (``repr`` of the float) so that the sortable
table sorts numerically and tests can read back the very numbers the metric reported.
"""
from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

_TEMPLATES = resources.files("deeperaction.viz") / "templates"


def esc(x: Any) -> str:
    """HTML-escape ``str(x)``."""
    return html.escape(str(x), quote=True)


def fmt(v: Any, digits: int = 4) -> str:
    """A number for display ('-' for None/nan)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def num(v: Any, digits: int = 4) -> str:
    """A ``<td>`` with a number: exact value in ``data-v``, rounded text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td data-v="">-</td>'
    return f'<td data-v="{float(v)!r}">{esc(fmt(v, digits))}</td>'


def cell(v: Any, digits: int = 4) -> str:
    """A ``<td>``: numbers via :func:`num`, anything else as escaped text."""
    if v is None or isinstance(v, (int, float)) and not isinstance(v, bool):
        return num(v, digits)
    return f"<td>{esc(v)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, id: str, sortable: bool = True,
          filter_box: bool = False, digits: int = 4, scroll: bool = True) -> str:
    """A table; ``sortable`` adds click-to-sort headers (templates/sortable.js)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(cell(v, digits) for v in r) + "</tr>" for r in rows)
    cls = ' class="sortable"' if sortable else ""
    t = f'<table id="{esc(id)}"{cls}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'
    if scroll:
        t = f'<div class="scroll">{t}</div>'
    if filter_box:
        t = f'<div><input class="filter" data-table="{esc(id)}" placeholder="filter rows..."></div>' + t
    return t


def fig(uri: str, alt: str) -> str:
    """An embedded image."""
    return f'<img src="{uri}" alt="{esc(alt)}">'


def figs(*items: str) -> str:
    return '<div class="figs">' + "".join(items) + "</div>"


def kpis(items: Sequence[tuple[str, Any]], digits: int = 4) -> str:
    """Key numbers as tiles: (label, value)."""
    tiles = "".join(f'<div class="kpi"><div class="v">{esc(fmt(v, digits))}</div><div class="k">{esc(k)}</div></div>'
                    for k, v in items)
    return f'<div class="kpis">{tiles}</div>'


def section(id: str, title: str, *parts: str, note: str | None = None, cls: str = "") -> str:
    """A report section (element id ``sec-<id>``, apart from table ids), a heading, an optional explanation."""
    n = f'<p class="note">{note}</p>' if note else ""
    c = f' class="{cls}"' if cls else ""
    return f'<section id="sec-{esc(id)}"{c}><h2>{esc(title)}</h2>{n}{"".join(parts)}</section>'


def page(title: str, headline_name: str, headline: Any, meta: str, sections: Sequence[tuple[str, str, str]],
         version: str, digits: int = 4) -> str:
    """The whole self-contained page; ``sections`` are (id, nav label, html)."""
    tpl = (_TEMPLATES / "report.html").read_text(encoding="utf-8")
    js = (_TEMPLATES / "sortable.js").read_text(encoding="utf-8")
    hv = "" if headline is None else repr(float(headline))
    head = (f'<div><span class="name">{esc(headline_name)}</span>'
            f'<span class="big" id="headline" data-v="{hv}">{esc(fmt(headline, digits))}</span></div>')
    nav = "".join(f'<a href="#sec-{esc(i)}">{esc(label)}</a>' for i, label, _ in sections)
    body = "\n".join(h for _, _, h in sections)
    out = tpl
    for k, v in (("title", esc(title)), ("headline", head), ("meta", meta), ("nav", nav), ("version", esc(version)),
                 ("script", js), ("body", body)):
        out = out.replace("{{" + k + "}}", v)
    return out
