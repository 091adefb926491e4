"""`integrity-audit schedule [status|run-due]`: the monthly scheduler daemon and its status."""
from __future__ import annotations

from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import typer

from audit import display
from audit.cli.common import ConfigOption, JsonOption, console, fail, friendly_errors, load_settings, print_json
from audit.cli.exitcodes import PROBLEMS, USAGE

schedule_app = typer.Typer(help="Run the audit every month (default 02:00 on the 1st, Europe/London).",
                           invoke_without_command=True)


@schedule_app.callback()
def daemon(ctx: typer.Context, config: Optional[Path] = ConfigOption) -> None:
    """Start the scheduler daemon (runs until stopped)."""
    if ctx.invoked_subcommand is not None:
        return
    from audit import scheduler

    settings = load_settings(config)
    if not settings.schedule.enabled:
        fail("\\[schedule] enabled = false in the config: not starting the scheduler", USAGE)
    scheduler.setup_logging(settings)
    with friendly_errors():
        for period, outcome in scheduler.catch_up_on_first_start(settings):  # before the job is stored
            console.print(f"[yellow]overdue[/yellow] {period} (no scheduler had run on this store): {outcome}",
                          highlight=False)
        sched = scheduler.build_scheduler(settings)
    console.print(f"scheduler started: cron {settings.schedule.cron!r} ({settings.schedule.timezone}); a due "
                  f"month waiting for its data is tried again every {scheduler.RETRY_WAITING_HOURS} hours; "
                  f"logging to {settings.data_dir / 'logs' / 'scheduler.log'}; Ctrl-C stops it", highlight=False)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        console.print("scheduler stopped")


@schedule_app.command("status")
def status_cmd(ctx: typer.Context, config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
    """Next run time, overdue months, the last runs and their outcomes, failed deliveries."""
    from audit import scheduler

    settings = load_settings(config, ctx)  # `schedule --config X status` too
    with friendly_errors():
        st = scheduler.status(settings)
    st["next_run"] = st["next_run"].astimezone(ZoneInfo(st["timezone"]))  # the job store keeps it in UTC
    if as_json:
        print_json(st)
        return
    console.print(f"schedule {'enabled' if st['enabled'] else 'DISABLED'}: cron {st['cron']!r} ({st['timezone']})")
    source = ("from the job store" if st["next_run_source"] == "job store"
              else "from the cron: no scheduler has started on this store yet")
    console.print(f"next run: {st['next_run']:%Y-%m-%d %H:%M %Z} ({source})", highlight=False)
    if st["overdue"]:
        console.print(f"[red]overdue[/red] (due by the schedule, not audited yet): {', '.join(st['overdue'])}; "
                      "`integrity-audit schedule run-due` audits it now, or says what it waits for", highlight=False)
    console.print("last runs:" if st["last_runs"] else "no runs recorded yet")
    for r in st["last_runs"]:
        extra = f" - {r['error']}" if r["error"] else ""
        extra += f" (replaced by run {r['superseded_by']})" if r["superseded_by"] else ""
        if r["status"] in ("succeeded", "partial") and not r["superseded_by"] and not r.get("published_at"):
            extra += " (NOT PUBLISHED: the next firing or `schedule run-due` publishes it)"
        finished = display.day(r["finished_at"]) if r["finished_at"] else "not finished"
        console.print(f"  run {r['id']} {r['period']} {r['status']} by {r['actor']}, {finished}{extra}",
                      highlight=False)
    for d in st["failed_deliveries"]:
        console.print(f"  [red]delivery to {d['destination']} for run {d['run_id']} failed[/red] "
                      f"after {d['attempts']} attempt(s) at {display.day(d['at'])}: {d['error']}", highlight=False)


@schedule_app.command("run-due")
def run_due_cmd(ctx: typer.Context, config: Optional[Path] = ConfigOption) -> None:
    """Run every period that is due now (once each) and exit; exit 1 if any failed or was locked.

    A due period whose run was recorded but not published (interrupted) is published instead."""
    from audit import scheduler

    settings = load_settings(config, ctx)  # `schedule --config X run-due` too
    scheduler.setup_logging(settings)
    with friendly_errors():
        outcomes = scheduler.run_due(settings)
    if not outcomes:
        console.print("nothing is due")
    for period, outcome in outcomes:
        console.print(f"{period}: {outcome}")
    if any(o in ("error", "locked") for _, o in outcomes):
        raise typer.Exit(PROBLEMS)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
