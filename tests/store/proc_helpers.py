"""Entry points for the store tests' real subprocesses: python proc_helpers.py <what> <url> ...

record <url> <period> <n>     record a run of n findings (big enough to kill mid-transaction)
hold-lock <url> <period> <s>  take the period lock, print "locked", hold it for s seconds
scheduler <config> <dir> <s>  run a scheduler (fake runner), started together with a peer, until its job fired
"""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import select

import factory
from audit.store import RunLocked, open_store, period_lock, record_run
from audit.store.models import RunLock


def main(argv: list[str]) -> int:
    what, url, period = argv[:3]
    if what == "scheduler":
        return run_scheduler(url, period, float(argv[3]))
    store = open_store(url)
    try:
        if what == "record":
            n = int(argv[3])
            summary = record_run(store, factory.build(period, [f"k{i}" for i in range(n)], actor="subprocess"))
            print(f"recorded run {summary.run_id}", flush=True)
        elif what == "hold-lock":
            with period_lock(store, period):
                print("locked", flush=True)
                time.sleep(float(argv[3]))
    except RunLocked as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 3
    return 0


def run_scheduler(config: str, barrier: str, seconds: float) -> int:
    """Build a scheduler, wait until every peer has built its own (files in `barrier`), start it,
    and stop once its job has fired (here or in a peer) and no run holds a lock."""
    from pathlib import Path

    from apscheduler.schedulers.background import BackgroundScheduler

    from audit import scheduler, settings
    from audit.store import Store
    from sched_helpers import RUNNER

    cfg = settings.load(config)
    scheduler.setup_logging(cfg)
    sched = scheduler.build_scheduler(cfg, RUNNER, BackgroundScheduler)
    gate, peers = Path(barrier), 2
    (gate / f"ready-{os.getpid()}").touch()
    end = time.monotonic() + seconds
    while len(list(gate.glob("ready-*"))) < peers and time.monotonic() < end:
        time.sleep(0.05)
    sched.start()
    store = Store(cfg.store_url)
    time.sleep(1.0)
    while time.monotonic() < end:
        with store.read() as s:
            busy = s.execute(select(RunLock.period)).first() is not None
        if not busy and scheduler.stored_next_run_time(cfg.store_url) > datetime.now(timezone.utc):
            break
        time.sleep(0.2)
    sched.shutdown(wait=True)
    store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
