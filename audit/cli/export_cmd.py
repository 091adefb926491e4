"""`integrity-audit export --period YYYY-MM --format csv|xlsx|json|all [--to DIR] [--pseudonymise]`:
the CCU exports of the period's current run, with manifest.json (files, row counts, SHA-256, and the
audit trail's head now, also added to data/trail-anchor.json, so `audit verify --anchor` can check
the store against any delivered copy).

The current run is the period's latest run that succeeded or was partial and was published: never a
running or failed one. If the period's results were recorded but not published (publishing was
interrupted), the command stops and says to publish them with `report --period` first."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from audit.cli.common import ConfigOption, console, fail, friendly_errors, latest_run_view, load_settings, parse_period
from audit.cli.exitcodes import USAGE


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        period: str = typer.Option(..., "--period", help="YYYY-MM: the month whose current run to export"),
        formats: List[str] = typer.Option(["all"], "--format", "-f",
                                          help="csv, xlsx, json or all (repeatable)", metavar="FORMAT"),
        to: Optional[Path] = typer.Option(None, "--to", file_okay=False,
                                          help="folder to write into (default: data/out/<period>/export/, "
                                               "beside the published files, which stay as published)"),
        pseudonymise: bool = typer.Option(
            False, "--pseudonymise",
            help="replace people's names and keys with stable pseudonyms (needs INTEGRITY_AUDIT_PSEUDONYM_KEY)"),
        config: Optional[Path] = ConfigOption,
    ) -> None:
        """Write the alerts, evidence and links for the CCU. Exit 1 if the period has no published run,
        4 if another process holds it."""
        from reports.export import export, parse_formats
        from reports.publishing import output_dir
        from reports.pseudonym import PseudonymError, Pseudonymiser

        period = parse_period(period)
        try:
            chosen = parse_formats(formats)
        except ValueError as e:
            fail(str(e), USAGE)
        pseudonymiser = None
        if pseudonymise:
            try:
                pseudonymiser = Pseudonymiser.from_env()
            except PseudonymError as e:
                fail(str(e), USAGE)
        settings = load_settings(config)
        with friendly_errors():
            run = latest_run_view(settings, period)
            _stamp(settings, run)
            # never into the published folder itself: its manifest.json (with the trail head) is the
            # record of what was published, and an export of fewer formats would overwrite it
            folder = to or output_dir(settings, period) / "export"
            with console.status(f"Exporting {len(run.alerts)} alerts as {', '.join(chosen)}"):
                files = export(run, folder, chosen, pseudonymise_names=pseudonymise,
                               pseudonymiser=pseudonymiser)
        for entry in files.manifest["files"]:
            rows = ", ".join(f"{k} {v}" for k, v in (entry["rows"] or {}).items())
            console.print(f"{folder / entry['name']}  ({rows}; sha256 {entry['sha256'][:12]})")
        console.print(f"manifest: {files.manifest_path}")
        console.print(f"exports for {period} (run {run.id}, {len(run.alerts)} alerts)")
        if run.incomplete:
            console.print(f"[yellow]warning:[/yellow] run {run.id} is incomplete ({run.status}); "
                          "the manifest says so")


def _stamp(settings, run) -> None:
    from audit.store import anchor, open_store

    store = open_store(settings.store_url)
    try:
        anchor.stamp(store, settings.data_dir, run)
    finally:
        store.dispose()
