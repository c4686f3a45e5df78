"""One self-contained HTML page: inline CSS and SVG, no script, no font, no network.

A page is a title, a few headline figures and a list of sections; each section is built from
the small helpers below (``table``, ``figure``, ``pairs``, ``code``), which escape every text
they are given. The page prints well: the navigation is hidden and no figure or table row is
split across pages.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

CSS = """
:root { --fg: #1d232a; --muted: #5b6570; --line: #dde2e7; --soft: #f5f7f9; --accent: #1f6fb4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 60px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .sub { color: var(--muted); font-size: 14px; word-break: break-all; }
nav { position: sticky; top: 0; background: rgba(255,255,255,.95); border-bottom: 1px solid
  var(--line); padding: 8px 0; margin: 14px 0 8px; z-index: 1; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 16px; white-space: nowrap; }
section { margin-top: 30px; }
h2 { font-size: 19px; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
p.note { color: var(--muted); font-size: 13px; margin: 6px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 140px;
  background: var(--soft); }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; background: #777; vertical-align: middle; }
.badge.finished { background: #2e7d32; } .badge.running { background: #1f6fb4; }
.badge.killed { background: #b26a00; } .badge.failed { background: #c62828; }
.badge.pruned { background: #6d4c9f; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n, th.n { text-align: right; }
tr.best td { background: #eaf4ea; font-weight: 600; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: 8px 0 16px; }
figure svg, figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; font-size: 12.5px; overflow-x: auto; line-height: 1.35; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; margin: 6px 0; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print {
  nav { display: none; } main { max-width: none; padding: 0; } body { font-size: 11pt; }
  figure, table, tr, .card { break-inside: avoid; } section { break-before: auto; }
  details { display: block; } details > summary { display: none; }
}
"""


def esc(v: Any) -> str:
    """Text made safe for HTML."""
    return html.escape("" if v is None else str(v), quote=True)


def number(v: Any, digits: int = 4) -> str:
    """A number the way people read it: 5,210 / 0.9412 / 1.23e-05; None as a dash."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0 or 1e-3 <= abs(v) < 1e6:
            return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(digits - 2, 1)}f}"
        return f"{v:.3g}"
    return str(v)


def _cell(v: Any) -> tuple[str, bool]:
    """(html, is_number) of a table cell; a ``Raw`` value is inserted as is."""
    if isinstance(v, Raw):
        return v.html, False
    if isinstance(v, int | float) and not isinstance(v, bool) or v is None:
        return number(v), True
    return esc(v), False


@dataclass
class Raw:
    """HTML that a helper built already (a badge, a link): inserted without escaping."""

    html: str


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]],
          highlight: int | None = None, cls: str = "") -> str:
    """A table; numbers right-aligned; row ``highlight`` (an index) in bold."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for v in row:
            text, num = _cell(v)
            cells.append(f'<td class="n">{text}</td>' if num else f"<td>{text}</td>")
        attr = ' class="best"' if i == highlight else ""
        body.append(f"<tr{attr}>{''.join(cells)}</tr>")
    return (f'<div class="scroll {cls}"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of names and values."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_cell(v)[0]}</td></tr>" for k, v in items)
    return f'<div class="scroll"><table><tbody>{rows}</tbody></table></div>'


def figure(svg: str, caption: str = "") -> str:
    """An inline SVG with a caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def png(data: bytes, caption: str = "", alt: str = "") -> str:
    """A PNG inlined as a data URI, with a caption."""
    src = "data:image/png;base64," + base64.b64encode(data).decode()
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{src}" alt="{esc(alt or caption)}">{cap}</figure>'


def code(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def badge(status: str) -> Raw:
    return Raw(f'<span class="badge {esc(status)}">{esc(status)}</span>')


def fold(summary: str, body: str) -> str:
    """A collapsed block (open in print)."""
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


@dataclass
class Page:
    """A report page: a title, headline figures and sections, rendered to one HTML string."""

    title: str
    subtitle: str = ""
    status: str | None = None
    cards: list[tuple[str, Any]] = field(default_factory=list)
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, html)

    def add(self, title: str, *parts: str) -> None:
        """A section; empty parts are dropped, a section with none is not shown."""
        body = "\n".join(p for p in parts if p)
        if body:
            anchor = "s-" + "".join(c if c.isalnum() else "-" for c in title.lower())
            self.sections.append((anchor, title, body))

    def render(self) -> str:
        status = f" {badge(self.status).html}" if self.status else ""
        cards = "".join(f'<div class="card"><div class="v">{_cell(v)[0]}</div>'
                        f'<div class="k">{esc(k)}</div></div>' for k, v in self.cards)
        nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in self.sections)
        body = "\n".join(f'<section id="{a}"><h2>{esc(t)}</h2>\n{h}\n</section>'
                         for a, t, h in self.sections)
        from archopt import __version__

        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(self.title)}</title>
<style>{CSS}</style></head>
<body><main>
<header><h1>{esc(self.title)}{status}</h1><div class="sub">{esc(self.subtitle)}</div>
{f'<div class="cards">{cards}</div>' if cards else ''}</header>
<nav>{nav}</nav>
{body}
<footer>archopt {esc(__version__)} report · one file, no network: plots are inline SVG.</footer>
</main></body></html>
"""
