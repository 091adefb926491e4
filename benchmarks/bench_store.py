"""Time to record a run of N findings (3 facts and 3 entity links each) into the store, on SQLite
and PostgreSQL: first recording (all alerts new), a rerun of the same period (replace, no
duplicates) and the next month (all carried over), plus run_view with full evidence.

    .venv/bin/python benchmarks/bench_store.py [N ...]      (default: 1000 10000)
PostgreSQL: $BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), own schema.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "store")]

import factory  # noqa: E402
from audit.store import open_store, record_run  # noqa: E402
from audit.store.queries import run_view  # noqa: E402
from pgschema import scratch_schema  # noqa: E402

PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def bench(label: str, url: str, n: int) -> None:
    store = open_store(url)
    keys = [f"k{i}" for i in range(n)]
    timings = []
    for step, period in (("first", "2026-09"), ("rerun", "2026-09"), ("next month", "2026-10")):
        ri = factory.build(period, keys)
        t = time.perf_counter()
        s = record_run(store, ri)
        timings.append((step, time.perf_counter() - t, s.counts))
    t = time.perf_counter()
    view = run_view(store, s.run_id)
    t_view = time.perf_counter() - t
    store.dispose()
    for step, secs, c in timings:
        print(f"{label:10s} N={n:>6}  {step:10s} {secs:7.2f} s  ({n / secs:8.0f} findings/s; "
              f"new {c['alerts_new']}, carried {c['alerts_carried']})")
    print(f"{label:10s} N={n:>6}  run_view   {t_view:7.2f} s  ({len(view.alerts)} alerts, "
          f"{sum(len(a.facts) for a in view.alerts)} facts)")


def main(sizes: list[int]) -> None:
    import psycopg

    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            bench("sqlite", f"sqlite:///{d}/bench.db", n)
        try:
            with scratch_schema(PG, "bench_store") as url:
                bench("postgresql", url, n)
        except psycopg.OperationalError as e:
            print(f"postgresql stopped: {e}")  # not reachable, or lost during the run


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
