"""Runs that die are marked and never chosen.

1. Liveness (SQLite and PostgreSQL): a run whose process is gone (its period lock is missing, dead
   or held by another process) is marked failed as interrupted, once, with a run.fail audit event;
   a live run never is; the lock's heartbeat decides where the pid cannot be asked.
2. Kill tests: the monthly audit of a small generated force runs in a child process that is
   SIGKILLed at each stage (audit.faults: INTEGRITY_AUDIT_TEST_KILL_AT). Before each, 2026-09 and
   2026-10 had good runs. After the kill: the good run stays current for report and export (or,
   killed once the new run was recorded, nothing half-published is ever current), its files on
   disk are intact, `runs list` shows the killed run as failed (interrupted) or unpublished, and
   the next run of the period succeeds with no duplicate alerts.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import factory
from audit.store import locks, open_store, record_run, trail
from audit.store.models import Alert, Run, RunLock
from audit.store.queries import latest_run, latest_run_id, list_alerts, unpublished_run_id
from audit.store.record import _crashed, crashed_runs, mark_crashed_runs, mark_published, start_run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
PERIOD = "2026-10"

START_AND_HANG = """
import sys, time
from audit.store import open_store, period_lock
from audit.store.record import start_run
store = open_store(sys.argv[1])
with period_lock(store, sys.argv[2]):
    print(start_run(store, sys.argv[2], "reference", actor="doomed"), flush=True)
    time.sleep(120)
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def run_row(store, run_id: int) -> Run:
    with store.read() as s:
        return s.get(Run, run_id)


# -- 1. liveness --------------------------------------------------------------------------------

def test_a_run_whose_process_was_killed_is_marked_failed_once(store):
    good = record_run(store, factory.build(PERIOD, ["a", "b"]))
    mark_published(store, good.run_id)
    child = subprocess.Popen([sys.executable, "-c", START_AND_HANG, store.url, PERIOD], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line.isdigit(), child.communicate(timeout=30)
        doomed = int(line)
        assert crashed_runs(store) == []  # alive: its process holds the period lock
        assert latest_run(store, PERIOD, evidence=False).id == good.run_id  # never the running one
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert run_row(store, doomed).status == "running"  # what kill -9 leaves behind
    assert crashed_runs(store) == [doomed]
    assert mark_crashed_runs(store, actor="test") == [doomed]
    run = run_row(store, doomed)
    assert run.status == "failed" and run.error.startswith("interrupted: ") and run.finished_at
    assert f"pid {child.pid}" in run.error
    events = trail.events(store, action="run.fail", obj=f"run:{doomed}")
    assert len(events) == 1 and events[0]["details"]["interrupted"] is True and events[0]["actor"] == "test"
    assert mark_crashed_runs(store) == [] and crashed_runs(store) == []  # marked once
    assert trail.verify(store) is None
    assert latest_run_id(store, PERIOD, published=True) == good.run_id
    assert {a.subject for a in list_alerts(store, period=PERIOD)} == {"Pa", "Pb"}


def test_a_live_run_is_never_marked_even_from_another_thread(store):
    seen = {}
    with locks.period_lock(store, PERIOD):
        run_id = start_run(store, PERIOD, "reference")
        assert crashed_runs(store) == []
        t = threading.Thread(target=lambda: seen.update(ids=mark_crashed_runs(store)))
        t.start()
        t.join()
    assert seen["ids"] == [] and run_row(store, run_id).status == "running"
    # the process let go of the lock without finishing the run: the run is dead
    assert crashed_runs(store) == [run_id]


def test_a_run_whose_period_lock_now_belongs_to_another_process_is_dead(store):
    alive_elsewhere = os.getppid()  # a live process on this host that is not this one
    with store.write() as s:
        s.add(RunLock(period=PERIOD, token="theirs", pid=alive_elsewhere, host=socket.gethostname(),
                      acquired_at=store.now(), heartbeat_at=store.now()))
        old = Run(period=PERIOD, status="running", engine="reference", actor="x", started_at=store.now(),
                  lock_token="mine")
        theirs = Run(period=PERIOD, status="running", engine="reference", actor="x", started_at=store.now(),
                     lock_token="theirs")
        s.add_all([old, theirs])
        s.flush()
        old_id, theirs_id = old.id, theirs.id
    assert crashed_runs(store) == [old_id] and theirs_id not in crashed_runs(store)
    assert "now locked by pid" in dict(_crashed(store, PERIOD))[old_id]


def test_the_heartbeat_decides_for_a_lock_held_on_another_host(store, clock):
    with store.write() as s:
        s.add(RunLock(period=PERIOD, token="t", pid=4242, host="another-host", acquired_at=clock.now,
                      heartbeat_at=clock.now))
        run = Run(period=PERIOD, status="running", engine="reference", actor="x", started_at=clock.now,
                  lock_token="t")
        s.add(run)
        s.flush()
        run_id = run.id
    clock.now += timedelta(seconds=locks.HEARTBEAT_STALE_SECONDS - 5)
    assert crashed_runs(store) == []
    with pytest.raises(locks.RunLocked):
        locks.acquire(store, PERIOD)
    clock.now += timedelta(seconds=10)  # no heartbeat for longer than the limit: its owner is gone
    assert "has sent no heartbeat since" in locks.dead_reason(locks.holder(store, PERIOD), clock.now)
    assert crashed_runs(store) == [run_id]
    with locks.period_lock(store, PERIOD):  # breaks the dead lock and marks its run
        assert run_row(store, run_id).status == "failed"


def test_a_lock_naming_this_pid_but_not_held_by_this_process_is_dead(store):
    """A restarted container gives the new process the same pid as the killed one."""
    with store.write() as s:
        s.add(RunLock(period=PERIOD, token="before-restart", pid=os.getpid(), host=socket.gethostname(),
                      acquired_at=store.now(), heartbeat_at=store.now()))
    assert "does not hold the lock" in locks.dead_reason(locks.holder(store, PERIOD), store.now())
    token = locks.acquire(store, PERIOD)
    assert locks.holder(store, PERIOD).token == token


def test_the_lock_holder_keeps_its_heartbeat_fresh(store_url, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.05)
    store = open_store(store_url)  # the real clock
    try:
        with locks.period_lock(store, PERIOD):
            first = locks.holder(store, PERIOD).heartbeat_at
            end = time.monotonic() + 10
            while locks.holder(store, PERIOD).heartbeat_at == first and time.monotonic() < end:
                time.sleep(0.05)
            assert locks.holder(store, PERIOD).heartbeat_at > first
        assert locks.holder(store, PERIOD) is None
    finally:
        store.dispose()


def test_report_export_and_lists_never_pick_a_running_or_failed_run(config_file, store_url, tmp_path):
    from audit.cli import app

    store = open_store(store_url)
    try:
        good = record_run(store, factory.build(PERIOD, ["a", "b", "c"]))
        mark_published(store, good.run_id)
        failed = record_run(store, factory.build(PERIOD, [], status="failed"))
        with locks.period_lock(store, PERIOD):
            running = start_run(store, PERIOD, "reference")  # its process "dies" with the lock released
        assert latest_run_id(store, PERIOD) == latest_run_id(store, PERIOD, published=True) == good.run_id
        assert len(list_alerts(store, period=PERIOD)) == 3
        cli = CliRunner()
        res = cli.invoke(app, ["report", "--period", PERIOD, "--out", str(tmp_path / "r.html"),
                               "--config", str(config_file)])
        assert res.exit_code == 0, res.output
        assert f"(run {good.run_id}, 3 alerts)" in flat(res.output)
        assert f"run {running} was still marked running but its process is gone" in flat(res.output)
        res = cli.invoke(app, ["export", "--period", PERIOD, "-f", "json", "--to", str(tmp_path / "x"),
                               "--config", str(config_file)])
        assert res.exit_code == 0, res.output
        manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
        assert manifest["run_id"] == good.run_id and manifest["rows"]["alerts"] == 3
        listed = {r["id"]: r for r in json.loads(cli.invoke(app, ["runs", "list", "--json", "--config",
                                                                  str(config_file)]).stdout)}
        assert listed[running]["status"] == "failed"
        assert listed[running]["error"].startswith("interrupted")
        assert listed[failed.run_id]["status"] == "failed" and listed[good.run_id]["published_at"]
    finally:
        store.dispose()


def test_a_period_with_no_completed_run_is_refused_in_words(config_file, store_url):
    from audit.cli import app

    store = open_store(store_url)
    try:
        record_run(store, factory.build(PERIOD, [], status="failed"))
    finally:
        store.dispose()
    res = CliRunner().invoke(app, ["report", "--period", PERIOD, "--config", str(config_file)])
    assert res.exit_code == 1 and "no completed run for 2026-10" in flat(res.output)


def test_the_scheduler_publishes_a_run_whose_publishing_was_interrupted(config_file, store_url):
    from audit import scheduler, settings as settings_mod
    from audit.period import Period
    from reports.publishing import folder_run_id, output_dir

    cfg = settings_mod.load(config_file)
    store = open_store(store_url)
    try:
        recorded = record_run(store, factory.build(PERIOD, ["a", "b"], actor="scheduler")).run_id
        assert not scheduler.period_done(store, PERIOD)
        assert scheduler.run_once(cfg, Period.parse(PERIOD), "sched_helpers:fake_run_period") == "published"
        assert latest_run_id(store, PERIOD, published=True) == recorded
        assert folder_run_id(output_dir(cfg, PERIOD)) == recorded
        assert scheduler.run_once(cfg, Period.parse(PERIOD), "sched_helpers:fake_run_period") == "skipped"
        with store.read() as s:
            assert s.execute(select(func.count()).select_from(Run)).scalar() == 1  # published, not run again
    finally:
        store.dispose()


def test_runs_recorded_before_migration_0006_count_as_published(store_url):
    from sqlalchemy import text

    from audit.store import migrate
    from audit.store.db import make_engine

    migrate.upgrade(store_url, "0005_row_ledger")
    engine = make_engine(store_url)
    with engine.begin() as conn:
        for status, finished in (("succeeded", "2026-11-01 02:00:00"), ("partial", "2026-11-01 02:00:00"),
                                 ("failed", "2026-11-01 02:00:00"), ("running", None)):
            conn.execute(text("INSERT INTO runs (period, status, engine, actor, started_at, finished_at, "
                              "sources_loaded, sources_failed, rows_read, rows_accepted, rows_quarantined, "
                              "rules_evaluated, findings, alerts_new, alerts_carried, alerts_resolved, "
                              "alerts_suppressed) VALUES (:p, :s, 'reference', 'cli', '2026-11-01 01:00:00', "
                              ":f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"),
                         {"p": PERIOD, "s": status, "f": finished})
    engine.dispose()
    migrate.upgrade(store_url)
    store = open_store(store_url, migrate=False)
    try:
        with store.read() as s:
            published = dict(s.execute(select(Run.status, Run.published_at)).all())
        assert published["succeeded"] and published["partial"]
        assert published["failed"] is None and published["running"] is None
    finally:
        store.dispose()


# -- 2. kill tests on a generated force ---------------------------------------------------------

STAGE_KILLS = ["load", "evaluate", "record"]  # the run dies before its results are recorded
PUBLISH_KILLS = ["publish.write", "publish.swap", "publish.aside"]  # recorded, then dies publishing


@pytest.fixture(scope="module")
def audited_force(tmp_path_factory) -> Path:
    """A generated force whose 2026-09 and 2026-10 were audited and published (good runs)."""
    from audit import settings as settings_mod
    from audit.generator import generate
    from audit.period import Period
    from audit.pipeline import run_period

    out = tmp_path_factory.mktemp("killed_force")
    generate(out, seed=21, months=12, end="2026-10", scale=0.1)
    settings = settings_mod.load(out / "config.toml")
    for period in ("2026-09", PERIOD):
        outcome = run_period(settings, Period.parse(period))
        assert outcome.status == "succeeded", outcome.error
    return out


def files_of(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest_holds(folder: Path) -> int:
    """Check every file the folder's manifest lists against its sha256; returns the manifest's run."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"], entry
    return manifest["run_id"]


def run_killed_at(point: str, config: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**ENV, "INTEGRITY_AUDIT_TEST_KILL_AT": point, **extra_env}
    proc = subprocess.Popen([sys.executable, "-m", "audit.cli", "run", "--period", PERIOD, "--config", str(config)],
                            cwd=config.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # engine workers it started, if any are left
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("point", STAGE_KILLS + PUBLISH_KILLS)
def test_a_run_killed_part_way_never_becomes_current(point, audited_force, tmp_path):
    from audit import settings as settings_mod
    from audit.cli import app
    from audit.period import Period
    from audit.pipeline import run_period
    from reports import atomic
    from reports.publishing import folder_run_id, output_dir

    force = tmp_path / "force"
    shutil.copytree(audited_force, force)
    config = force / "config.toml"
    settings = settings_mod.load(config)
    final = output_dir(settings, PERIOD)
    store = open_store(settings.store_url)
    cli = CliRunner()
    try:
        good = latest_run_id(store, PERIOD, published=True)
        before = files_of(final)
        assert manifest_holds(final) == good
        alerts_before = sorted((a.id, a.fingerprint) for a in list_alerts(store, period=PERIOD))
        with store.read() as s:
            n_alerts = s.execute(select(func.count()).select_from(Alert)).scalar()
        assert alerts_before, "the good run found nothing: the test would prove nothing"

        extra = {"INTEGRITY_AUDIT_PORTABLE_SWAP": "1"} if point == "publish.aside" else {}
        killed_proc = run_killed_at(point, config, **extra)
        assert killed_proc.returncode == -signal.SIGKILL, (killed_proc.stdout, killed_proc.stderr)
        with store.read() as s:
            killed = s.execute(select(func.max(Run.id))).scalar()
        assert killed != good
        recorded = point in PUBLISH_KILLS

        # what the kill left: the store and the folder, before any command looked
        row = run_row(store, killed)
        if recorded:
            assert (row.status, row.published_at) == ("succeeded", None)
            assert run_row(store, good).superseded_by == killed  # the new results replaced the old
            assert latest_run_id(store, PERIOD, published=True) is None  # nothing half-published is current
            assert unpublished_run_id(store, PERIOD) == killed
        else:
            assert row.status == "running" and locks.holder(store, PERIOD) is not None
            assert latest_run_id(store, PERIOD, published=True) == good
        staging, aside = atomic.leftovers(final)
        if point == "publish.swap":  # the new complete set is in place, not yet marked published
            assert manifest_holds(final) == killed and not staging and not aside
        elif point == "publish.aside":  # the old complete set is aside, the new one not yet in
            assert not final.exists() and len(aside) == 1 and files_of(aside[0]) == before
        else:
            assert files_of(final) == before
            assert bool(staging) == (point == "publish.write")  # a half-written temporary folder
        assert sorted((a.id, a.fingerprint) for a in list_alerts(store, period=PERIOD)) == alerts_before

        # the next commands: runs list marks the killed run (or says it is unpublished)
        listed = {r["id"]: r for r in json.loads(
            cli.invoke(app, ["runs", "list", "--json", "--config", str(config)]).stdout)}
        if recorded:
            assert listed[killed]["status"] == "succeeded" and listed[killed]["unpublished"] is True
        else:
            assert listed[killed]["status"] == "failed" and listed[killed]["error"].startswith("interrupted")
            assert len(trail.events(store, action="run.fail", obj=f"run:{killed}")) == 1
            assert locks.live_holder(store, PERIOD) is None
        shown = flat(cli.invoke(app, ["runs", "show", str(killed), "--config", str(config)]).stdout)
        assert ("Not published" in shown) if recorded else ("interrupted" in shown)

        res = cli.invoke(app, ["export", "--period", PERIOD, "-f", "json", "--to", str(tmp_path / "x"),
                               "--config", str(config)])
        if recorded:  # never exports the replaced run's (deleted) results, nor an unpublished run
            assert res.exit_code == 1 and f"report --period {PERIOD}` publishes it" in flat(res.output)
            assert not (tmp_path / "x").exists()
            if point == "publish.aside":  # the command put the old complete folder back first
                assert files_of(final) == before and atomic.leftovers(final) == ([], [])
        else:
            assert res.exit_code == 0, res.output
            manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
            assert manifest["run_id"] == good and manifest["rows"]["alerts"] == len(alerts_before)
        res = cli.invoke(app, ["report", "--period", PERIOD, "--out", str(tmp_path / "r.html"),
                               "--config", str(config)])
        assert res.exit_code == 0, res.output
        if recorded:  # `report` publishes the recorded run and says which
            assert f"run {killed} of {PERIOD} was recorded but its report and exports were never published" \
                in flat(res.output)
            assert f"(run {killed}, {len(alerts_before)} alerts)" in flat(res.output)
            assert manifest_holds(final) == killed == folder_run_id(final)
            assert latest_run_id(store, PERIOD, published=True) == killed
            assert len(trail.events(store, action="run.publish", obj=f"run:{killed}")) == 1
        else:  # the good run is still the current one, its files untouched
            assert f"(run {good}, {len(alerts_before)} alerts)" in flat(res.output)
            assert files_of(final) == before and manifest_holds(final) == good
        assert atomic.leftovers(final) == ([], [])

        # the next run of the period succeeds cleanly, with no duplicate alerts
        again = run_period(settings, Period.parse(PERIOD))
        assert again.status == "succeeded", again.error
        assert latest_run_id(store, PERIOD, published=True) == again.run_id
        assert manifest_holds(final) == again.run_id and atomic.leftovers(final) == ([], [])
        assert sorted((a.id, a.fingerprint) for a in list_alerts(store, period=PERIOD)) == alerts_before
        with store.read() as s:
            assert s.execute(select(func.count()).select_from(Alert)).scalar() == n_alerts
            assert s.execute(select(func.count()).select_from(Run).where(Run.status == "running")).scalar() == 0
            assert s.execute(select(func.count()).select_from(RunLock)).scalar() == 0
        assert run_row(store, killed).status == ("succeeded" if recorded else "failed")
        assert trail.verify(store) is None
    finally:
        store.dispose()
