"""Entry points for the store tests' real subprocesses: python proc_helpers.py <what> <url> ...

record <url> <period> <n>     record a run of n findings (big enough to kill mid-transaction)
hold-lock <url> <period> <s>  take the period lock, print "locked", hold it for s seconds
"""
from __future__ import annotations

import sys
import time

import factory
from audit.store import RunLocked, open_store, period_lock, record_run


def main(argv: list[str]) -> int:
    what, url, period = argv[:3]
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
