"""`integrity-audit audit verify|anchor|verify-bundle`: prove the store against its audit trail.

`verify` checks the keyed hash chain, every alert, occurrence with its evidence, disposition,
suppression, delivery, run and web user against what the trail recorded of it, each source's row
ledger against its keyed seal (audit.store.ledger_seal), and the trail against
its anchors (the local data/trail-anchor.json, and any `--anchor` manifest.json or anchor file),
naming each problem; exit 1 if there is any (audit.store.trail_check).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from audit.cli.common import (ConfigOption, JsonOption, console, err_console, fail, friendly_errors, load_settings,
                              print_json)
from audit.cli.exitcodes import PROBLEMS, USAGE
from audit.store import anchor, trail
from audit.store.db import open_store

audit_app = typer.Typer(help="The audit trail of every run, view and decision.", no_args_is_help=True)


def _store_and_data(config: Optional[Path]):
    settings = load_settings(config)
    with friendly_errors():
        return open_store(settings.store_url), settings.data_dir


@audit_app.command("verify")
def verify_cmd(config: Optional[Path] = ConfigOption,
               anchors: List[Path] = typer.Option([], "--anchor", dir_okay=False, metavar="FILE",
                                                  help="a delivered manifest.json or a copy of an anchor file to "
                                                       "check the trail against (repeatable)"),
               local: bool = typer.Option(True, "--local-anchor/--no-local-anchor",
                                          help="also check data/trail-anchor.json (default: yes)"),
               as_json: bool = JsonOption) -> None:
    """Prove the store against its audit trail and the trail against its anchors; exit 1 naming
    every problem found."""
    from audit.store.trail_check import check

    store, data_dir = _store_and_data(config)
    heads, notes = [], []
    try:
        local_file = anchor.local_file(data_dir)
        if local and local_file.exists():
            heads += anchor.read(local_file)
        elif local:
            notes.append(f"no local anchor file ({local_file}) yet: a trail cut short since the last publish "
                         "cannot be told from a complete one")
        for path in anchors:
            heads += anchor.read(path)
        with console.status("Checking the audit trail"):
            report = check(store, heads)
    except anchor.AnchorError as e:
        fail(str(e), USAGE)
    except Exception as e:  # noqa: BLE001 - a store damaged beyond reading is a finding, never a traceback
        fail(f"the store could not be read to the end ({type(e).__name__}: {str(e)[:300]}): it may have been "
             "damaged or edited outside integrity-audit", PROBLEMS)
    finally:
        store.dispose()
    if as_json:
        print_json({"intact": report.intact, "events": report.events, "keyed_from": report.keyed_from,
                    "key_id": report.key_id, "rows": report.rows, "anchors": report.anchors,
                    "first_broken": report.first_broken, "problems": report.problems,
                    "warnings": report.warnings + notes, "seconds": round(report.seconds, 3)})
        if not report.intact:
            raise typer.Exit(PROBLEMS)
        return
    for w in report.warnings + notes:
        err_console.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False, emoji=False)
    summary = (f"{report.events} events" + (f" (keyed from seq {report.keyed_from}, key id {report.key_id})"
                                            if report.keyed_from else "")
               + f", {report.rows} rows proved, {report.anchors} anchor(s) checked, in {report.seconds:.2f} s")
    if not report.intact:
        if report.first_broken is not None:
            err_console.print(f"[red]error:[/red] the audit trail is broken at event seq {report.first_broken}: "
                              "that event (or the one before it) was changed, inserted or removed after it was "
                              "written", highlight=False)
        err_console.print(f"[red]{len(report.problems)} problem(s)[/red] ({summary}):", highlight=False)
        for p in report.problems:
            err_console.print(f"  - {p}", highlight=False, soft_wrap=True, markup=False, emoji=False)
        raise typer.Exit(PROBLEMS)
    console.print(f"audit trail intact: {summary}", highlight=False, markup=False, emoji=False)


@audit_app.command("anchor")
def anchor_cmd(config: Optional[Path] = ConfigOption) -> None:
    """Check the trail, then add its head to data/trail-anchor.json (publishing does this for each run)."""
    from audit.store.trail_check import check

    store, data_dir = _store_and_data(config)
    try:
        local_file = anchor.local_file(data_dir)
        report = check(store, anchor.read(local_file) if local_file.exists() else [])
        if not report.intact:
            fail(f"the audit trail does not verify ({len(report.problems)} problem(s)): run `audit verify`; "
                 "nothing anchored", PROBLEMS)
        head = anchor.record(store, data_dir, note="audit anchor")
    except anchor.AnchorError as e:
        fail(str(e), USAGE)
    finally:
        store.dispose()
    if head is None:
        console.print("the audit trail is empty: nothing to anchor")
        return
    console.print(f"anchored event seq {head['seq']} (hash {head['hash'][:16]}...) in {local_file}", highlight=False,
                  markup=False, emoji=False)


@audit_app.command("verify-bundle")
def verify_bundle_cmd(path: Path = typer.Argument(..., dir_okay=False,
                                                  help="a bundle from `alerts prove --export`")) -> None:
    """Check that a proof bundle was not edited after it was made (its HMAC under the trail key);
    exit 1 if it was, or cannot be read."""
    from audit.store.proof import BundleError, check_bundle

    try:
        doc = check_bundle(path)
    except BundleError as e:
        fail(str(e), PROBLEMS)
    sig = doc.get("signature") or {}
    alert = doc.get("alert") or {}
    console.print(f"bundle intact: alert {alert.get('id')} ({doc.get('rule', {}).get('name')}), verdict "
                  f"{doc.get('verdict')!r}, made {doc.get('created_at')} by {doc.get('created_by')}, "
                  f"signed with key id {sig.get('key_id')}", highlight=False, markup=False, emoji=False)
    if sig.get("key_id") == trail.DEV_KEY_ID:
        err_console.print("[yellow]warning:[/yellow] it was signed with the development key: anyone could "
                          "have made it", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
