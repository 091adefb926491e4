"""Alert pages and actions: the queue, take next, one alert with its evidence, the actions on it
(assign, change status with a note, suppress, reopen) and the person page.

Evidence comes from audit.store.queries.alert_view and every change from audit.store.lifecycle
(take next: audit.web.queue.take_next). Need-to-know is checked on the server for every alert
(a refusal is a 404 and a "web.denied" audit event); segregation of duties before every action.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from audit.store import lifecycle, trail
from audit.store.queries import NotFound, alert_view
from audit.web import access, queue
from audit.web.pages import BadRequest, Ctx, Denied, redirect, route
from audit.web.users import list_users
from reports.summary import redact_sensitive_values


def _alert_id(ctx: Ctx) -> int:
    try:
        return int(ctx.request.path_params["alert_id"])
    except (KeyError, ValueError):
        raise Denied("not an alert number", "alert:?") from None


def _visible_alert(ctx: Ctx, alert_id: int):
    """The alert with evidence, or Denied (404) when it does not exist or is not for this user."""
    try:
        a = alert_view(ctx.store, alert_id)
    except NotFound:
        raise Denied("no such alert", f"alert:{alert_id}") from None
    if not access.can_see(ctx.user, sensitivity=a.sensitivity, department=a.department, subject=a.subject):
        raise Denied(f"need-to-know: {a.sensitivity} alert, department {a.department!r}", f"alert:{alert_id}")
    return a if access.sees_sensitive(ctx.user) else redact_sensitive_values(a)


def _workable(ctx: Ctx, alert_id: int):
    a = _visible_alert(ctx, alert_id)
    why = access.conflict(ctx.store, ctx.user, a.subject)
    if why:
        ctx.audit("web.denied", f"alert:{alert_id}", {"why": f"segregation of duties: {why}"})
        raise BadRequest(f"You cannot act on alert {alert_id}: {why}. Ask another reviewer.")
    return a


@route("/alerts", ("GET",), access.READ_ALERTS)
def alert_queue(ctx: Ctx):
    f = queue.QueueFilter.from_query(ctx.request.query_params)
    found = queue.search(ctx.store, ctx.user, f, cache=ctx.request.app.state.listing_cache)
    pages = max(1, -(-found.total // queue.PAGE_SIZE))
    return ctx.render("queue.html", rows=found.rows, total=found.total, counts=found.counts, f=f, pages=pages,
                      choices=found.choices, statuses=lifecycle.STATUSES,
                      sorts=queue.SORTS, novelties=queue.NOVELTIES, message=ctx.request.query_params.get("msg", "")[:200])


@route("/alerts/take-next", ("POST",), access.WORK_ALERTS)
def take_next(ctx: Ctx):
    alert_id = queue.take_next(ctx.store, ctx.user)
    ctx.audited = alert_id is not None  # the assignment is the audit event
    if alert_id is None:
        return redirect("/alerts?" + urlencode({"msg": "There is no unassigned open alert for you."}))
    return redirect(f"/alerts/{alert_id}")


@route("/alerts/{alert_id}", ("GET",), access.READ_ALERTS)
def alert_page(ctx: Ctx):
    alert_id = _alert_id(ctx)
    a = _visible_alert(ctx, alert_id)
    lifecycle.log_view(ctx.store, alert_id, ctx.user.name)
    ctx.audited = True
    org_keys = sorted({ln.key for ln in a.links if ln.field == "org_key" and ln.key})
    workers = [u for u in list_users(ctx.store) if u.active and u.role in access.WORK_ALERTS
               and access.can_see(u, sensitivity=a.sensitivity, department=a.department, subject=a.subject)]
    return ctx.render("alert.html", a=a, related=queue.related(ctx.store, ctx.user, alert_id, a.subject, org_keys),
                      conflict=access.conflict(ctx.store, ctx.user, a.subject),
                      can_work=ctx.user.role in access.WORK_ALERTS, workers=workers,
                      next_statuses=lifecycle.TRANSITIONS.get(a.status, ()), closed=a.status in lifecycle.CLOSED,
                      events=trail.events(ctx.store, obj=f"alert:{alert_id}", limit=50),
                      suppressions=lifecycle.active_suppressions(ctx.store, alert_id),
                      today=ctx.store.today().isoformat(), max_days=lifecycle.MAX_SUPPRESSION_DAYS,
                      message=ctx.request.query_params.get("msg", "")[:200])


def _done(alert_id: int, message: str):
    return redirect(f"/alerts/{alert_id}?" + urlencode({"msg": message}))


def _lifecycle(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except lifecycle.LifecycleError as e:
        raise BadRequest(str(e)) from None


@route("/alerts/{alert_id}/assign", ("POST",), access.WORK_ALERTS)
def assign(ctx: Ctx):
    alert_id = _alert_id(ctx)
    a = _workable(ctx, alert_id)
    target = ctx.field("assignee") or ctx.user.name
    assignee = next((u for u in list_users(ctx.store) if u.name == target and u.active), None)
    if assignee is None or assignee.role not in access.WORK_ALERTS or not access.can_see(
            assignee, sensitivity=a.sensitivity, department=a.department, subject=a.subject):
        raise BadRequest(f"{target!r} is not an active reviewer who may see this alert.")
    if conflict := access.conflict(ctx.store, assignee, a.subject):
        raise BadRequest(f"{target} cannot be given this alert: {conflict}.")
    _lifecycle(lifecycle.assign, ctx.store, alert_id, assignee.name, ctx.user.name)
    ctx.audited = True
    return _done(alert_id, f"Assigned to {assignee.name}.")


@route("/alerts/{alert_id}/status", ("POST",), access.WORK_ALERTS)
def change_status(ctx: Ctx):
    alert_id = _alert_id(ctx)
    a = _workable(ctx, alert_id)
    status, note = ctx.field("status"), ctx.field("note")
    if not note:
        raise BadRequest("A note is required when you change an alert's status.")
    if status not in lifecycle.TRANSITIONS.get(a.status, ()):
        raise BadRequest(f"Alert {alert_id} is {a.status}; it can move to "
                         f"{', '.join(lifecycle.TRANSITIONS.get(a.status, ()))}, not {status or 'nothing'}.")
    _lifecycle(lifecycle.review, ctx.store, alert_id, status, note, ctx.user.name)
    ctx.audited = True
    return _done(alert_id, f"Status changed to {status.replace('_', ' ')}.")


@route("/alerts/{alert_id}/reopen", ("POST",), access.WORK_ALERTS)
def reopen(ctx: Ctx):
    alert_id = _alert_id(ctx)
    a = _workable(ctx, alert_id)
    if a.status not in lifecycle.CLOSED:
        raise BadRequest(f"Alert {alert_id} is {a.status.replace('_', ' ')}, not closed; there is nothing to reopen.")
    note = ctx.field("note")
    if not note:
        raise BadRequest("A note is required to reopen an alert: say why.")
    _lifecycle(lifecycle.review, ctx.store, alert_id, "in_review", note, ctx.user.name)
    ctx.audited = True
    return _done(alert_id, "Reopened: the alert is in review again.")


@route("/alerts/{alert_id}/suppress", ("POST",), access.WORK_ALERTS)
def suppress(ctx: Ctx):
    alert_id = _alert_id(ctx)
    _workable(ctx, alert_id)
    reason, scope = ctx.field("reason"), ctx.field("scope") or "finding"
    try:
        until = date.fromisoformat(ctx.field("until"))
    except ValueError:
        raise BadRequest("Give the suppression's expiry date as YYYY-MM-DD.") from None
    _lifecycle(lifecycle.suppress, ctx.store, alert_id, reason, until, ctx.user.name, scope=scope)
    ctx.audited = True
    return _done(alert_id, f"Suppressed until {until.isoformat()}: it will not be raised again before then.")


@route("/people/{person_key}", ("GET",), access.READ_ALERTS)
def person_page(ctx: Ctx):
    key = ctx.request.path_params["person_key"][:255]
    if key == ctx.user.person_id:
        raise Denied("a person page about oneself", f"person:{key}")
    rows = queue.for_person(ctx.store, ctx.user, key)
    entries: dict[str, dict[str, tuple]] = {}  # register -> fact_id -> (fact, alert ids)
    name = department = None
    for row in rows[:100]:
        a = alert_view(ctx.store, row.id)  # listed by for_person, so visible to this user
        if not access.sees_sensitive(ctx.user):
            a = redact_sensitive_values(a)
        name, department = name or a.subject_name, department or a.department
        for fact in a.facts:
            seen = entries.setdefault(fact.register, {}).get(fact.fact_id)
            ids = (seen[1] if seen else []) + [a.id]
            entries[fact.register][fact.fact_id] = (fact, ids)
    ctx.audit("person.view", f"person:{key}", {"alerts": [r.id for r in rows]})
    return ctx.render("person.html", key=key, name=name, department=department, rows=rows,
                      entries={reg: list(facts.values()) for reg, facts in sorted(entries.items())})
