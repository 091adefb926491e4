"""`integrity-audit rules backtest RULE_FILE`: what a draft (or changed) rule would have raised,
month by month, against the store's alerts and reviewers' dispositions (audit/backtest.py).

The command joins the `rules` group, which audit/cli/rules_cmd.py builds: its register() calls
`attach(rules_app)`. This module's own `register(app)` (the discovery hook) adds nothing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from audit.cli.common import ConfigOption, console, err_console, load_settings, parse_period


def register(app: typer.Typer) -> None:  # noqa: ARG001 - discovered like every *_cmd module
    """Nothing at the top level: `backtest` is a `rules` subcommand (see attach)."""


def attach(rules_app: typer.Typer) -> None:
    @rules_app.command("backtest")
    def backtest_cmd(
        rule_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The rule file (draft or changed)"),
        from_: Optional[str] = typer.Option(None, "--from", metavar="YYYY-MM", help="First month (default: the data's first)"),
        to: Optional[str] = typer.Option(None, "--to", metavar="YYYY-MM", help="Last month (default: the data's last)"),
        against: Optional[Path] = typer.Option(None, "--against", exists=True, dir_okay=False,
                                               help="Compare with this version instead of the live rule of the same id"),
        engine: Optional[str] = typer.Option(None, help="durable | reference (default: config.toml's)"),
        as_json: bool = typer.Option(False, "--json", help="print JSON: an object with `months`"),
        html_file: Optional[Path] = typer.Option(None, "--html", dir_okay=False, help="also write an HTML page with a chart"),
        config: Optional[Path] = ConfigOption,
    ) -> None:
        """Evaluate a rule over every month of the configured sources without touching the alert queue:
        per month its findings, the distinct alerts it would raise, per 1,000 staff, the overlap with
        alerts the current library raised (same subject, a fact in common) and how reviewers closed
        those (false positive, management action / referred, no further action, open); for a changed
        library rule, the alerts added and dropped against the live version. Exit 2 on a bad rule."""
        from rich.progress import Progress

        from audit import backtest as bt
        from audit.period import Period

        if engine not in (None, "durable", "reference"):
            err_console.print("[red]error:[/red] --engine must be durable or reference")
            raise typer.Exit(2)
        settings = load_settings(config)
        first = Period.parse(parse_period(from_)) if from_ else None
        last = Period.parse(parse_period(to)) if to else None
        if first and last and (first.year, first.month) > (last.year, last.month):
            err_console.print("[red]error:[/red] --from is after --to")
            raise typer.Exit(2)
        try:
            with Progress(console=err_console, transient=True, disable=as_json and not err_console.is_terminal) as bar:
                task = bar.add_task("backtest", total=None)

                def progress(what: str, done: int, total: int) -> None:
                    bar.update(task, description=what, completed=done, total=total or None)

                result = bt.backtest(settings, rule_file, first=first, last=last, against=against, engine=engine,
                                     progress=progress)
        except bt.BacktestError as e:
            err_console.print(f"[red]error:[/red] {e}", highlight=False)
            raise typer.Exit(2) from None
        if html_file:
            html_file.write_text(bt.html(result), encoding="utf-8")
        if as_json:
            typer.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
            return
        headers, rows = bt.rows(result)
        title = f"Backtest of {result.rule} ({result.engine} engine)" + (
            f" against {result.against}" if result.against else " (new rule: no live version)")
        table = Table(title=title)
        for h in headers:
            table.add_column(h, justify="left" if h == "month" else "right")
        for row in rows:
            table.add_row(*[str(c) for c in row], style="bold" if str(row[0]).startswith("total") else None)
        console.print(table)
        console.print("overlap: alerts sharing a subject and a cited fact with an alert the current library raised "
                      "that month (store: " + (result.store or "none") + "); FP / action (management action or "
                      "referred) / NFA / open: how reviewers closed those", highlight=False)
        for n in result.notes:
            err_console.print(f"[yellow]note:[/yellow] {n}", highlight=False)
        if html_file:
            console.print(f"HTML page: {html_file}", highlight=False)
