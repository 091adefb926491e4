"""What a monthly run pays whatever the force's size: the floor under `audit / bare read` at scale 1.

Times, in one fresh process each (so nothing is cached), the imports of the pipeline, creating a new
SQLite store (every migration) and loading the configured rule library (54 shipped files through
the bounded YAML loader). The last two are inside a run's measured total; the imports are not (a
scheduler or web process pays them once). Compare with the bare read of a
scale-1 force (`bench_detection.py --cost --scale 1`, about 0.4-0.65 s on the test machine): the
rule library alone takes about as long as three bare reads (#16).

    .venv/bin/python benchmarks/bench_fixed_costs.py --runs 3
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, tempfile, time
from pathlib import Path
t = time.perf_counter()
import audit.pipeline
from audit.settings import load
from audit.store import open_store
out = {"imports": time.perf_counter() - t}
settings = load(Path(%r) / "config.toml")
t = time.perf_counter(); open_store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'store.db'}").dispose()
out["new store"] = time.perf_counter() - t
t = time.perf_counter(); audit.pipeline._load_library(settings); out["rule library"] = time.perf_counter() - t
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, "-c", CHILD % str(ROOT)], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{'fixed cost':24s}" + "".join(f"{'run ' + str(i + 1):>9s}" for i in range(len(runs))))
    for name in runs[0]:
        print(f"{name:24s}" + "".join(f"{r[name]:8.2f}s" for r in runs))
    print(f"{'sum':24s}" + "".join(f"{sum(r.values()):8.2f}s" for r in runs))


if __name__ == "__main__":
    main()
