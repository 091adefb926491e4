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

        result = connectors.load_sources(settings.sources, settings.base_dir, progress=step,
                                         counts_only_streamed=True)  # (an access log: counted, not held)
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
    _guessed_note(s)
    if result.top_reasons:
        say("top quarantine reasons:")
        for reason, n in result.top_reasons:
            say(f"  {n:>6,}  {reason}", highlight=False, markup=False)


def _guessed_note(s) -> None:
    """Labels loaded under a proposed guess (other / nearest): without the map a load quarantines them."""
    for fname, labels in s.guessed.items():
        for label, (value, n) in labels.items():
            err_console.print(f"  [yellow]check:[/yellow] {escape(repr(label))} ({n:,} sampled row(s)) loads as "
                              f"{fname} = {value}; without this map the load would quarantine those rows",
                              highlight=False, soft_wrap=True)


def _known_ids(config: Optional[Path]) -> set[str] | None:
    """Person ids of the workforce sources of --config (None without --config, or if none load)."""
    if config is None:
        return None
    settings = load_settings(config)
    wanted = [s for s in settings.sources if s.enabled and s.register == "workforce"]
    result = connectors.load_sources(wanted, settings.base_dir)
    ids = {str(v) for f in result.frames for v in f.df["person_id"].dropna()}
    return ids or None


def _write_new(output: Path, text: str) -> None:
    try:
        with output.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        fail(f"{output} already exists; suggest never overwrites a file: choose a new name", 2)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}", 2)


def _suggest_folder(folder: Path, register_name: Optional[str], output: Optional[Path], as_json: bool,
                    known: set[str] | None) -> None:
    from connectors.suggest import SuggestError, to_dict
    from connectors.suggest.folder import folder_toml, suggest_folder

    with friendly_errors(SuggestError, KeyError), err_console.status(f"reading the files in {escape(str(folder))}"):
        outcome = suggest_folder(folder, known_ids=known, register=register_name,
                                 config_dir=output.resolve().parent if output is not None else None)
    text = folder_toml(outcome)
    if output is not None:
        _write_new(output, text)
    if as_json:
        print(json.dumps({"folder": str(folder), "known_ids": outcome.known_ids, "all_load": outcome.all_load,
                          "toml": text, "files": [
                              {"file": f.path.name, "error": f.error,
                               "register": f.suggestion.register.name if f.suggestion else None,
                               "reason": f.guess.reason if f.guess else None,
                               "suggestion": to_dict(f.suggestion) if f.suggestion else None,
                               "dry_run": _dry_run_data(f.dry_run), "loads": f.loads}
                              for f in outcome.files]}, indent=2, default=str))
    elif output is None:
        print(text, end="")
    else:
        err_console.print(f"wrote the config to {escape(str(output))}", highlight=False, soft_wrap=True)
    if not as_json:
        for f in outcome.files:
            head = f"[bold]{escape(f.path.name)}[/bold]: "
            if f.error:
                err_console.print(head + f"[red]not read:[/red] {escape(f.error)}", highlight=False, soft_wrap=True)
            elif f.suggestion is None:
                err_console.print(head + f"[red]{escape(f.guess.reason)}[/red]", highlight=False, soft_wrap=True)
            else:
                err_console.print(head + escape(f.guess.reason), highlight=False, soft_wrap=True)
                _print_outcome(f.suggestion, f.dry_run)
    if not outcome.all_load:
        raise typer.Exit(1)


def suggest(path: Path = typer.Argument(..., help="The force's file (CSV or XLSX), or a folder of them"),
            register_name: Optional[str] = typer.Option(
                None, "--register", "-r", help="Register the file feeds, e.g. procurement (default: guessed "
                                               "from the headers and values, with the reason)"),
            sheet: Optional[str] = typer.Option(None, "--sheet", help="xlsx sheet (default: the one with the most rows)"),
            name: Optional[str] = typer.Option(None, "--name", help="Source name (default: from the file name)"),
            output: Optional[Path] = typer.Option(None, "--output", "-o", dir_okay=False,
                                                  help="Write the block (or config) to this new file (never overwrites)"),
            as_json: bool = typer.Option(False, "--json", help="Print the suggestion and dry run as JSON"),
            config: Optional[Path] = typer.Option(
                None, "--config", "-c", dir_okay=False,
                help="A config whose workforce sources give the person ids that recognise person-id columns")) -> None:
    """Propose a [[sources]] block for a force's own file (or one config for a folder of them), then
    dry-run it through the connector.

    Prints the block (paste it into config.toml; config.toml is never changed). For a folder, every
    CSV / xlsx file in it gets its register guessed and a block, workforce first; with --output the
    paths are relative to that file, so `sources check --config` runs on it as it is. Exit 1 when a
    required field is not mapped, a file is not recognised or a dry run fails, 2 when the file or
    options are unusable.
    """
    from connectors.suggest import SuggestError, dry_run, read, suggest as propose, to_dict, to_toml
    from connectors.suggest.folder import guess

    if output is not None and output.exists():
        fail(f"{output} already exists; suggest never overwrites a file: choose a new name", 2)
    with friendly_errors(SuggestError):
        known = _known_ids(config)
    if path.is_dir():
        if sheet is not None or name is not None:
            fail("--sheet and --name are for one file; a folder gets a block per file", 2)
        _suggest_folder(path, register_name, output, as_json, known)
        return
    reason = None
    with friendly_errors(SuggestError), err_console.status(f"reading {escape(str(path))}") as status:
        if register_name is None:
            found = guess(read(path, sheet), known, name=name)
            if found.suggestion is None:
                fail(f"{path}: {found.reason}; give --register", 1)
            s, reason = found.suggestion, found.reason
        else:
            s = propose(path, register_name, sheet=sheet, name=name, known_ids=known)
        status.update("dry run through the connector")
        result = dry_run(s) if s.complete else None
    block = to_toml(s)
    if reason is not None:
        block = f"# register guessed: {reason}\n" + block
    if output is not None:
        _write_new(output, block)
    if as_json:
        print(json.dumps({**to_dict(s), "register_reason": reason, "dry_run": _dry_run_data(result)},
                         indent=2, default=str))
    else:
        if output is None:
            print(block, end="")
        else:
            err_console.print(f"wrote the block to {escape(str(output))}", highlight=False, soft_wrap=True)
        if reason is not None:
            err_console.print(f"register guessed: {escape(reason)}", highlight=False, soft_wrap=True)
        _print_outcome(s, result)
    if not s.complete or (result is not None and result.error):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    sources = typer.Typer(help="Check the configured data sources; suggest a mapping for a new one.",
                          no_args_is_help=True)
    sources.command("check")(check)
    sources.command("suggest")(suggest)
    app.add_typer(sources, name="sources")
