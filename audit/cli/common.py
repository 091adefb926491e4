"""Shared CLI helpers: the --config option, the console, JSON output, and turning known errors
into the exit codes of audit.cli.exitcodes."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console as RichConsole, Group
from rich.table import Table
from rich.text import Text

from audit import settings as settings_mod
from audit.cli import exitcodes


def table_fits(table: Table, console: RichConsole) -> bool:
    """Whether rich can lay the table out at the console's width without cutting a word ("peri…")."""
    options = console.options
    try:  # rich's own layout: every column at least as wide as its longest word (header included)
        widths = table._calculate_column_widths(console, options.update_width(options.max_width - table._extra_width))
        return all(w >= table._measure_column(console, options, col).minimum for w, col in zip(widths, table.columns))
    except Exception:  # noqa: BLE001 - a rich without those internals: fit only what fits unwrapped
        return console.measure(table).maximum <= options.max_width


def table_blocks(table: Table, console: RichConsole) -> Group:
    """The table one record per block: the first column as the record's heading, then "  header: value"
    lines (blank cells left out), so nothing is cut however narrow the output."""
    def text(cell: Any) -> Text:
        if isinstance(cell, Text):
            return cell
        return console.render_str(cell) if isinstance(cell, str) else Text(str(cell))

    headers = [text(c.header).plain for c in table.columns]
    columns = [list(c.cells) for c in table.columns]
    parts: list[Any] = [Text(str(table.title), style="bold")] if table.title else []
    for i in range(max((len(c) for c in columns), default=0)):
        row = [text(col[i]) if i < len(col) else Text("") for col in columns]
        lines = [Text.assemble((f"{headers[0]} ", "bold"), row[0])]
        lines += [Text.assemble(f"  {h}: ", cell) for h, cell in zip(headers[1:], row[1:]) if cell.plain.strip()]
        parts.append(Text("\n").join(lines))
    return Group(*parts)


class Console(RichConsole):
    """rich's Console, except that a table too wide for the output (piped output is 80 columns) is
    printed one record per block instead of with its words cut."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        objects = tuple(table_blocks(o, self) if isinstance(o, Table) and not table_fits(o, self) else o
                        for o in objects)
        super().print(*objects, **kwargs)


console = Console()
err_console = Console(stderr=True)


def _json_value(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)  # datetime "YYYY-MM-DD HH:MM:SS", date "YYYY-MM-DD", Path, Decimal


def print_json(data: Any) -> None:
    """The JSON output of a `--json` option (docs/cli.md): plain text on stdout, never rich markup;
    money as integer pence, as stored."""
    typer.echo(json.dumps(data, indent=2, default=_json_value, ensure_ascii=False))


JsonOption = typer.Option(False, "--json", help="print JSON instead of text (schema: docs/cli.md)")

ConfigOption = typer.Option(
    None, "--config", "-c", help="config.toml to use (default: the embedded config.toml)",
    exists=False, dir_okay=False)


def config_in_force(config: Optional[Path], ctx: Optional[typer.Context] = None) -> Optional[Path]:
    """The --config a command runs with: its own, else one given to its command group before the
    subcommand (`schedule --config X status`; pass the subcommand's typer.Context). Both given
    and different: exit 2, never a guess."""
    outer, parent = None, ctx.parent if ctx is not None else None
    while parent is not None and outer is None:
        outer = parent.params.get("config")
        parent = parent.parent
    if config is not None and outer is not None and Path(config).resolve() != Path(outer).resolve():
        fail(f"--config given twice, {outer} before the subcommand and {config} after it: give it once",
             exitcodes.USAGE)
    return config if config is not None else outer


def load_settings(config: Optional[Path], ctx: Optional[typer.Context] = None) -> settings_mod.Settings:
    """The settings of --config (or of the group's --config before the subcommand, given ctx)."""
    config = config_in_force(config, ctx)
    try:
        return settings_mod.load(config)
    except settings_mod.SettingsError as e:
        err_console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(exitcodes.USAGE) from None


@contextmanager
def friendly_errors(*known: type[BaseException]) -> Iterator[None]:
    """Print expected errors as one clear line (no traceback) and exit 2 (usage)."""
    try:
        yield
    except (settings_mod.SettingsError, *known) as e:
        err_console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(exitcodes.USAGE) from None


def fail(message: str, code: int = exitcodes.NOT_FOUND) -> None:
    """Say what is wrong on stderr and exit with `code` (audit.cli.exitcodes)."""
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def is_tty() -> bool:
    return sys.stderr.isatty()


def parse_period(text: str) -> str:
    """A YYYY-MM period, or exit 2 saying what is wrong."""
    from audit.period import Period

    try:
        return str(Period.parse(text))
    except ValueError as e:
        fail(str(e), exitcodes.USAGE)


def settle_runs(store, period: str | None = None, actor: str = "cli") -> list[int]:
    """Mark runs whose process is gone as failed (interrupted) before a command reads runs, and
    say so; returns their ids (audit.store.record.mark_crashed_runs)."""
    from audit.store.record import mark_crashed_runs

    marked = mark_crashed_runs(store, period, actor=actor)
    for run_id in marked:
        err_console.print(f"[yellow]note:[/yellow] run {run_id} was still marked running but its process is "
                          "gone: marked failed (interrupted)", highlight=False)
    return marked


def latest_run_view(settings, period: str, *, republish: bool = False, actor: str = "cli"):
    """The period's current run (audit.store.views.RunView): its latest run that succeeded or was
    partial AND was published; never a running or failed one, nor one whose publishing did not
    finish. Runs left running by dead processes are marked failed first.

    If the period's recorded run is not published (its publishing was interrupted, or it ran with
    --no-publish), republish=True publishes it now and says so; otherwise exit 1 saying how.
    Exit 1 if the period has no completed run, 4 if another process holds the period."""
    from audit.store import open_store
    from audit.store.locks import RunLocked, live_holder
    from audit.store.queries import latest_run, list_runs, unpublished_run_id

    from reports.publishing import settle_outputs

    store = open_store(settings.store_url)
    try:
        settle_runs(store, period, actor=actor)
        for line in settle_outputs(store, settings, period):  # after a publish killed part way
            err_console.print(f"[yellow]note:[/yellow] {line}", highlight=False)
        pending = unpublished_run_id(store, period)
        if pending is not None:
            busy = live_holder(store, period)
            if busy is not None:
                fail(f"run {pending} of {period} is recorded but not yet published, and pid {busy.pid} on "
                     f"{busy.host} holds the period (publishing it, or running it again): try again when "
                     "it has finished", exitcodes.LOCKED)
            if not republish:
                fail(f"run {pending} of {period} was recorded but its report and exports were never published "
                     "(publishing was interrupted, or it ran with --no-publish): "
                     f"`integrity-audit report --period {period}` publishes it", exitcodes.NOT_FOUND)
            _republish(store, settings, period, pending, actor)
        with console.status(f"Reading the {period} run from the store"):
            run = latest_run(store, period, published=True)
        if run is None:
            runs = list_runs(store, limit=1, period=period)
            if not runs:
                fail(f"no run recorded for {period}: run `integrity-audit run --period {period}` first")
            last = runs[0]
            fail(f"no completed run for {period}: its last run, {last.id}, {last.status}"
                 + (f" ({last.error})" if last.error else "")
                 + f"; run `integrity-audit run --period {period}` again")
        return run
    except RunLocked as e:
        fail(str(e), exitcodes.LOCKED)
    finally:
        store.dispose()


def _republish(store, settings, period: str, run_id: int, actor: str) -> None:
    from reports.publishing import publish

    console.print(f"run {run_id} of {period} was recorded but its report and exports were never published "
                  "(publishing was interrupted, or it ran with --no-publish): publishing it now", highlight=False)
    with console.status(f"Publishing run {run_id}"):
        result = publish(store, settings, run_id, actor=actor)
    console.print(f"published run {run_id}: {result.manifest_path.parent}", highlight=False)
    for d in result.deliveries:
        console.print(f"delivery {d.destination}: {d.status}" + (f" ({d.error})" if d.error else ""),
                      highlight=False)
