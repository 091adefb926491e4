"""Shadow rules in the store (migration 0009): what they found, and which were promoted.

A shadow rule is evaluated by every run like the others, but its findings are written here, apart:
shadow_rule_runs (one row per run and shadow rule: findings and distinct alerts, so a month with
none still counts) and shadow_findings (one row per finding: fingerprint, subject, as-of date, the
cited fact ids, title). Nothing here is read by the alert queue, reports, exports or people pages.
A rerun of a period replaces its earlier runs' shadow rows, as it replaces their alerts
(audit.store.writer._replace_previous).

rule_promotions: the shadow rules an auditor promoted (`integrity-audit rules promote`); the
pipeline runs a promoted rule live from the next run (audit.shadow.effective_rules). The promotion
and its rule.promote audit event (with the summary the auditor decided on) commit together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from audit.store import trail
from audit.store.db import Store
from audit.store.evidence import jsonable
from audit.store.models import Run, RulePromotion, ShadowFinding, ShadowRuleRun

if TYPE_CHECKING:
    from audit.store.record import RunInput


def write(s: Session, ri: "RunInput", run_id: int) -> int:
    """Write the run's shadow rules and findings (inside record_run's transaction); return the count."""
    from audit.store.record import fingerprint

    period = str(ri.period)
    rows, per_rule = [], {}
    for f in ri.shadow_findings:
        fp = fingerprint(f.rule_id, f.dedup)
        per_rule.setdefault(f.rule_id, set()).add(fp)
        rows.append({"run_id": run_id, "period": period, "rule_id": f.rule_id, "rule_name": f.rule_name,
                     "rule_version": f.rule_version, "fingerprint": fp,
                     "subject": None if f.subject is None else str(f.subject), "as_of": f.as_of,
                     "fact_ids": sorted({str(i) for ids in f.facts.values() for i in ids}),
                     "title": str(f.title)})
    found = {}
    for f in ri.shadow_findings:
        found[f.rule_id] = found.get(f.rule_id, 0) + 1
    runs = [{"run_id": run_id, "rule_id": r.id, "rule_name": r.name, "rule_version": r.version, "period": period,
             "findings": found.get(r.id, 0), "alerts": len(per_rule.get(r.id, ()))} for r in ri.shadow_rules]
    if runs:
        s.execute(insert(ShadowRuleRun.__table__), runs)
    for i in range(0, len(rows), 2000):
        s.execute(insert(ShadowFinding.__table__), [{**r, "fact_ids": jsonable(r["fact_ids"])}
                                                     for r in rows[i:i + 2000]])
    return len(rows)


# ---- promotions --------------------------------------------------------------------------------
@dataclass
class Promotion:
    rule_id: str
    rule_name: str
    version: str
    promoted_by: str
    promoted_at: datetime
    summary: dict[str, Any]


def promotions(store: Store, *, strict: bool = False) -> dict[str, Promotion]:
    """rule id -> its promotion. An empty dict on a store older than migration 0009, for read-only
    callers; `strict` (a run, on its migrated store) raises instead: a promotion silently forgotten
    would put a live rule back in shadow."""
    from sqlalchemy.exc import DBAPIError

    try:
        with store.read() as s:
            rows = list(s.execute(select(RulePromotion)).scalars())
            return {p.rule_id: Promotion(p.rule_id, p.rule_name, p.version, p.promoted_by, p.promoted_at,
                                         dict(p.summary or {})) for p in rows}
    except DBAPIError:
        if strict:
            raise
        return {}


class AlreadyPromoted(ValueError):
    pass


def promote(store: Store, *, rule_id: str, name: str, version: str, actor: str,
            summary: dict[str, Any]) -> tuple[Promotion, int]:
    """Record the promotion and its rule.promote audit event in one transaction: (promotion, event seq).
    Raises AlreadyPromoted if the rule was promoted before."""
    with store.write() as s:
        old = s.get(RulePromotion, rule_id)
        if old is not None:
            raise AlreadyPromoted(f"rule {name} was already promoted by {old.promoted_by} on "
                                  f"{old.promoted_at:%Y-%m-%d %H:%M} UTC")
        at = store.now()
        clean = jsonable(summary)
        s.add(RulePromotion(rule_id=rule_id, rule_name=name, version=version, promoted_by=actor, promoted_at=at,
                            summary=clean))
        s.flush()
        ev = trail.append(s, store, actor=actor, action="rule.promote", obj=f"rule:{name}",
                          details={"rule_id": rule_id, "version": version, "summary": clean})
        return Promotion(rule_id, name, version, actor, at, clean), ev.seq


# ---- what the shadow rules found, month by month ----------------------------------------------
@dataclass
class ShadowAlert:
    """One alert a shadow rule would have raised in a period (its findings grouped by fingerprint)."""

    fingerprint: str
    subject: str | None
    facts: frozenset[str]
    title: str


@dataclass
class ShadowMonth:
    period: str
    run_id: int
    rule_version: str
    findings: int
    alerts: list[ShadowAlert]


def months(store: Store, rule_ids: list[str] | None = None, limit: int = 12) -> dict[str, list[ShadowMonth]]:
    """rule id -> its months in shadow (oldest first, the newest `limit`), from each period's current
    run (not superseded, succeeded or partial). Empty on a store older than migration 0009."""
    from sqlalchemy.exc import DBAPIError

    try:
        with store.read() as s:
            q = (select(ShadowRuleRun).join(Run, Run.id == ShadowRuleRun.run_id)
                 .where(Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial"))))
            if rule_ids is not None:
                q = q.where(ShadowRuleRun.rule_id.in_(list(rule_ids)))
            latest: dict[tuple[str, str], ShadowRuleRun] = {}
            for r in s.execute(q.order_by(ShadowRuleRun.run_id)).scalars():
                latest[(r.rule_id, r.period)] = r  # a period's newest current run wins
            by_rule: dict[str, list[ShadowRuleRun]] = {}
            for (rule_id, _), r in sorted(latest.items(), key=lambda kv: kv[0]):
                by_rule.setdefault(rule_id, []).append(r)
            kept = {rule_id: rs[-limit:] for rule_id, rs in by_rule.items()}
            wanted = {(r.run_id, r.rule_id) for rs in kept.values() for r in rs}
            found: dict[tuple[int, str], dict[str, ShadowAlert]] = {}
            if wanted:
                fq = select(ShadowFinding).where(ShadowFinding.run_id.in_(sorted({w[0] for w in wanted})))
                for f in s.execute(fq).scalars():
                    if (f.run_id, f.rule_id) not in wanted:
                        continue
                    alerts = found.setdefault((f.run_id, f.rule_id), {})
                    a = alerts.get(f.fingerprint)
                    facts = frozenset(str(x) for x in (f.fact_ids or []))
                    alerts[f.fingerprint] = ShadowAlert(f.fingerprint, f.subject, facts, f.title) if a is None else \
                        ShadowAlert(a.fingerprint, a.subject, a.facts | facts, a.title)
    except DBAPIError:
        return {}
    return {rule_id: [ShadowMonth(r.period, r.run_id, r.rule_version, r.findings,
                                  list(found.get((r.run_id, rule_id), {}).values())) for r in rs]
            for rule_id, rs in kept.items()}
