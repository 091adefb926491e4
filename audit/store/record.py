"""Recording a run: the input contract the pipeline hands the store, and record_run.

Contract (audit.pipeline builds these; extend only additively):

    SourceLoadInput(name, register, kind, location, status "loaded"|"failed", error,
                    rows_read, rows_accepted, rows_quarantined,
                    files=[{path, sha256, rows}], quarantine=DataFrame[source,file,row,column,value,reason])
    RuleInfo(id, name, version, level, title, description, runbook, registers, sensitivity,
             status="unrecorded")  # additive: experimental|test|stable|deprecated; version must cover it
    RunInput(period: Period, engine, sources, rules, findings: [rules.finding.Finding],
             facts: DataFrame   fact_id, register, _source, _file, _row + canonical field columns,
             links: DataFrame   fact_id, register, field, key, method, score, strength,
                                source_text, matched_text,
             people: {person_key: {name, department, line_manager_id}},
             status "succeeded"|"partial"|"failed", error=None, actor="cli",
             run_id=None,       # additive: pass start_run()'s id to show the run as running early
             deprecated_rules=[],  # additive: RuleInfos of the library's deprecated rules, which are
                                   # not evaluated: recorded (with their status) but not linked to the run
             ledger=None,  # additive: audit.store.ledger.LedgerReview, what the run saw (written with it)
             shadow_rules=[],  # additive: RuleInfos of the shadow rules evaluated (status "shadow"): recorded,
                               # not linked to the run; never in `rules` (their alerts are never resolved)
             shadow_findings=[])  # additive: their findings, stored apart (audit.store.shadow), never alerts

record_run(store, run_input) -> RunSummary(run_id, status, counts)

- Holds the period lock (re-entrant: the pipeline may already hold it) and writes the whole result
  in ONE transaction. If that transaction fails the previous results of the period stay intact and
  the run is marked failed with the error; if the process dies, the run stays "running" until the
  next command that reads runs finds its process gone (crashed_runs: the period lock it was started
  under is dead or held by another process) and marks it failed as interrupted
  (mark_crashed_runs, with a run.fail audit event).
- A succeeded/partial run replaces the period's earlier runs' results (occurrences, evidence,
  source loads, quarantine); those run rows stay, marked superseded_by. Alerts are never
  duplicated: fingerprint = sha256(rule_id + "\\x1f".join(dedup values)); dispositions, notes,
  assignees and suppressions live on the alert and survive reruns.
- Novelty: "carried" when the fingerprint was alerted in an earlier period, else "new". A finding of
  an earlier month raised late (Finding.late) is stored with that explanation (occurrences.late).
  Only a state finding (no event date: a condition that holds) found by the latest earlier period's
  run and not now is "resolved" (unless its rule was not evaluated, or a register the rule reads
  failed to load in this partial run); an event finding not raised again was reported, not resolved. Fingerprints under
  an unexpired suppression are recorded with suppressed=True and not raised.
- A failed run records its sources, quarantine and error only; earlier results stay current.
- Publishing (reports.publishing) marks a recorded run published (mark_published) once its files
  are in place; until then report, export and the web app's downloads keep to the last published run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from audit.period import Period
from audit.store import trail
from audit.store.db import Store
from audit.store.digests import iso_time, run_row
from audit.store.locks import dead_reason, held_token, period_lock
from audit.store.models import UNRECORDED_STATUS, Run, RunLock
from audit.store.writer import write_results
from rules.finding import Finding

RUN_STATUSES = ("succeeded", "partial", "failed")


@dataclass
class SourceLoadInput:
    name: str
    register: str
    kind: str
    location: str
    status: str  # loaded | failed
    error: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    files: list[dict[str, Any]] = field(default_factory=list)  # {path, sha256, rows}
    quarantine: pd.DataFrame | None = None  # source, file, row, column, value, reason


@dataclass
class RuleInfo:
    id: str
    name: str
    version: str
    level: str
    title: str
    description: str
    runbook: str
    registers: list[str]
    sensitivity: str
    status: str = UNRECORDED_STATUS  # the rule file's lifecycle status


@dataclass
class RunInput:
    period: Period
    engine: str
    sources: list[SourceLoadInput]
    rules: list[RuleInfo]
    findings: list[Finding]
    facts: pd.DataFrame
    links: pd.DataFrame
    people: dict[str, dict]
    status: str
    error: str | None = None
    actor: str = "cli"
    run_id: int | None = None
    deprecated_rules: list[RuleInfo] = field(default_factory=list)
    ledger: Any = None  # additive: audit.store.ledger.LedgerReview, written with the run (what it saw)
    shadow_rules: list[RuleInfo] = field(default_factory=list)  # additive: evaluated in shadow (audit.store.shadow)
    shadow_findings: list[Finding] = field(default_factory=list)  # additive: theirs, never alerts


@dataclass
class RunSummary:
    run_id: int
    status: str
    counts: dict[str, int]


def fingerprint(rule_id: str, dedup: tuple | list) -> str:
    joined = "\x1f".join("" if v is None else str(v) for v in dedup)
    return hashlib.sha256((str(rule_id) + joined).encode("utf-8")).hexdigest()


def start_run(store: Store, period: Period | str, engine: str, actor: str = "cli") -> int:
    """Insert the run as "running" in its own short transaction and return its id.

    Called under the period lock (the pipeline, record_run): the run keeps the lock's token, which
    tells readers whether its process is still alive (crashed_runs)."""
    with store.write() as s:
        run = Run(period=str(period), status="running", engine=engine, actor=actor,
                  started_at=store.now(), lock_token=held_token(store, str(period)))
        s.add(run)
        s.flush()
        trail.append(s, store, actor=actor, action="run.start", obj=f"run:{run.id}",
                     details={"period": str(period), "engine": engine, "digests": run_row(s, run.id)})
        return run.id


def _check(ri: RunInput) -> None:
    if ri.status not in RUN_STATUSES:
        raise ValueError(f"RunInput.status must be one of {RUN_STATUSES}, got {ri.status!r}")
    if ri.status == "failed":
        return
    known_rules = {r.id for r in ri.rules}
    both = sorted(known_rules & {r.id for r in ri.deprecated_rules})
    if both:
        raise ValueError(f"rule id(s) both evaluated and in RunInput.deprecated_rules: {both[:5]}")
    shadow = {r.id for r in ri.shadow_rules}
    both = sorted(shadow & (known_rules | {r.id for r in ri.deprecated_rules}))
    if both:
        raise ValueError(f"rule id(s) both in RunInput.shadow_rules and evaluated or deprecated: {both[:5]}")
    stray = sorted({f.rule_id for f in ri.shadow_findings} - shadow)
    if stray:
        raise ValueError(f"shadow findings name rule id(s) missing from RunInput.shadow_rules: {stray[:5]}")
    unknown = sorted({f.rule_id for f in ri.findings} - known_rules)
    if unknown:
        raise ValueError(f"findings name rule id(s) missing from RunInput.rules: {unknown[:5]}")
    known_facts = set(ri.facts["fact_id"].astype(str)) if ri.facts is not None and len(ri.facts) else set()
    for f in ri.findings:
        for alias, ids in f.facts.items():
            lost = [i for i in ids if str(i) not in known_facts]
            if lost:
                raise ValueError(f"finding of rule {f.rule_name} ({alias}) refers to fact(s) not in "
                                 f"RunInput.facts: {lost[:3]}")


def record_run(store: Store, ri: RunInput) -> RunSummary:
    """Record one run of a period atomically and idempotently (see the module docstring)."""
    _check(ri)
    period = str(ri.period)
    with period_lock(store, period):
        run_id = ri.run_id or start_run(store, period, ri.engine, ri.actor)
        try:
            with store.write() as s:
                counts = write_results(s, store, ri, run_id)
                replaced = sorted(s.execute(select(Run.id).where(Run.superseded_by == run_id)).scalars())
                trail.append(s, store, actor=ri.actor, action="run.record", obj=f"run:{run_id}",
                             details={"period": period, "status": ri.status, "counts": counts,
                                      "error": ri.error, "supersedes": replaced,
                                      "digests": run_row(s, run_id)})
        except Exception as exc:
            _mark_failed(store, run_id, ri.actor, f"recording the run failed: {exc!r}")
            raise
    return RunSummary(run_id=run_id, status=ri.status, counts=counts)


def _mark_failed(store: Store, run_id: int, actor: str, error: str) -> None:
    with store.write() as s:
        s.execute(update(Run).where(Run.id == run_id)
                  .values(status="failed", error=error, finished_at=store.now()))
        trail.append(s, store, actor=actor, action="run.fail", obj=f"run:{run_id}",
                     details={"error": error, "digests": run_row(s, run_id)})


INTERRUPTED = "interrupted"


def _dead(run: Run, lock: RunLock | None, now) -> str | None:
    """Why the process of a run still marked running is gone, or None if it may be alive."""
    if lock is None:  # only the lock's holder runs a period, and it holds the lock to the end
        return "its process ended without finishing it"
    reason = dead_reason(lock, now)
    if reason is not None:
        return f"its process ended without finishing it (the period lock is dead: {reason})"
    if run.lock_token is not None and lock.token != run.lock_token:
        return (f"its process ended without finishing it (the period is now locked by pid {lock.pid} "
                f"on {lock.host})")
    if run.lock_token is None and lock.acquired_at > run.started_at:
        return "its process ended without finishing it (the period was locked again after it started)"
    return None


def crashed_runs(store: Store, period: str | None = None) -> list[int]:
    """Runs still marked running whose process is gone: the period lock they were started under
    is no longer there, is dead (audit.store.locks.dead_reason: pid gone on this host, heartbeat
    stopped) or is now held by another process."""
    return [run_id for run_id, _ in _crashed(store, period)]


def _crashed(store: Store, period: str | None) -> list[tuple[int, str]]:
    with store.read() as s:
        q = select(Run).where(Run.status == "running")
        if period:
            q = q.where(Run.period == str(period))
        running = list(s.execute(q.order_by(Run.id)).scalars())
        if not running:
            return []
        held = {lk.period: lk for lk in s.execute(
            select(RunLock).where(RunLock.period.in_(sorted({r.period for r in running})))).scalars()}
    now = store.now()
    return [(r.id, why) for r in running if (why := _dead(r, held.get(r.period), now)) is not None]


def mark_crashed_runs(store: Store, period: str | None = None, actor: str = "system") -> list[int]:
    """Mark every run whose process is gone (crashed_runs) failed as interrupted, each with a
    run.fail audit event; returns their ids. Cheap when there is none (one query); safe to call
    from any command that reads runs, and from several processes at once (a run is marked once)."""
    marked = []
    for run_id, why in _crashed(store, period):
        error = f"{INTERRUPTED}: {why}; its results were not recorded, the period's earlier results stay current"
        with store.write() as s:
            done = s.execute(update(Run).where(Run.id == run_id, Run.status == "running")
                             .values(status="failed", error=error, finished_at=store.now())).rowcount
            if done != 1:
                continue  # another command marked it (or it finished) meanwhile
            trail.append(s, store, actor=actor, action="run.fail", obj=f"run:{run_id}",
                         details={"error": error, "interrupted": True, "digests": run_row(s, run_id)})
        marked.append(run_id)
    return marked


def mark_published(store: Store, run_id: int, actor: str = "publish",
                   details: dict[str, Any] | None = None) -> None:
    """Record that the run's report and exports are in place (and were delivered)."""
    with store.write() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ValueError(f"there is no run {run_id}")
        at = store.now()
        s.execute(update(Run).where(Run.id == run_id).values(published_at=at))
        trail.append(s, store, actor=actor, action="run.publish", obj=f"run:{run_id}",
                     details={"period": run.period, **(details or {}),
                              "values": {f"run:{run_id}#published_at": iso_time(at)}})
