"""The store's side of `alerts prove`: an alert's stored occurrence (rule version, parameters,
facts with their stored values), what the audit trail recorded about it (the digest of that
occurrence with its evidence, the event that holds it and whether that event's keyed hash
verifies), and signed proof bundles.

The rule is re-evaluated outside the store (audit.replay: the store never imports an engine).
A bundle is a JSON document signed with an HMAC under the trail key (audit.store.trail.sign), so
whoever holds the key can tell whether it was edited after it was made (`check_bundle`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from audit.store import digests, trail
from audit.store.db import Store
from audit.store.models import Alert, AlertOccurrence, AuditEvent
from audit.store.queries import NotFound

BUNDLE_FORMAT = "integrity-audit alert proof"


@dataclass
class TrailRecord:
    """What the trail says about one occurrence."""

    key: str
    seq: int | None = None  # the latest event recording its digest (None: the trail has none)
    hash: str | None = None
    action: str | None = None
    digest: str | None = None  # as the trail recorded it
    current: str | None = None  # of the row as stored now
    authentic: bool = False  # the event's keyed hash verifies
    why: str = ""  # what is wrong, in words ("" when the digest matches and the event verifies)
    differences: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.seq is not None and self.authentic and not self.why


@dataclass
class StoredOccurrence:
    alert: dict[str, Any]
    occurrence: dict[str, Any]
    facts: list[dict[str, Any]]
    trail: TrailRecord


def stored_occurrence(store: Store, alert_id: int, run_id: int | None = None) -> StoredOccurrence:
    """The alert's occurrence in `run_id` (default: its latest), its facts and its trail record."""
    with store.read() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"there is no alert {alert_id}")
        q = select(AlertOccurrence.id).where(AlertOccurrence.alert_id == alert_id)
        if run_id is not None:
            q = q.where(AlertOccurrence.run_id == run_id)
        occ_id = s.execute(q.order_by(AlertOccurrence.period.desc(), AlertOccurrence.run_id.desc())
                           .limit(1)).scalar_one_or_none()
        if occ_id is None:
            where = f" in run {run_id}" if run_id is not None else ""
            raise NotFound(f"alert {alert_id} has no stored occurrence{where} (its run was replaced by a rerun "
                           "that did not find it)")
        key, record = next(digests.occurrences(s, ids=[occ_id]))
        a = digests.alert_record(alert)
        a.update(status=alert.status, assignee=alert.assignee)
        occurrence = {k: v for k, v in record.items() if k not in ("facts", "links")}
        return StoredOccurrence(alert=a, occurrence=occurrence, facts=record["facts"],
                                trail=_trail_record(s, key, record))


def _trail_record(s, key: str, record: dict[str, Any]) -> TrailRecord:
    tr = TrailRecord(key=key, current=digests.of(key, record))
    run = key.split(":")[1]
    t = AuditEvent.__table__
    candidates = [select(t).where(t.c.object == f"run:{run}", t.c.action == trail.DIGESTS),
                  select(t).where(t.c.action == trail.BASELINE)]
    for q in candidates:
        for ev in s.execute(q.order_by(t.c.seq.desc())):
            dg = (ev.details or {}).get("digests") or {}
            if key in dg:
                tr.seq, tr.hash, tr.action, tr.digest = ev.seq, ev.hash, ev.action, dg[key]
                tr.authentic, why = _authentic(s, ev)
                if not tr.authentic:
                    tr.why = f"the trail event seq {ev.seq} that records it does not verify: {why}"
                elif not digests.matches(record, tr.digest):
                    tr.differences = digests.differences(record, tr.digest, "facts")
                    tr.why = (f"the stored occurrence differs from the trail (event seq {ev.seq}): "
                              + "; ".join(tr.differences))
                return tr
    tr.why = "the audit trail has no record of this occurrence (it was written outside integrity-audit)"
    return tr


def _authentic(s, ev) -> tuple[bool, str]:
    """Whether one event's hash verifies under the key in force at its seq (the whole chain is
    checked by `audit verify`)."""
    t = AuditEvent.__table__
    marker = s.execute(select(t.c.seq, t.c.details).where(t.c.action == trail.MARKER, t.c.seq <= ev.seq)
                       .order_by(t.c.seq.desc()).limit(1)).first()
    if marker is None:
        return False, "it is not in the keyed part of the trail"
    kid = (marker.details or {}).get("key_id")
    key = trail.keyring().get(kid)
    if key is None:
        return False, f"it is keyed with key id {kid}, which this machine does not have"
    want = trail.event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.object, ev.details or {}, key)
    if want != ev.hash:
        return False, "its keyed hash does not match (the event was edited)"
    return True, ""


# -- bundles ------------------------------------------------------------------------------------

def sign_bundle(doc: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps({k: v for k, v in doc.items() if k != "signature"}, default=str))
    return {**body, "signature": trail.sign(body)}


def write_bundle(doc: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sign_bundle(doc), indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


class BundleError(ValueError):
    """A proof bundle that cannot be read or whose signature does not hold."""


def check_bundle(path: str | Path) -> dict[str, Any]:
    """The bundle if its signature holds; else BundleError saying why."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BundleError(f"cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise BundleError(f"{path} is not JSON ({e}): it is not a proof bundle, or it was damaged") from None
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not an integrity-audit proof bundle")
    why = trail.check_signature({k: v for k, v in doc.items() if k != "signature"}, doc.get("signature"))
    if why:
        raise BundleError(f"{path} does not verify: {why}")
    return doc
