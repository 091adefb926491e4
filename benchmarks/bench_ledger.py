"""What the ledger of earlier runs costs: time per monthly run and store size, month by month.

Generates a force with its monthly extracts (`generate --schedule`), then replays the schedule twice
on fresh SQLite stores, one run per child process, alternating month by month so that load on the
machine falls on both alike:
  this tree      the product as it is (ledger review + late pass + ledger write)
  --baseline DIR another checkout of the product (e.g. `git worktree add /tmp/before <rev>`), or,
                 without it, this tree with the late pass off (`late_lookback_months = 0`), which
                 still reviews and writes the ledger
  --without-ledger this tree following no register at all (no ledger review, late pass or write):
                 what the ledger itself costs, apart from every other change since a baseline
  --alone        this tree only (a large scale, where only time and size per month are wanted)
Prints per month: seconds of run_period in each, their ratio, the CPU seconds of each run's process
and the processes it waited for (less sensitive than wall-clock seconds to other work on the machine),
the stage timings of both, ledger rows and the ledger's share of the store file (SQLite dbstat), and
the totals.

    .venv/bin/python benchmarks/bench_ledger.py --scale 1 5 --baseline /tmp/before
    .venv/bin/python benchmarks/bench_ledger.py --scale 5 --without-ledger
    .venv/bin/python benchmarks/bench_ledger.py --scale 20 --alone
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time, contextlib
sys.path.insert(0, sys.argv[1])
from audit.settings import load
from audit.period import Period
from audit.pipeline import run_period
settings = load(sys.argv[2] + "/config.toml")
settings.store.url = "sqlite:///" + sys.argv[3]
if sys.argv[5] == "nolate":
    settings.audit.late_lookback_months = 0
if sys.argv[5] == "noledger":  # the same product with no register followed: no review, late pass or write
    import audit.store.ledger
    audit.store.ledger.tracked = lambda register: False
with contextlib.chdir(sys.argv[2]):
    t, c = time.perf_counter(), time.process_time()
    out = run_period(settings, Period.parse(sys.argv[4]), publish=False)
    took, cpu = time.perf_counter() - t, time.process_time() - c
# CPU seconds of the run: this process, its engine worker (still alive: read from /proc) and any
# process it waited for. Much less sensitive than wall-clock seconds to other work on the machine.
import os, resource
tick = os.sysconf("SC_CLK_TCK")
for task in os.listdir("/proc/self/task"):
    for pid in open(f"/proc/self/task/{task}/children").read().split():
        with contextlib.suppress(OSError):
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(stat[11]) + int(stat[12])) / tick
waited = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu += waited.ru_utime + waited.ru_stime
print(json.dumps({"seconds": took, "cpu": cpu, "status": out.status, "late": getattr(out, "late_raised", None),
                  "stages": getattr(out, "stage_seconds", {})}))
"""


def _run(tree: Path, work: Path, db: Path, period: str, mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(work), str(db), period, mode],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"run of {period} in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ledger_bytes(db: Path) -> tuple[int, int, int]:
    """(ledger rows, ledger bytes incl. its index, store bytes)"""
    import sqlite3

    c = sqlite3.connect(db)
    try:
        rows = c.execute("SELECT COUNT(*) FROM row_ledger").fetchone()[0]
        try:
            size = c.execute("SELECT SUM(pgsize) FROM dbstat WHERE name IN ('row_ledger', 'ix_row_ledger_source_key')").fetchone()[0]
        except sqlite3.OperationalError:  # no dbstat in this SQLite build
            size = None
    finally:
        c.close()
    total = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    return rows, size or 0, total


def bench(scale: float, seed: int, months: int, end: str, baseline: Path | None, root: Path,
          alone: bool = False, without_ledger: bool = False) -> list[tuple]:
    from audit.generator.run import generate
    from audit.generator.schedule import use_month

    out = root / f"s{scale:g}"
    t = time.perf_counter()
    generate(out, seed=seed, months=months, end=end, scale=scale, schedule=True)
    print(f"scale {scale:g}: generated in {time.perf_counter() - t:.1f} s", flush=True)
    periods = sorted(p.name for p in (out / "schedule").iterdir())
    work_a, work_b = root / f"a{scale:g}", root / f"b{scale:g}"
    work_a.mkdir()
    work_b.mkdir()
    db_a, db_b = root / f"a{scale:g}.db", root / f"b{scale:g}.db"
    tree_b, mode_b = (baseline, "full") if baseline else (ROOT, "noledger" if without_ledger else "nolate")
    rows = []
    for i, period in enumerate(periods):
        use_month(out, period, work_a)
        use_month(out, period, work_b)
        order = [("a", ROOT, work_a, db_a, "full")] + ([] if alone else [("b", tree_b, work_b, db_b, mode_b)])
        if i % 2:
            order.reverse()
        got = {"b": {"seconds": float("nan"), "cpu": float("nan")}}
        got.update({name: _run(tree, work, db, period, mode) for name, tree, work, db, mode in order})
        n, ledger, store = _ledger_bytes(db_a)
        rows.append((scale, period, got["a"]["seconds"], got["b"]["seconds"], got["a"]["late"], n, ledger, store,
                     got["a"]["cpu"], got["b"]["cpu"]))
        print(f"  {period}: this tree {got['a']['seconds']:.2f} s, baseline {got['b']['seconds']:.2f} s "
              f"({got['a']['seconds'] / got['b']['seconds']:.2f}x); CPU {got['a']['cpu']:.2f} / "
              f"{got['b']['cpu']:.2f} s ({got['a']['cpu'] / got['b']['cpu']:.2f}x); late findings {got['a']['late']}; "
              f"ledger {n:,} rows, {ledger / 1e6:.1f} MB of a {store / 1e6:.1f} MB store", flush=True)
        if not alone:
            print("    stages (this tree / baseline): " + ", ".join(
                f"{k} {v:.2f}/{got['b'].get('stages', {}).get(k, float('nan')):.2f}"
                for k, v in got["a"].get("stages", {}).items()), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, nargs="+", default=[1.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--end", default="2026-10")
    ap.add_argument("--baseline", type=Path, help="another checkout of the product to compare with")
    ap.add_argument("--alone", action="store_true",
                    help="this tree only, no baseline (time and store size per month at a large scale)")
    ap.add_argument("--without-ledger", action="store_true",
                    help="compare with this tree following no register (no ledger review, late pass or "
                         "ledger write): the ledger's own cost, apart from everything else since a baseline")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_ledger_"))
    try:
        all_rows = []
        for scale in args.scale:
            all_rows += bench(scale, args.seed, args.months, args.end, args.baseline, root, args.alone,
                              args.without_ledger)
        print("\nscale | months | this tree s | baseline s | ratio | CPU s this / baseline | CPU ratio | "
              "first month ratio | last month ratio | ledger rows | ledger MB | store MB")
        for scale in args.scale:
            r = [x for x in all_rows if x[0] == scale]
            a, b = sum(x[2] for x in r), sum(x[3] for x in r)
            ca, cb = sum(x[8] for x in r), sum(x[9] for x in r)
            print(f"{scale:g} | {len(r)} | {a:.1f} | {b:.1f} | {a / b:.2f} | {ca:.1f} / {cb:.1f} | {ca / cb:.2f} | "
                  f"{r[0][2] / r[0][3]:.2f} | "
                  f"{r[-1][2] / r[-1][3]:.2f} | {r[-1][5]:,} | {r[-1][6] / 1e6:.1f} | {r[-1][7] / 1e6:.1f}")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
