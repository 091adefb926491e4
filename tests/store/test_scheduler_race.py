"""Two schedulers started at the same moment on a fresh store never die: not with "table
apscheduler_jobs already exists" (APScheduler's check-then-create of its job table), nor otherwise.

Two real processes, released together by a barrier, each build and start a scheduler on the same
brand-new store (an SQLite file; a PostgreSQL schema), REPEATS times on a new store each time.
"""
from __future__ import annotations

import multiprocessing as mp
import traceback
from pathlib import Path

import pytest
from sqlalchemy import inspect

from audit.store.db import make_engine
from pgschema import scratch_schema

REPEATS = 10
RUNNER = "sched_helpers:fake_run_period"


def _config(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(f'[audit]\ndata_dir = "{folder / "data"}"\n\n[store]\nurl = "{url}"\n\n'
                    '[schedule]\ncron = "0 2 1 * *"\ntimezone = "Europe/London"\nmisfire_grace_days = 7\n')
    return path


def _start_schedulers(configs: list[str], barrier, results) -> None:  # runs in a child process
    from apscheduler.schedulers.background import BackgroundScheduler

    from audit import scheduler, settings as settings_mod

    for i, config in enumerate(configs):
        try:
            cfg = settings_mod.load(config)
        except BaseException:  # noqa: BLE001 - reported to the parent
            results.put((i, traceback.format_exc()))
            continue
        barrier.wait(timeout=120)  # both processes start this store's scheduler at the same moment
        try:
            sched = scheduler.build_scheduler(cfg, RUNNER, BackgroundScheduler)
            sched.start(paused=True)  # creates the job table (if needed) and stores the job
            sched.shutdown(wait=False)
            results.put((i, None))
        except BaseException:  # noqa: BLE001 - reported to the parent
            results.put((i, traceback.format_exc()))


def _race(configs: list[Path]) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_start_schedulers, args=([str(c) for c in configs], barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=300) for _ in range(2 * len(configs))]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    return [f"store {i}: {error}" for i, error in outcomes if error]


def _has_job(url: str) -> bool:
    from audit import scheduler

    engine = make_engine(url)
    try:
        return inspect(engine).has_table(scheduler.JOBS_TABLE)
    finally:
        engine.dispose()


def test_two_schedulers_start_at_once_on_a_fresh_sqlite_store(tmp_path):
    from audit import scheduler

    urls = [f"sqlite:///{tmp_path / f's{i}' / 'store.db'}" for i in range(REPEATS)]
    configs = [_config(tmp_path / f"s{i}", url) for i, url in enumerate(urls)]
    assert _race(configs) == []
    for url in urls:
        assert _has_job(url) and scheduler.stored_next_run_time(url) is not None


def test_two_schedulers_start_at_once_on_a_fresh_postgresql_schema(tmp_path, pg_admin_url):
    from contextlib import ExitStack

    from audit import scheduler

    with ExitStack() as stack:
        urls = [stack.enter_context(scratch_schema(pg_admin_url, "t_sched")) for _ in range(REPEATS)]
        configs = [_config(tmp_path / f"s{i}", url) for i, url in enumerate(urls)]
        assert _race(configs) == []
        for url in urls:
            assert _has_job(url) and scheduler.stored_next_run_time(url) is not None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ensure_jobs_table_is_idempotent(backend, tmp_path, request):
    from audit import scheduler
    from audit.store import open_store

    url = (f"sqlite:///{tmp_path / 'store.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_url"))
    open_store(url).dispose()
    for _ in range(2):
        scheduler.ensure_jobs_table(url)
    assert _has_job(url)
