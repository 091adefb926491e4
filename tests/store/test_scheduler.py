"""The scheduler: a missed run catches up exactly once; two schedulers run a period once; run-due."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from audit import scheduler, settings as settings_mod
from audit.period import Period
from audit.store import open_store, record_run
from audit.store.models import Run
from sched_helpers import RUNNER
from test_processes import spawn, wait_for


def run_count(store, **where) -> int:
    q = select(func.count()).select_from(Run)
    for k, v in where.items():
        q = q.where(getattr(Run, k) == v)
    with store.read() as s:
        return s.execute(q).scalar()


def seed_missed_job(cfg, days_ago: float) -> datetime:
    """What a server that was down leaves behind: the job store holds a next run time in the past."""
    past = datetime.now(timezone.utc) - timedelta(days=days_ago)
    sched = scheduler.build_scheduler(cfg, RUNNER, BackgroundScheduler)
    sched.start(paused=True)  # stores the job (next run in the future, so nothing fires)
    sched.shutdown()
    jobstore = SQLAlchemyJobStore(url=cfg.store_url, tablename=scheduler.JOBS_TABLE)
    jobstore.start(BackgroundScheduler(timezone=sched.timezone), "default")
    job = jobstore.lookup_job(scheduler.JOB_ID)
    job.next_run_time = past
    jobstore.update_job(job)
    jobstore.shutdown()
    return past


def test_missed_runs_catch_up_exactly_once_on_restart(config_file, store_url):
    cfg = settings_mod.load(config_file)  # daily cron: five missed firings
    past = seed_missed_job(cfg, 5)
    assert abs((scheduler.stored_next_run_time(store_url) - past).total_seconds()) < 1
    store = open_store(store_url)
    sched = scheduler.build_scheduler(cfg, RUNNER, BackgroundScheduler)
    sched.start()
    try:
        assert wait_for(lambda: run_count(store, status="succeeded") == 1, timeout=60)
        time.sleep(2)
    finally:
        sched.shutdown(wait=True)
    assert run_count(store) == 1
    assert run_count(store, actor="scheduler") == 1
    assert scheduler.stored_next_run_time(store_url) > datetime.now(timezone.utc)
    store.dispose()


@pytest.mark.slow  # two real scheduler processes: ~30 s on a loaded 2-core machine
def test_two_schedulers_on_one_database_run_the_period_once(config_file, store_url, monkeypatch, tmp_path):
    cfg = settings_mod.load(config_file)
    seed_missed_job(cfg, 1)
    import test_processes

    monkeypatch.setitem(test_processes.ENV, "FAKE_RUN_SLEEP", "2")
    procs = [spawn("scheduler", str(config_file), str(tmp_path), "60") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    logs = " ".join(err for _, err in outs)
    assert logs.count("running period") == 1, logs
    store = open_store(store_url)
    assert run_count(store) == 1 and run_count(store, status="succeeded") == 1
    store.dispose()


def test_run_due_runs_each_due_period_once(config_file, store_url):
    text = config_file.read_text().replace('cron = "0 2 * * *"', 'cron = "0 2 1 * *"')
    config_file.write_text(text)
    cfg = settings_mod.load(config_file)
    now = datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)
    assert [str(p) for p in scheduler.due_periods(cfg, now)] == ["2026-10"]  # first use: latest only
    store = open_store(store_url)
    import factory

    from audit.store.record import mark_published

    mark_published(store, record_run(store, factory.build("2026-07", ["a"], actor="scheduler")).run_id)
    assert [str(p) for p in scheduler.due_periods(cfg, now)] == ["2026-08", "2026-09", "2026-10"]
    assert scheduler.run_due(cfg, RUNNER, now) == [("2026-08", "ran"), ("2026-09", "ran"), ("2026-10", "ran")]
    assert scheduler.run_due(cfg, RUNNER, now) == []
    assert run_count(store, actor="scheduler") == 4
    st = scheduler.status(cfg)
    assert [r["period"] for r in st["last_runs"][:3]] == ["2026-10", "2026-09", "2026-08"]
    assert st["next_run"].day == 1 and st["next_run"].hour == 2
    store.dispose()


def test_scheduled_run_leaves_a_locked_period_to_its_owner(config_file, store_url):
    cfg = settings_mod.load(config_file)
    holder = spawn("hold-lock", store_url, "2026-10", "30")
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert scheduler.run_once(cfg, Period.parse("2026-10"), RUNNER) == "locked"
    finally:
        holder.kill()
        holder.wait()
    store = open_store(store_url)
    assert run_count(store) == 0
    assert scheduler.run_once(cfg, Period.parse("2026-10"), RUNNER) == "ran"  # dead owner: stale lock broken
    assert scheduler.run_once(cfg, Period.parse("2026-10"), RUNNER) == "skipped"
    assert run_count(store) == 1
    store.dispose()
