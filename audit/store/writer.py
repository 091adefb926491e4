"""The body of record_run: everything written inside the run's one transaction.

Called only by audit.store.record.record_run (which owns the lock, the transaction and the
contract); kept apart so each step stays short: replace the period's previous results, sources,
rule versions, people, alerts (fingerprinted), occurrences with evidence, resolved alerts, counts,
and the trail.digests events of what it wrote (audit.store.digests).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from audit.store import ledger
from audit.store.db import Store
from audit.store.digests import append_run_digests
from audit.store.evidence import fact_records, jsonable, link_records, quarantine_rows
from audit.store import shadow
from audit.store.models import (Alert, AlertFact, AlertLink, AlertOccurrence, AlertResolved, Person,
                                QuarantineRow, Run, ShadowFinding, ShadowRuleRun, SourceLoad, Suppression)
from audit.store.rule_versions import record_rule_versions

if TYPE_CHECKING:
    from audit.store.record import RunInput

CHUNK = 500


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def write_results(s: Session, store: Store, ri: "RunInput", run_id: int) -> dict[str, int]:
    period = str(ri.period)
    counts = _source_counts(ri)
    counts.update(rules_evaluated=len(ri.rules), findings=len(ri.findings), alerts_new=0,
                  alerts_carried=0, alerts_resolved=0, alerts_suppressed=0)
    if ri.status != "failed":
        touched = _replace_previous(s, period, run_id)
    _write_sources(s, ri, run_id)
    if ri.status != "failed":
        versions = _write_rules(s, ri, run_id)
        _write_people(s, ri.people)
        found = _write_alerts(s, store, ri, run_id, versions, counts)
        counts["alerts_resolved"] = _write_resolved(s, ri, run_id, found)
        shadow.write(s, ri, run_id)  # apart from alerts: never queued, reported or exported
        _refresh_periods(s, touched - found)
        if ri.ledger is not None:
            ledger.write(s, ri.ledger, run_id, store, ri.actor)
        # the audit trail records what was written: the alerts created or changed, the evidence
        append_run_digests(s, store, run_id, found | touched, ri.actor)
    s.execute(update(Run).where(Run.id == run_id).values(
        status=ri.status, error=ri.error, finished_at=store.now(),
        **{k: v for k, v in counts.items()}))
    return counts


def _source_counts(ri: "RunInput") -> dict[str, int]:
    return {
        "sources_loaded": sum(1 for x in ri.sources if x.status == "loaded"),
        "sources_failed": sum(1 for x in ri.sources if x.status != "loaded"),
        "rows_read": sum(int(x.rows_read or 0) for x in ri.sources),
        "rows_accepted": sum(int(x.rows_accepted or 0) for x in ri.sources),
        "rows_quarantined": sum(int(x.rows_quarantined or 0) for x in ri.sources),
    }


def _replace_previous(s: Session, period: str, run_id: int) -> set[int]:
    """Drop the results of the period's earlier runs; return the alerts they had found."""
    old = list(s.execute(select(Run.id).where(Run.period == period, Run.id != run_id,
                                              Run.superseded_by.is_(None))).scalars())
    if not old:
        return set()
    touched = set(s.execute(select(AlertOccurrence.alert_id)
                            .where(AlertOccurrence.run_id.in_(old))).scalars())
    for table in (AlertOccurrence, AlertResolved, SourceLoad, QuarantineRow, ShadowFinding, ShadowRuleRun):
        s.execute(delete(table).where(table.run_id.in_(old)))
    s.execute(update(Run).where(Run.id.in_(old)).values(superseded_by=run_id))
    return touched


def _write_sources(s: Session, ri: "RunInput", run_id: int) -> None:
    for src in ri.sources:
        s.add(SourceLoad(run_id=run_id, source=src.name, register=src.register, kind=src.kind,
                         location=src.location, status=src.status, error=src.error,
                         rows_read=int(src.rows_read or 0), rows_accepted=int(src.rows_accepted or 0),
                         rows_quarantined=int(src.rows_quarantined or 0), files=jsonable(src.files or [])))
        rows = quarantine_rows(run_id, src.name, src.quarantine)
        for part in chunks(rows, 5000):
            s.execute(insert(QuarantineRow.__table__), part)
    s.flush()


def _write_rules(s: Session, ri: "RunInput", run_id: int) -> dict[str, str]:
    """Record the rule versions (audit.store.rule_versions); return evaluated rule id -> version."""
    record_rule_versions(s, run_id, ri.rules, ri.deprecated_rules + ri.shadow_rules)  # shadow: not linked
    return {r.id: r.version for r in ri.rules}


def _write_people(s: Session, people: dict[str, dict]) -> None:
    if not people:
        return
    existing = {p.person_key: p for p in s.execute(select(Person)).scalars()}
    new, changed = [], []
    for key, info in people.items():
        row = {"person_key": str(key), "name": info.get("name"), "department": info.get("department"),
               "line_manager_id": info.get("line_manager_id")}
        row = {k: jsonable(v) for k, v in row.items()}
        old = existing.get(row["person_key"])
        if old is None:
            new.append(row)
        elif (old.name, old.department, old.line_manager_id) != (row["name"], row["department"],
                                                                  row["line_manager_id"]):
            changed.append(row)
    for part in chunks(new, 5000):
        s.execute(insert(Person.__table__), part)
    if changed:
        s.execute(update(Person), changed)


def _active_suppressions(s: Session, store: Store) -> tuple[dict[str, int], dict[tuple, int]]:
    by_fp, by_subject = {}, {}
    for sup in s.execute(select(Suppression).where(Suppression.expires_on >= store.today())).scalars():
        if sup.scope == "finding" and sup.fingerprint:
            by_fp[sup.fingerprint] = sup.id
        elif sup.scope == "rule_subject":
            by_subject[(sup.rule_id, sup.subject)] = sup.id
    return by_fp, by_subject


def _group_findings(ri: "RunInput") -> dict[str, dict[str, Any]]:
    """fingerprint -> the finding and the union of facts (two findings may share a dedup key)."""
    from audit.store.record import fingerprint

    groups: dict[str, dict[str, Any]] = {}
    for f in ri.findings:
        fp = fingerprint(f.rule_id, f.dedup)
        g = groups.setdefault(fp, {"finding": f, "facts": {}})
        for alias, ids in f.facts.items():
            g["facts"].setdefault(alias, set()).update(str(i) for i in ids)
    return groups


def _write_alerts(s: Session, store: Store, ri: "RunInput", run_id: int, versions: dict[str, str],
                  counts: dict[str, int]) -> set[int]:
    period, now = str(ri.period), store.now()
    groups = _group_findings(ri)
    fps = list(groups)
    alerts: dict[str, Alert] = {}
    for part in chunks(fps):
        for a in s.execute(select(Alert).where(Alert.fingerprint.in_(part))).scalars():
            alerts[a.fingerprint] = a
    carried = {fp for fp, a in alerts.items() if a.first_period < period}
    fresh = [fp for fp in fps if fp not in alerts]
    rows = []
    for fp in fresh:
        f = groups[fp]["finding"]
        rows.append({"fingerprint": fp, "rule_id": f.rule_id, "rule_name": f.rule_name, "subject": f.subject,
                     "level": f.level, "title": f.title, "dedup": [jsonable(v) for v in f.dedup],
                     "first_period": period, "last_period": period, "status": "new", "created_at": now})
    for part in chunks(rows, 2000):
        s.execute(insert(Alert.__table__), part)
    for part in chunks(fresh):
        for a in s.execute(select(Alert).where(Alert.fingerprint.in_(part))).scalars():
            alerts[a.fingerprint] = a
    updates = []
    for fp in fps:
        a, f = alerts[fp], groups[fp]["finding"]
        if fp in fresh:
            continue
        updates.append({"id": a.id, "rule_name": f.rule_name, "subject": f.subject, "level": f.level,
                        "title": f.title, "first_period": min(a.first_period, period),
                        "last_period": max(a.last_period, period)})
    if updates:
        s.execute(update(Alert), updates)

    sup_fp, sup_subject = _active_suppressions(s, store)
    occ_rows = []
    for fp in fps:
        f = groups[fp]["finding"]
        sup_id = sup_fp.get(fp) or sup_subject.get((f.rule_id, f.subject))
        # "late": never raised, and of an earlier month, raised now because a row arrived late
        novelty = "carried" if fp in carried else ("late" if f.late else "new")
        key = "alerts_suppressed" if sup_id else f"alerts_{'carried' if novelty == 'carried' else 'new'}"
        counts[key] += 1
        occ_rows.append({"alert_id": alerts[fp].id, "run_id": run_id, "period": period, "novelty": novelty,
                         "suppressed": bool(sup_id), "suppression_id": sup_id,
                         "rule_version": versions.get(f.rule_id, f.rule_version), "title": f.title,
                         "level": f.level, "params": jsonable(dict(f.params)),
                         "values": jsonable(dict(f.values)), "as_of": f.as_of,
                         "late": jsonable(f.late) if f.late else None,
                         "weakest_link": jsonable(f.weakest_link) if f.weakest_link else None})
    occ_ids = []
    for part in chunks(occ_rows, 2000):
        occ_ids += list(s.execute(insert(AlertOccurrence.__table__).returning(
            AlertOccurrence.__table__.c.id, sort_by_parameter_order=True), part).scalars())
    _write_evidence(s, ri, [groups[fp]["facts"] for fp in fps], occ_ids)
    return {alerts[fp].id for fp in fps}


def _write_evidence(s: Session, ri: "RunInput", fact_sets: list[dict[str, set[str]]],
                    occ_ids: list[int]) -> None:
    facts, links = fact_records(ri.facts), link_records(ri.links)
    fact_rows, link_rows = [], []
    for occ_id, by_alias in zip(occ_ids, fact_sets):
        for alias in sorted(by_alias):
            for fid in sorted(by_alias[alias]):
                rec = facts[fid]
                fact_rows.append({"occurrence_id": occ_id, "alias": alias, "fact_id": fid,
                                  "register": rec["register"], "source": rec["source"], "file": rec["file"],
                                  "row": rec["row"], "values": rec["values"]})
                for link in links.get(fid, ()):
                    link_rows.append({"occurrence_id": occ_id, "fact_id": fid, **link})
    for part in chunks(fact_rows, 5000):
        s.execute(insert(AlertFact.__table__), part)
    for part in chunks(link_rows, 5000):
        s.execute(insert(AlertLink.__table__), part)


def _write_resolved(s: Session, ri: "RunInput", run_id: int, found: set[int]) -> int:
    period = str(ri.period)
    prev_run = s.execute(
        select(Run.id).where(Run.period < period, Run.superseded_by.is_(None),
                             Run.status.in_(("succeeded", "partial")))
        .order_by(Run.period.desc(), Run.id.desc()).limit(1)).scalar_one_or_none()
    if prev_run is None:
        return 0
    failed = {x.register for x in ri.sources if x.status != "loaded"}
    evaluated = {r.id: set(r.registers) for r in ri.rules}
    # an event finding (it has an as-of date) is reported once; only a state finding resolves
    rows = s.execute(select(AlertOccurrence.alert_id, Alert.rule_id)
                     .join(Alert, Alert.id == AlertOccurrence.alert_id)
                     .where(AlertOccurrence.run_id == prev_run, AlertOccurrence.suppressed.is_(False),
                            AlertOccurrence.as_of.is_(None))).all()
    resolved = [aid for aid, rule_id in rows
                if aid not in found and rule_id in evaluated and not (evaluated[rule_id] & failed)]
    for part in chunks([{"run_id": run_id, "alert_id": a} for a in resolved], 5000):
        s.execute(insert(AlertResolved.__table__), part)
    return len(resolved)


def _refresh_periods(s: Session, alert_ids: Iterable[int]) -> None:
    """After a rerun dropped some alerts, their first/last period follow the remaining occurrences."""
    for part in chunks(sorted(alert_ids)):
        spans = s.execute(select(AlertOccurrence.alert_id, func.min(AlertOccurrence.period),
                                 func.max(AlertOccurrence.period))
                          .where(AlertOccurrence.alert_id.in_(part))
                          .group_by(AlertOccurrence.alert_id)).all()
        if spans:
            s.execute(update(Alert), [{"id": a, "first_period": lo, "last_period": hi} for a, lo, hi in spans])
