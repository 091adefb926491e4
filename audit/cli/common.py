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
