"""What SQLite's page cache does to a first run's row-ledger insert (audit/store/db.py).

Inserts N rows shaped like row_ledger (text key, hashes, packed material, periods) with random
natural keys into a fresh WAL database with the ledger's (source, natural_key) index, in one
transaction, once with SQLite's default cache (2 MiB) and once with the store's
(SQLITE_CACHE_MIB). Prints seconds per size, so growth faster than the rows is visible.

    .venv/bin/python benchmarks/bench_sqlite_cache.py --sizes 1000000 2000000
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.store.db import SQLITE_CACHE_MIB  # noqa: E402

COLUMNS = ("source", "natural_key", "content_hash", "material_hash", "material", "event_date", "register",
           "first_period", "content_period", "last_period", "state", "first_run", "last_run")


def insert_seconds(n: int, cache_kib: int | None, folder: Path) -> float:
    db = folder / f"ledger_{n}_{cache_kib or 'default'}.db"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        if cache_kib:
            conn.execute(f"PRAGMA cache_size=-{cache_kib}")
        conn.execute(f"CREATE TABLE row_ledger (id INTEGER PRIMARY KEY, {', '.join(COLUMNS)})")
        conn.execute("CREATE INDEX ix_row_ledger_source_key ON row_ledger (source, natural_key)")
        rng = random.Random(1)
        rows = [("expenses", f"EXP-{rng.randrange(10**9):09d}", f"{rng.getrandbits(64):016x}",
                 f"{rng.getrandbits(64):016x}", "amount\x1e12.50\x1fdescription\x1etaxi to court", "2026-01-01",
                 "expenses", "2026-10", "2026-10", "2026-10", "present", 1, 1) for _ in range(n)]
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO row_ledger ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 2_000_000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_sqlite_cache_") as tmp:
        print(f"{'rows':>12} {'default 2 MiB s':>16} {f'{SQLITE_CACHE_MIB} MiB s':>12}")
        for n in args.sizes:
            default = insert_seconds(n, None, Path(tmp))
            store = insert_seconds(n, SQLITE_CACHE_MIB * 1024, Path(tmp))
            print(f"{n:>12,} {default:>16.2f} {store:>12.2f}")


if __name__ == "__main__":
    main()
