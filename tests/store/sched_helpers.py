"""A runner the scheduler tests inject instead of audit.pipeline.run_period: it records a real run
(three findings) for the period with the given actor; FAKE_RUN_SLEEP seconds of work first."""
from __future__ import annotations

import os
import time

import factory
from audit.store import open_store, record_run

RUNNER = "sched_helpers:fake_run_period"


def fake_run_period(settings, period, actor="cli"):
    time.sleep(float(os.environ.get("FAKE_RUN_SLEEP", "0")))
    store = open_store(settings.store_url)
    try:
        return record_run(store, factory.build(str(period), ["a", "b", "c"], actor=actor))
    finally:
        store.dispose()
