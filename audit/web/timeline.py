"""The CCU's view of an access alert (#19, "Report and web"): the access timeline of the alert's
user for the alert's record(s), with a chart of their accesses per day, and the peer baseline of
a trawling alert as a chart.

The timeline rows are the access log's (system_access: need-to-know throughout), stored at run
time by audit.store.access_timeline; they are shown only when audit.web.access says the user sees
need-to-know values (sees_sensitive: the CCU), on top of the alert itself being visible to them
(the alert page's own can_see check, done before this module is called). Nothing here decides
access on its own terms.

The peer baseline hook: `reports.charts.peer_baseline_of(values)` finds a baseline in an alert's
evidence values and `peer_view(values)` draws it (reports.charts.peer_baseline_chart). A baseline is a dict
{user_count, group, peer_mean, peer_sd, peer_count} with optional `user` (a label), `peer_counts`
(each peer's count) and `z`, read from a `peers` rule's stored figures ({value}, {peers.mean},
{peers.sd}, {peers.count}, {peers.group}: rules/model.PEER_FIGURES) or given whole under "peer_baseline".
"""
from __future__ import annotations

import base64
import csv
import functools
import io
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from audit.store import access_timeline as store_timeline
from audit.store.access_timeline import AlertTimelines, PairTimeline
from audit.store.db import Store
from audit.web import access
from audit.web.users import User
from reports import charts
from reports.cells import neutralise

PAIRS_DRAWN = 10  # records drawn in full on one alert page (a trawling alert can cite hundreds)
CSV_COLUMNS = ("user", "record_id", "accessed_date", "accessed_time", "system", "action", "incident_id",
               "rows_returned", "access_id", "cited", "file", "row")


def svg_img(svg: str, alt: str) -> Markup:
    """A chart as an <img> of a data: URI, not inline SVG: matplotlib styles its SVG with style
    attributes, which the app's Content-Security-Policy (style-src 'self', audit.web.security) blocks
    in the page; an SVG image is its own document (no script runs in it) and img-src allows data:."""
    if not svg:
        return Markup("")
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(f'<img class="chart-img" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">')


@functools.lru_cache(maxsize=512)  # a chart takes matplotlib ~0.1-0.2 s; a run's timelines never change
def _daily_svg(per_day: tuple[tuple[str, int], ...], title: str, marked: frozenset[str], start, end) -> str:
    return charts.daily_accesses_chart(list(per_day), title, marked=marked, start=start, end=end)


@dataclass
class ShownPair:
    pair: PairTimeline
    chart: Markup  # an <img> of the SVG chart ("" when nothing was recorded)


@dataclass
class ShownTimelines:
    timelines: AlertTimelines
    pairs: list[ShownPair]  # drawn in full: the PAIRS_DRAWN with the most accesses
    more: list[PairTimeline]  # the rest (an aggregate alert citing many records): counts only, rows in the CSV


def may_see_timeline(user: User) -> bool:
    """The access log's rows are need-to-know: the same test as every other need-to-know value."""
    return access.sees_sensitive(user)


def for_alert(store: Store, user: User, a) -> ShownTimelines | None:
    """The timelines of visible alert `a` for `user`, with their charts; None when the user may not
    see them or the alert cites no access to a record."""
    if not may_see_timeline(user):
        return None
    found = store_timeline.for_alert(store, a.id)
    if found is None:
        return None
    ordered = sorted(found.pairs, key=lambda p: (-p.total, p.person_key, p.record_id))  # most accesses first
    shown = []
    for p in ordered[:PAIRS_DRAWN]:
        chart = Markup("")
        if p.recorded:
            who = a.subject_name if p.person_key == a.subject and a.subject_name else p.person_key
            title = f"{who}'s accesses to {p.record_id}, per day"
            chart = svg_img(_daily_svg(tuple(p.per_day), title, frozenset(p.cited_days), p.window_from, p.window_to),
                            f"{title}: {p.total} in all, on {len(p.per_day)} day(s)")
        shown.append(ShownPair(pair=p, chart=chart))
    return ShownTimelines(timelines=found, pairs=shown, more=ordered[PAIRS_DRAWN:])


def csv_bytes(found: AlertTimelines | None) -> bytes:
    """The timeline rows as CSV (every text cell formula-safe: reports.cells.neutralise); only the
    header when the alert has none."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)

    def cell(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return v
        return neutralise(str(v))

    for p in (found.pairs if found else []):
        for r in p.rows:
            w.writerow([cell(v) for v in (p.person_key, p.record_id, r.accessed_date, r.accessed_time, r.system,
                                          r.action, r.incident_id, r.rows_returned, r.access_id, r.cited,
                                          r.file, r.row)])
    return buf.getvalue().encode("utf-8-sig")


# ---- the peer baseline hook ---------------------------------------------------------------------

def peer_view(values: dict[str, Any] | None, user_label: str | None = None) -> dict[str, Any] | None:
    """The peer baseline of an alert's evidence for its page: {baseline, chart (an <img> of its SVG),
    problem (why it could not be drawn, or None)}; None when the evidence carries no baseline."""
    shown = charts.peer_figure(values, user_label)
    if shown is None or shown["problem"]:
        return shown and {"baseline": shown["baseline"], "chart": Markup(""), "problem": shown["problem"]}
    b = shown["baseline"]
    alt = (f"{b.get('user') or 'this user'}: {b['user_count']:g} against their peers' mean "
           f"{b['peer_mean']:.1f} (sd {b['peer_sd']:.1f}, {b['peer_count']:g} peers, {b['group']})")
    return {"baseline": b, "chart": svg_img(shown["svg"], alt), "problem": None}
