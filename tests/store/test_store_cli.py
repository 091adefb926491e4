"""The store's CLI commands against a real store: alerts, runs, audit verify."""
from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import text
from typer.testing import CliRunner

import factory
from audit.cli import app
from audit.store import open_store, record_run, trail

runner = CliRunner()


def cli(config, *args):
    return runner.invoke(app, [*args, "--config", str(config)], catch_exceptions=False)


def flat(text: str) -> str:
    """Rich wraps long lines; compare on single-spaced text."""
    return " ".join(text.split())


def test_alert_commands_end_to_end(config_file, store_url, monkeypatch):
    monkeypatch.setenv("USER", "analyst1")
    store = open_store(store_url)
    summary = record_run(store, factory.build("2026-10", ["a", "b"]))
    listed = json.loads(cli(config_file, "alerts", "list", "--period", "2026-10", "--json").stdout)
    assert sorted(a["subject"] for a in listed) == ["Pa", "Pb"]
    aid = next(a["id"] for a in listed if a["subject"] == "Pa")

    shown = cli(config_file, "alerts", "show", str(aid))
    assert shown.exit_code == 0
    for expected in ("row 2 of gifts_2026.csv", "fuzzy score 93.5", "Ask the approver.", "threshold = 2500",
                     "Accepted gift over £25"):
        assert expected in flat(shown.stdout), expected
    assert trail.events(store, action="alert.view")[0]["actor"] == "analyst1"

    bad = cli(config_file, "alerts", "review", str(aid), "--status", "closed", "--note", "x")
    assert bad.exit_code == 2 and "unknown status" in flat(bad.stderr)
    ok = cli(config_file, "alerts", "review", str(aid), "--status", "in_review", "--note", "checking")
    assert ok.exit_code == 0
    assert cli(config_file, "alerts", "assign", str(aid), "--to", "analyst2").exit_code == 0
    until = (date.today() + timedelta(days=30)).isoformat()
    sup = cli(config_file, "alerts", "suppress", str(aid), "--reason", "known", "--until", until,
              "--scope", "rule-subject")
    assert sup.exit_code == 0 and f"applies until {until}" in sup.stdout
    mine = json.loads(cli(config_file, "alerts", "list", "--status", "in_review", "--json").stdout)
    assert [(a["id"], a["assignee"]) for a in mine] == [(aid, "analyst2")]

    runs = flat(cli(config_file, "runs", "show", str(summary.run_id)).stdout)
    assert "2 new" in runs and "commonest problems: not a money amount (2)" in runs
    assert cli(config_file, "runs", "list").exit_code == 0
    assert cli(config_file, "runs", "show", "999").exit_code == 1
    store.dispose()


def test_audit_verify_reports_the_broken_seq(config_file, store_url):
    store = open_store(store_url)
    record_run(store, factory.build("2026-10", ["a"]))
    assert cli(config_file, "audit", "verify").exit_code == 0
    with store.write() as s:
        s.execute(text("UPDATE audit_events SET details = :d WHERE seq = 2"), {"d": '{"forged": true}'})
    res = cli(config_file, "audit", "verify")
    assert res.exit_code == 1 and "broken at event seq 2" in flat(res.stderr)
    store.dispose()


def test_runs_show_explains_a_failed_source(config_file, store_url):
    store = open_store(store_url)
    s = record_run(store, factory.build("2026-10", ["a"], status="partial", failed_register="workforce"))
    out = flat(cli(config_file, "runs", "show", str(s.run_id)).stdout)
    assert "source hr (workforce) FAILED" in out and "could not connect to the HR database" in out
    assert "incomplete" in out
    store.dispose()


def test_alert_list_reads_in_an_80_column_terminal(store_url):
    """Narrow terminals get two lines per alert: nothing cut, nothing wrapped to a sliver."""
    from rich.console import Console

    from audit.cli.alerts_cmd import alerts_table
    from audit.store.queries import list_alerts

    store = open_store(store_url)
    record_run(store, factory.build("2026-10", ["a", "b", "c"]))
    alerts = list_alerts(store)
    for width in (80, 160):
        out = Console(width=width, record=True, color_system=None)
        out.print(alerts_table(alerts, width))
        text = out.export_text()
        assert max(len(line.rstrip()) for line in text.splitlines()) <= width
        for a in alerts:
            assert a.rule_name in text and flat(a.title) in flat(text), (width, a.id)
        assert "novelty" in text  # the compact list keeps it too (#17)
