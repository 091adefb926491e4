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
from sqlalchemy.exc import DBAPIError
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

    @rules_app.command("promote")
    def promote_cmd(
        name: str = typer.Argument(..., help="The shadow rule's name"),
        backtest: bool = typer.Option(False, "--backtest", help="also backtest the rule over the configured "
                                      "sources and record its totals with the promotion (slower)"),
        config: Optional[Path] = ConfigOption,
    ) -> None:
        """Make a shadow rule live from the next run (a rule file saying shadow as stable, a rule in
        [rules] shadow with its own status): an auditor's decision, recorded in
        the audit trail (rule.promote) with the rule's months in shadow (findings, alerts, overlap with
        live alerts, reviewers' labels). The rule file is not changed. Exit 1 for an unknown rule or one
        not in shadow (or already promoted)."""
        from audit import shadow
        from audit.cli.alerts_cmd import current_user
        from audit.cli.common import fail
        from audit.store.db import open_store

        settings = load_settings(config)
        store = open_store(settings.store_url)
        try:
            try:
                done = shadow.promote(settings, store, name, current_user(), backtest=backtest)
            except shadow.PromoteError as e:
                fail(str(e))
        finally:
            store.dispose()
        t = done.summary.get("shadow", {}).get("totals", {})
        console.print(f"promoted {done.rule} (version {done.version[:16]}) by {done.actor}: live from the next run; "
                      f"audit trail event {done.seq} (rule.promote)", highlight=False)
        if t.get("months"):
            console.print(f"in shadow: {t['months']} month(s), {t['findings']} finding(s), {t['alerts']} alert(s) "
                          f"({t['alerts_per_month']}/month), {t['overlap']} overlapping live alerts", highlight=False)
        else:
            console.print("in shadow: no run has evaluated it yet", highlight=False)


# ---- shadow figures for `rules list` (audit/cli/rules_cmd.py) -----------------------------------
def shadow_info(config: Optional[Path], rules: list) -> dict[str, dict]:
    """rule name -> how runs treat it, for rules in shadow (file or config) or promoted:
    {"runs_as": "shadow" | "live (promoted)", "shadow_by", "promoted": {by, at} | None,
     "shadow": {totals, months} | None}. Reads the store only if it exists; never creates it."""
    from audit import shadow
    from audit.store import shadow as store_shadow
    from audit.store.db import open_store

    settings = load_settings(config)
    candidates = {r.id: r for r in rules if shadow.shadow_source(settings, r)}
    if not candidates:
        return {}
    url = settings.store_url
    store = None
    if not url.startswith("sqlite:///") or Path(url[len("sqlite:///"):]).exists():
        try:
            store = open_store(url, migrate=False)
        except Exception:  # noqa: BLE001 - no store: the statuses still show, without figures
            store = None
    promoted, figures = {}, {}
    if store is not None:
        try:
            promoted = store_shadow.promotions(store)
            figures = shadow.summary(store, {i: r.name for i, r in candidates.items()})
        except DBAPIError:  # an unreadable store: say nothing rather than fail a listing
            promoted, figures = {}, {}
        finally:
            store.dispose()
    out = {}
    for rule_id, r in candidates.items():
        p = promoted.get(rule_id)
        out[r.name] = {"runs_as": "live (promoted)" if p else "shadow", "shadow_by": shadow.shadow_source(settings, r),
                       "promoted": {"by": p.promoted_by, "at": p.promoted_at.isoformat()} if p else None,
                       "shadow": figures[rule_id].to_json() if rule_id in figures else None}
    return out


def status_text(rule, info: dict[str, dict]) -> str:
    """The status column of `rules list`: the file's status, or how runs treat a shadow rule."""
    i = info.get(rule.name)
    if i is None:
        return "deprecated (not run)" if rule.status == "deprecated" else rule.status
    if i["promoted"]:
        return f"promoted {i['promoted']['at'][:10]} by {i['promoted']['by']}"
    return "shadow" + (" (config)" if i["shadow_by"] == "config" else "")


def print_shadow(info: dict[str, dict]) -> None:
    """Per rule in shadow: its months (findings, alerts, overlap with live alerts, labels)."""
    shadowed = {n: i for n, i in sorted(info.items()) if not i["promoted"]}
    if not shadowed:
        return
    console.print("Shadow rules: evaluated by every run, findings kept apart (never queued, reported or exported); "
                  "`integrity-audit rules promote NAME` makes one live.", highlight=False)
    for name, i in shadowed.items():
        figures = i["shadow"]
        if not figures or not figures["months"]:
            console.print(f"  {name}: no run has evaluated it yet", highlight=False)
            continue
        table = Table(title=f"{name} in shadow", title_justify="left")
        for h in ("month", "findings", "alerts", "new", "overlap", "FP", "action", "NFA", "open"):
            table.add_column(h, justify="left" if h == "month" else "right")
        t = figures["totals"]
        for m in figures["months"] + [{"period": "total", "new_alerts": t["alerts"], **t}]:
            table.add_row(m["period"], str(m["findings"]), str(m["alerts"]), str(m["new_alerts"]), str(m["overlap"]),
                          *[str(m["labels"][k]) for k in ("false_positive", "action", "no_further_action", "open")],
                          style="bold" if m["period"] == "total" else None)
        console.print(table)
    console.print("new: alerts not raised in an earlier month shown (the total counts each alert once); overlap: "
                  "alerts sharing a subject and a cited fact with a live alert of that month; FP / action / NFA / "
                  "open: how reviewers closed those live alerts", highlight=False)
