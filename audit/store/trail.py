"""The audit trail: append-only events, each chained to the one before by a hash.

hash = sha256(prev_hash + canonical JSON of {seq, at, actor, action, object, details}), where
canonical JSON sorts keys, uses no whitespace and writes `at` as UTC ISO-8601 with microseconds.
The first event's prev_hash is 64 zeros. `verify` recomputes the chain and returns the first
sequence number whose row was edited, inserted or removed (a gap), or None when it is intact.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
store's BEGIN IMMEDIATE write transactions. Append inside the caller's transaction, so an action
and its event commit (or roll back) together.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from audit.store.db import Store
from audit.store.models import AuditEvent

GENESIS = "0" * 64
TRAIL_LOCK_KEY = 7_304_211_007
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LAST = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__)
_COLUMNS = ("seq", "at", "actor", "action", "object", "details", "prev_hash", "hash")


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, obj: str,
               details: dict[str, Any]) -> str:
    body = canonical({"seq": seq, "at": _iso(at), "actor": actor, "action": action,
                      "object": obj, "details": details})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(session: Session, store: Store, *, actor: str, action: str, obj: str,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one event to the chain within `session`'s transaction.

    Cheap on purpose (every page view appends one): the lock (PostgreSQL), one primary-key
    probe for the previous hash and one INSERT; the returned event is not added to the session."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"k": TRAIL_LOCK_KEY})
    last = session.execute(_LAST).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    clean = json.loads(canonical(details or {}))  # exactly what the JSON column will give back
    at = store.now()
    event = AuditEvent(seq=seq, at=at, actor=actor or "unknown", action=action, object=obj,
                       details=clean, prev_hash=prev,
                       hash=event_hash(prev, seq, at, actor or "unknown", action, obj, clean))
    session.execute(_INSERT, {c: getattr(event, c) for c in _COLUMNS})
    return event


def log(store: Store, *, actor: str, action: str, obj: str, details: dict[str, Any] | None = None) -> int:
    """Append one event in its own transaction (for views and other read-only actions)."""
    with store.write() as session:
        return append(session, store, actor=actor, action=action, obj=obj, details=details).seq


def verify(store: Store, batch: int = 5000) -> int | None:
    """First broken sequence number, or None if every event chains correctly."""
    expected_seq, prev = 1, GENESIS
    with store.read() as session:
        last_seq = 0
        while True:
            rows = session.execute(
                select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
            ).scalars().all()
            if not rows:
                return None
            for ev in rows:
                if ev.seq != expected_seq or ev.prev_hash != prev:
                    return expected_seq if ev.seq != expected_seq else ev.seq
                if ev.hash != event_hash(prev, ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details):
                    return ev.seq
                prev, expected_seq, last_seq = ev.hash, ev.seq + 1, ev.seq
            session.expunge_all()


def events(store: Store, *, obj: str | None = None, action: str | None = None,
           limit: int = 100) -> list[dict[str, Any]]:
    """Newest events first, optionally for one object or action."""
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if obj:
        q = q.where(AuditEvent.object == obj)
    if action:
        q = q.where(AuditEvent.action == action)
    with store.read() as session:
        return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "object": e.object,
                 "details": e.details} for e in session.execute(q).scalars()]
