"""Generator throughput: rows written per source, wall time and peak memory at given scales.

Usage: .venv/bin/python benchmarks/bench_generator.py [SCALE ...]   (default: 1 10)
Each scale runs in a fresh process so peak RSS is per scale.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from audit.generator import generate
t = time.perf_counter()
r = generate(Path(sys.argv[1]), seed=1, months=12, end="2026-10", scale=float(sys.argv[2]))
size = sum(p.stat().st_size for p in Path(sys.argv[1]).iterdir())
print(json.dumps({"rows": r.rows, "seconds": round(time.perf_counter() - t, 1), "scenarios": r.scenarios,
                  "decoys": r.decoys, "bytes": size,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main(scales: list[float]) -> None:
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([sys.executable, "-c", CHILD, tmp, str(scale)], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
        res = json.loads(out)
        print(f"scale {scale:g}: {res['seconds']} s, peak RSS {res['peak_rss_mb']} MB, "
              f"{res['bytes'] / 1e6:.1f} MB on disk, {res['scenarios']} scenarios, {res['decoys']} decoys")
        for name, n in res["rows"].items():
            print(f"  {name:<20} {n:>9,}")
        print(f"  {'total':<20} {sum(res['rows'].values()):>9,}")


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [1.0, 10.0])
