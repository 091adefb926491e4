"""What the row ledger's seal (audit/store/ledger_seal.py) costs a monthly run.

Generates a force (`--scale`), runs its first audit of `--end` (which writes the ledger and its
seals), then reviews the same month's sources against the ledger `--runs` times, as a later run of
that month would, and prints the review's seconds and, inside them, the seconds of checking the seal
(hashing every ledger row) and of computing the seal the run would leave.

    .venv/bin/python benchmarks/bench_ledger_seal.py --scale 20 --runs 3
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--end", default="2026-10")
    args = ap.parse_args()

    import connectors
    from audit.period import Period
    from audit.pipeline import run_period
    from audit.settings import load
    from audit.store import ledger, open_store
    from bench_detection import _time_functions, generate

    folder = Path(tempfile.mkdtemp(prefix="bench_seal_"))
    generate(folder, 1, args.scale, 12, args.end)
    settings = load(folder / "config.toml")
    settings.store.url = f"sqlite:///{folder / 'store.db'}"
    period = Period.parse(args.end)
    with contextlib.chdir(folder):
        run_period(settings, period, engine="reference", publish=False)
        frames = connectors.load_sources(settings.sources, settings.base_dir).frames
    check, after = "audit.store.ledger_seal:check", "audit.store.ledger_seal:after_writes"
    spent = _time_functions([check, after])  # wall seconds inside each, wherever it is called from
    store = open_store(settings.store_url)
    for i in range(args.runs):
        spent.clear()
        t = time.perf_counter()
        review = ledger.review(store, frames, period)
        total = time.perf_counter() - t
        rows = sum(s.sealed_rows for s in review.sources)
        print(f"review {i + 1}: {total:.2f} s for {rows:,} ledger rows; checking the seals {spent[check]:.2f} s, "
              f"the seals after the writes {spent[after]:.2f} s; broken: {review.broken_seals or 'none'}")
    store.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
