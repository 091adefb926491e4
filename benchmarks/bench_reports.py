"""Benchmark: time and size of the HTML report and each export for a RunView of N alerts.

    .venv/bin/python benchmarks/bench_reports.py [--alerts 50 500 2000] [--out bench-out/reports]

Uses the hand-built RunView of tests/reports/report_fixtures.py (hostile text, ~1.8 facts and
~1.5 links per alert). Prints one line per step; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
import resource
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "reports")]

from report_fixtures import make_run  # noqa: E402

from reports import export, html  # noqa: E402
from reports.pseudonym import Pseudonymiser  # noqa: E402


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, _rss_mb()


def _rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, nargs="+", default=[50, 500, 2000])
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "reports")
    args = ap.parse_args()
    print(f"{'alerts':>7} {'step':<22} {'seconds':>8} {'peak RSS MB':>11} {'size':>12}")
    for n in args.alerts:
        run = make_run(n_alerts=n)
        folder = args.out / f"n{n}"
        path, secs, peak = _timed(lambda: html.write_report(run, folder / "report.html"))
        print(f"{n:>7} {'html report':<22} {secs:>8.2f} {peak:>11.0f} {path.stat().st_size:>12,}")
        for fmt in export.FORMATS:
            files, secs, peak = _timed(lambda: export.export(run, folder, [fmt]))
            size = sum(p.stat().st_size for p in files.by_format[fmt])
            print(f"{n:>7} {fmt + ' export':<22} {secs:>8.2f} {peak:>11.0f} {size:>12,}")
        files, secs, peak = _timed(lambda: export.export(
            run, folder / "pseudo", ["all"], pseudonymise_names=True,
            pseudonymiser=Pseudonymiser(b"bench")))
        size = sum(p.stat().st_size for p in files.paths)
        print(f"{n:>7} {'all, pseudonymised':<22} {secs:>8.2f} {peak:>11.0f} {size:>12,}")


if __name__ == "__main__":
    main()
