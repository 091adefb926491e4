"""Real processes: SIGKILL part way through recording; the period lock between processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

import factory
from audit.store import locks, open_store, record_run
from audit.store.models import Alert, AlertOccurrence, Run, RunLock
from audit.store.queries import latest_run, list_alerts

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "proc_helpers.py"), *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 60.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_sigkill_mid_transaction_leaves_previous_results_and_rerun_succeeds(store):
    previous = record_run(store, factory.build("2026-10", ["a", "b", "c"]))
    proc = spawn("record", store.url, "2026-10", "6000")

    def recording_started():
        with store.read() as s:
            return s.execute(select(func.count()).select_from(Run).where(Run.status == "running")).scalar() == 1

    assert wait_for(recording_started), proc.communicate()
    time.sleep(1.0)  # inside the big transaction (it takes several seconds for 6000 findings)
    assert proc.poll() is None, "the recording finished before it could be killed; raise n"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # consistent: the previous run is still the current result; the killed one shows as running
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar() == 3
        assert s.execute(select(func.count()).select_from(AlertOccurrence)).scalar() == 3
        statuses = dict(s.execute(select(Run.id, Run.status)).all())
    assert statuses[previous.run_id] == "succeeded" and sorted(statuses.values()) == ["running", "succeeded"]
    assert len(list_alerts(store, period="2026-10")) == 3
    # the killed run is never the period's run: the previous one stays current
    assert latest_run(store, "2026-10", evidence=False).id == previous.run_id
    # the dead process's lock is stale (pid gone on this host): the rerun breaks it and succeeds
    again = record_run(store, factory.build("2026-10", ["a", "b", "c", "d"]))
    assert again.counts["alerts_new"] == 4
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(Run).where(Run.superseded_by.is_(None))).scalar() == 1
        assert s.execute(select(func.count()).select_from(RunLock)).scalar() == 0


def test_period_lock_refuses_a_second_process(store_url):
    holder = spawn("hold-lock", store_url, "2026-10", "20")
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = spawn("record", store_url, "2026-10", "5")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 3, (out, err)
        assert f"period 2026-10 is already being run by pid {holder.pid} on host" in err
        other = spawn("record", store_url, "2026-11", "5")  # another period is not blocked
        assert other.wait(timeout=60) == 0
    finally:
        holder.kill()
        holder.wait()
    store = open_store(store_url)
    assert list_alerts(store, period="2026-10") == []
    assert len(list_alerts(store, period="2026-11")) == 5
    store.dispose()


def test_lock_older_than_the_limit_is_broken(store, clock):
    from datetime import timedelta

    with store.write() as s:
        s.add(RunLock(period="2026-10", token="x", pid=1, host="elsewhere", acquired_at=clock.now))
    try:
        locks.acquire(store, "2026-10")
        raise AssertionError("a fresh lock from another host must not be broken")
    except locks.RunLocked as e:
        assert "pid 1 on host elsewhere" in str(e)
    clock.now += timedelta(hours=locks.STALE_HOURS + 1)
    token = locks.acquire(store, "2026-10")
    assert locks.holder(store, "2026-10").token == token


def test_a_sqlite_store_connection_has_the_large_page_cache(sqlite_url):
    """The row ledger's index outgrows SQLite's 2 MiB default cache, and each insert then rereads
    pages (a first run's insert took about 1.5x as long: benchmarks/bench_sqlite_cache.py); every
    connection of the store sets the larger one."""
    from audit.store.db import SQLITE_CACHE_MIB, make_engine

    engine = make_engine(sqlite_url)
    try:
        for _ in range(2):  # a fresh connection of the pool each time
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_MIB * 1024
                conn.invalidate()
    finally:
        engine.dispose()
