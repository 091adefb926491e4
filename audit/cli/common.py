"""Shared CLI helpers: the --config option, the console, and turning known errors into exit codes."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console

from audit import settings as settings_mod

console = Console()
err_console = Console(stderr=True)

ConfigOption = typer.Option(
    None, "--config", "-c", help="config.toml to use (default: the embedded config.toml)",
    exists=False, dir_okay=False)


def load_settings(config: Optional[Path]) -> settings_mod.Settings:
    try:
        return settings_mod.load(config)
    except settings_mod.SettingsError as e:
        err_console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


@contextmanager
def friendly_errors(*known: type[BaseException]) -> Iterator[None]:
    """Print expected errors as one clear line (no traceback) and exit 2."""
    try:
        yield
    except (settings_mod.SettingsError, *known) as e:
        err_console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> None:
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
        fail(str(e), 2)


def latest_run_view(settings, period: str):
    """The period's latest run (audit.store.views.RunView), or exit 1 if none was recorded."""
    from audit.store import open_store
    from audit.store.queries import latest_run

    store = open_store(settings.store_url)
    with console.status(f"Reading the {period} run from the store"):
        run = latest_run(store, period)
    if run is None:
        fail(f"no run recorded for {period}: run `integrity-audit run --period {period}` first")
    return run
