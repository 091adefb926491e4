"""Who may see and do what: roles per page, need-to-know on alerts, segregation of duties; and the
one place that cuts what a user may see of a run (its alerts, counts, quarantine reasons, files)
and of the audit trail. Every page, download and count goes through these.

- reviewer (PSD): alerts that are not sensitive (notifiable associations, vetting); if the
  account has a department, only alerts about staff of that department.
- ccu: every alert. auditor: rules, runs and the audit trail; alerts read-only, not sensitive ones.
- admin: user accounts only.
- Need-to-know beyond alerts: a run's counts and report are of the alerts the user may see; a
  quarantine reason from a need-to-know register (associations, vetting) quotes the cell, so it
  reaches the CCU only; the published files (full report, exports, manifest) are the CCU's, others
  get the report rendered for them; trail events about need-to-know alerts or their subjects, and
  CCU users' views of people, show to others only that an event happened, not its object or details.
- Nobody sees alerts about themselves; nobody disposes of (reviews, suppresses, reopens, takes)
  an alert about themselves or about anyone below them in the line-management chain, using the
  line managers the store keeps from the workforce register (people.line_manager_id).
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from sqlalchemy import select

from audit import registers
from audit.store.db import Store
from audit.store.models import Alert, AlertOccurrence, Person, RuleVersion, WebUser
from audit.store.views import RunView
from audit.web.users import User

READ_ALERTS = ("reviewer", "ccu", "auditor")
WORK_ALERTS = ("reviewer", "ccu")
SEE_RUNS = ("reviewer", "ccu", "auditor")
SEE_TRAIL = ("ccu", "auditor")
ADMIN = ("admin",)
MAX_CHAIN = 25  # line-management depth followed (guards against cycles in HR data)
#: the kinds of refusal; a denial's reason in the trail starts with one (audit.web.pages.Denied)
NO_SUCH_OBJECT, NEED_TO_KNOW, CONFLICT = "no such object", "need-to-know", "conflict of interest"


def sees_sensitive(user: User) -> bool:
    return user.role == "ccu"


def can_see(user: User, *, sensitivity: str | None, department: str | None, subject: str | None) -> bool:
    """Need-to-know for one alert (the same test the queue applies in SQL)."""
    return _hidden_because(user, sensitivity, department, subject) is None


def _hidden_because(user: User, sensitivity: str | None, department: str | None, subject: str | None) -> str | None:
    """Why need-to-know refuses `user` one alert, or None when they may see it: the one test behind
    can_see and why_hidden, so the decision and its explanation cannot drift apart."""
    if user.role not in READ_ALERTS:
        return f"{NEED_TO_KNOW}: role {user.role} does not read alerts"
    if user.person_id and subject == user.person_id:
        return f"{CONFLICT}: the alert is about {user.name} (person {user.person_id})"
    if sees_sensitive(user):
        return None
    if sensitivity == "sensitive":
        return f"{NEED_TO_KNOW}: a sensitive alert is for the CCU only, {user.name} has role {user.role}"
    if user.department and (department or "").casefold() != user.department.casefold():
        return (f"{NEED_TO_KNOW}: the alert is about department {department!r}, "
                f"{user.name} is scoped to {user.department!r}")
    return None


def managers_of(store: Store, person_key: str) -> list[str]:
    """The line-management chain above a person, nearest first."""
    chain: list[str] = []
    current = person_key
    with store.read() as s:
        for _ in range(MAX_CHAIN):
            manager = s.execute(select(Person.line_manager_id).where(Person.person_key == current)).scalar()
            if not manager or manager in chain or manager == person_key:
                break
            chain.append(manager)
            current = manager
    return chain


def reports_of(store: Store, person_id: str) -> set[str]:
    """Everyone below `person_id` in the line-management chain."""
    found: set[str] = set()
    frontier = {person_id}
    with store.read() as s:
        for _ in range(MAX_CHAIN):
            rows = set(s.execute(select(Person.person_key).where(Person.line_manager_id.in_(frontier))).scalars())
            rows -= found | {person_id}
            if not rows:
                break
            found |= rows
            frontier = rows
    return found


def conflict(store: Store, user: User, subject: str | None) -> str | None:
    """Why `user` may not dispose of an alert about `subject`, or None when they may."""
    if not subject or not user.person_id:
        return None
    if subject == user.person_id:
        return "this alert is about you"
    if user.person_id in managers_of(store, subject):
        return "this alert is about someone you line-manage"
    return None


def why_hidden(user: User, a) -> str:
    """Why can_see refuses `user` alert `a`, for the trail and messages."""
    return _hidden_because(user, a.sensitivity, a.department, a.subject) or f"{NEED_TO_KNOW}: not refused"


def cannot_take(store: Store, u: User | None, a) -> str | None:
    """Why account `u` may not be given alert `a` (None when they may), in the web app and the CLI
    alike: an enabled account of a role that works alerts, that may see the alert and has no
    conflict with its subject (the same tests as for the user who acts)."""
    if u is None:
        return "there is no such account"
    if not u.active:
        return f"the account {u.name} is disabled"
    if u.role not in WORK_ALERTS:
        return f"role {u.role} does not work alerts (only {', '.join(WORK_ALERTS)})"
    if conflict(store, u, a.subject):
        about = "the alert is about them" if u.person_id == a.subject else "they line-manage the alert's subject"
        return f"{CONFLICT}: {about}"
    if not can_see(u, sensitivity=a.sensitivity, department=a.department, subject=a.subject):
        return why_hidden(u, a)
    return None


# ---- what a user may see of a run, its files and the trail ------------------------------------

WITHHELD = "withheld (need-to-know)"
REASON_WITHHELD = "a value could not be read (the reason quotes it: shown to the CCU only)"


def need_to_know_register(name: str) -> bool:
    """A register whose entries are need-to-know as a whole, their very key sensitive (notifiable
    associations, vetting), not one with a sensitive field among others (a supplier's bank hash)."""
    reg = registers.registers().get(name)
    return bool(reg and reg.natural_key) and all(reg.fields[k].sensitivity == "sensitive" for k in reg.natural_key)


def quarantine_reason(user: User, register: str, reason: str) -> str:
    """A reason quotes the cell it could not read: from a need-to-know register, the CCU's only."""
    return reason if sees_sensitive(user) or not need_to_know_register(register) else REASON_WITHHELD


def run_for(user: User, run: RunView) -> RunView:
    """The run as `user` may see it: the alerts they may see (need-to-know values taken out of the
    evidence), counts of those alone, quarantine reasons cut, no trend of other people's alerts."""
    from reports.summary import redact_sensitive_values

    if sees_sensitive(user) and not user.person_id:
        return run

    def mine(alerts):
        shown = [a for a in alerts if can_see(user, sensitivity=a.sensitivity, department=a.department,
                                              subject=a.subject)]
        return shown if sees_sensitive(user) else [redact_sensitive_values(a) for a in shown]

    alerts, resolved = mine(run.alerts), mine(run.resolved)
    counts = {k: v for k, v in run.counts.items() if not k.startswith(("alerts_", "findings"))}
    counts.update(alerts_new=sum(a.novelty != "carried" for a in alerts),
                  alerts_carried=sum(a.novelty == "carried" for a in alerts), alerts_resolved=len(resolved))
    sources = [dataclasses.replace(s, top_reasons=_reasons(user, s)) for s in run.sources]
    return dataclasses.replace(run, alerts=alerts, resolved=resolved, counts=counts, sources=sources,
                               trend=run.trend if sees_sensitive(user) else [])


def _reasons(user: User, source) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    for reason, n in source.top_reasons:
        shown = quarantine_reason(user, source.register, reason)
        merged[shown] = merged.get(shown, 0) + n
    return sorted(merged.items(), key=lambda kv: -kv[1])


def file_allowed(user: User) -> bool:
    """The published files: the CCU's (the full report and exports name every alert); the reviewers'
    report variant and manifest count alerts a scoped reviewer may not see, so others get the report
    rendered for them instead (routes_runs)."""
    return user.role == "ccu"


_MENTION = re.compile(r"\b(?:alert|person):[\w.-]+")


def trail_for(store: Store, user: User, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trail events as `user` may see them. Withheld (time, actor and action kept, not object or
    details): whatever a CCU user did (whom they looked at or searched for is itself need-to-know),
    and any event naming a need-to-know alert or the subject of one, in its object or its details."""
    if sees_sensitive(user):
        return events
    alerts, people, ccu = _need_to_know_objects(store)
    secret = alerts | people
    out = []
    for e in events:
        details = e.get("details") if isinstance(e.get("details"), dict) else {}
        named = set(_MENTION.findall(f"{e.get('object') or ''} {json.dumps(details, default=str)}"))
        listed = details.get("alerts")  # a person page's view lists the alert ids it showed
        named |= {f"alert:{a}" for a in (listed if isinstance(listed, list) else [])}
        hidden = e.get("actor") in ccu or bool(named & secret)
        out.append({**e, "object": WITHHELD, "details": {}, "withheld": True} if hidden else e)
    return out


def _need_to_know_objects(store: Store) -> tuple[set[str], set[str], set[str]]:
    """("alert:N" of need-to-know alerts, "person:K" of their subjects, names of CCU accounts)."""
    with store.read() as s:
        rows = s.execute(select(Alert.id, Alert.subject).distinct()
                         .join(AlertOccurrence, AlertOccurrence.alert_id == Alert.id)
                         .join(RuleVersion, (RuleVersion.rule_id == Alert.rule_id)
                               & (RuleVersion.version == AlertOccurrence.rule_version))
                         .where(RuleVersion.sensitivity == "sensitive")).all()
        ccu = set(s.execute(select(WebUser.name).where(WebUser.role == "ccu")).scalars())
    return {f"alert:{i}" for i, _ in rows}, {f"person:{k}" for _, k in rows if k}, ccu
