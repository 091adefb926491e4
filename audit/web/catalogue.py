"""The rules page: each rule the store has seen (its current version, with its lifecycle status),
the parameters in force at its latest alert, and its alert volumes over the last months (current
runs only).

Status comes from rule_versions (experimental / test / stable / deprecated; "unrecorded" for a
version recorded before the store kept it). Deprecated rules are recorded by each run but not
evaluated, so their volumes are those of the months before they were deprecated.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, select

from audit.store.db import Store
from audit.store.models import Alert, AlertOccurrence, Person, Run, RuleVersion
from audit.store.rule_versions import current_rule_versions
from audit.web.users import User

MONTHS = 6


@dataclass
class RuleRow:
    rule_id: str
    name: str
    title: str
    description: str
    level: str
    status: str
    version: str
    registers: list[str]
    sensitivity: str
    params: dict[str, Any]
    last_period: str | None
    volumes: dict[str, int] = field(default_factory=dict)  # period -> alerts raised by the current run
    open_alerts: int = 0
    withheld: bool = False  # alert figures hidden: a sensitive rule, shown to someone without need-to-know
    #: a shadow rule: period -> alerts it would have raised (stored apart, never queued), for the CCU
    #: and auditors only (with_shadow_figures); None when not shown
    shadow: dict[str, int] | None = None


def _counted(s, q, user: User | None):
    """Alert counts of only the alerts `user` may see (queue.visible, the SQL twin of access.can_see):
    a count of alerts one may not see tells a subject that there is one about them."""
    from audit.web.queue import visible

    q = (q.outerjoin(Person, Person.person_key == Alert.subject)
         .outerjoin(RuleVersion, and_(RuleVersion.rule_id == Alert.rule_id,
                                      RuleVersion.version == AlertOccurrence.rule_version)))
    return visible(s, q, user) if user is not None else q


def rules_overview(store: Store, user: User | None = None) -> tuple[list[RuleRow], list[str]]:
    """(rules, the last MONTHS periods with a current run, newest first); with `user`, the alert
    figures count only the alerts that user may see."""
    with store.read() as s:
        latest = current_rule_versions(s)
        recorded = (Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial")))  # never running/failed
        periods = list(s.execute(select(Run.period).where(*recorded)
                                 .distinct().order_by(Run.period.desc()).limit(MONTHS)).scalars())
        volumes: dict[str, dict[str, int]] = {}
        if periods:
            current = select(Run.id).where(*recorded, Run.period.in_(periods))
            for rule_id, period, n in s.execute(_counted(
                    s,
                    select(Alert.rule_id, AlertOccurrence.period, func.count()).select_from(AlertOccurrence)
                    .join(Alert, Alert.id == AlertOccurrence.alert_id), user)
                    .where(AlertOccurrence.run_id.in_(current), AlertOccurrence.suppressed.is_(False))
                    .group_by(Alert.rule_id, AlertOccurrence.period)):
                volumes.setdefault(rule_id, {})[period] = n
        open_counts = dict(s.execute(_counted(
            s,
            select(Alert.rule_id, func.count()).select_from(Alert)
            .join(AlertOccurrence, and_(AlertOccurrence.alert_id == Alert.id,
                                        AlertOccurrence.period == Alert.last_period)), user)
            .where(Alert.status.in_(("new", "in_review"))).group_by(Alert.rule_id)).all())
        last_occ = (select(Alert.rule_id, func.max(AlertOccurrence.id).label("occ"))
                    .join(Alert, Alert.id == AlertOccurrence.alert_id).group_by(Alert.rule_id).subquery())
        params = {rid: (p, per) for rid, p, per in s.execute(
            select(last_occ.c.rule_id, AlertOccurrence.params, AlertOccurrence.period)
            .join(AlertOccurrence, AlertOccurrence.id == last_occ.c.occ))}
    rows = [RuleRow(rule_id=rv.rule_id, name=rv.name, title=rv.title, description=rv.description, level=rv.level,
                    status=rv.status, version=rv.version, registers=list(rv.registers or []),
                    sensitivity=rv.sensitivity,
                    params=params.get(rv.rule_id, ({}, None))[0] or {},
                    last_period=params.get(rv.rule_id, ({}, None))[1],
                    volumes=volumes.get(rv.rule_id, {}), open_alerts=open_counts.get(rv.rule_id, 0))
            for rv in latest.values()]
    rows.sort(key=lambda r: r.name)
    return rows, periods


def with_shadow_figures(store: Store, rows: list[RuleRow]) -> list[RuleRow]:
    """The shadow rules' alerts per month in shadow (audit.shadow.summary: current runs only).
    For the roles that decide on rules (access.SEE_TRAIL); sensitive ones are then withheld from
    whoever lacks need-to-know, as the other figures (withhold_sensitive_figures)."""
    from audit import shadow

    names = {r.rule_id: r.name for r in rows if r.status == shadow.SHADOW}
    figures = shadow.summary(store, names, limit=MONTHS) if names else {}
    return [replace(r, shadow={m.period: m.alerts for m in figures[r.rule_id].months} if r.rule_id in figures else {})
            if r.rule_id in names else r for r in rows]


def rule_statuses(rows: list[RuleRow]) -> list[str]:
    """The statuses the rules have, for the page's filter."""
    return sorted({r.status for r in rows})


def withhold_sensitive_figures(rows: list[RuleRow]) -> list[RuleRow]:
    """The rows as seen without need-to-know: a sensitive rule's text stays (the rule library is
    no secret), but its alert volumes, open count and parameters in force do not, because how
    many notifiable-association or vetting alerts a month raises is itself sensitive."""
    return [replace(r, volumes={}, open_alerts=0, params={}, last_period=None, withheld=True, shadow=None)
            if r.sensitivity == "sensitive" else r for r in rows]
