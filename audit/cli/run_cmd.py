"""`integrity-audit run --period YYYY-MM`: the monthly audit, end to end.

Exit status: 0 complete, 1 failed, 2 bad config or arguments (a month in the future, or after the end
of every source's data without --allow-beyond-data: audit.period.check_auditable), 3 incomplete (a source or rule
failed: the report says so), 4 the period is already being run by another process.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from audit.cli.common import ConfigOption, console, err_console, fail, load_settings
from audit.cli.sources_cmd import print_sources, source_rows
from audit.period import Period, PeriodRefused, check_auditable
from audit.store.locks import RunLocked

EXIT_FAILED, EXIT_INCOMPLETE, EXIT_LOCKED = 1, 3, 4


def _findings_table(outcome) -> Table:
    table = Table(title=f"Findings, {outcome.period}")
    for col in ("rule", "rows selected", "not evaluable", "findings"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    for name, st in sorted(outcome.evaluation.stats.items()):
        selected = ", ".join(f"{a} {n:,}" for a, n in st.rows_selected.items())
        not_eval = sum(st.not_evaluable.values())
        note = f" [yellow](skipped: {st.skipped})[/]" if st.skipped else ""
        note += " [yellow](reference engine: durable crashed)[/]" if st.fallback else ""
        table.add_row(name + note, selected,
                      f"{not_eval:,}" if not_eval else "", f"{st.findings:,}")
    return table


def _as_json(outcome) -> dict:
    return {
        "period": str(outcome.period), "run_id": outcome.run_id, "status": outcome.status,
        "incomplete": outcome.incomplete, "error": outcome.error,
        "counts": outcome.summary.counts if outcome.summary else {},
        "sources": source_rows(outcome.load),
        "findings_per_rule": {n: st.findings for n, st in sorted(outcome.evaluation.stats.items())},
        "not_evaluable": {n: st.not_evaluable for n, st in sorted(outcome.evaluation.stats.items()) if st.not_evaluable},
        "rule_problems": [str(p) for p in outcome.rule_problems],
        "engine_fallbacks": {n: st.fallback for n, st in sorted(outcome.evaluation.stats.items()) if st.fallback},
        "unresolved_entities": int(len(outcome.resolution.unresolved)),
        "report": outcome.report_path, "exports": outcome.export_paths,
        "deliveries": [vars(d) if hasattr(d, "__dict__") else d for d in outcome.deliveries],
        "stage_seconds": {k: round(v, 3) for k, v in outcome.stage_seconds.items()},
    }


def run(period: str = typer.Option(..., "--period", "-p", help="Month to audit, YYYY-MM"),
        config: Optional[Path] = ConfigOption,
        engine: Optional[str] = typer.Option(None, help="durable (default) or reference"),
        no_publish: bool = typer.Option(False, "--no-publish", help="Do not write the report and exports"),
        allow_beyond_data: bool = typer.Option(
            False, "--allow-beyond-data", help="Audit a month after the end of every source's data"),
        as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON")) -> None:
    """Load every source, resolve entities, evaluate the rules, store the alerts, write the report."""
    from audit import pipeline

    try:
        p = Period.parse(period)
    except ValueError as e:
        fail(str(e), 2)
    if engine not in (None, "durable", "reference"):
        fail("--engine must be durable or reference", 2)
    settings = load_settings(config)
    try:
        with err_console.status(f"reading the sources: has {p} any data yet?", spinner="dots"):
            loaded = check_auditable(settings, p, allow_beyond_data=allow_beyond_data)
    except PeriodRefused as e:
        fail(str(e), 2)
    logging.basicConfig(level=logging.WARNING)
    status = err_console.status(f"auditing {p}", spinner="dots")
    quiet = as_json or not err_console.is_terminal
    if not quiet:
        status.start()

    def progress(stage: str, detail: str) -> None:
        if not quiet:
            status.update(f"auditing {p}: {stage} {detail}")
        elif not as_json:
            err_console.print(f"{stage}: {detail}", highlight=False)

    try:
        outcome = pipeline.run_period(settings, p, engine=engine, progress=progress, publish=not no_publish,
                                      loaded=loaded)
    except RunLocked as e:
        fail(str(e), EXIT_LOCKED)
    except Exception as e:  # the run is recorded as failed; say so plainly
        fail(f"the audit of {p} failed: {type(e).__name__}: {e}", EXIT_FAILED)
    finally:
        if not quiet:
            status.stop()
    if as_json:
        print(json.dumps(_as_json(outcome), indent=2, default=str))
    else:
        print_sources(source_rows(outcome.load))
        console.print(_findings_table(outcome))
        _print_outcome(outcome)
    if outcome.status == "failed":
        raise typer.Exit(EXIT_FAILED)
    if outcome.incomplete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_outcome(outcome) -> None:
    for problem in outcome.rule_problems:
        console.print(f"[yellow]rule problem:[/yellow] {problem}", highlight=False)
    unresolved = outcome.resolution.unresolved
    if len(unresolved):
        reasons = Counter(unresolved["reason"]).most_common(3)
        console.print(f"[yellow]{len(unresolved):,} name(s) or id(s) not linked[/yellow] "
                      "(see integrity-audit entities explain): "
                      + "; ".join(f"{n} {r}" for r, n in reasons), highlight=False)
    c = outcome.summary.counts if outcome.summary else {}
    console.print(f"run {outcome.run_id}: [bold]{outcome.status}[/bold]  findings {c.get('findings', 0):,}  "
                  f"new alerts {c.get('alerts_new', 0):,}  carried {c.get('alerts_carried', 0):,}  "
                  f"resolved {c.get('alerts_resolved', 0):,} (conditions that ended; an event alert stays open until reviewed)")
    if outcome.ledger is not None:
        changes = outcome.ledger.changes
        console.print(f"late arrivals: {outcome.late_raised:,} finding(s) of earlier months first seen now; "
                      f"entries changed since the last audit: {sum(ch.change == 'altered' for ch in changes):,} "
                      f"altered, {sum(ch.change == 'deleted' for ch in changes):,} deleted", highlight=False)
    if outcome.incomplete:
        console.print(f"[red bold]The audit of {outcome.period} is incomplete:[/] {outcome.error}", highlight=False)
    elif outcome.error:
        console.print(f"[yellow]note:[/yellow] {outcome.error}", highlight=False)
    if outcome.report_path:
        console.print(f"report: {outcome.report_path}")
    for d in outcome.deliveries:
        console.print(f"delivery {getattr(d, 'destination', '?')}: {getattr(d, 'status', '?')}"
                      + (f" ({d.error})" if getattr(d, "error", None) else ""), highlight=False)
    console.print("next: integrity-audit alerts list --period " + str(outcome.period))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
