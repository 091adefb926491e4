"""The access timeline of an access alert: every access of the alert's user to the alert's record in
the access log the run read, for the CCU's view of the alert (#19, "Report and web").

Why it is stored: an alert keeps only the rows it cites (alert_facts) and the ledger keeps hashes,
so once a run is over nothing else of the access log is in the store. At run time, after
record_run, `record_access_timelines(store, run_id, access)` takes the run's access log (the
system_access frame, or its chunks) and keeps, for each (user, record) pair the run's alerts cite
in a system_access fact with a record, that user's rows for that record:

- every row up to MAX_ROWS per pair (the cited rows always kept, then the others in time order),
  and while the run has stored fewer than RUN_ROW_BUDGET rows in all; beyond either cap a pair
  keeps its cited rows only, and `total` says how many there were (len(rows) < total: capped);
- nothing for a pair when the access log given lacks a row its alerts cite (it is not the log the
  run read: a pruned frame); the page then says no timeline was recorded, never a short one;
- the count per day of *all* of them (per_day), so the chart is complete when the rows are capped;
- the dates the access log covered (window_from, window_to): the window the run read.

Not a copy of the register: a handful of rows per cited pair. Need-to-know: system_access is
sensitive throughout, so these rows are the CCU's only; readers decide with audit.web.access
before showing anything (this module never does).

`for_alert(store, alert_id)` reads them back for one alert, for the run of the alert's latest
occurrence (the occurrence alert_view shows), with the alert's cited rows marked.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import delete, insert, select

from audit.store.db import Store
from audit.store.evidence import jsonable
from audit.store.models import AccessTimeline, AlertFact, AlertOccurrence, Run

REGISTER = "system_access"
#: what a timeline row keeps of an access-log row (the fact id marks the cited ones; file and row
#: say where it is in the source)
ROW_FIELDS = ("fact_id", "access_id", "accessed_date", "accessed_time", "system", "action", "record_id",
              "incident_id", "rows_returned", "_source", "_file", "_row")
MAX_ROWS = 200  # rows kept per (user, record) pair
RUN_ROW_BUDGET = 100_000  # rows kept per run in all (past it, pairs keep their cited rows and counts)


def _user(values: dict[str, Any]) -> str | None:
    """The user of an access row: the resolved person key, else the person ID as written."""
    for k in ("person_key", "person_id"):
        v = values.get(k)
        if v is not None and str(v).strip():
            return str(v)
    return None


def user_column(df: pd.DataFrame) -> pd.Series:
    key = df["person_key"] if "person_key" in df else pd.Series(None, index=df.index, dtype="object")
    if "person_id" in df:
        key = key.where(key.notna() & (key.astype("string").str.strip() != ""), df["person_id"])
    return key.astype("string")


def cited_pairs(store: Store, run_id: int) -> dict[tuple[str, str], set[str]]:
    """(user, record) -> the fact ids cited, over every system_access fact with a record that the
    run's alerts cite."""
    with store.read() as s:
        rows = s.execute(select(AlertFact.fact_id, AlertFact.values)
                         .join(AlertOccurrence, AlertOccurrence.id == AlertFact.occurrence_id)
                         .where(AlertOccurrence.run_id == run_id, AlertFact.register == REGISTER)).all()
    return _pairs(rows)


def _pairs(rows) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for fact_id, values in rows:
        values = values or {}
        user, record = _user(values), values.get("record_id")
        if user and record is not None and str(record).strip():
            out.setdefault((user, str(record)), set()).add(str(fact_id))
    return out


@dataclass
class _Pair:
    rows: list[dict[str, Any]] = field(default_factory=list)
    per_day: Counter = field(default_factory=Counter)


@dataclass
class TimelineSummary:
    pairs: int  # (user, record) pairs recorded
    rows: int  # timeline rows stored
    capped: int  # pairs whose rows were cut (their counts per day are whole)
    window: tuple[date | None, date | None]
    missing: int = 0  # pairs not recorded: `access` lacked a row their alerts cite (a pruned frame?)


def _chunks(access: pd.DataFrame | Iterable[pd.DataFrame] | None) -> Iterable[pd.DataFrame]:
    if access is None:
        return ()
    return (access,) if isinstance(access, pd.DataFrame) else access


def _day(v: Any) -> str | None:
    v = jsonable(v)
    return str(v)[:10] if v is not None else None


def _sort_key(row: dict[str, Any]) -> tuple:
    return (str(row.get("accessed_date") or ""), str(row.get("accessed_time") or ""), str(row.get("access_id") or ""))


def build_timelines(pairs: dict[tuple[str, str], set[str]],
                    access: pd.DataFrame | Iterable[pd.DataFrame] | None):
    """Read the access log once (a frame or its chunks, in any order): the rows of each pair, their
    counts per day, and the first and last date of the whole log. Returns (pairs -> _Pair, window)."""
    found = {p: _Pair() for p in pairs}
    records = {r for _, r in pairs}
    first = last = None
    for chunk in _chunks(access):
        if chunk is None or chunk.empty:
            continue
        if "accessed_date" in chunk:
            col = chunk["accessed_date"]
            lo, hi = (col.min(), col.max()) if pd.api.types.is_datetime64_any_dtype(col) else \
                (pd.to_datetime(col, errors="coerce").min(), pd.to_datetime(col, errors="coerce").max())
            if not pd.isna(lo):
                lo, hi = lo.date(), hi.date()
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
        if "record_id" not in chunk:
            continue
        hit = chunk[chunk["record_id"].isin(records)]  # records are text; no copy of the whole column
        if hit.empty:
            continue
        users = user_column(hit).tolist()
        recs = hit["record_id"].astype("string").tolist()
        cols = {c: hit[c].tolist() for c in ROW_FIELDS if c in hit.columns}
        for i, (user, record) in enumerate(zip(users, recs)):
            pair = found.get((str(user), str(record))) if user is not None and user is not pd.NA else None
            if pair is None:
                continue
            row = {c.lstrip("_"): jsonable(cols[c][i]) for c in cols}
            if row.get("accessed_date") is not None:
                row["accessed_date"] = str(row["accessed_date"])[:10]
            pair.rows.append(row)
            pair.per_day[_day(cols["accessed_date"][i]) if "accessed_date" in cols else None] += 1
    return found, (first, last)


def _kept(rows: list[dict[str, Any]], cited: set[str], room: int) -> list[dict[str, Any]]:
    """The cited rows always, then the others in time order while there is room; in time order."""
    rows = sorted(rows, key=_sort_key)
    mine = [r for r in rows if str(r.get("fact_id")) in cited]
    others = [r for r in rows if str(r.get("fact_id")) not in cited][:max(0, room - len(mine))]
    return sorted(mine + others, key=_sort_key)


def record_access_timelines(store: Store, run_id: int,
                            access: pd.DataFrame | Iterable[pd.DataFrame] | None, *,
                            window: tuple[date | None, date | None] | None = None,
                            max_rows: int = MAX_ROWS, budget: int = RUN_ROW_BUDGET) -> TimelineSummary:
    """Store the access timelines of run `run_id`'s access alerts, read from `access`: the access
    log as the run read it (the system_access frame, or an iterable of its chunks), not a copy
    pruned to what the rules needed (a pruned frame gives a partial timeline). `window`: the first
    and last date the run read, when `access` is only part of the log (e.g. the rows of the cited
    records, selected in the analytical engine); otherwise taken from `access`. Call it once the run
    is recorded (record_run); it replaces the timelines of the period's earlier runs, as record_run
    replaced their results. A run with no access alert, or no access log, stores nothing."""
    if access is None:
        return TimelineSummary(pairs=0, rows=0, capped=0, window=(None, None))
    pairs = cited_pairs(store, run_id)
    found, seen = build_timelines(pairs, access) if pairs else ({}, (None, None))
    window = window or seen
    records, stored, capped, missing = [], 0, 0, 0
    for (user, record) in sorted(found):
        p = found[(user, record)]
        if not pairs[(user, record)] <= {str(r.get("fact_id")) for r in p.rows}:
            missing += 1  # `access` lacks a row the alert cites: not the log the run read; kept out
            continue
        room = min(max_rows, max(0, budget - stored))
        rows = _kept(p.rows, pairs[(user, record)], room)
        stored += len(rows)
        capped += len(rows) < len(p.rows)
        records.append({"run_id": run_id, "person_key": user, "record_id": record, "total": len(p.rows),
                        "per_day": {d: n for d, n in sorted(p.per_day.items(), key=lambda kv: str(kv[0])) if d},
                        "rows": rows, "window_from": window[0], "window_to": window[1]})
    with store.write() as s:
        period = s.execute(select(Run.period).where(Run.id == run_id)).scalar_one()
        earlier = select(Run.id).where(Run.period == period, Run.id != run_id)
        s.execute(delete(AccessTimeline).where(AccessTimeline.run_id.in_(earlier)))
        s.execute(delete(AccessTimeline).where(AccessTimeline.run_id == run_id))
        for i in range(0, len(records), 500):
            s.execute(insert(AccessTimeline.__table__), records[i:i + 500])
    return TimelineSummary(pairs=len(records), rows=stored, capped=capped, window=window, missing=missing)


# ---- reading one alert's timelines back ---------------------------------------------------------

@dataclass
class TimelineRow:
    access_id: str | None
    accessed_date: str | None
    accessed_time: str | None
    system: str | None
    action: str | None
    incident_id: str | None
    rows_returned: Any
    file: str | None
    row: int | None
    cited: bool  # one of the rows this alert cites


@dataclass
class PairTimeline:
    person_key: str
    record_id: str
    recorded: bool  # False: the run stored no timeline (it ran before timelines, or did not record them)
    total: int = 0  # the user's accesses to the record in the window
    rows: list[TimelineRow] = field(default_factory=list)
    per_day: list[tuple[str, int]] = field(default_factory=list)  # (ISO date, accesses), by date
    cited_days: set[str] = field(default_factory=set)
    window_from: date | None = None
    window_to: date | None = None

    @property
    def capped(self) -> bool:
        return self.recorded and len(self.rows) < self.total


@dataclass
class AlertTimelines:
    alert_id: int
    run_id: int
    period: str
    pairs: list[PairTimeline]


def for_alert(store: Store, alert_id: int) -> AlertTimelines | None:
    """The access timelines of one alert as its latest occurrence's run recorded them; None when the
    alert cites no access-log row with a record (not an access alert, or a search of no record)."""
    from audit.store.queries import _last_occurrence  # the occurrence alert_view shows

    with store.read() as s:
        occ = _last_occurrence(s, alert_id)
        if occ is None:
            return None
        facts = s.execute(select(AlertFact.fact_id, AlertFact.values)
                          .where(AlertFact.occurrence_id == occ.id, AlertFact.register == REGISTER)).all()
        pairs = _pairs(facts)
        if not pairs:
            return None
        stored = {(t.person_key, t.record_id): t for t in s.execute(
            select(AccessTimeline).where(AccessTimeline.run_id == occ.run_id,
                                         AccessTimeline.record_id.in_(sorted({r for _, r in pairs})))).scalars()}
        out = []
        for (user, record), cited in sorted(pairs.items()):
            t = stored.get((user, record))
            if t is None:
                out.append(PairTimeline(person_key=user, record_id=record, recorded=False))
                continue
            rows = [TimelineRow(access_id=r.get("access_id"), accessed_date=r.get("accessed_date"),
                                accessed_time=r.get("accessed_time"), system=r.get("system"),
                                action=r.get("action"), incident_id=r.get("incident_id"),
                                rows_returned=r.get("rows_returned"), file=r.get("file"), row=r.get("row"),
                                cited=str(r.get("fact_id")) in cited) for r in t.rows]
            out.append(PairTimeline(
                person_key=user, record_id=record, recorded=True, total=t.total, rows=rows,
                per_day=sorted((str(d), int(n)) for d, n in (t.per_day or {}).items()),
                cited_days={r.accessed_date for r in rows if r.cited and r.accessed_date},
                window_from=t.window_from, window_to=t.window_to))
        return AlertTimelines(alert_id=alert_id, run_id=occ.run_id, period=occ.period, pairs=out)
