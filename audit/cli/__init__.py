"""The `integrity-audit` command line.

Each command group lives in its own module `audit/cli/<name>_cmd.py` exposing
`register(app: typer.Typer) -> None`; this package discovers them, so adding a command never
means editing a shared file.
"""
from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="integrity-audit",
    help="Audit a police force's integrity registers for signs of corruption.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register_commands()


def main() -> None:
    app()
