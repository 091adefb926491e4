"""`integrity-audit report --period YYYY-MM`: render the monthly HTML report of the period's
current run from the store (default: <exports.out_dir>/<period>/report-<period>.html).

The current run is the period's latest run that succeeded or was partial and was published; a run
still running or failed is never reported. A run recorded but not published (its publishing was
interrupted) is published first, and the command says so."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from audit.cli.common import ConfigOption, console, friendly_errors, latest_run_view, load_settings, parse_period


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        period: str = typer.Option(..., "--period", help="YYYY-MM: the month whose current run to report"),
        out: Optional[Path] = typer.Option(None, "--out", dir_okay=False,
                                           help="HTML file to write (default: data/out/<period>/report-<period>.html)"),
        include_sensitive: bool = typer.Option(
            True, "--sensitive/--no-sensitive",
            help="--no-sensitive leaves out alerts on notifiable associations and vetting (for reviewers)"),
        config: Optional[Path] = ConfigOption,
    ) -> None:
        """Render the monthly HTML report (one self-contained file, works offline)."""
        from reports.html import write_report
        from reports.publishing import output_dir, report_name

        period = parse_period(period)
        settings = load_settings(config)
        with friendly_errors():
            run = latest_run_view(settings, period, republish=True)
            target = out or output_dir(settings, period) / report_name(
                period, "" if include_sensitive else "reviewers")
            with console.status(f"Rendering {len(run.alerts)} alerts"):
                path = write_report(run, target, force_name=settings.audit.force_name,
                                    include_sensitive=include_sensitive)
        if run.incomplete:
            console.print(f"[yellow]warning:[/yellow] run {run.id} for {period} is incomplete ({run.status}); "
                          "the report says so")
        console.print(f"report for {period} (run {run.id}, {len(run.alerts)} alerts): {path}")
