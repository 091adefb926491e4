"""Generator throughput: wall time, CPU time, peak memory and rows written per source, per scale.

Usage: .venv/bin/python benchmarks/bench_generator.py [--scale S [S ...]] [--seed N] [--schedule]
       (default: --scale 1 5)
Each scale runs in a fresh process, so peak RSS (getrusage ru_maxrss) and CPU seconds (user + system
of that process) are per scale; wall time is noisy on a shared machine, CPU time much less so.
Ends with a table of rows per register by scale (the figures `generate --help` quotes).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, time
from pathlib import Path
from audit.generator import generate
out, scale, seed, schedule = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
t = time.perf_counter()
r = generate(out, seed=seed, months=12, end="2026-10", scale=scale, schedule=schedule)
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
print(json.dumps({"rows": r.rows, "seconds": round(wall, 1), "cpu": round(ru.ru_utime + ru.ru_stime, 1),
                  "scenarios": r.scenarios, "decoys": r.decoys, "bytes": size,
                  "peak_rss_mb": round(ru.ru_maxrss / 1024)}))
"""


def run(scale: float, seed: int, schedule: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, tmp, str(scale), str(seed), "1" if schedule else "0"],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, nargs="+", default=[1.0, 5.0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schedule", action="store_true", help="also write the monthly extracts")
    args = ap.parse_args(argv)
    results = {}
    for scale in args.scale:
        res = results[scale] = run(scale, args.seed, args.schedule)
        total = sum(res["rows"].values())
        print(f"scale {scale:g}: {res['seconds']} s wall, {res['cpu']} s CPU, peak RSS {res['peak_rss_mb']:,} MB, "
              f"{res['bytes'] / 1e6:,.1f} MB on disk, {total:,} rows ({total / max(res['cpu'], 0.1):,.0f} rows per "
              f"CPU s), {res['scenarios']} scenarios, {res['decoys']} decoys", flush=True)
    names = list(next(iter(results.values()))["rows"])
    print("\n| register | " + " | ".join(f"scale {s:g}" for s in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in names + ["total"]:
        cells = [f"{(sum(r['rows'].values()) if name == 'total' else r['rows'][name]):,}" for r in results.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for label, key in (("wall s", "seconds"), ("CPU s", "cpu"), ("peak RSS MB", "peak_rss_mb")):
        print(f"| {label} | " + " | ".join(f"{r[key]:,}" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
