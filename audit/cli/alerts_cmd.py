"""`integrity-audit alerts list|show|review|suppress|assign|prove`: the reviewer's commands.

Every change goes through audit.store.lifecycle (and is an audit event); `show` and `prove` log a
view. `prove` replays the rule over the stored facts (audit.replay) for a hearing.
"""
from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from audit import display
from audit.cli.common import ConfigOption, JsonOption, console, err_console, fail, parse_period, print_json
from audit.cli.exitcodes import NOT_FOUND, PROBLEMS, USAGE
from audit.cli.runs_cmd import open_store_from
from audit.store import lifecycle
from audit.store.queries import NotFound, alert_view, list_alerts

NOVELTIES = ("new", "late", "carried")
SCOPES = {"finding": "finding", "rule-subject": "rule_subject", "rule_subject": "rule_subject"}
AlertArgument = typer.Argument(..., help="the alert's id (as `alerts list` shows it)", metavar="ALERT")
alerts_app = typer.Typer(help="Review alerts: list, show evidence, record decisions.", no_args_is_help=True)


def current_user() -> str:
    return os.environ.get("USER") or getpass.getuser()


@alerts_app.command("list")
def list_cmd(config: Optional[Path] = ConfigOption,
             period: Optional[str] = typer.Option(None, help="YYYY-MM: alerts found by that period's run"),
             status: Optional[str] = typer.Option(None, help=f"one of {', '.join(lifecycle.STATUSES)}"),
             rule: Optional[str] = typer.Option(None, help="rule id or name"),
             person: Optional[str] = typer.Option(None, help="subject person key"),
             level: Optional[str] = typer.Option(None, help="informational, low, medium, high or critical"),
             novelty: Optional[str] = typer.Option(
                 None, help="new | late (of an earlier month, first seen by this run) | carried"),
             as_json: bool = JsonOption) -> None:
    """List alerts, newest period first. Exit 2 on an unknown --status, --level, --novelty or period."""
    from rules.model import LEVELS

    if novelty is not None and novelty not in NOVELTIES:
        fail(f"--novelty must be one of {', '.join(NOVELTIES)}, not {novelty!r}", USAGE)
    if status is not None and status not in lifecycle.STATUSES:
        fail(f"--status must be one of {', '.join(lifecycle.STATUSES)}, not {status!r}", USAGE)
    if level is not None and level not in LEVELS:
        fail(f"--level must be one of {', '.join(LEVELS)}, not {level!r}", USAGE)
    if period is not None:
        period = parse_period(period)  # exit 2 unless YYYY-MM
    store = open_store_from(config)
    alerts = list_alerts(store, period=period, status=status, rule=rule, person=person, level=level,
                         novelty=novelty)
    if as_json:
        print_json([asdict(a) for a in alerts])
        return
    if not alerts:
        console.print("no alerts match")
        return
    console.print(alerts_table(alerts, console.width))


def novelty_text(a) -> str:
    """new | carried | late (of YYYY-MM): an earlier month's finding first seen by this run."""
    return f"late (of {a.late['event_period']})" if a.late else a.novelty


WIDE = 120  # from this terminal width on, one table row per alert; below it, two lines per alert


def alerts_table(alerts, width: int) -> Table:
    """The alert list. Wide terminals: a table with every column. Narrow ones (80 columns): the
    short fields on one line and the title on the next, so neither is squeezed into a sliver."""
    if width >= WIDE:
        t = Table("id", "period", "level", "status", "novelty", "rule", "subject", "title", box=box.SIMPLE_HEAD)
        for a in alerts:
            t.add_row(str(a.id), a.period, a.level, a.status, novelty_text(a), a.rule_name,
                      Text(a.subject_name or a.subject or "-"), Text(a.title))  # store text is never markup
        return t
    t = Table("id", "level, status, novelty, period, rule, subject / title", box=box.SIMPLE_HEAD, pad_edge=False)
    t.columns[0].justify = "right"
    for a in alerts:
        head = Text.assemble((a.level, "bold"), f", {a.status}, ", (novelty_text(a), "magenta" if a.late else ""),
                             f", {a.period}, ", (a.rule_name, "cyan"), f", {a.subject_name or a.subject or '-'}")
        t.add_row(str(a.id), Text("\n").join([head, Text(a.title)]))
    return t


@alerts_app.command("show")
def show_cmd(alert_id: int = AlertArgument, config: Optional[Path] = ConfigOption,
             run: Optional[int] = typer.Option(None, help="evidence as found by this run (default: latest)"),
             as_json: bool = JsonOption) -> None:
    """Full evidence of one alert: facts with source file and row, entity links, rule, params, runbook.
    Exit 1 if there is no such alert."""
    store = open_store_from(config)
    try:
        a = alert_view(store, alert_id, run)
    except NotFound as e:
        fail(str(e), NOT_FOUND)
    lifecycle.log_view(store, alert_id, current_user(), run)
    if as_json:
        print_json({**asdict(a), "late_text": a.late_text or None, "link_text": a.link_text or None})
        return
    _print_alert(a, _param_types(config, a.rule_name))


def _param_types(config: Optional[Path], rule_name: str) -> dict[str, str]:
    """The declared type of each parameter of the rule (money, int, ...), from its rule file in the
    configured folders (display.param_types); {} if the file is not found."""
    from audit.cli.rules_cmd import _paths

    return display.param_types(rule_name, _paths(None, config))


def _print_alert(a, param_types: dict[str, str]) -> None:
    def say(*parts, **kw) -> None:  # values from the store are never markup
        console.print(Text.assemble(*parts), highlight=False, **kw)

    registers = {f.alias: f.register for f in a.facts}

    def value(name: str, v) -> str:  # "alias.field" of the alert's fields
        alias, _, field = name.partition(".")
        return display.field_value(registers.get(alias, ""), field, v)

    say((f"Alert {a.id} [{a.level}] ", "bold"), a.title)
    say(f"status {display.code(a.status)}; {novelty_text(a)} in {a.period}; first raised {a.first_period}; "
        f"assignee {a.assignee or '-'}; sensitivity {a.sensitivity}")
    if a.late:
        say(("Reported late: ", "bold"), a.late_text)
    say(f"subject: {a.subject_name or '-'} ({a.subject or 'no person'}), department {a.department or '-'}")
    say("\n", ("Rule ", "bold"), f"{a.rule_name} ({a.rule_id}, version {a.rule_version[:12]}): {a.rule_title}")
    say(a.rule_description.strip())
    say("\n", ("Parameters in force: ", "bold"), display.mapping(a.params, param_types))
    if a.values:
        say(("Fields: ", "bold"), "; ".join(f"{k} = {value(k, v)}" for k, v in a.values.items()))
    say("\n", ("Evidence", "bold"))
    for f in a.facts:
        say(f"  {f.alias}: {f.register} row {f.row} of {f.file} (source {f.source}, fact {f.fact_id})")
        say("    " + ", ".join(f"{k} = {display.field_value(f.register, k, v)}"
                               for k, v in f.values.items() if v is not None))
    if a.links:
        say(("Entity links", "bold"))
        for ln in a.links:
            say(f"  {ln.fact_id} {ln.field} -> {ln.key}: {display.code(ln.method)} score {ln.score:g} ({ln.strength}); "
                f"'{ln.source_text}' ~ '{ln.matched_text}'")
    say("\n", ("Runbook", "bold"))
    say(a.runbook.strip())
    if a.history:
        say("\n", ("History", "bold"))
        for d in a.history:
            say(f"  {display.day(d.at)} {d.reviewer}: {display.code(d.status)} - {d.note}")


@alerts_app.command("review")
def review_cmd(alert_id: int = AlertArgument,
               status: str = typer.Option(..., help="the decision: " + ", ".join(lifecycle.STATUSES[1:])),
               note: str = typer.Option(..., help="why (mandatory)"),
               reviewer: Optional[str] = typer.Option(None, help="default: $USER"),
               config: Optional[Path] = ConfigOption) -> None:
    """Record a decision on an alert (use --status in_review to reopen a closed one). Exit 1 if
    there is no such alert, 2 if the decision is refused."""
    store = open_store_from(config)
    _need_alert(store, alert_id)
    try:
        lifecycle.review(store, alert_id, status, note, reviewer or current_user())
    except lifecycle.LifecycleError as e:
        fail(str(e), USAGE)
    console.print(f"alert {alert_id} is now {status}")


@alerts_app.command("suppress")
def suppress_cmd(alert_id: int = AlertArgument,
                 reason: str = typer.Option(..., help="why it need not be raised (kept in the audit trail)"),
                 until: str = typer.Option(..., help="expiry date YYYY-MM-DD", metavar="YYYY-MM-DD"),
                 scope: str = typer.Option("finding", help="finding (this finding only) or rule-subject "
                                                           "(this rule for this person)"),
                 config: Optional[Path] = ConfigOption) -> None:
    """Stop raising this finding (or this rule for this person) until a date."""
    if scope not in SCOPES:
        fail(f"--scope must be finding or rule-subject, not {scope!r}", USAGE)
    store = open_store_from(config)
    try:
        expiry = date.fromisoformat(until)
    except ValueError:
        fail(f"--until {until!r} is not a date written YYYY-MM-DD", USAGE)
    _need_alert(store, alert_id)
    try:
        sup = lifecycle.suppress(store, alert_id, reason, expiry, current_user(), SCOPES[scope])
    except lifecycle.LifecycleError as e:
        fail(str(e).replace("rule_subject", "rule-subject"), USAGE)
    console.print(f"suppression {sup.id} ({sup.scope.replace('_', '-')}) applies until {display.day(sup.expires_on)}")


@alerts_app.command("assign")
def assign_cmd(alert_id: int = AlertArgument,
               to: str = typer.Option(..., "--to", help="the account name to give it to (`users list`)"),
               config: Optional[Path] = ConfigOption) -> None:
    """Assign an alert to a reviewer: an enabled account that works alerts and may take this one
    (need-to-know and segregation of duties, as in the web app)."""
    store = open_store_from(config)
    alert = _need_alert(store, alert_id)
    why = _cannot_take(store, to, alert)
    if why:
        fail(f"alert {alert_id} cannot be assigned to {to!r}: {why}", USAGE)
    try:
        lifecycle.assign(store, alert_id, to, current_user())
    except lifecycle.LifecycleError as e:
        fail(str(e), USAGE)
    console.print(f"alert {alert_id} assigned to {to}")


def _need_alert(store, alert_id: int):
    """The alert's view, or exit NOT_FOUND saying there is no such alert."""
    try:
        return alert_view(store, alert_id)
    except NotFound as e:
        fail(str(e), NOT_FOUND)


def _cannot_take(store, name: str, a) -> str | None:
    """Why account `name` may not be given alert `a` (access.cannot_take, as in the web app). A
    store with no web account at all (the CLI used alone) has nobody to check against: the name is
    taken as given, with a warning."""
    from audit.web import access
    from audit.web.users import get_user, has_accounts

    user = get_user(store, name)
    if user is None and not has_accounts(store):
        err_console.print(f"[yellow]warning:[/yellow] this store has no user accounts, so {name!r} cannot be "
                          "checked (`integrity-audit users add` creates them)", highlight=False)
        return None
    why = access.cannot_take(store, user, a)
    return f"{why} (`integrity-audit users list` lists them)" if user is None else why


@alerts_app.command("prove")
def prove_cmd(alert_id: Optional[int] = typer.Argument(None, help="the alert to prove"),
              run: Optional[int] = typer.Option(None, help="its occurrence in this run (default: the latest)"),
              export: Optional[Path] = typer.Option(None, "--export", dir_okay=False,
                                                    help="write a signed JSON bundle of the proof to this file"),
              check: Optional[Path] = typer.Option(None, "--check", dir_okay=False,
                                                   help="check a bundle made by --export instead"),
              config: Optional[Path] = ConfigOption) -> None:
    """Re-evaluate the alert's rule over exactly its stored facts on both engines, and check the facts
    against the audit trail: "reproduced", or what differs (exit 1; exit 1 too if there is no such
    alert, as for every alerts command)."""
    if check is not None:
        from audit.cli.audit_cmd import verify_bundle_cmd

        verify_bundle_cmd(check)
        return
    if alert_id is None:
        fail("give the alert to prove (alerts prove N), or --check FILE", USAGE)
    from audit.cli.common import load_settings
    from audit.replay import bundle, prove
    from audit.store import open_store, trail
    from audit.store.proof import write_bundle

    settings = load_settings(config)
    try:
        store = open_store(settings.store_url)
        try:
            with console.status(f"Replaying alert {alert_id} on both engines"):
                proof = prove(store, settings, alert_id, run)
            trail.log(store, actor=current_user(), action="alert.prove", obj=f"alert:{alert_id}",
                      details={"run": proof.stored.occurrence["run_id"], "verdict": proof.verdict,
                               **({"exported": str(export)} if export else {})})
        finally:
            store.dispose()
        _print_proof(proof, _param_types(config, proof.rule_name))
        if export is not None:
            path = write_bundle(bundle(proof, current_user()), export)
            console.print(f"signed bundle: {path}", highlight=False)
    except NotFound as e:
        fail(str(e), NOT_FOUND)
    except Exception as e:  # noqa: BLE001 - a hearing's question deserves an answer, never a traceback
        fail(f"could not prove alert {alert_id}: {type(e).__name__}: {str(e)[:300]}", PROBLEMS)
    if not proof.reproduced:
        raise typer.Exit(PROBLEMS)


def _print_proof(proof, param_types: dict[str, str]) -> None:
    a, occ, tr = proof.stored.alert, proof.stored.occurrence, proof.stored.trail

    def say(text: str, style: str | None = None) -> None:  # values from the store are never markup
        console.print(Text(text, style=style or ""), highlight=False, emoji=False)

    say(f"Alert {a['id']} [{a['level']}] {a['title']}", "bold")
    say(f"rule {proof.rule_name} ({a['rule_id']}), stored version {proof.version_stored[:12]}"
        + (f", file {proof.rule_file}" if proof.rule_file else ""))
    if proof.version_note:
        say(f"note: {proof.version_note}", "yellow")
    say(f"occurrence: run {occ['run_id']}, period {occ['period']} ({occ['novelty']}), as of {occ['as_of'] or '-'}; "
        f"evaluated for {proof.period or '-'}")
    say(f"parameters: {display.mapping(dict(sorted((occ['params'] or {}).items())), param_types)}")
    say(f"fingerprint {a['fingerprint'][:16]}... (dedup {json.dumps(a['dedup'], default=str)})")
    say("Facts", "bold")
    for f in proof.stored.facts:
        say(f"  {f['alias']}: {f['register']} row {f['row']} of {f['file']} (fact {f['fact_id']})")
        say("    " + ", ".join(f"{k} = {display.field_value(f['register'], k, v)}"
                               for k, v in sorted((f['values'] or {}).items()) if v is not None))
    if tr.seq is not None:
        say(f"trail: event seq {tr.seq} ({tr.action}, hash {str(tr.hash)[:16]}...): "
            + ("the stored evidence matches its digest" if tr.matches else tr.why))
    else:
        say(f"trail: {tr.why}")
    for e in proof.engines:
        say(f"{e.engine} engine: " + ("reproduced" if e.reproduced else "; ".join(e.differences))
            + f" ({e.findings} finding(s) on these facts)")
    say(f"verdict: {proof.verdict}", "bold green" if proof.reproduced else "bold red")
    for d in proof.differences:
        say(f"  - {d}")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
