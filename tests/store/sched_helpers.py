"""A runner the scheduler tests inject instead of audit.pipeline.run_period: it records a real run
(three findings) for the period with the given actor and marks it published (writing no files);
FAKE_RUN_SLEEP seconds of work first."""
from __future__ import annotations

import os
import time

import factory
from audit.store import open_store, record_run
from audit.store.record import mark_published

RUNNER = "sched_helpers:fake_run_period"


def fake_run_period(settings, period, actor="cli"):
    time.sleep(float(os.environ.get("FAKE_RUN_SLEEP", "0")))
    store = open_store(settings.store_url)
    try:
        summary = record_run(store, factory.build(str(period), ["a", "b", "c"], actor=actor))
        mark_published(store, summary.run_id, actor=actor)  # as audit.pipeline.run_period publishes it
        return summary
    finally:
        store.dispose()
