"""`integrity-audit sources check`: load every enabled source and show what each one yields."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import connectors
from audit.cli.common import ConfigOption, console, err_console, load_settings


def source_rows(result: connectors.LoadResult) -> list[dict]:
    rows = []
    for f in result.frames:
        rows.append({"source": f.source, "register": f.register, "kind": f.provenance.kind,
                     "status": "loaded", "rows_read": f.rows_read, "rows_accepted": f.rows_accepted,
                     "rows_quarantined": f.rows_quarantined, "error": None,
                     "files": [vars(i) for i in f.provenance.files],
                     "warnings": f.provenance.warnings,
                     "top_reasons": result.top_reasons(f.source)})
    for e in result.failures:
        rows.append({"source": e.source, "register": e.register, "kind": None, "status": "failed",
                     "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "error": e.message,
                     "files": [], "warnings": [], "top_reasons": []})
    for name in result.skipped:
        rows.append({"source": name, "register": None, "kind": None, "status": "disabled",
                     "rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0, "error": None,
                     "files": [], "warnings": [], "top_reasons": []})
    return rows


def print_sources(rows: list[dict]) -> None:
    table = Table(title="Sources")
    for col in ("source", "register", "kind", "read", "accepted", "quarantined", "status"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "quarantined") else "left")
    colour = {"loaded": "green", "failed": "red", "disabled": "dim"}
    for r in rows:
        table.add_row(r["source"], r["register"] or "", r["kind"] or "", f"{r['rows_read']:,}",
                      f"{r['rows_accepted']:,}", f"{r['rows_quarantined']:,}",
                      f"[{colour[r['status']]}]{r['status']}[/]")
    console.print(table)
    for r in rows:
        if r["error"]:
            console.print(f"[red]{r['source']} failed:[/red] {r['error']}", markup=True, highlight=False)
        for w in r["warnings"]:
            console.print(f"[yellow]{r['source']}:[/yellow] {w}", highlight=False)
        if r["top_reasons"]:
            console.print(f"[bold]{r['source']}[/bold]: top quarantine reasons")
            for reason, n in r["top_reasons"]:
                console.print(f"  {n:>6,}  {reason}", highlight=False, markup=False)


def check(config: Optional[Path] = ConfigOption,
          as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON")) -> None:
    """Load every enabled source; show rows read / accepted / quarantined. Exit 1 if one fails."""
    settings = load_settings(config)
    enabled = [s for s in settings.sources if s.enabled]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=as_json or not err_console.is_terminal) as progress:
        task = progress.add_task("loading sources", total=len(enabled))

        def step(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, description=f"loaded {name}")

        result = connectors.load_sources(settings.sources, settings.base_dir, progress=step)
    rows = source_rows(result)
    if as_json:
        print(json.dumps({"sources": rows, "complete": result.complete}, indent=2, default=str))
    else:
        if not rows:
            console.print("no sources configured")
        print_sources(rows)
    if result.failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    sources = typer.Typer(help="Check the configured data sources.", no_args_is_help=True)
    sources.command("check")(check)
    app.add_typer(sources, name="sources")
