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


CITED = "#c62828"  # the days of the accesses an alert cites


def _days(per_day: list[tuple[str, int]], start, end) -> list[tuple[str, int]]:
    """Every day from `start` to `end` (dates or ISO text; default the first and last day given),
    with its count (0 when absent), so quiet days show as gaps."""
    from datetime import date, timedelta

    counts: dict[str, int] = {}
    for d, n in per_day:
        counts[str(d)[:10]] = counts.get(str(d)[:10], 0) + int(n)
    known = sorted(counts)
    ends = [date.fromisoformat(str(x)[:10]) for x in (start, end) if x] + [date.fromisoformat(k) for k in known]
    if not ends:
        return []
    lo, hi = min(ends), max(ends)  # a day outside the window given still shows
    if (hi - lo).days > 400:  # a year and a bit at most: beyond it, only the days with accesses
        return sorted(counts.items())
    return [((lo + timedelta(days=i)).isoformat(), counts.get((lo + timedelta(days=i)).isoformat(), 0))
            for i in range((hi - lo).days + 1)]


def daily_accesses_chart(per_day: list[tuple[str, int]], title: str, *, marked=(), start=None,
                         end=None) -> str:
    """Accesses per day (one bar a day, every day of the window from `start` to `end`, quiet days at
    0); the `marked` days (ISO dates: those of the cited accesses) in red, with a legend saying so."""
    days = _days(per_day, start, end)
    marked = {str(d)[:10] for d in marked}
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 2.4))
        ax = fig.add_subplot()
        x = range(len(days))
        values = [n for _, n in days]
        cols = [CITED if d in marked else BAR for d, _ in days]
        ax.bar(x, values, color=cols, width=0.8)
        step = max(1, -(-len(days) // 12))  # at most about 12 date labels
        ticks = list(range(0, len(days), step))
        ax.set_xticks(ticks, labels=[days[i][0][5:] for i in ticks], rotation=45, ha="right")
        ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
        ax.set_ylim(0, max(values, default=0) * 1.2 or 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("accesses")
        if marked & {d for d, n in days if n}:
            from matplotlib.patches import Patch

            ax.legend(handles=[Patch(color=CITED, label="a day of the accesses the alert cites"),
                               Patch(color=BAR, label="other days")], frameon=False, loc="lower right",
                      bbox_to_anchor=(1, 1), ncol=2, borderaxespad=0.2)
        fig.subplots_adjust(left=0.09, right=0.98, top=0.8, bottom=0.3)
        ax.set_title(title, loc="left", pad=18)
        return _svg(fig, title)


PEER_KEYS = ("user_count", "group", "peer_mean", "peer_sd", "peer_count")


#: a peers finding's figures (rules.model.PEER_FIGURES, stored with its evidence) -> the baseline's names
FIGURE_KEYS = {"value": "user_count", "peers.group": "group", "peers.mean": "peer_mean", "peers.sd": "peer_sd",
               "peers.count": "peer_count"}


def peer_baseline_of(values: dict | None) -> dict | None:
    """The peer baseline in an alert's evidence values: the figures a `peers` rule stores ({value},
    {peers.mean} ...), or a whole dict under "peer_baseline"; None when there is none."""
    values = values or {}
    whole = values.get("peer_baseline")
    if isinstance(whole, dict):
        return dict(whole)
    if not all(k in values for k in FIGURE_KEYS):
        return None
    return {name: values[k] for k, name in FIGURE_KEYS.items()}


def peer_baseline(baseline: dict) -> dict:
    """A peer baseline checked and completed: {user_count, group, peer_mean, peer_sd, peer_count}
    (numbers), optional `user` (a label), `peer_counts` (each peer's count: then mean, sd and count
    are taken from them when not given) and `z` (computed when not given and sd > 0).
    Raises ValueError naming what is missing or not a number."""
    b = dict(baseline or {})
    counts = b.get("peer_counts")
    if counts is not None:
        counts = [float(c) for c in counts]
        if counts:
            mean = sum(counts) / len(counts)
            b.setdefault("peer_mean", mean)
            b.setdefault("peer_sd", (sum((c - mean) ** 2 for c in counts) / len(counts)) ** 0.5)
        b.setdefault("peer_count", len(counts))
    missing = [k for k in PEER_KEYS if b.get(k) is None]
    if missing:
        raise ValueError(f"the peer baseline lacks {', '.join(missing)}")
    for k in ("user_count", "peer_mean", "peer_sd", "peer_count"):
        try:
            b[k] = float(b[k])
        except (TypeError, ValueError):
            raise ValueError(f"the peer baseline's {k} is not a number: {b[k]!r}") from None
    if b["peer_sd"] < 0 or b["peer_count"] < 0:
        raise ValueError("the peer baseline's standard deviation and count cannot be negative")
    if b.get("z") is None and b["peer_sd"] > 0:
        b["z"] = (b["user_count"] - b["peer_mean"]) / b["peer_sd"]
    return b


def peer_figure(values: dict | None, user: str | None = None) -> dict | None:
    """An alert's peer baseline ready to show: {baseline (checked and completed), svg, problem}; when
    its figures cannot be drawn, svg is "" and problem says why. None when the alert carries none."""
    found = peer_baseline_of(values)
    if not found:
        return None
    b = dict(found)
    if user and not b.get("user"):
        b["user"] = user
    try:
        b = peer_baseline(b)
    except ValueError as e:
        return {"baseline": b, "svg": "", "problem": str(e)}
    return {"baseline": b, "svg": peer_baseline_chart(b), "problem": None}


def peer_baseline_chart(baseline: dict, title: str | None = None) -> str:
    """The user's count beside their peers': a bar for the user, a bar for the peers' mean with
    whiskers at one and two standard deviations, and each peer's count as a dot when given.
    `baseline`: see peer_baseline (the trawling rule's evidence carries these)."""
    b = peer_baseline(baseline)
    user = str(b.get("user") or "this user")
    group = str(b["group"])
    title = title or f"{user} against {int(b['peer_count'])} peers ({group})"
    mean, sd = b["peer_mean"], b["peer_sd"]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 1.9))
        ax = fig.add_subplot()
        labels = [_short(f"peers' mean ({group})"), _short(user)]
        ax.barh([0], [mean], color="#90a4ae", height=0.5)
        ax.barh([1], [b["user_count"]], color=CITED, height=0.5)
        ax.errorbar([mean], [0], xerr=[[min(mean, 2 * sd)], [2 * sd]], fmt="none", ecolor="#455a64",
                    capsize=3, lw=0.8)
        ax.errorbar([mean], [0], xerr=[[min(mean, sd)], [sd]], fmt="none", ecolor="#263238", capsize=5, lw=1.6)
        counts = b.get("peer_counts") or []
        if counts:
            ax.plot([float(c) for c in counts], [-0.38] * len(counts), "|", color="#263238", markersize=6)
        ax.set_yticks([0, 1], labels=labels)
        z = b.get("z")
        ax.text(b["user_count"], 1, f" {b['user_count']:g}" + (f" (z = {z:.1f})" if z is not None else ""),
                va="center")
        ax.text(mean + 2 * sd, 0, f" mean {mean:.1f}, sd {sd:.1f}", va="center")
        top = max(b["user_count"], mean + 2 * sd, max((float(c) for c in counts), default=0))
        ax.set_xlim(0, top * 1.35 or 1)
        ax.set_ylim(-0.6, 1.5)
        ax.set_title(title, loc="left")
        longest = max(len(lb) for lb in labels)
        fig.subplots_adjust(left=min(0.6, 0.04 + longest * 0.075 / 6.4), right=0.97, top=0.8, bottom=0.2)
        return _svg(fig, title)
