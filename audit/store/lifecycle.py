"""The alert lifecycle: dispositions, reopening, assignment, suppression, deliveries.

Dispositions: new -> in_review -> no_further_action | management_action | referred_to_ccu |
false_positive; a closed alert may be reopened (back to in_review). Every change needs a
reviewer and a note, is kept in `dispositions` and is an audit event (carrying the digest of the
row it wrote: audit.store.digests). Suppressions need a reason and an expiry date (in the future,
at most MAX_SUPPRESSION_DAYS ahead); expired ones simply stop applying at the next run. This module
is the only way an alert changes.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from audit.store import trail
from audit.store.db import Store
from audit.store.digests import delivery_record, digest, disposition_record, suppression_record
from audit.store.models import Alert, Delivery, Disposition, Suppression

CLOSED = ("no_further_action", "management_action", "referred_to_ccu", "false_positive")
STATUSES = ("new", "in_review", *CLOSED)
TRANSITIONS = {
    "new": ("in_review", *CLOSED),
    "in_review": CLOSED,
    **{c: ("in_review",) for c in CLOSED},  # reopen
}
MAX_SUPPRESSION_DAYS = 365
SCOPES = ("finding", "rule_subject")


class LifecycleError(ValueError):
    """An action that is not allowed; the message says why and what is allowed."""


def _alert(s, alert_id: int) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise LifecycleError(f"there is no alert {alert_id}")
    return alert


def _need(value: str | None, what: str) -> str:
    if not value or not str(value).strip():
        raise LifecycleError(f"{what} is required")
    return str(value).strip()


def review(store: Store, alert_id: int, status: str, note: str, reviewer: str) -> Disposition:
    """Record a disposition (or a reopen: status in_review on a closed alert)."""
    note, reviewer = _need(note, "a note"), _need(reviewer, "a reviewer")
    if status not in STATUSES:
        raise LifecycleError(f"unknown status {status!r}; use one of: {', '.join(STATUSES[1:])}")
    with store.write() as s:
        alert = _alert(s, alert_id)
        allowed = TRANSITIONS[alert.status]
        if status not in allowed:
            raise LifecycleError(f"alert {alert_id} is {alert.status}; it can move to "
                                 f"{', '.join(allowed)}, not {status}")
        action = "alert.reopen" if alert.status in CLOSED else "alert.review"
        d = Disposition(alert_id=alert_id, status=status, reviewer=reviewer, at=store.now(), note=note)
        s.add(d)
        details = {"from": alert.status, "to": status, "note": note}
        alert.status = status
        s.flush()
        details["digests"] = {f"disposition:{d.id}": digest(disposition_record(d))}
        trail.append(s, store, actor=reviewer, action=action, obj=f"alert:{alert_id}", details=details)
        return d


def assign(store: Store, alert_id: int, user: str, actor: str) -> None:
    user, actor = _need(user, "an assignee"), _need(actor, "who assigns")
    with store.write() as s:
        alert = _alert(s, alert_id)
        details = {"from": alert.assignee, "to": user}
        alert.assignee = user
        trail.append(s, store, actor=actor, action="alert.assign", obj=f"alert:{alert_id}", details=details)


def suppress(store: Store, alert_id: int, reason: str, until: date, actor: str,
             scope: str = "finding") -> Suppression:
    """Stop raising this finding (scope finding) or this rule for this subject (rule_subject)."""
    reason, actor = _need(reason, "a reason"), _need(actor, "who suppresses")
    if scope not in SCOPES:
        raise LifecycleError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    today = store.today()
    if until <= today:
        raise LifecycleError(f"the expiry date {until} must be in the future (after {today})")
    if until > today + timedelta(days=MAX_SUPPRESSION_DAYS):
        raise LifecycleError(f"a suppression lasts at most {MAX_SUPPRESSION_DAYS} days "
                             f"(until {today + timedelta(days=MAX_SUPPRESSION_DAYS)} at the latest)")
    with store.write() as s:
        alert = _alert(s, alert_id)
        if scope == "rule_subject" and not alert.subject:
            raise LifecycleError(f"alert {alert_id} has no subject person; suppress the finding instead")
        sup = Suppression(scope=scope, fingerprint=alert.fingerprint if scope == "finding" else None,
                          rule_id=alert.rule_id, subject=alert.subject if scope == "rule_subject" else None,
                          alert_id=alert_id, reason=reason, expires_on=until, created_by=actor,
                          created_at=store.now())
        s.add(sup)
        s.flush()
        trail.append(s, store, actor=actor, action="alert.suppress", obj=f"alert:{alert_id}",
                     details={"suppression": sup.id, "scope": scope, "reason": reason, "until": until.isoformat(),
                              "rule_id": alert.rule_id, "subject": sup.subject,
                              "digests": {f"suppression:{sup.id}": digest(suppression_record(sup))}})
        return sup


def active_suppressions(store: Store, alert_id: int) -> list[Suppression]:
    """Unexpired suppressions that apply to this alert."""
    with store.read() as s:
        alert = _alert(s, alert_id)
        q = select(Suppression).where(Suppression.expires_on >= store.today(),
                                      ((Suppression.fingerprint == alert.fingerprint)
                                       | ((Suppression.scope == "rule_subject")
                                          & (Suppression.rule_id == alert.rule_id)
                                          & (Suppression.subject == alert.subject))))
        return list(s.execute(q).scalars())


def record_delivery(store: Store, run_id: int, destination: str, status: str, error: str | None = None,
                    attempts: int = 1, actor: str = "scheduler") -> int:
    if status not in ("delivered", "failed"):
        raise LifecycleError(f"delivery status must be delivered or failed, not {status!r}")
    with store.write() as s:
        d = Delivery(run_id=run_id, destination=destination, status=status, error=error,
                     attempts=int(attempts), at=store.now())
        s.add(d)
        s.flush()
        trail.append(s, store, actor=actor, action="delivery", obj=f"run:{run_id}",
                     details={"destination": destination, "status": status, "attempts": attempts,
                              "error": error, "digests": {f"delivery:{d.id}": digest(delivery_record(d))}})
        return d.id


def log_view(store: Store, alert_id: int, actor: str, run_id: int | None = None) -> None:
    """Every view of an alert's evidence is an audit event."""
    trail.log(store, actor=actor or "unknown", action="alert.view", obj=f"alert:{alert_id}",
              details={"run": run_id} if run_id else {})

