"""Inline SVG charts for the report, drawn server side with matplotlib (no pyplot, no JavaScript).

Deterministic: a fixed svg.hashsalt and no Date metadata, so the same run gives the same bytes.
Text stays text (svg.fonttype none) and is never parsed as mathtext, so register text such as
"$5 voucher" is drawn as written; matplotlib escapes it for XML.
"""
from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_RC = {"svg.hashsalt": "integrity-audit", "svg.fonttype": "none", "text.parse_math": False,
       "font.family": "sans-serif", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}
LEVEL_COLOURS = {"critical": "#7f0000", "high": "#c62828", "medium": "#ef6c00", "low": "#f9a825",
                 "informational": "#607d8b"}
BAR = "#1f4e79"
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOGUE.sub("", buf.getvalue(), count=1)
    # An accessible name for the picture (title text is escaped by the caller's autoescape rules).
    safe = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{safe}" ', 1)


def _short(label: str, width: int = 38) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= width else label[: width - 1] + "…"


def bar_chart(items: list[tuple[str, int]], title: str, colours: dict[str, str] | None = None,
              limit: int = 15) -> str:
    """Horizontal bars, largest first; beyond `limit` categories the rest are summed as "others"."""
    items = list(items)
    if len(items) > limit:
        rest = sum(n for _, n in items[limit - 1:])
        items = items[: limit - 1] + [(f"{len(items) - limit + 1} others", rest)]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 0.3 * max(len(items), 1) + 0.8))
        ax = fig.add_subplot()
        labels = [_short(k) for k, _ in items][::-1]
        values = [n for _, n in items][::-1]
        cols = [(colours or {}).get(k, BAR) for k, _ in items][::-1]
        ax.barh(range(len(items)), values, color=cols)
        ax.set_yticks(range(len(items)), labels=labels)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v}", va="center")
        ax.set_title(title, loc="left")
        ax.set_xlim(0, max(values, default=0) * 1.15 or 1)  # counts: never a negative axis, even when all 0
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        # room for the longest label (about 0.075 in per character at 9 pt), no second layout pass
        longest = max((len(lb) for lb in labels), default=1)
        height = fig.get_figheight()
        fig.subplots_adjust(left=min(0.6, 0.04 + longest * 0.075 / 6.4), right=0.95,
                            top=1 - 0.35 / height, bottom=0.35 / height)
        return _svg(fig, title)


def trend_chart(trend: list[dict], title: str) -> str:
    """Stacked bars of new and carried alerts per period (the last 12 months)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 2.6))
        ax = fig.add_subplot()
        periods = [str(t.get("period", "")) for t in trend]
        new = [int(t.get("new", 0) or 0) for t in trend]
        carried = [int(t.get("carried", 0) or 0) for t in trend]
        x = range(len(periods))
        ax.bar(x, carried, color="#90a4ae", label="carried over")
        ax.bar(x, new, bottom=carried, color=BAR, label="new")
        ax.set_xticks(list(x), labels=periods, rotation=45, ha="right")
        ax.set_ylim(0, max((n + c for n, c in zip(new, carried)), default=0) * 1.15 or 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(frameon=False, loc="upper left")
        fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.3)
        ax.set_title(title, loc="left")
        return _svg(fig, title)
