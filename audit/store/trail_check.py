"""`audit verify`: prove the store against its trail, and the trail against its anchors.

1. The chain (audit.store.trail.Chain): every event's keyed hash, link and scheme.
2. The rows: each event of the keyed part says what it wrote (digests and values, see
   audit.store.digests); the latest event about each row is what the row must be now. Every alert,
   occurrence with its facts and links, disposition, suppression, delivery, run and web user is
   recomputed and compared; a row that differs is named with what differs and the event that
   recorded it, a row the trail recorded that is gone is "deleted", a row the trail never recorded
   is "not in the trail". A rerun's `supersedes` retires the replaced runs' occurrences.
3. The row ledger: each source's rows against their keyed seal (audit.store.ledger_seal).
4. The anchors: every (seq, hash) in the local anchor file and in any --anchor file must still be
   in the chain with that hash, so cutting the newest events off, or rewriting the trail from
   some point on, is found.

Everything is streamed in batches inside one snapshot (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite), so a write committed meanwhile can neither be half seen nor cause a false
alarm.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy.orm import Session

from audit.store import digests, ledger_seal, trail
from audit.store.db import Store

MAX_SAME = 20  # problems of one kind listed before "... and N more"


@dataclass
class Expectation:
    seq: int
    kind: str  # "d" digest | "v" value
    payload: Any
    obj: str
    authentic: bool = True  # the event that says it verifies (hash, link, key)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first_broken: int | None = None
    events: int = 0
    head: tuple[int, str] | None = None
    keyed_from: int | None = None
    key_id: str | None = None
    rows: int = 0
    anchors: int = 0
    seconds: float = 0.0

    @property
    def intact(self) -> bool:
        return not self.problems


@contextmanager
def snapshot(store: Store) -> Iterator[Session]:
    if store.is_sqlite:
        with store.read() as s:
            yield s
        return
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=conn) as s, s.begin():
            yield s


def _value_aspects(ev, details: dict) -> Iterator[tuple[str, Any]]:
    """Values an event states in words (also for events written by code that adds no digests)."""
    obj = ev.object or ""
    if ev.action in ("alert.review", "alert.reopen") and obj.startswith("alert:") and "to" in details:
        yield f"{obj}#status", details["to"]
    elif ev.action == "alert.assign" and obj.startswith("alert:"):
        yield f"{obj}#assignee", details.get("to")
    elif ev.action == "run.record" and obj.startswith("run:"):
        for old in details.get("supersedes") or ():
            yield f"run:{old}#superseded_by", int(obj.split(":", 1)[1])
    yield from (details.get("values") or {}).items()


class _Expected:
    def __init__(self) -> None:
        self.by_key: dict[str, Expectation] = {}
        self.occ_by_run: dict[str, set[str]] = {}

    def take(self, ev, authentic: bool) -> None:
        details = ev.details if isinstance(ev.details, dict) else {}
        try:
            self._take(ev, details, authentic)
        except (AttributeError, TypeError, ValueError):
            pass  # details of a shape no write produces: the chain check has already named the event

    def _take(self, ev, details: dict, authentic: bool) -> None:
        for key, dg in (details.get("digests") or {}).items():
            self.by_key[key] = Expectation(ev.seq, "d", dg, ev.object, authentic)
            if key.startswith("occ:"):
                self.occ_by_run.setdefault(key.split(":")[1], set()).add(key)
        for key, value in _value_aspects(ev, details):
            self.by_key[key] = Expectation(ev.seq, "v", value, ev.object, authentic)
        if ev.action == "run.record":
            for old in details.get("supersedes") or ():
                for key in self.occ_by_run.pop(str(old), ()):  # the rerun deleted them
                    self.by_key.pop(key, None)


class _Problems:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.counts: dict[str, int] = {}

    def add(self, kind: str, message: str) -> None:
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        if n <= MAX_SAME:
            self.report.problems.append(message)

    def close(self) -> None:
        for kind, n in self.counts.items():
            if n > MAX_SAME:
                self.report.problems.append(f"... and {n - MAX_SAME} more {kind}")


def check(store: Store, anchors: list[dict[str, Any]] | None = None, batch: int = 5000) -> Report:
    started = time.perf_counter()
    report = Report()
    problems = _Problems(report)
    chain = trail.Chain()
    expected = _Expected()
    by_seq = {}
    for a in anchors or ():
        by_seq.setdefault(int(a["seq"]), []).append(a)
    report.anchors = len(anchors or ())
    with snapshot(store) as s:
        for ev in trail.stream(s, batch):
            report.events += 1
            authentic = chain.feed(ev)
            if chain.key_id is not None:
                expected.take(ev, authentic)
            for a in by_seq.pop(ev.seq, ()):
                if a["hash"] != ev.hash:
                    problems.add("anchor mismatches", f"event seq {ev.seq} is not the one anchored in {a['source']}"
                                 f"{_when(a)}: its hash is {ev.hash[:16]}..., the anchor says {a['hash'][:16]}... "
                                 "(the trail was rewritten from there on)")
        for seq in sorted(by_seq):
            a = by_seq[seq][0]
            end = f"the trail now ends at seq {chain.last[0]}" if chain.last else "the trail is now empty"
            problems.add("anchors past the end", f"the trail was cut short: event seq {seq}, anchored in "
                         f"{a['source']}{_when(a)}, is gone ({end})")
        for seq, why in chain.problems:
            problems.add("broken events", why)
        report.first_broken, report.head = chain.first_broken, chain.last
        report.keyed_from, report.key_id = chain.keyed_from, chain.key_id
        if report.events and chain.keyed_from is None:  # migration 0007 keys every trail that has events
            problems.add("unkeyed trails", f"none of the trail's {report.events} events is keyed: the trail was "
                         "rewritten without the key (or by code older than this store)")
        _check_rows(s, expected, report, problems)
        for why in ledger_seal.verify(s):  # the row ledger: not in the trail row by row, sealed per source
            problems.add("ledger seals", why)
    problems.close()
    if chain.key_id == trail.DEV_KEY_ID:
        report.warnings.append("the trail is keyed with the development key: anyone with write access to the "
                               f"store could recompute it; set {trail.KEY_ENV}")
    report.seconds = time.perf_counter() - started
    return report


def _when(a: dict[str, Any]) -> str:
    bits = [f"run {a['run']}" if a.get("run") else "", f"written {a['written_at'][:16]}" if a.get("written_at") else ""]
    bits = [b for b in bits if b]
    return f" ({', '.join(bits)})" if bits else ""


def _check_rows(s: Session, expected: _Expected, report: Report, problems: _Problems) -> None:
    exp = expected.by_key
    for key, record, info in digests.all_rows(s):
        report.rows += record is not None
        e = exp.pop(key, None)
        label = info["label"]
        if record is None:  # a value aspect: status, assignee, superseded_by, published_at
            aspect = key.split("#", 1)[1]
            want = e.payload if e else digests.DEFAULTS[aspect]
            if info["value"] != want:
                where = f"event seq {e.seq}{_unproved(e)}" if e else "no event ever changed it"
                problems.add(f"changed {aspect}", f"{label}: {aspect} differs from the trail ({where}): it is "
                             f"{info['value']!r}, the trail says {want!r}")
            elif e and not e.authentic:
                problems.add("rows recorded by broken events", f"{label}: its {aspect} is recorded only by event "
                             f"seq {e.seq}, which does not verify")
            continue
        if e is None:
            problems.add("rows not in the trail", f"{label} is not in the trail: it was written (or the "
                         "trail about it removed) outside integrity-audit")
            continue
        if e.kind != "d" or not isinstance(e.payload, str) or not digests.matches(record, e.payload):
            what = (digests.differences(record, e.payload, digests.items_of(key))
                    if isinstance(e.payload, str) else ["its content differs from the trail"])
            problems.add("changed rows", f"{label}: {'; '.join(what)} (event seq {e.seq}{_unproved(e)})")
        elif not e.authentic:
            problems.add("rows recorded by broken events", f"{label} is recorded only by event seq {e.seq}, "
                         "which does not verify")
    for key, e in sorted(exp.items(), key=lambda kv: kv[1].seq):
        if "#" in key:
            continue  # the row itself is reported (or it is a value of a row the trail never had)
        problems.add("deleted rows", f"{_label_of(key, e)} was deleted: the trail recorded it (event seq {e.seq})")


def _unproved(e: Expectation) -> str:
    return "" if e.authentic else ", which does not verify"


def _label_of(key: str, e: Expectation) -> str:
    kind, _, rest = key.partition(":")
    if kind == "occ":
        run, occ, alert = (rest.split(":") + ["?", "?"])[:3]
        return f"alert {alert}, its evidence in run {run} (occurrence {occ})"
    about = f" ({e.obj.replace(':', ' ')})" if e.obj.startswith(("alert:", "run:")) and kind != "run" else ""
    return f"{kind} {rest}{about}"
