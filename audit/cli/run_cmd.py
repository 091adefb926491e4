"""`integrity-audit run --period YYYY-MM`: the monthly audit, end to end.

Exit status: 0 complete, 1 failed, 2 bad config or arguments (a month in the future, or after the end
of every source's data without --allow-beyond-data: audit.period.check_auditable), 3 incomplete (a source or rule
failed: the report says so), 4 the period is already being run by another process.
"""
from __future__ import annotations

import json
import logging
import shlex
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from audit.cli.common import ConfigOption, JsonOption, console, err_console, fail, load_settings
from audit.cli.exitcodes import INCOMPLETE as EXIT_INCOMPLETE, LOCKED as EXIT_LOCKED, PROBLEMS as EXIT_FAILED, USAGE
from audit.cli.sources_cmd import print_sources, source_rows
from audit.period import Period, PeriodRefused, check_auditable
from audit.store.locks import RunLocked


def _findings_table(outcome) -> Table:
    """Findings per rule; the rows each input selected, and how many could not be evaluated (a blank
    field a rule needs), share one column so that the longest rule name fits 80 columns."""
    table = Table(title=f"Findings, {outcome.period}", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("rule", "findings", "rows selected"):
        table.add_column(col, justify="right" if col == "findings" else "left", no_wrap=col == "rule")
    for name, st in sorted(outcome.evaluation.stats.items()):
        selected = ", ".join(f"{a} {n:,}" for a, n in st.rows_selected.items())
        not_eval = sum(st.not_evaluable.values())
        note = f" [yellow](skipped: {escape(str(st.skipped))})[/]" if st.skipped else ""
        note += " [yellow](reference engine: durable crashed)[/]" if st.fallback else ""
        note += " [dim](shadow: kept apart, not alerted)[/]" if name in outcome.shadow else ""
        table.add_row(name + note, f"{st.findings:,}", selected + (f"; {not_eval:,} not evaluable" if not_eval else ""))
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
        as_json: bool = JsonOption) -> None:
    """Load every source, resolve entities, evaluate the rules, store the alerts, write the report.
    Exit 0 complete, 1 failed, 2 refused (bad arguments or config, a future month, a month after the
    data), 3 incomplete (a source or rule failed), 4 the period is being run by another process."""
    from audit import pipeline

    try:
        p = Period.parse(period)
    except ValueError as e:
        fail(str(e), USAGE)
    if engine not in (None, "durable", "reference"):
        fail("--engine must be durable or reference", USAGE)
    settings = load_settings(config)
    try:
        with err_console.status(f"reading the sources: has {p} any data yet?", spinner="dots"):
            loaded = check_auditable(settings, p, allow_beyond_data=allow_beyond_data)
    except PeriodRefused as e:
        fail(str(e), USAGE)
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
        _print_sources_once(source_rows(outcome.load))
        console.print(_findings_table(outcome))
        _print_outcome(outcome, config)
    if outcome.status == "failed":
        raise typer.Exit(EXIT_FAILED)
    if outcome.incomplete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_sources_once(rows: list[dict]) -> None:
    """The sources table, with a warning that several sources share (the development hash key's)
    said once after it rather than once per source."""
    seen = Counter(w for r in rows for w in set(r["warnings"]))
    shared = [w for w, n in seen.items() if n > 1]
    print_sources([{**r, "warnings": [w for w in r["warnings"] if w not in shared]} for r in rows])
    for w in shared:
        names = ", ".join(r["source"] for r in rows if w in r["warnings"])
        console.print(f"[yellow]warning:[/yellow] {escape(w)} (sources {escape(names)})", highlight=False)


def _print_outcome(outcome, config: Optional[Path] = None) -> None:
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
    console.print(f"next: integrity-audit alerts list --period {outcome.period}"
                  + (f" --config {shlex.quote(str(config))}" if config else ""), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
