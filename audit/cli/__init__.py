"""The `integrity-audit` command line.

Each command group lives in its own module `audit/cli/<name>_cmd.py` exposing
`register(app: typer.Typer) -> None`; this package discovers them, so adding a command never
means editing a shared file.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Optional

import typer

app = typer.Typer(
    name="integrity-audit",
    help="Audit a police force's integrity registers for signs of corruption. "
         "Exit codes, JSON output and every command: docs/cli.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: "[[sources]]" and "[web]" stay as written, no type column
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
)


def _argument_type(self, ctx):  # an argument with a metavar (PATH, ALERT) shows it alone, not "PATH <list[Path]>"
    return None if self.metavar else _plain_argument_type(self, ctx)


_plain_argument_type = typer.core.TyperArgument.display_type_rich
typer.core.TyperArgument.display_type_rich = _argument_type


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("integrity-audit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"integrity-audit {version()}")
        raise typer.Exit()


@app.callback()
def _root(show_version: Optional[bool] = typer.Option(
        None, "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")) -> None:
    """Audit a police force's integrity registers for signs of corruption. Exit codes, JSON output
    and every command: docs/cli.md."""


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register_commands()


def main() -> None:
    app()
