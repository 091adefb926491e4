"""`integrity-audit runs list|show`: what each run did, in plain words. Also `open_store_from`,
the one way the store's CLI commands open the store named by config.toml."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from audit import display
from audit.cli.common import (ConfigOption, JsonOption, console, fail, friendly_errors, load_settings, parse_period,
                              print_json, settle_runs)
from audit.cli.exitcodes import NOT_FOUND
from audit.store import Store, open_store
from audit.store.queries import NotFound, latest_run_id, list_runs, period_of, published_at, run_view
from connectors.frame import open_ended_note
from reports.summary import open_ended

runs_app = typer.Typer(help="Runs of the audit: status, counts, sources, deliveries.", no_args_is_help=True)


def open_store_from(config: Optional[Path]) -> Store:
    settings = load_settings(config)
    with friendly_errors():
        return open_store(settings.store_url)


_when = display.day


@runs_app.command("list")
def list_cmd(config: Optional[Path] = ConfigOption,
             period: Optional[str] = typer.Option(None, help="YYYY-MM: only the runs of this month"),
             limit: int = typer.Option(30, min=1, help="how many runs at most"),
             as_json: bool = JsonOption) -> None:
    """List runs, newest first."""
    if period is not None:
        period = parse_period(period)  # exit 2 unless YYYY-MM
    store = open_store_from(config)
    settle_runs(store, period)
    runs = list_runs(store, limit=limit, period=period)
    if as_json:
        print_json([{**asdict(r), "unpublished": r.unpublished} for r in runs])
        return
    t = Table("run", "period", "status", "started", "finished", "by", "new", "carried", "resolved",
              "sources failed", "note")
    for r in runs:
        note = f"replaced by run {r.superseded_by}" if r.superseded_by else (r.error or "")
        if r.superseded_by and r.status in ("succeeded", "partial") and r.published_at is None:
            note += " before it was published"
        if r.unpublished:
            note = (f"not published (interrupted, or --no-publish): `report --period {r.period}` publishes it"
                    + (f"; {note}" if note else ""))
        t.add_row(str(r.id), r.period, r.status + (", unpublished" if r.unpublished else ""),
                  _when(r.started_at), _when(r.finished_at), r.actor,
                  str(r.counts["alerts_new"]), str(r.counts["alerts_carried"]), str(r.counts["alerts_resolved"]),
                  str(r.counts["sources_failed"]), note)
    console.print(t if runs else "no runs recorded yet")


@runs_app.command("show")
def show_cmd(run_id: int = typer.Argument(..., help="the run's id (as `runs list` shows it)", metavar="RUN"),
             config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
    """Counts, sources (with failures in plain words), rules and deliveries of one run. Exit 1 if
    there is no such run."""
    store = open_store_from(config)
    try:
        settle_runs(store, period_of(store, run_id))
        run = run_view(store, run_id, evidence=False)
    except NotFound as e:
        fail(str(e), NOT_FOUND)
    c = run.counts
    published = published_at(store, run_id)
    if as_json:
        print_json({"id": run.id, "period": run.period, "status": run.status, "engine": run.engine,
                    "started_at": run.started_at, "finished_at": run.finished_at, "published_at": published,
                    "incomplete": run.incomplete, "error": run.error, "counts": c, "sources": [asdict(src) for src in run.sources],
                    "rule_versions": run.rule_versions, "deliveries": run.deliveries})
        return
    console.print(f"[bold]Run {run.id}[/bold] for {run.period}: [bold]{run.status}[/bold] "
                  f"(engine {run.engine}, started {_when(run.started_at)}, finished {_when(run.finished_at)})")
    if run.status == "running":
        console.print("[yellow]This run has not finished: its process is still going.[/yellow]")
    elif published:
        console.print(f"Published {_when(published)}: report and exports in place and delivered.")
    elif run.status in ("succeeded", "partial"):
        current = latest_run_id(store, run.period)
        if current == run.id:
            console.print("[yellow]Not published: the run was recorded but its report and exports were not "
                          "(publishing was interrupted, or it ran with --no-publish); "
                          f"`integrity-audit report --period {run.period}` publishes it.[/yellow]")
        else:
            console.print("Not published.")
    if run.error and run.status in ("succeeded", "running"):  # a note on a complete run, not an error
        console.print(f"[yellow]Note:[/yellow] {run.error}", highlight=False)
    elif run.error:
        console.print(f"[red]Error:[/red] {run.error}", highlight=False)
    if run.incomplete:
        console.print("[red]The audit for this period is incomplete: not every source was loaded.[/red]")
    console.print(f"Rows read {c['rows_read']:,}, accepted {c['rows_accepted']:,}, quarantined {c['rows_quarantined']:,}. "
                  f"Rules evaluated {c['rules_evaluated']}, findings {c['findings']}: "
                  f"{c['alerts_new']} new, {c['alerts_carried']} carried over, {c['alerts_resolved']} resolved, "
                  f"{c['alerts_suppressed']} suppressed.")
    for src in run.sources:
        if src.status == "loaded":
            line = (f"  source {src.source} ({src.register}): loaded {src.rows_accepted:,} of {src.rows_read:,} rows"
                    + (f", {src.rows_quarantined:,} quarantined" if src.rows_quarantined else ""))
            if src.top_reasons:
                line += "; commonest problems: " + "; ".join(f"{r} ({n})" for r, n in src.top_reasons[:3])
            line += "".join(f"; {open_ended_note(fname, n)}" for fname, n in open_ended(src).items())
            console.print(line)
        else:
            console.print(f"  [red]source {src.source} ({src.register}) FAILED[/red]: {src.error}")
    for d in run.deliveries:
        extra = f": {d['error']}" if d["error"] else ""
        console.print(f"  delivery to {d['destination']}: {d['status']} after {d['attempts']} attempt(s) "
                      f"at {_when(d['at'])}{extra}")
    if not run.deliveries:
        console.print("  no deliveries recorded")


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
