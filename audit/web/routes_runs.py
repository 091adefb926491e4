"""Runs (status, sources, quarantine counts, failures in plain words, downloads of the report and
exports), the rules overview and the audit trail."""
from __future__ import annotations

from starlette.responses import FileResponse

from audit.store import trail
from audit.store.queries import NotFound, list_runs, run_view
from audit.web import access, catalogue, outputs
from audit.web.pages import BadRequest, Ctx, Denied, route
from reports.summary import failures


def _run(ctx: Ctx):
    try:
        return run_view(ctx.store, int(ctx.request.path_params["run_id"]), evidence=False)
    except (NotFound, ValueError):
        raise Denied("no such run", f"run:{ctx.request.path_params.get('run_id')}") from None


@route("/runs", ("GET",), access.SEE_RUNS)
def runs_page(ctx: Ctx):
    return ctx.render("runs.html", runs=list_runs(ctx.store, limit=100))


@route("/runs/{run_id}", ("GET",), access.SEE_RUNS)
def run_page(ctx: Ctx):
    run = _run(ctx)
    current = next((r.id for r in list_runs(ctx.store, limit=1, period=run.period)), None)
    files = outputs.listing(ctx.settings, run.period) if current == run.id else []
    ctx.audit("run.view", f"run:{run.id}")
    return ctx.render("run.html", run=run, failures=failures(run), current=current,
                      files=[(f, outputs.allowed(ctx.user, f)) for f in files])


@route("/runs/{run_id}/files/{name:path}", ("GET",), access.SEE_RUNS)
def download(ctx: Ctx):
    run = _run(ctx)
    name = ctx.request.path_params["name"]
    f = outputs.find(ctx.settings, run.period, name)
    if f is None:
        raise Denied("no such output file", f"run:{run.id}/{name[:200]}")
    if not outputs.allowed(ctx.user, f):
        raise Denied("need-to-know: CCU-only output", f"run:{run.id}/{f.name}")
    ctx.audit("output.download", f"run:{run.id}/{f.name}", {"bytes": f.size})
    return FileResponse(f.path, filename=f.path.name,
                        content_disposition_type="attachment")


@route("/rules", ("GET",), access.SEE_RUNS)
def rules_page(ctx: Ctx):
    rows, periods = catalogue.rules_overview(ctx.store)
    if not access.sees_sensitive(ctx.user):
        rows = catalogue.withhold_sensitive_figures(rows)
    status = (ctx.request.query_params.get("status") or "").strip()[:16]
    shown = [r for r in rows if r.status == status] if status else rows
    return ctx.render("rules.html", rules=shown, periods=periods, statuses=catalogue.rule_statuses(rows),
                      chosen_status=status)


@route("/trail", ("GET",), access.SEE_TRAIL)
def trail_page(ctx: Ctx):
    obj = (ctx.request.query_params.get("object") or "").strip()[:255] or None
    action = (ctx.request.query_params.get("action") or "").strip()[:64] or None
    if obj and not access.sees_sensitive(ctx.user) and obj.startswith("alert:"):
        raise BadRequest("Filter the trail by alert from the alert's own page.")
    return ctx.render("trail.html", events=trail.events(ctx.store, obj=obj, action=action, limit=200),
                      obj=obj or "", action=action or "", broken=trail.verify(ctx.store))
