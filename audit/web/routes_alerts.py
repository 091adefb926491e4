"""Alert pages and actions: the queue, take next, one alert with its evidence, the actions on it
(assign, change status with a note, suppress, reopen) and the person page.

Evidence comes from audit.store.queries.alert_view and every change from audit.store.lifecycle
(take next: audit.web.queue.take_next). Need-to-know is checked on the server for every alert
(a refusal is a 404 and a "web.denied" audit event whose reason says which kind it was: no such
alert, need-to-know, or a conflict of interest); segregation of duties before every action.

A refused action (a missing note, a date that is not one, an assignee who may not take the alert)
re-renders the alert page with the message next to its form and what was typed kept, and is an
"alert.refused" audit event with the reason. The page's audit trail shows every decision on the
alert (every event but views) always; views are counted, and listed a page at a time on request
(?views=N), so they never push a disposition off the page.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from audit import display
from audit.store import lifecycle
from audit.store.models import AuditEvent, RuleVersion
from audit.store.queries import NotFound, alert_view
from audit.web import access, queue, timeline
from audit.web.pages import (CONFLICT, NO_SUCH_OBJECT, BadRequest, Ctx, Denied, notice_url, redirect,
                             route)
from audit.web.users import User, list_users
from reports.summary import redact_sensitive_values

VIEW_ACTIONS = ("alert.view",)  # what the alert page's trail counts and pages instead of listing
VIEWS_PAGE = 50
# The fields each action form sends back, kept in the form when it is shown again after a refusal.
FORM_FIELDS = {"assign": ("assignee",), "status": ("status", "note"), "reopen": ("note",),
               "suppress": ("scope", "reason", "until"), "link": ("decision", "why")}


class _Refused(BadRequest):
    """A refusal whose audit event has already been written (segregation of duties)."""


def _alert_id(ctx: Ctx) -> int:
    raw = ctx.request.path_params.get("alert_id", "")
    try:
        return int(raw)
    except ValueError:
        raise Denied(f"{NO_SUCH_OBJECT}: {raw[:40]!r} is not an alert number", "alert:?") from None


def _visible_alert(ctx: Ctx, alert_id: int):
    """The alert with evidence, or Denied (404) when it does not exist or is not for this user."""
    try:
        a = alert_view(ctx.store, alert_id)
    except NotFound:
        raise Denied(f"{NO_SUCH_OBJECT}: there is no alert {alert_id}", f"alert:{alert_id}") from None
    if not access.can_see(ctx.user, sensitivity=a.sensitivity, department=a.department, subject=a.subject):
        raise Denied(access.why_hidden(ctx.user, a), f"alert:{alert_id}")
    return a if access.sees_sensitive(ctx.user) else redact_sensitive_values(a)


def _workable(ctx: Ctx, alert_id: int):
    a = _visible_alert(ctx, alert_id)
    why = access.conflict(ctx.store, ctx.user, a.subject)
    if why:
        ctx.audit("web.denied", f"alert:{alert_id}", {"why": f"{CONFLICT}: {why}", "method": ctx.request.method,
                                                      "path": ctx.request.url.path})
        raise _Refused(f"You cannot act on alert {alert_id}: {why}. Ask another reviewer.")
    return a


def _workers(ctx: Ctx, a) -> list[User]:
    """The accounts the assign list offers: those who may take this alert."""
    return [u for u in list_users(ctx.store) if access.cannot_take(ctx.store, u, a) is None]


def _page_number(ctx: Ctx, name: str) -> int:
    try:
        return max(0, min(int(ctx.request.query_params.get(name) or 0), 1_000_000))
    except ValueError:
        return 0


def _event(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "object": e.object, "details": e.details}


def alert_trail(ctx: Ctx, alert_id: int, views_page: int) -> dict[str, Any]:
    """The alert's audit trail, newest first: every decision (every event but a view) always; the
    number of views, and page `views_page` of them (none when 0)."""
    obj = f"alert:{alert_id}"
    q = select(AuditEvent).where(AuditEvent.object == obj, AuditEvent.action.not_like("trail.%"))
    with ctx.store.read() as s:
        decisions = [_event(e) for e in s.execute(
            q.where(AuditEvent.action.not_in(VIEW_ACTIONS)).order_by(AuditEvent.seq.desc())).scalars()]
        n_views = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object == obj, AuditEvent.action.in_(VIEW_ACTIONS))).scalar_one()
        pages = max(1, -(-n_views // VIEWS_PAGE))
        page = min(views_page, pages)
        views = [_event(e) for e in s.execute(
            q.where(AuditEvent.action.in_(VIEW_ACTIONS)).order_by(AuditEvent.seq.desc())
            .offset((page - 1) * VIEWS_PAGE).limit(VIEWS_PAGE)).scalars()] if page else []
    return {"decisions": decisions, "n_views": n_views, "views": views, "views_page": page, "views_pages": pages}


def rule_titles(ctx: Ctx) -> dict[str, str]:
    """Rule name -> its title (of its newest recorded version), for lists that name a rule: people read
    "Gift from a current supplier", not gift_from_supplier."""
    with ctx.store.read() as s:
        return {name: title for name, title in s.execute(
            select(RuleVersion.name, RuleVersion.title).order_by(RuleVersion.id)) if title}


def rule_folders(ctx: Ctx) -> list[str]:
    """Where the rule files are (the shipped library and the force's folders), for the declared types
    of a rule's parameters (audit.display.param_types): a money limit is shown in pounds."""
    return [str(f) for f in ctx.settings.rule_folders]


@route("/alerts", ("GET",), access.READ_ALERTS)
def alert_queue(ctx: Ctx):
    f = queue.QueueFilter.from_query(ctx.request.query_params)
    found = queue.search(ctx.store, ctx.user, f, cache=ctx.request.app.state.listing_cache)
    pages = max(1, -(-found.total // queue.PAGE_SIZE))
    titles = rule_titles(ctx)
    rule_choices = sorted((titles.get(name, name), name) for name in found.choices["rules"])
    return ctx.render("queue.html", rows=found.rows, total=found.total, counts=found.counts, f=f, pages=pages,
                      choices=found.choices, rule_choices=rule_choices, rule_titles=titles,
                      statuses=lifecycle.STATUSES, sorts=queue.SORTS, novelties=queue.NOVELTIES,
                      notice=ctx.notice())


@route("/alerts/take-next", ("POST",), access.WORK_ALERTS)
def take_next(ctx: Ctx):
    alert_id = queue.take_next(ctx.store, ctx.user)
    ctx.audited = alert_id is not None  # the assignment is the audit event
    if alert_id is None:
        return redirect(notice_url("/alerts", "none_to_take"))
    return redirect(f"/alerts/{alert_id}")


def _alert_page(ctx: Ctx, alert_id: int, *, status: int = 200, form_error: dict[str, str] | None = None,
                typed: dict[str, str] | None = None):
    """The alert page (a view of its evidence: an audit event), after a GET or a refused action."""
    a = _visible_alert(ctx, alert_id)
    lifecycle.log_view(ctx.store, alert_id, ctx.user.name)
    ctx.audited = True
    org_keys = sorted({ln.key for ln in a.links if ln.field == "org_key" and ln.key})
    conflict = access.conflict(ctx.store, ctx.user, a.subject)
    can_work = ctx.user.role in access.WORK_ALERTS
    closed = a.status in lifecycle.CLOSED
    forms = {"assign", "suppress", "reopen" if closed else "status"} if can_work and not conflict else set()
    if forms and a.weakest_link:
        forms.add("link")
    suppressions = lifecycle.active_suppressions(ctx.store, alert_id)
    notice = "" if form_error else ctx.notice(
        assignee=a.assignee, status=display.status_label(a.status),
        until=max((s.expires_on for s in suppressions), default=None))
    who = a.subject_name or a.subject
    return ctx.render("alert.html", status=status, a=a,
                      timelines=timeline.for_alert(ctx.store, ctx.user, a),
                      peer=timeline.peer_view(a.values, who),
                      related=queue.related(ctx.store, ctx.user, alert_id, a.subject, org_keys),
                      conflict=conflict, can_work=can_work, workers=_workers(ctx, a) if forms else [],
                      next_statuses=lifecycle.TRANSITIONS.get(a.status, ()), closed=closed, forms=forms,
                      trail=alert_trail(ctx, alert_id, _page_number(ctx, "views")),
                      suppressions=suppressions, today=ctx.store.today().isoformat(),
                      rule_titles=rule_titles(ctx), closing=lifecycle.CLOSED, rule_folders=rule_folders(ctx),
                      max_days=lifecycle.MAX_SUPPRESSION_DAYS, notice=notice,
                      form_error=form_error, typed=typed or {})


@route("/alerts/{alert_id}", ("GET",), access.READ_ALERTS)
def alert_page(ctx: Ctx):
    return _alert_page(ctx, _alert_id(ctx))


@route("/alerts/{alert_id}/access-timeline.csv", ("GET",), ("ccu",))
def access_timeline_csv(ctx: Ctx):
    """The alert's access timeline rows as CSV (the access log's rows: need-to-know, the CCU's only;
    only the header for an alert with none). A download of need-to-know rows is an audit event."""
    alert_id = _alert_id(ctx)
    a = _visible_alert(ctx, alert_id)
    if not timeline.may_see_timeline(ctx.user):  # the route is the CCU's; the test stays with the data
        raise Denied(access.why_hidden(ctx.user, a), f"alert:{alert_id}")
    from audit.store.access_timeline import for_alert

    found = for_alert(ctx.store, alert_id)
    rows = sum(len(p.rows) for p in found.pairs) if found else 0
    ctx.audit("alert.timeline_download", f"alert:{alert_id}", {"rows": rows})
    return Response(timeline.csv_bytes(found), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="alert-{alert_id}-access-timeline.csv"'})


def _done(alert_id: int, key: str):
    return redirect(notice_url(f"/alerts/{alert_id}", key))


def _lifecycle(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except lifecycle.LifecycleError as e:
        message = str(e)
        raise BadRequest(f"{message[:1].upper()}{message[1:]}.") from None


def _act(ctx: Ctx, form: str, work):
    """Run one action form's `work(alert_id)`; when it is refused, record why ("alert.refused", unless
    already recorded) and show the alert page again with the message by the form and the text kept."""
    alert_id = _alert_id(ctx)
    try:
        return work(alert_id)
    except BadRequest as e:
        typed = {k: ctx.form.get(k, "") for k in FORM_FIELDS[form]}
        if not isinstance(e, _Refused):
            details = {"form": form, "why": str(e)}
            if form == "assign":
                details["assignee"] = typed["assignee"][:128]
            ctx.audit("alert.refused", f"alert:{alert_id}", details)
        return _alert_page(ctx, alert_id, status=400, form_error={"form": form, "message": str(e)}, typed=typed)


@route("/alerts/{alert_id}/assign", ("POST",), access.WORK_ALERTS)
def assign(ctx: Ctx):
    def work(alert_id: int):
        a = _workable(ctx, alert_id)
        target = ctx.field("assignee") or ctx.user.name
        assignee = next((u for u in list_users(ctx.store) if u.name == target), None)
        if why := access.cannot_take(ctx.store, assignee, a):
            raise BadRequest(f"{target} cannot be given this alert: {why}.")
        _lifecycle(lifecycle.assign, ctx.store, alert_id, assignee.name, ctx.user.name)
        ctx.audited = True
        return _done(alert_id, "assigned")
    return _act(ctx, "assign", work)


@route("/alerts/{alert_id}/status", ("POST",), access.WORK_ALERTS)
def change_status(ctx: Ctx):
    def work(alert_id: int):
        a = _workable(ctx, alert_id)
        status, note = ctx.field("status"), ctx.field("note")
        if not note:
            raise BadRequest("A note is required when you change an alert's status.")
        if status not in lifecycle.TRANSITIONS.get(a.status, ()):
            raise BadRequest(f"Alert {alert_id} is {a.status}; it can move to "
                             f"{', '.join(lifecycle.TRANSITIONS.get(a.status, ()))}, not {status or 'nothing'}.")
        _lifecycle(lifecycle.review, ctx.store, alert_id, status, note, ctx.user.name)
        ctx.audited = True
        return _done(alert_id, "status_changed")
    return _act(ctx, "status", work)


@route("/alerts/{alert_id}/reopen", ("POST",), access.WORK_ALERTS)
def reopen(ctx: Ctx):
    def work(alert_id: int):
        a = _workable(ctx, alert_id)
        if a.status not in lifecycle.CLOSED:
            raise BadRequest(f"Alert {alert_id} is {a.status.replace('_', ' ')}, not closed; "
                             "there is nothing to reopen.")
        note = ctx.field("note")
        if not note:
            raise BadRequest("A note is required to reopen an alert: say why.")
        _lifecycle(lifecycle.review, ctx.store, alert_id, "in_review", note, ctx.user.name)
        ctx.audited = True
        return _done(alert_id, "reopened")
    return _act(ctx, "reopen", work)


@route("/alerts/{alert_id}/suppress", ("POST",), access.WORK_ALERTS)
def suppress(ctx: Ctx):
    def work(alert_id: int):
        _workable(ctx, alert_id)
        reason, scope = ctx.field("reason"), ctx.field("scope") or "finding"
        if not reason:
            raise BadRequest("A reason is required to suppress an alert.")
        try:
            until = date.fromisoformat(ctx.field("until"))
        except ValueError:
            raise BadRequest("Give the suppression's expiry date as YYYY-MM-DD.") from None
        _lifecycle(lifecycle.suppress, ctx.store, alert_id, reason, until, ctx.user.name, scope=scope)
        ctx.audited = True
        return _done(alert_id, "suppressed")
    return _act(ctx, "suppress", work)


@route("/alerts/{alert_id}/link", ("POST",), access.WORK_ALERTS)
def decide_link(ctx: Ctx):
    """Confirm or reject the weakest link the alert rests on: a line in the entity overrides file
    (audit.entities.overrides), which the next run reads; the decision is an audit event."""
    from audit.entities import overrides

    def work(alert_id: int):
        a = _workable(ctx, alert_id)
        link, decision, why = a.weakest_link, ctx.field("decision"), ctx.field("why")
        if not link:
            raise BadRequest("This alert rests on no entity link to confirm or reject.")
        if decision not in ("same", "different"):
            raise BadRequest("Say whether the two are the same or different.")
        if not why:
            raise BadRequest("Say why: the decision on a link is evidence.")
        org = link["field"].endswith("org_key")
        item = overrides.Override(
            kind="org" if org else "person", left=link["source_text"],
            right=link["matched_text"] if org else link["key"], decision=decision, who=ctx.user.name,
            when=ctx.store.today().isoformat(), why=why)
        path = ctx.settings.overrides_file
        try:
            overrides.append(path, item)
        except (OSError, overrides.OverridesError) as e:
            raise BadRequest(f"The decision could not be recorded in {path.name}: {e}") from None
        ctx.audit("link.decide", f"alert:{alert_id}", {"decision": decision, "kind": item.kind, "left": item.left,
                                                       "right": item.right, "why": why, "file": path.name})
        return _done(alert_id, "link_same" if decision == "same" else "link_different")
    return _act(ctx, "link", work)


@route("/people/{person_key}", ("GET",), access.READ_ALERTS)
def person_page(ctx: Ctx):
    key = ctx.request.path_params["person_key"][:255]
    if key == ctx.user.person_id:
        raise Denied(f"{CONFLICT}: a person page about {ctx.user.name} (person {key})", f"person:{key}")
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
                      rule_titles=rule_titles(ctx),
                      entries={reg: list(facts.values()) for reg, facts in sorted(entries.items())})
