"""The audit trail: append-only events, each chained to the one before by a keyed hash.

hash = HMAC-SHA256(key, prev_hash + canonical JSON of {seq, at, actor, action, object, details}),
where canonical JSON sorts keys, uses no whitespace and writes `at` as UTC ISO-8601 with
microseconds. The first event's prev_hash is 64 zeros. Events written before the trail was keyed
(before migration 0007) are plain sha256(prev_hash + body) and still verify as such.

Which scheme an event uses is said by the chain itself: a `trail.key` marker event starts the
keyed part ({scheme, key_id, previous_key_id, development_key, endorsement}); it and every event
after it are HMACs with the key of that id, until the next marker. A marker that changes the key
carries an endorsement made with the previous key (unless that was the public development key),
so nobody without the key can switch the chain to a key of their own. An unkeyed event after a
keyed one, or one carrying digests, is a downgrade and breaks the chain.

The key comes from INTEGRITY_AUDIT_TRAIL_KEY; old keys a verifier still needs (after a change of
key) from INTEGRITY_AUDIT_TRAIL_PREVIOUS_KEYS (comma-separated). Without the variable the fixed
development key is used, with a warning, so the quick start runs: anyone can recompute that chain.

Events carry what a write produced (audit.store.digests): `digests` {key: digest} and `values`;
a run's alert and evidence digests go in `trail.digests` events; `trail.baseline` events record
every row present when the trail was first keyed. `trail.*` events are left out of `events()`
unless asked for. `verify` checks the chain only (the web banner); audit.store.trail_check checks
rows and anchors too (`audit verify`).

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
store's BEGIN IMMEDIATE write transactions. Append inside the caller's transaction, so an action
and its event commit (or roll back) together.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from audit.store.db import Store
from audit.store.digests import canonical, iso_time
from audit.store.models import AuditEvent

_logger = logging.getLogger("integrity_audit.trail")

GENESIS = "0" * 64
TRAIL_LOCK_KEY = 7_304_211_007
KEY_ENV = "INTEGRITY_AUDIT_TRAIL_KEY"
PREVIOUS_KEYS_ENV = "INTEGRITY_AUDIT_TRAIL_PREVIOUS_KEYS"
#: Used only when INTEGRITY_AUDIT_TRAIL_KEY is unset (development, tests, the quick start). A chain
#: keyed with it can be recomputed by anyone, so `audit verify` says so whenever it is in use.
DEV_KEY = "integrity-audit-development-trail-key-NOT-FOR-PRODUCTION"
DEV_KEY_WARNING = (f"{KEY_ENV} is not set: the audit trail is keyed with the fixed development key, so "
                   "anyone with write access to the store could recompute it; set the variable to a long "
                   "random secret (and keep it: verifying needs it) before real use")
SCHEME = "hmac-sha256"
MARKER, DIGESTS, BASELINE = "trail.key", "trail.digests", "trail.baseline"
INTERNAL = "trail."
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LAST = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_MARKER = (select(AuditEvent.seq, AuditEvent.details).where(AuditEvent.action == MARKER)
           .order_by(AuditEvent.seq.desc()).limit(1))
_INSERT = insert(AuditEvent.__table__)
_COLUMNS = ("seq", "at", "actor", "action", "object", "details", "prev_hash", "hash")
_warned: set[str] = set()


# -- keys ---------------------------------------------------------------------------------------

def key_id(key: bytes) -> str:
    """A public name for a key (16 hex digits): says which key an event used, reveals nothing."""
    return hmac.new(key, b"integrity-audit trail key id", hashlib.sha256).hexdigest()[:16]


DEV_KEY_ID = key_id(DEV_KEY.encode())


def trail_key() -> tuple[bytes, str | None]:
    """The key new events are written with, and a warning when it is the development key."""
    key = os.environ.get(KEY_ENV, "")
    if key.strip():
        return key.strip().encode("utf-8"), None
    return DEV_KEY.encode(), DEV_KEY_WARNING


def keyring() -> dict[str, bytes]:
    """Every key this process can verify with, by key id (current, previous, development)."""
    keys = [trail_key()[0], DEV_KEY.encode()]
    keys += [k.strip().encode("utf-8") for k in os.environ.get(PREVIOUS_KEYS_ENV, "").split(",") if k.strip()]
    return {key_id(k): k for k in keys}


def sign(data: dict[str, Any]) -> dict[str, str]:
    """An HMAC signature of `data` (canonical JSON) with the trail key: {scheme, key_id, value}."""
    key, _ = trail_key()
    return {"scheme": SCHEME, "key_id": key_id(key),
            "value": hmac.new(key, canonical(data).encode("utf-8"), hashlib.sha256).hexdigest()}


def check_signature(data: dict[str, Any], signature: dict[str, Any]) -> str | None:
    """None if `signature` is a valid signature of `data`, else why not (in words)."""
    if not isinstance(signature, dict) or signature.get("scheme") != SCHEME:
        return "it carries no HMAC-SHA256 signature"
    key = keyring().get(str(signature.get("key_id")))
    if key is None:
        return (f"it was signed with key id {signature.get('key_id')}, which this machine does not have "
                f"(set {KEY_ENV}, or {PREVIOUS_KEYS_ENV} for an earlier key)")
    want = hmac.new(key, canonical(data).encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, str(signature.get("value", ""))):
        return "its signature does not match its content: it was edited after it was signed"
    return None


# -- hashing and appending ----------------------------------------------------------------------

def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, obj: str,
               details: dict[str, Any], key: bytes | None = None) -> str:
    body = canonical({"seq": seq, "at": _iso(at), "actor": actor, "action": action,
                      "object": obj, "details": details})
    data = (prev_hash + body).encode("utf-8")
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key is not None else hashlib.sha256(data).hexdigest()


def endorsement(previous_key: bytes, prev_hash: str, new_key_id: str) -> str:
    return hmac.new(previous_key, f"endorse:{prev_hash}:{new_key_id}".encode(), hashlib.sha256).hexdigest()


def _dialect(conn) -> str:
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    return bind.dialect.name


def _insert(conn, at: datetime, last, key: bytes, actor: str, action: str, obj: str,
            details: dict[str, Any] | None) -> AuditEvent:
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    clean = json.loads(canonical(details or {}))  # exactly what the JSON column will give back
    event = AuditEvent(seq=seq, at=at, actor=actor or "unknown", action=action, object=obj,
                       details=clean, prev_hash=prev,
                       hash=event_hash(prev, seq, at, actor or "unknown", action, obj, clean, key))
    conn.execute(_INSERT, {c: getattr(event, c) for c in _COLUMNS})
    return event


def _start_keying(conn, now: Callable[[], datetime], last, key: bytes, kid: str,
                  chain: tuple[int, dict] | None, actor: str) -> Any:
    """Write the trail.key marker (and, on a trail that had unkeyed events, the baseline)."""
    from audit.store import digests

    previous = str(chain[1].get("key_id")) if chain else None
    details = {"scheme": SCHEME, "key_id": kid, "previous_key_id": previous,
               "development_key": kid == DEV_KEY_ID}
    if previous and previous != DEV_KEY_ID:
        old = keyring().get(previous)
        if old is not None:
            details["endorsement"] = endorsement(old, last[1] if last else GENESIS, kid)
        else:
            _logger.warning("the audit trail was keyed with key id %s and %s now has id %s, but the previous key "
                        "is not in %s: `audit verify` will report the change of key", previous, KEY_ENV, kid,
                        PREVIOUS_KEYS_ENV)
    ev = _insert(conn, now(), last, key, actor, MARKER, "trail", details)
    last = (ev.seq, ev.hash)
    if chain is None and ev.seq > 1:  # a trail written before keying: record what the store holds now
        for n, (dg, values) in enumerate(digests.baseline(conn), start=1):
            ev = _insert(conn, now(), last, key, actor, BASELINE, "trail",
                         {"part": n, "digests": dg, "values": values})
            last = (ev.seq, ev.hash)
    return last


def _prepare(conn, now: Callable[[], datetime], actor: str) -> tuple[Any, bytes]:
    """Lock, and make sure the chain is keyed with this process's key: (last (seq, hash), key)."""
    if _dialect(conn) == "postgresql":
        conn.execute(_LOCK, {"k": TRAIL_LOCK_KEY})
    key, warning = trail_key()
    if warning and warning not in _warned:
        _warned.add(warning)
        _logger.warning("%s", warning)
    kid = key_id(key)
    last = conn.execute(_LAST).first()
    marker = conn.execute(_MARKER).first()
    chain = (marker[0], marker[1] or {}) if marker else None
    if chain is None or chain[1].get("key_id") != kid:
        last = _start_keying(conn, now, last, key, kid, chain, actor)
    return last, key


def append(session: Session, store: Store, *, actor: str, action: str, obj: str,
           details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one event to the chain within `session`'s transaction.

    Cheap on purpose (every page view appends one): the lock (PostgreSQL), two index probes (the
    previous hash, the key marker) and one INSERT; the returned event is not added to the session."""
    last, key = _prepare(session, store.now, actor or "unknown")
    return _insert(session, store.now(), last, key, actor, action, obj, details)


def key_existing_trail(conn) -> bool:
    """Migration 0007: key a trail written before keying, recording a baseline of every row (so
    the rows written before are proved from now on). Nothing to do on an empty store."""
    if conn.execute(_LAST).first() is None or conn.execute(_MARKER).first() is not None:
        return False
    _prepare(conn, lambda: datetime.now(timezone.utc), "migration")
    return True


def log(store: Store, *, actor: str, action: str, obj: str, details: dict[str, Any] | None = None) -> int:
    """Append one event in its own transaction (for views and other read-only actions)."""
    with store.write() as session:
        return append(session, store, actor=actor, action=action, obj=obj, details=details).seq


# -- verifying the chain ------------------------------------------------------------------------

@dataclass
class Chain:
    """Feeds on events in seq order and says which are authentic (hash, link, scheme, key)."""

    keys: dict[str, bytes] = field(default_factory=keyring)
    expected: int = 1
    prev: str = GENESIS
    key: bytes | None = None
    key_id: str | None = None
    keyed_from: int | None = None
    first_broken: int | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    unknown_key: bool = False
    last: tuple[int, str] | None = None

    def _broken(self, seq: int, why: str) -> None:
        if self.first_broken is None:
            self.first_broken = seq
        self.problems.append((seq, why))

    def feed(self, ev) -> bool:
        """Check one event (a row with the AuditEvent columns); True if it is authentic."""
        ok = True
        if ev.seq != self.expected:
            gap = f"{self.expected}" if ev.seq == self.expected + 1 else f"{self.expected}-{ev.seq - 1}"
            self._broken(self.expected, f"event(s) seq {gap} are missing (deleted)")
            ok = False
        if ev.prev_hash != self.prev:
            self._broken(ev.seq, f"event seq {ev.seq} does not chain to the event before it "
                                 "(an event was inserted, removed or rewritten)")
            ok = False
        details = ev.details if isinstance(ev.details, dict) else {}
        if ev.action == MARKER:
            ok = self._marker(ev, details) and ok
        if self.key_id is None:
            if str(ev.action).startswith(INTERNAL) or "digests" in details or "values" in details:
                self._broken(ev.seq, f"event seq {ev.seq} ({ev.action}) carries digests but is not keyed: the chain "
                                     "was recomputed without the key")
                ok = False
            want = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details)
        elif self.key is None:
            want = None
        else:
            want = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details, self.key)
        if want is not None and not hmac.compare_digest(want, str(ev.hash)):
            how = "its keyed hash does not match" if self.key_id else "its hash does not match"
            self._broken(ev.seq, f"event seq {ev.seq} ({ev.action} {ev.object}) was changed after it was "
                                 f"written ({how}: edited, or re-hashed without the key)")
            ok = False
        self.prev, self.expected, self.last = ev.hash, ev.seq + 1, (ev.seq, ev.hash)
        return ok and want is not None

    def _marker(self, ev, details: dict) -> bool:
        kid = str(details.get("key_id"))
        ok = True
        if self.key_id is not None and self.key_id != DEV_KEY_ID and kid != self.key_id:
            if self.key is None or details.get("endorsement") != endorsement(self.key, ev.prev_hash, kid):
                self._broken(ev.seq, f"event seq {ev.seq} switches the trail to key id {kid} without the "
                                     f"endorsement of the key before it ({self.key_id})")
                ok = False
        self.key_id, self.key = kid, self.keys.get(kid)
        if self.keyed_from is None:
            self.keyed_from = ev.seq
        if self.key is None:
            self.unknown_key = True
            self._broken(ev.seq, f"events from seq {ev.seq} are keyed with key id {kid}, which this machine "
                                 f"does not have: set {KEY_ENV} (or {PREVIOUS_KEYS_ENV} for an earlier key)")
            ok = False
        return ok


def stream(session, batch: int = 5000, since: int = 0):
    """Events in seq order, in batches (plain rows, nothing kept in the session)."""
    t = AuditEvent.__table__
    last = since
    while True:
        rows = session.execute(select(t).where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(store: Store, batch: int = 5000) -> int | None:
    """First broken sequence number, or None if every event chains correctly (the chain only:
    audit.store.trail_check.check also proves the rows and checks the anchors)."""
    chain = Chain()
    with store.read() as session:
        for ev in stream(session, batch):
            chain.feed(ev)
    return chain.first_broken


def head(store: Store) -> dict[str, Any] | None:
    """The newest event: {seq, hash, at, key_id} (None on an empty trail)."""
    with store.read() as s:
        last = s.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.at)
                         .order_by(AuditEvent.seq.desc()).limit(1)).first()
        marker = s.execute(_MARKER).first()
    if last is None:
        return None
    return {"seq": int(last[0]), "hash": last[1], "at": iso_time(last[2]),
            "key_id": (marker[1] or {}).get("key_id") if marker else None}


def events(store: Store, *, obj: str | None = None, action: str | None = None,
           limit: int = 100, internal: bool = False) -> list[dict[str, Any]]:
    """Newest events first, optionally for one object or action. The trail's own bookkeeping
    (trail.key, trail.digests, trail.baseline) only when asked for by action or `internal`."""
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if obj:
        q = q.where(AuditEvent.object == obj)
    if action:
        q = q.where(AuditEvent.action == action)
    elif not internal:
        q = q.where(AuditEvent.action.not_like(INTERNAL + "%"))
    with store.read() as session:
        return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "object": e.object,
                 "details": e.details} for e in session.execute(q).scalars()]
