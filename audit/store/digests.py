"""Row digests: what the audit trail records about the rows a write produced, so `audit verify`
can prove the alerts, their evidence and the decisions on them are as they were written.

A row's *record* is a plain dict of its columns (times as UTC ISO-8601 with microseconds, dates as
ISO, JSON columns as stored). Its digest is written `FULL.FIELDS[.ITEMS]`:

- FULL: the first 32 hex digits (128 bits) of sha256(canonical JSON of the record);
- FIELDS: 4 hex digits of sha256(canonical JSON of each field's value), fields in sorted order,
  used only to *name* what differs once FULL does not match;
- ITEMS (occurrences only): 4 hex digits per evidence fact, in (alias, fact_id) order, to name the
  fact that was edited, deleted or added.

Keys name what a digest or value is about: `alert:12` (the alert row without its status and
assignee), `alert:12#status`, `alert:12#assignee`, `occ:<run>:<occurrence id>:<alert id>` (an
occurrence with its facts and entity links), `disposition:7`, `suppression:3`, `delivery:4`, `run:9` (the run row:
status, times, error, counts), `run:9#superseded_by`, `run:9#published_at`, `user:<name>`.
The `#` keys are values (the events say them in words: a review's `to`), not digests.

Owned here: the records, the digests, streaming every covered row of the store (`all_rows`), and
the digests a run writes (`append_run_digests`, called by audit.store.writer).
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.store.models import (Alert, AlertFact, AlertLink, AlertOccurrence, Delivery, Disposition, Run,
                                Suppression, WebUser)

FULL_CHARS = 32
MINI_CHARS = 4
BATCH = 1000
EVENT_KEYS = 500  # digests per trail.digests event

RUN_FIELDS = ("sources_loaded", "sources_failed", "rows_read", "rows_accepted", "rows_quarantined",
              "rules_evaluated", "findings", "alerts_new", "alerts_carried", "alerts_resolved",
              "alerts_suppressed")
#: value aspects and what they are when no event ever set them (a fresh row)
DEFAULTS = {"status": "new", "assignee": None, "superseded_by": None, "published_at": None}


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso_time(v: datetime | None) -> str | None:
    return None if v is None else v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso_date(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


# -- records ----------------------------------------------------------------------------------

def alert_record(a: Any) -> dict[str, Any]:
    return {"id": a.id, "fingerprint": a.fingerprint, "rule_id": a.rule_id, "rule_name": a.rule_name,
            "subject": a.subject, "level": a.level, "title": a.title, "dedup": a.dedup,
            "first_period": a.first_period, "last_period": a.last_period, "created_at": iso_time(a.created_at)}


def fact_record(f: Any) -> dict[str, Any]:
    return {"alias": f.alias, "fact_id": f.fact_id, "register": f.register, "source": f.source,
            "file": f.file, "row": f.row, "values": f.values}


def link_record(ln: Any) -> dict[str, Any]:
    return {"fact_id": ln.fact_id, "field": ln.field, "key": ln.key, "method": ln.method, "score": ln.score,
            "strength": ln.strength, "source_text": ln.source_text, "matched_text": ln.matched_text}


def occurrence_record(o: Any, facts: Iterable[Any], links: Iterable[Any]) -> dict[str, Any]:
    fs = sorted((fact_record(f) for f in facts), key=lambda r: (r["alias"], r["fact_id"]))
    ls = sorted((link_record(x) for x in links), key=canonical)
    return {"id": o.id, "alert_id": o.alert_id, "run_id": o.run_id, "period": o.period, "novelty": o.novelty,
            "suppressed": bool(o.suppressed), "suppression_id": o.suppression_id, "rule_version": o.rule_version,
            "title": o.title, "level": o.level, "params": o.params, "values": o.values,
            "as_of": _iso_date(o.as_of), "late": o.late, "facts": fs, "links": ls,
            # only when there is one: occurrences recorded before migration 0008 keep their digests
            **({"weakest_link": o.weakest_link} if getattr(o, "weakest_link", None) else {})}


def disposition_record(d: Any) -> dict[str, Any]:
    return {"id": d.id, "alert_id": d.alert_id, "status": d.status, "reviewer": d.reviewer,
            "at": iso_time(d.at), "note": d.note}


def suppression_record(x: Any) -> dict[str, Any]:
    return {"id": x.id, "scope": x.scope, "fingerprint": x.fingerprint, "rule_id": x.rule_id,
            "subject": x.subject, "alert_id": x.alert_id, "reason": x.reason,
            "expires_on": _iso_date(x.expires_on), "created_by": x.created_by, "created_at": iso_time(x.created_at)}


def delivery_record(d: Any) -> dict[str, Any]:
    return {"id": d.id, "run_id": d.run_id, "destination": d.destination, "status": d.status,
            "attempts": d.attempts, "error": d.error, "at": iso_time(d.at)}


def run_record(r: Any) -> dict[str, Any]:
    return {"id": r.id, "period": r.period, "status": r.status, "engine": r.engine, "actor": r.actor,
            "started_at": iso_time(r.started_at), "finished_at": iso_time(r.finished_at), "error": r.error,
            **{k: getattr(r, k) for k in RUN_FIELDS}}


def user_record(u: Any) -> dict[str, Any]:
    return {"name": u.name, "role": u.role, "department": u.department, "person_id": u.person_id,
            "active": bool(u.active), "password": _sha(u.password_hash or ""), "created_at": iso_time(u.created_at)}


ITEMS = {"occ": "facts"}  # the key kind whose digest also names its items


# -- digests ----------------------------------------------------------------------------------

def full(record: dict[str, Any]) -> str:
    return _sha(canonical(record))[:FULL_CHARS]


def _minis(values: Iterable[Any]) -> str:
    return "".join(_sha(canonical(v))[:MINI_CHARS] for v in values)


def digest(record: dict[str, Any], items: str | None = None) -> str:
    out = f"{full(record)}.{_minis(record[f] for f in sorted(record))}"
    return out + "." + _minis(record[items]) if items else out


def matches(record: dict[str, Any], stored: str) -> bool:
    return stored.split(".", 1)[0] == full(record)


def _chunks(text: str) -> list[str]:
    return [text[i:i + MINI_CHARS] for i in range(0, len(text), MINI_CHARS)]


def differences(record: dict[str, Any], stored: str, items: str | None = None) -> list[str]:
    """In words, what of `record` differs from the row the digest was made of: "title differs from
    the trail", "fact gifts:1:ab (gift) was changed", "1 fact the trail recorded is missing"."""
    parts = stored.split(".")
    fields = sorted(record)
    was = _chunks(parts[1]) if len(parts) > 1 else []
    now = _chunks(_minis(record[f] for f in fields))
    if len(was) != len(now):
        return ["its content differs from the trail"]
    changed = [f for f, a, b in zip(fields, was, now) if a != b]
    named = [f for f in changed if f != items]
    out = [f"{', '.join(named)} {'differs' if len(named) == 1 else 'differ'} from the trail"] if named else []
    if items and items in changed:
        out += _item_differences(record[items], _chunks(parts[2]) if len(parts) > 2 else [])
    return out or ["its content differs from the trail"]


def _item_differences(current: list[dict[str, Any]], was: list[str]) -> list[str]:
    now = [_sha(canonical(x))[:MINI_CHARS] for x in current]
    label = lambda x: f"fact {x.get('fact_id')} ({x.get('alias')})"  # noqa: E731
    if len(now) == len(was):
        return [f"{label(x)} was changed" for x, a, b in zip(current, was, now) if a != b] or ["its facts were changed"]
    out, pending = [], list(was)
    for x, mini in zip(current, now):
        if mini in pending:
            pending.remove(mini)
        else:
            out.append(f"{label(x)} is not in the trail")
    if pending:
        n = len(pending)
        out.append(f"{n} fact{'s' if n > 1 else ''} the trail recorded {'are' if n > 1 else 'is'} missing "
                   f"(the trail has {len(was)}, the store {len(now)})")
    return out


# -- the store's covered rows -----------------------------------------------------------------

def _stream(s: Session, table, order, batch: int = BATCH) -> Iterator[Any]:
    last = None
    while True:
        q = select(table).order_by(order).limit(batch)
        if last is not None:
            q = q.where(order > last)
        rows = s.execute(q).all()
        if not rows:
            return
        yield from rows
        last = getattr(rows[-1], order.key)


def occurrences(s: Session, *, run_id: int | None = None, ids: list[int] | None = None,
                batch: int = BATCH) -> Iterator[tuple[str, dict[str, Any]]]:
    """(occ:<run>:<id>:<alert>, record) for the occurrences (of a run, or the given ones, or all), with facts."""
    t, ft, lt = AlertOccurrence.__table__, AlertFact.__table__, AlertLink.__table__
    last = 0
    while True:
        q = select(t).where(t.c.id > last).order_by(t.c.id).limit(batch)
        if run_id is not None:
            q = q.where(t.c.run_id == run_id)
        if ids is not None:
            q = q.where(t.c.id.in_(ids))
        occs = s.execute(q).all()
        if not occs:
            return
        lo, hi = occs[0].id, occs[-1].id
        facts: dict[int, list] = {}
        for f in s.execute(select(ft).where(ft.c.occurrence_id.between(lo, hi))):
            facts.setdefault(f.occurrence_id, []).append(f)
        links: dict[int, list] = {}
        for ln in s.execute(select(lt).where(lt.c.occurrence_id.between(lo, hi))):
            links.setdefault(ln.occurrence_id, []).append(ln)
        for o in occs:
            yield f"occ:{o.run_id}:{o.id}:{o.alert_id}", occurrence_record(o, facts.get(o.id, ()), links.get(o.id, ()))
        last = hi


def alerts(s: Session, ids: Iterable[int] | None = None) -> Iterator[tuple[Any, dict[str, Any]]]:
    t = Alert.__table__
    if ids is None:
        for a in _stream(s, t, t.c.id):
            yield a, alert_record(a)
        return
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), BATCH):
        for a in s.execute(select(t).where(t.c.id.in_(wanted[i:i + BATCH])).order_by(t.c.id)):
            yield a, alert_record(a)


def all_rows(s: Session) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """Every covered row of the store: (key, record or None for a value aspect, info), where info
    holds `value` for a value aspect and `label`, the row in words."""
    for a, rec in alerts(s):
        label = f"alert {a.id}"
        yield f"alert:{a.id}", rec, {"label": label}
        yield f"alert:{a.id}#status", None, {"label": label, "value": a.status}
        yield f"alert:{a.id}#assignee", None, {"label": label, "value": a.assignee}
    for key, rec in occurrences(s):
        yield key, rec, {"label": occurrence_label(rec)}
    simple = (("disposition", Disposition, disposition_record, lambda r: f"disposition {r.id} of alert {r.alert_id}"),
              ("suppression", Suppression, suppression_record, lambda r: f"suppression {r.id} of alert {r.alert_id}"),
              ("delivery", Delivery, delivery_record, lambda r: f"delivery {r.id} of run {r.run_id}"))
    for prefix, model, make, label in simple:
        t = model.__table__
        for r in _stream(s, t, t.c.id):
            yield f"{prefix}:{r.id}", make(r), {"label": label(r)}
    t = Run.__table__
    for r in _stream(s, t, t.c.id):
        label = f"run {r.id} ({r.period})"
        yield f"run:{r.id}", run_record(r), {"label": label}
        yield f"run:{r.id}#superseded_by", None, {"label": label, "value": r.superseded_by}
        yield f"run:{r.id}#published_at", None, {"label": label, "value": iso_time(r.published_at)}
    t = WebUser.__table__
    for u in _stream(s, t, t.c.name):
        yield f"user:{u.name}", user_record(u), {"label": f"user {u.name}"}


def occurrence_label(rec: dict[str, Any]) -> str:
    return f"alert {rec['alert_id']}, its evidence in run {rec['run_id']} ({rec['period']})"


def kind(key: str) -> str:
    return key.split(":", 1)[0]


def items_of(key: str) -> str | None:
    return ITEMS.get(kind(key))


def of(key: str, record: dict[str, Any]) -> str:
    return digest(record, items_of(key))


# -- what writes record -----------------------------------------------------------------------

def run_row(s: Session, run_id: int) -> dict[str, str]:
    """{"run:N": digest} of the run row as it is now in this transaction."""
    r = s.execute(select(Run.__table__).where(Run.__table__.c.id == run_id)).one()
    return {f"run:{run_id}": digest(run_record(r))}


def append_run_digests(s: Session, store, run_id: int, alert_ids: Iterable[int], actor: str) -> int:
    """Append trail.digests events for what a run wrote: every alert row it created or changed and
    every occurrence of the run with its facts and links. Returns how many events."""
    from audit.store import trail

    found: dict[str, str] = {f"alert:{a.id}": digest(rec) for a, rec in alerts(s, alert_ids)}
    found.update((key, digest(rec, "facts")) for key, rec in occurrences(s, run_id=run_id))
    keys = sorted(found)
    parts = [keys[i:i + EVENT_KEYS] for i in range(0, len(keys), EVENT_KEYS)]
    for n, part in enumerate(parts, start=1):
        trail.append(s, store, actor=actor, action=trail.DIGESTS, obj=f"run:{run_id}",
                     details={"run": run_id, "part": n, "parts": len(parts),
                              "digests": {k: found[k] for k in part}})
    return len(parts)


def baseline(s: Session) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """(digests, values) in chunks covering every row now in the store (see trail.start_keying):
    values only where they differ from what a fresh row has (DEFAULTS)."""
    digests_part: dict[str, str] = {}
    values_part: dict[str, Any] = {}
    for key, rec, info in all_rows(s):
        if rec is None:
            aspect = key.split("#", 1)[1]
            if info["value"] != DEFAULTS[aspect]:
                values_part[key] = info["value"]
        else:
            digests_part[key] = of(key, rec)
        if len(digests_part) + len(values_part) >= EVENT_KEYS * 2:
            yield digests_part, values_part
            digests_part, values_part = {}, {}
    if digests_part or values_part:
        yield digests_part, values_part
