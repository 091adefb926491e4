"""Runs (status, sources, quarantine counts, failures in plain words, downloads of the report and
exports), the rules overview and the audit trail.

A run's page offers downloads only of its own published set (the output folder's manifest names
the run, and the run is published): never for a running, failed or unpublished run, which says
why instead. Reading the runs marks those whose process is gone as failed (interrupted)."""
from __future__ import annotations

from starlette.responses import FileResponse, HTMLResponse

from audit.store import trail
from audit.store.queries import NotFound, latest_run_id, list_runs, published_at, run_view
from audit.store.record import mark_crashed_runs
from audit.web import access, catalogue, outputs
from audit.web.pages import BadRequest, Ctx, Denied, route
from reports.summary import failures


def _run(ctx: Ctx):
    try:
        return run_view(ctx.store, int(ctx.request.path_params["run_id"]), evidence=False)
    except (NotFound, ValueError):
        raise Denied("no such object: run", f"run:{ctx.request.path_params.get('run_id')}") from None


def _files_of(ctx: Ctx, run) -> tuple[bool, str]:
    """(whether the period's output folder holds this run's published files, else why not in words).

    The folder's manifest names the run whose set it holds (a folder whose manifest names none
    belongs to the period's current run: its latest published run that succeeded or was partial)."""
    owner = outputs.owner(ctx.settings, run.period)
    if owner is None:
        owner = latest_run_id(ctx.store, run.period, published=True)
    published = published_at(ctx.store, run.id)
    if owner == run.id and published is not None:
        return True, ""
    elsewhere = f" The output folder for {run.period} holds run {owner}'s files." if owner else ""
    if run.status == "running":
        return False, "This run has not finished: it has no report or exports yet." + elsewhere
    if run.status == "failed":
        return False, "This run failed: it has no report or exports." + elsewhere
    recorded = latest_run_id(ctx.store, run.period)
    if recorded != run.id:
        return False, f"This run's outputs were replaced by run {recorded or owner} of the same period."
    if published is None:
        return False, ("This run was recorded but its report and exports were not published (publishing "
                       "was interrupted, or it ran with --no-publish); `integrity-audit report --period "
                       f"{run.period}` publishes it.{elsewhere}")
    return False, f"This run's report and exports are no longer in the output folder.{elsewhere}"


@route("/runs", ("GET",), access.SEE_RUNS)
def runs_page(ctx: Ctx):
    mark_crashed_runs(ctx.store, actor="web")
    # alert counts are of everyone's alerts: the CCU's; others see theirs on each run's page
    return ctx.render("runs.html", runs=list_runs(ctx.store, limit=100), sees_all=access.sees_sensitive(ctx.user))


@route("/runs/{run_id}", ("GET",), access.SEE_RUNS)
def run_page(ctx: Ctx):
    run = _run(ctx)
    if run.status == "running" and mark_crashed_runs(ctx.store, run.period, actor="web"):
        run = _run(ctx)
    own, why = _files_of(ctx, run)
    files = outputs.listing(ctx.settings, run.period) if own and access.sees_sensitive(ctx.user) else []
    ctx.audit("run.view", f"run:{run.id}")
    run = access.run_for(ctx.user, run)
    return ctx.render("run.html", run=run, failures=failures(run), own_files=own, files_note=why,
                      files=[(f, outputs.allowed(ctx.user, f)) for f in files],
                      report_for_you=own and not access.sees_sensitive(ctx.user))


@route("/runs/{run_id}/report", ("GET",), access.SEE_RUNS)
def report_for_user(ctx: Ctx):
    """The run's report rendered for the user who asks: of the alerts they may see, nothing else."""
    from reports.html import render

    run = _run(ctx)
    own, _ = _files_of(ctx, run)
    if not own:
        raise Denied("no such object: the run has no published report", f"run:{run.id}/report")
    shown = access.run_for(ctx.user, run_view(ctx.store, run.id, evidence=True))
    html = render(shown, force_name=ctx.settings.audit.force_name)
    ctx.audit("report.view", f"run:{run.id}", {"alerts": len(shown.alerts)})
    return HTMLResponse(html, headers={"Content-Disposition": f'inline; filename="report-{run.period}-{ctx.user.name}.html"'})


@route("/runs/{run_id}/files/{name:path}", ("GET",), ("ccu",))
def download(ctx: Ctx):
    run = _run(ctx)
    name = ctx.request.path_params["name"]
    own, _ = _files_of(ctx, run)
    f = outputs.find(ctx.settings, run.period, name) if own else None
    if f is None:
        raise Denied("no such object: output file", f"run:{run.id}/{name[:200]}")
    if not outputs.allowed(ctx.user, f):
        raise Denied("need-to-know: the published files are the CCU's", f"run:{run.id}/{f.name}")
    ctx.audit("output.download", f"run:{run.id}/{f.name}", {"bytes": f.size})
    return FileResponse(f.path, filename=f.path.name,
                        content_disposition_type="attachment")


@route("/rules", ("GET",), access.SEE_RUNS)
def rules_page(ctx: Ctx):
    rows, periods = catalogue.rules_overview(ctx.store, ctx.user)
    if ctx.user.role in access.SEE_TRAIL:  # those who decide on rules: what shadow rules would raise
        rows = catalogue.with_shadow_figures(ctx.store, rows)
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
    events = access.trail_for(ctx.store, ctx.user, trail.events(ctx.store, obj=obj, action=action, limit=200))
    if obj:  # filtering by an object whose events are withheld finds nothing, not that they exist
        events = [e for e in events if not e.get("withheld")]
    return ctx.render("trail.html", events=events, obj=obj or "", action=action or "",
                      broken=trail.verify(ctx.store))
