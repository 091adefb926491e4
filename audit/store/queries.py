"""Read queries that fill the views in audit.store.views (the only way readers see the store).

run_view(store, run_id), latest_run(store, period), alert_view(store, alert_id, run_id=None),
list_alerts(store, ...), list_runs(store).

A period's *recorded* run is its newest run that succeeded or was partial and was not replaced by
a rerun (superseded_by is null): its results are the period's results in the store. A running or
failed run is never chosen (a failed run records no results; a run left "running" by a dead
process is marked failed by audit.store.record.mark_crashed_runs). The period's *current* run for
report, export, the web app's downloads and delivery is the recorded run once it is also
published (runs.published_at: its files are in the output folder, reports.publishing); a recorded
run whose publishing was interrupted is `unpublished_run_id` until it is published again.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.store.db import Store
from audit.store.models import (Alert, AlertFact, AlertLink, AlertOccurrence, AlertResolved, Delivery,
                                Disposition, Person, QuarantineRow, Run, RuleVersion, RunRule, SourceLoad)
from audit.store.views import AlertView, DispositionView, FactView, LinkView, RunView, SourceLoadView
from audit.store.writer import chunks

COUNT_FIELDS = ("sources_loaded", "sources_failed", "rows_read", "rows_accepted", "rows_quarantined",
                "rules_evaluated", "findings", "alerts_new", "alerts_carried", "alerts_resolved",
                "alerts_suppressed")


@dataclass
class RunListItem:
    id: int
    period: str
    status: str
    engine: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    superseded_by: int | None
    counts: dict[str, int]
    published_at: datetime | None = None

    @property
    def unpublished(self) -> bool:
        """Recorded (succeeded or partial, not replaced) but its report and exports not published."""
        return self.status in DONE and self.superseded_by is None and self.published_at is None


class NotFound(LookupError):
    pass


DONE = ("succeeded", "partial")  # a run whose results were recorded


def _recorded(period: str):
    """The period's recorded run (see the module docstring), newest first."""
    return (select(Run.id).where(Run.period == str(period), Run.superseded_by.is_(None),
                                 Run.status.in_(DONE)).order_by(Run.id.desc()).limit(1))


def _counts(run: Run) -> dict[str, int]:
    return {k: getattr(run, k) or 0 for k in COUNT_FIELDS}


def _rule_versions(s: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], RuleVersion]:
    out = {}
    for rule_id in {r for r, _ in pairs}:
        for rv in s.execute(select(RuleVersion).where(RuleVersion.rule_id == rule_id)).scalars():
            out[(rv.rule_id, rv.version)] = rv
    return out


def _views(s: Session, pairs: list[tuple[AlertOccurrence | None, Alert]], evidence: bool) -> list[AlertView]:
    """AlertViews for (occurrence, alert) pairs; evidence=True also loads facts, links, history."""
    rvs = _rule_versions(s, {(a.rule_id, o.rule_version if o else "") for o, a in pairs})
    latest_rv = {}
    for (rid, _), rv in rvs.items():
        latest_rv.setdefault(rid, rv)
    people = {}
    subjects = sorted({a.subject for _, a in pairs if a.subject})
    for part in chunks(subjects):
        people.update({p.person_key: p for p in s.execute(select(Person).where(Person.person_key.in_(part))).scalars()})
    facts, links, history = {}, {}, {}
    if evidence:
        occ_ids = [o.id for o, _ in pairs if o is not None]
        for part in chunks(occ_ids):
            for f in s.execute(select(AlertFact).where(AlertFact.occurrence_id.in_(part))
                               .order_by(AlertFact.id)).scalars():
                facts.setdefault(f.occurrence_id, []).append(FactView(
                    alias=f.alias, fact_id=f.fact_id, register=f.register or "", source=f.source or "",
                    file=f.file or "", row=f.row if f.row is not None else -1, values=f.values))
            for ln in s.execute(select(AlertLink).where(AlertLink.occurrence_id.in_(part))
                                .order_by(AlertLink.id)).scalars():
                links.setdefault(ln.occurrence_id, []).append(LinkView(
                    fact_id=ln.fact_id, field=ln.field, key=ln.key or "", method=ln.method or "",
                    score=ln.score if ln.score is not None else 0.0, strength=ln.strength or "",
                    source_text=ln.source_text or "", matched_text=ln.matched_text or ""))
        for part in chunks(sorted({a.id for _, a in pairs})):
            for d in s.execute(select(Disposition).where(Disposition.alert_id.in_(part))
                               .order_by(Disposition.id)).scalars():
                history.setdefault(d.alert_id, []).append(
                    DispositionView(status=d.status, reviewer=d.reviewer, at=d.at, note=d.note))
    out = []
    for o, a in pairs:
        rv = rvs.get((a.rule_id, o.rule_version)) if o else None
        rv = rv or latest_rv.get(a.rule_id)
        person = people.get(a.subject) if a.subject else None
        out.append(AlertView(
            id=a.id, fingerprint=a.fingerprint, rule_id=a.rule_id, rule_name=a.rule_name,
            rule_title=rv.title if rv else a.rule_name, rule_version=o.rule_version if o else "",
            rule_description=rv.description if rv else "", runbook=rv.runbook if rv else "",
            level=o.level if o else a.level, registers=list(rv.registers) if rv else [],
            title=o.title if o else a.title, subject=a.subject,
            subject_name=person.name if person else None, department=person.department if person else None,
            status=a.status, novelty=o.novelty if o else "", first_period=a.first_period,
            period=o.period if o else a.last_period, params=o.params if o else {},
            values=o.values if o else {}, facts=facts.get(o.id, []) if o else [],
            links=links.get(o.id, []) if o else [], history=history.get(a.id, []),
            sensitivity=rv.sensitivity if rv else "internal", assignee=a.assignee,
            late=o.late if o else None, weakest_link=getattr(o, "weakest_link", None) if o else None))
    return out


def _sources(s: Session, run_id: int) -> list[SourceLoadView]:
    reasons: dict[str, Counter] = {}
    for source, reason, n in s.execute(
            select(QuarantineRow.source, QuarantineRow.reason, func.count())
            .where(QuarantineRow.run_id == run_id).group_by(QuarantineRow.source, QuarantineRow.reason)):
        reasons.setdefault(source, Counter())[reason] = n
    return [SourceLoadView(source=x.source, register=x.register, kind=x.kind, location=x.location,
                           status=x.status, error=x.error, rows_read=x.rows_read, rows_accepted=x.rows_accepted,
                           rows_quarantined=x.rows_quarantined, files=x.files,
                           top_reasons=reasons.get(x.source, Counter()).most_common(10))
            for x in s.execute(select(SourceLoad).where(SourceLoad.run_id == run_id)
                               .order_by(SourceLoad.id)).scalars()]


def _trend(s: Session, period: str) -> list[dict[str, Any]]:
    runs = s.execute(select(Run).where(Run.period <= period, Run.superseded_by.is_(None),
                                       Run.status.in_(DONE))
                     .order_by(Run.period.desc(), Run.id.desc())).scalars()
    seen: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r.period not in seen and len(seen) < 12:
            seen[r.period] = {"period": r.period, "new": r.alerts_new, "carried": r.alerts_carried,
                              "resolved": r.alerts_resolved, "total": r.alerts_new + r.alerts_carried}
    return sorted(seen.values(), key=lambda t: t["period"])


def run_view(store: Store, run_id: int, *, evidence: bool = True) -> RunView:
    """Everything a report needs about one run (evidence=False skips facts and links)."""
    with store.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(f"there is no run {run_id}")
        rules = [{"id": rv.rule_id, "name": rv.name, "version": rv.version, "level": rv.level}
                 for rv in s.execute(select(RuleVersion).join(RunRule, RunRule.rule_version_id == RuleVersion.id)
                                     .where(RunRule.run_id == run_id).order_by(RuleVersion.name)).scalars()]
        pairs = s.execute(select(AlertOccurrence, Alert).join(Alert, Alert.id == AlertOccurrence.alert_id)
                          .where(AlertOccurrence.run_id == run_id, AlertOccurrence.suppressed.is_(False))
                          .order_by(AlertOccurrence.id)).all()
        resolved_alerts = s.execute(select(Alert).join(AlertResolved, AlertResolved.alert_id == Alert.id)
                                    .where(AlertResolved.run_id == run_id).order_by(Alert.id)).scalars().all()
        resolved_pairs = [(_last_occurrence(s, a.id), a) for a in resolved_alerts]
        deliveries = [{"destination": d.destination, "status": d.status, "at": d.at, "error": d.error,
                       "attempts": d.attempts}
                      for d in s.execute(select(Delivery).where(Delivery.run_id == run_id)
                                         .order_by(Delivery.id)).scalars()]
        return RunView(id=run.id, period=run.period, status=run.status, started_at=run.started_at,
                       finished_at=run.finished_at, engine=run.engine, error=run.error,
                       sources=_sources(s, run_id), rule_versions=rules, alerts=_views(s, pairs, evidence),
                       counts=_counts(run), resolved=_views(s, resolved_pairs, False),
                       trend=_trend(s, run.period), deliveries=deliveries)


def _last_occurrence(s: Session, alert_id: int, run_id: int | None = None) -> AlertOccurrence | None:
    q = select(AlertOccurrence).where(AlertOccurrence.alert_id == alert_id)
    if run_id is not None:
        q = q.where(AlertOccurrence.run_id == run_id)
    return s.execute(q.order_by(AlertOccurrence.period.desc(), AlertOccurrence.run_id.desc()).limit(1)
                     ).scalar_one_or_none()


def latest_run_id(store: Store, period: str, *, published: bool = False) -> int | None:
    """The period's recorded run: its newest run that succeeded or was partial and that no rerun
    replaced; never a running or failed one. published=True: only once it is also published (the
    run whose report and exports are current), else None."""
    q = _recorded(period)
    if published:
        q = q.where(Run.published_at.is_not(None))
    with store.read() as s:
        return s.execute(q).scalar_one_or_none()


def latest_run(store: Store, period: str, *, evidence: bool = True, published: bool = False) -> RunView | None:
    """The RunView of latest_run_id(store, period, published=...), or None."""
    run_id = latest_run_id(store, period, published=published)
    return run_view(store, run_id, evidence=evidence) if run_id else None


def unpublished_run_id(store: Store, period: str) -> int | None:
    """The period's recorded run if it is not published (its publishing was interrupted, or it ran
    with --no-publish), else None. Its results are complete in the store; publishing makes it current."""
    with store.read() as s:
        return s.execute(_recorded(period).where(Run.published_at.is_(None))).scalar_one_or_none()


def period_of(store: Store, run_id: int) -> str:
    """The run's period (NotFound if there is no such run)."""
    with store.read() as s:
        period = s.execute(select(Run.period).where(Run.id == run_id)).scalar_one_or_none()
    if period is None:
        raise NotFound(f"there is no run {run_id}")
    return period


def replaced_unpublished(store: Store, run_id: int) -> list[int]:
    """Runs that `run_id` replaced while they were recorded but not published (their publishing
    was interrupted): publishing `run_id` is what finally publishes their period."""
    with store.read() as s:
        return list(s.execute(select(Run.id).where(Run.superseded_by == run_id, Run.status.in_(DONE),
                                                   Run.published_at.is_(None)).order_by(Run.id)).scalars())


def published_at(store: Store, run_id: int) -> datetime | None:
    """When the run was published (None: not published, or no such run)."""
    with store.read() as s:
        return s.execute(select(Run.published_at).where(Run.id == run_id)).scalar_one_or_none()


def alert_view(store: Store, alert_id: int, run_id: int | None = None) -> AlertView:
    """One alert with full evidence as found by `run_id` (default: its latest occurrence)."""
    with store.read() as s:
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"there is no alert {alert_id}")
        occ = _last_occurrence(s, alert_id, run_id)
        if occ is None and run_id is not None:
            raise NotFound(f"alert {alert_id} was not found by run {run_id}")
        return _views(s, [(occ, alert)], True)[0]


def list_alerts(store: Store, period: str | None = None, status: str | None = None, rule: str | None = None,
                person: str | None = None, level: str | None = None, novelty: str | None = None,
                assignee: str | None = None, include_suppressed: bool = False,
                limit: int | None = None) -> list[AlertView]:
    """Alerts (without facts/links; use alert_view for evidence), newest first.

    period: alerts found by that period's current run; otherwise each alert's latest occurrence.
    rule matches the rule id or name; person matches the subject person_key.
    """
    with store.read() as s:
        occ = AlertOccurrence
        if period:  # the period's recorded run (never a running or failed one)
            run_id = s.execute(_recorded(period)).scalar_one_or_none()
            if run_id is None:
                return []
            q = select(occ, Alert).join(Alert, Alert.id == occ.alert_id).where(occ.run_id == run_id)
        else:
            last = (select(occ.alert_id, func.max(occ.id).label("occ_id")).group_by(occ.alert_id).subquery())
            q = (select(occ, Alert).join(last, last.c.occ_id == occ.id).join(Alert, Alert.id == occ.alert_id))
        if not include_suppressed:
            q = q.where(occ.suppressed.is_(False))
        if status:
            q = q.where(Alert.status == status)
        if rule:
            q = q.where((Alert.rule_id == rule) | (Alert.rule_name == rule))
        if person:
            q = q.where(Alert.subject == person)
        if level:
            q = q.where(occ.level == level)
        if novelty:
            q = q.where(occ.novelty == novelty)
        if assignee:
            q = q.where(Alert.assignee == assignee)
        q = q.order_by(occ.period.desc(), Alert.id.desc())
        if limit:
            q = q.limit(limit)
        return _views(s, s.execute(q).all(), False)


def list_runs(store: Store, limit: int = 50, period: str | None = None) -> list[RunListItem]:
    with store.read() as s:
        q = select(Run).order_by(Run.id.desc()).limit(limit)
        if period:
            q = q.where(Run.period == str(period))
        return [RunListItem(id=r.id, period=r.period, status=r.status, engine=r.engine, actor=r.actor,
                            started_at=r.started_at, finished_at=r.finished_at, error=r.error,
                            superseded_by=r.superseded_by, counts=_counts(r), published_at=r.published_at)
                for r in s.execute(q).scalars()]


def raised_before(store: Store, fingerprints: set[str], period: str) -> set[str]:
    """The fingerprints already alerted by a run of a period other than `period` (a re-run of
    `period` itself raises its own late findings again)."""
    out: set[str] = set()
    with store.read() as s:
        for part in chunks(sorted(fingerprints)):
            out |= set(s.execute(select(Alert.fingerprint).where(
                Alert.fingerprint.in_(part), Alert.first_period != period)).scalars())
    return out


def source_history(store: Store, period: str) -> tuple[str | None, dict[str, int]]:
    """The latest period audited before `period` (a current succeeded or partial run) and the rows
    each source that loaded then accepted."""
    with store.read() as s:
        run = s.execute(select(Run.id, Run.period).where(
            Run.period < period, Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial")))
            .order_by(Run.period.desc(), Run.id.desc()).limit(1)).first()
        if run is None:
            return None, {}
        rows = s.execute(select(SourceLoad.source, SourceLoad.rows_accepted)
                         .where(SourceLoad.run_id == run.id, SourceLoad.status == "loaded")).all()
        return run.period, {name: int(n or 0) for name, n in rows}
