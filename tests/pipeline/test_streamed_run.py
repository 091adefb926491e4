"""A run whose access log is streamed (read a few rows at a time and pruned to the rows the rules can
use, audit.streamed) raises exactly the alerts, counts and access timelines of the same run with the
log loaded whole, on a generated force with planted access cases, on both engines."""
from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

import connectors
from audit import settings as settings_mod, streamed
from audit.generator import generate
from audit.generator.access_logs import generate_access_logs
from audit.period import Period
from audit.pipeline import run_period
from audit.store.db import open_store
from audit.store.models import AccessTimeline, Alert, AlertFact, AlertOccurrence, SourceLoad


@pytest.fixture(scope="module")
def access_force(tmp_path_factory):
    out = tmp_path_factory.mktemp("streamed_force")
    generate(out, seed=5, months=12, end="2026-10", scale=0.15)
    generate_access_logs(out, seed=5, rate=0.05, add_sources=True)
    # a search that returned a planted case's record: no rule can use it (pruned), but it is the
    # user's access to that record, so the record's timeline must show it
    truth = json.loads((out / "access_truth.json").read_text(encoding="utf-8"))
    planted = next(s for s in truth["scenarios"] if s["kind"] == "no_work_reason")["access_ids"][0]
    log = out / "system_access.csv"
    line = next(x for x in log.read_text(encoding="utf-8").splitlines() if x.startswith(planted + ","))
    cells = line.split(",")
    cells[0], cells[6] = "AUPLANTED1", "SEARCH"
    with log.open("a", encoding="utf-8") as f:
        f.write(",".join(cells) + "\n")
    return out


def _run(force, home, engine):
    shutil.copytree(force, home, ignore=shutil.ignore_patterns("data"))
    settings = settings_mod.load(home / "config.toml")
    outcome = run_period(settings, Period(2026, 10), engine=engine, publish=False)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            alerts = {}
            for rule, fp, fact in s.execute(select(Alert.rule_name, Alert.fingerprint, AlertFact.fact_id)
                                            .join(AlertOccurrence, AlertOccurrence.alert_id == Alert.id)
                                            .join(AlertFact, AlertFact.occurrence_id == AlertOccurrence.id)):
                alerts.setdefault((rule, fp), set()).add(fact)
            loads = {r.source: (r.status, r.rows_read, r.rows_accepted, r.rows_quarantined)
                     for r in s.execute(select(SourceLoad)).scalars()}
            timelines = {(t.person_key, t.record_id): (t.total, t.per_day, [r["fact_id"] for r in t.rows],
                                                        str(t.window_from), str(t.window_to))
                         for t in s.execute(select(AccessTimeline)).scalars()}
    finally:
        store.dispose()
    return outcome, alerts, loads, timelines


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_a_streamed_access_log_gives_the_run_of_the_whole_log(access_force, tmp_path, monkeypatch, engine):
    monkeypatch.setattr(connectors, "STREAM_ROWS", 997)  # many tables, none aligned with anything
    got, alerts, loads, timelines = _run(access_force, tmp_path / "streamed", engine)
    with monkeypatch.context() as m:
        m.setattr(streamed, "is_streamed", lambda source: False)  # the log read whole, as any source
        whole, w_alerts, w_loads, w_timelines = _run(access_force, tmp_path / "whole", engine)

    log = next(f for f in got.load.frames if f.register == "system_access")
    whole_log = next(f for f in whole.load.frames if f.register == "system_access")
    assert whole_log.rows_pruned == 0 and log.rows_read == whole_log.rows_read > 5_000
    assert 0 < len(log.df) < log.rows_accepted / 5, "most of the log is pruned"
    assert log.rows_pruned == log.rows_accepted - len(log.df)
    said = next(w for w in log.provenance.warnings if w.startswith("streamed: "))
    assert f"{len(log.df):,} of {log.rows_accepted:,} accepted rows kept" in said and "access_no_work_reason" in said
    assert f"source system_access {said}" in got.error  # the run says it, not only the load

    access = {k: v for k, v in w_alerts.items() if k[0].startswith("access_")}
    assert len(access) >= 10 and {r for r, _ in access} >= {"access_no_work_reason", "access_self_search"}
    assert alerts == w_alerts  # every alert, with every fact it cites
    assert loads == w_loads  # the same counts, reconciled against the same bytes
    assert timelines == w_timelines and len(timelines) >= 5  # every row of each cited (user, record)
    assert not log.df["access_id"].eq("AUPLANTED1").any()  # pruned, and still in its record's timeline:
    assert any(f.startswith("system_access:") and f.split(":")[1] == str(whole_log.rows_read + 1)
               for t in timelines.values() for f in t[2])
    assert got.status == whole.status == "succeeded" and "streamed" not in whole.error
    assert {n: (st.findings, st.not_evaluable) for n, st in got.evaluation.stats.items()} == \
        {n: (st.findings, st.not_evaluable) for n, st in whole.evaluation.stats.items()}


def test_a_run_killed_while_streaming_leaves_nothing_and_the_next_run_is_whole(access_force, tmp_path):
    """SIGKILL as the access log starts streaming: no alert is recorded, the run reads as failed
    (interrupted), and the next run of the month raises every alert once."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from audit.store.models import Run
    from audit.store.record import mark_crashed_runs

    home = tmp_path / "killed"
    shutil.copytree(access_force, home, ignore=shutil.ignore_patterns("data"))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "INTEGRITY_AUDIT_TEST_KILL_AT": "stream"}
    proc = subprocess.run([sys.executable, "-m", "audit.cli", "run", "--period", "2026-10", "--config",
                           str(home / "config.toml"), "--engine", "reference"], cwd=home, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    settings = settings_mod.load(home / "config.toml")
    store = open_store(settings.store_url)
    try:
        mark_crashed_runs(store)
        with store.read() as s:
            assert s.execute(select(Alert)).first() is None
            assert [r.status for r in s.execute(select(Run)).scalars()] == ["failed"]
    finally:
        store.dispose()
    outcome = run_period(settings, Period(2026, 10), engine="reference", publish=False)
    assert outcome.status == "succeeded"
    _, alerts, _, _ = _run(access_force, tmp_path / "clean", "reference")
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            assert s.execute(select(Alert).where(Alert.rule_name.like("access_%"))).first() is not None
            assert len(s.execute(select(Alert)).all()) == len(alerts)  # once each, nothing duplicated
    finally:
        store.dispose()


def test_sources_check_counts_a_streamed_log_without_holding_it(access_force, tmp_path):
    """`sources check` reads the access log a table at a time: the counts of a whole read, no rows held."""
    import json as json_mod

    from typer.testing import CliRunner

    from audit.cli import app

    home = tmp_path / "check"
    shutil.copytree(access_force, home, ignore=shutil.ignore_patterns("data"))
    out = CliRunner().invoke(app, ["sources", "check", "--json", "--config", str(home / "config.toml")])
    assert out.exit_code == 0, out.output
    got = next(r for r in json_mod.loads(out.stdout)["sources"] if r["register"] == "system_access")
    settings = settings_mod.load(home / "config.toml")
    whole = connectors.pull(next(s for s in settings.sources if s.register == "system_access"), settings.base_dir)
    assert (got["rows_read"], got["rows_accepted"], got["rows_quarantined"]) == \
        (whole.rows_read, whole.rows_accepted, whole.rows_quarantined) and whole.rows_read > 5_000
    assert [f["sha256"] for f in got["files"]] == [f.sha256 for f in whole.provenance.files]
