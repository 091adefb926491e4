"""`integrity-audit rules ...`: list, validate, test and explain rule files."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from audit.cli.common import ConfigOption, JsonOption, console, err_console, load_settings, print_json

PathsArgument = typer.Argument(None, help="Rule files or folders (default: the library and config.toml's "
                                          "[rules] folders)", metavar="PATH")


def _paths(paths: Optional[List[Path]], config: Optional[Path]) -> list[Path]:
    """Explicit PATHS, else rules/library (unless disabled) plus config.toml [rules] folders."""
    if paths:
        return list(paths)
    return load_settings(config).rule_folders


def _load(paths, config):
    from rules.api import load_rules

    return load_rules(_paths(paths, config))


def _print_problems(problems) -> int:
    errors = 0
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        err_console.print(f"{p.file}:{p.line}:{p.col}: [{colour}]{p.severity}[/{colour}]: {p.message}", highlight=False)
        errors += p.severity == "error"
    return errors


def register(app: typer.Typer) -> None:
    rules_app = typer.Typer(help="List, validate, test and explain rule files.", no_args_is_help=True)
    app.add_typer(rules_app, name="rules")
    from audit.cli.backtest_cmd import attach  # `rules backtest` lives in its own module

    attach(rules_app)

    @rules_app.command("list")
    def list_rules(paths: Optional[List[Path]] = PathsArgument,
                   config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
        """List the rules: id, name, level, status, match, registers. Deprecated rules are dimmed: runs
        skip them. A shadow rule (status shadow, or [rules] shadow) shows its months in shadow: findings,
        alerts, overlap with live alerts; a promoted one who promoted it and when. Exit 1 if a rule file
        has errors."""
        from audit.cli.backtest_cmd import print_shadow, shadow_info, status_text

        rules, problems = _load(paths, config)
        shadow = shadow_info(config, rules)  # shadow rules: how runs treat them, their figures (store)
        if as_json:
            print_json([{"name": r.name, "id": r.id, "title": r.title, "level": r.level, "status": r.status,
                         "match": r.match.kind, "registers": list(r.registers),
                         "params": {n: {"type": p.type, "default": p.default} for n, p in r.params.items()},
                         **({"shadow": shadow[r.name]} if r.name in shadow else {})}
                        for r in sorted(rules, key=lambda r: r.name)])
            raise typer.Exit(1 if _print_problems(problems) else 0)  # problems on stderr
        table = Table(title=f"{len(rules)} rule(s)")
        for col in ("id", "name", "level", "status", "match", "registers"):
            table.add_column(col)
        for r in sorted(rules, key=lambda r: r.name):
            deprecated = r.status == "deprecated"
            table.add_row(r.id, r.name, r.level, status_text(r, shadow), r.match.kind,
                          ", ".join(r.registers), style="dim" if deprecated else None)
        console.print(table)
        print_shadow(shadow)
        if _print_problems(problems):
            err_console.print("some rule files have errors: run `integrity-audit rules validate`")
            raise typer.Exit(1)

    @rules_app.command("validate")
    def validate(paths: Optional[List[Path]] = PathsArgument,
                 config: Optional[Path] = ConfigOption) -> None:
        """Report every problem as file:line:col; exit 1 on any error."""
        from rules.api import rule_files

        targets = _paths(paths, config)
        rules, problems = _load(paths, config)
        errors = _print_problems(problems)
        n_files = len(rule_files(targets))
        console.print(f"{n_files} file(s), {len(rules)} valid rule(s), {errors} error(s), "
                      f"{len(problems) - errors} warning(s)")
        if errors:
            raise typer.Exit(1)

    @rules_app.command("test")
    def test(paths: Optional[List[Path]] = PathsArgument,
             engine: str = typer.Option("both", help="durable | reference | both"),
             config: Optional[Path] = ConfigOption) -> None:
        """Run each rule's embedded tests on each engine and compare with `expect` exactly (one line per
        test and engine). Exit 1 on any failure or rule file error."""
        from rich.progress import Progress

        from rules.testing import ENGINES, run_rule_tests

        if engine not in ("durable", "reference", "both"):
            err_console.print("[red]error:[/red] --engine must be durable, reference or both")
            raise typer.Exit(2)
        engines = ENGINES if engine == "both" else (engine,)
        rules, problems = _load(paths, config)
        errors = _print_problems(problems)
        outcomes = []
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("testing rules", total=len(rules))
            for r in sorted(rules, key=lambda r: r.name):
                progress.update(task, description=r.name)
                outcomes += run_rule_tests(r, engines)
                progress.advance(task)
        failed = [o for o in outcomes if not o.passed]
        for o in outcomes:
            mark = "[green]PASS[/green]" if o.passed else "[red]FAIL[/red]"
            console.print(f"{mark} {o.rule} {escape(o.test)} ({o.engine} engine)"
                          + ("" if o.passed else f"\n     {escape(o.location)}: {escape(str(o.detail))}"), highlight=False)
        console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed, {errors} rule file error(s)")
        if failed or errors:
            raise typer.Exit(1)

    @rules_app.command("explain")
    def explain(name: str = typer.Argument(..., help="Rule name"),
                paths: Optional[List[Path]] = typer.Option(None, "--path", help="Rule files or folders (repeatable)",
                                                           metavar="PATH"),
                config: Optional[Path] = ConfigOption) -> None:
        """Show the compiled form in readable terms."""
        from rules.api import compile_rule
        from rules.explain import explain as explain_text

        rules, problems = _load(paths, config)
        match = [r for r in rules if r.name == name]
        if not match:
            _print_problems([p for p in problems if Path(p.file).stem == name])
            err_console.print(f"[red]error:[/red] no valid rule named {name!r}")
            raise typer.Exit(1)
        console.print(explain_text(compile_rule(match[0])), highlight=False)
