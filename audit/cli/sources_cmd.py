"""`integrity-audit sources check`: load every enabled source and show what each one yields.
`integrity-audit sources suggest`: propose a `[[sources]]` block for a force's own file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import connectors
from audit.cli.common import ConfigOption, console, err_console, fail, friendly_errors, load_settings


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


def _dry_run_data(result) -> dict | None:
    if result is None:
        return None
    return {"read": result.read, "accepted": result.accepted, "quarantined": result.quarantined,
            "top_reasons": [{"reason": r, "rows": n} for r, n in result.top_reasons],
            "warnings": result.warnings, "error": result.error}


def _print_outcome(s, result) -> None:
    """The summary, missing required fields and the dry run, on stderr (stdout is the block).

    Lines are not wrapped (soft_wrap), so a reason or a path stays whole in a log or a grep.
    """
    def say(text: str, **kw) -> None:
        err_console.print(text, soft_wrap=True, **kw)

    mapped = len(s.mapped_fields)
    say(f"{len(s.columns) + len(s.extract)} of {len(s.candidates) + len(s.unmatched)} columns mapped onto "
        f"{mapped} field(s) of {escape(s.register.name)}; check the CHECK lines", highlight=False)
    for fname in s.missing_required:
        say(f"[red]REQUIRED field not mapped:[/red] {escape(fname)}", highlight=False)
    for group in s.missing_groups:
        say(f"[red]REQUIRED: map one of[/red] {escape(', '.join(group))}", highlight=False)
    if result is None:
        say("dry run skipped: map the required fields first")
        return
    if result.error:
        say(f"[red]dry run failed:[/red] {escape(result.error)}", highlight=False)
        return
    say(f"dry run through the {s.plan.kind} connector (whole file): read {result.read:,}, "
        f"accepted {result.accepted:,}, quarantined {result.quarantined:,}", highlight=False)
    for note in result.warnings:
        say(f"  [yellow]note:[/yellow] {escape(note)}", highlight=False)
    if result.top_reasons:
        say("top quarantine reasons:")
        for reason, n in result.top_reasons:
            say(f"  {n:>6,}  {reason}", highlight=False, markup=False)


def suggest(path: Path = typer.Argument(..., help="The force's file: CSV or XLSX", dir_okay=False),
            register_name: str = typer.Option(..., "--register", "-r", help="Register the file feeds, e.g. procurement"),
            sheet: Optional[str] = typer.Option(None, "--sheet", help="xlsx sheet (default: the one with the most rows)"),
            name: Optional[str] = typer.Option(None, "--name", help="Source name (default: from the file name)"),
            output: Optional[Path] = typer.Option(None, "--output", "-o", dir_okay=False,
                                                  help="Write the block to this new file (never overwrites)"),
            as_json: bool = typer.Option(False, "--json", help="Print the suggestion and dry run as JSON")) -> None:
    """Propose a [[sources]] block for a force's own file, then dry-run it through the connector.

    Prints the block (paste it into config.toml; config.toml is never changed). Exit 1 when a
    required field is not mapped or the dry run fails, 2 when the file or options are unusable.
    """
    from connectors.suggest import SuggestError, dry_run, suggest as propose, to_dict, to_toml

    if output is not None and output.exists():
        fail(f"{output} already exists; suggest never overwrites a file: choose a new name", 2)
    with friendly_errors(SuggestError), err_console.status(f"reading {escape(str(path))}") as status:
        s = propose(path, register_name, sheet=sheet, name=name)
        status.update("dry run through the connector")
        result = dry_run(s) if s.complete else None
    block = to_toml(s)
    if output is not None:
        try:
            with output.open("x", encoding="utf-8") as fh:
                fh.write(block)
        except FileExistsError:
            fail(f"{output} already exists; suggest never overwrites a file: choose a new name", 2)
        except OSError as e:
            fail(f"cannot write {output}: {e.strerror or e}", 2)
    if as_json:
        print(json.dumps({**to_dict(s), "dry_run": _dry_run_data(result)}, indent=2, default=str))
    else:
        if output is None:
            print(block, end="")
        else:
            err_console.print(f"wrote the block to {escape(str(output))}", highlight=False, soft_wrap=True)
        _print_outcome(s, result)
    if not s.complete or (result is not None and result.error):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    sources = typer.Typer(help="Check the configured data sources; suggest a mapping for a new one.",
                          no_args_is_help=True)
    sources.command("check")(check)
    sources.command("suggest")(suggest)
    app.add_typer(sources, name="sources")
