"""Benchmark: the gift x procurement sequence rule on both engines at 10k, 100k and 1M facts.

Each (size, engine) runs in its own subprocess so peak memory (ru_maxrss) is per case.
Prints wall time, CPU seconds of the evaluating process and of its durable workers, peak RSS of
each, findings and whether the engines agree, then durable / reference in wall time and in CPU
(the machine is shared: the CPU ratio is the steadier figure). Usage:
    .venv/bin/python benchmarks/bench_engine.py [--sizes 10000 100000 1000000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RULE = """schema_version: 1
id: 33333333-3333-4333-8333-333333333333
name: bench_gift_from_recent_supplier
title: Gift from a supplier paid within 90 days
description: Benchmark rule.
status: test
level: high
inputs:
  gift: {register: gifts_hospitality, where: {outcome|eq: accepted}}
  purchase: {register: procurement, where: {net_amount|gt: 0}}
match:
  kind: sequence
  on: {supplier: {gift: org_key, purchase: org_key}}
  dates: {gift: offered_date, purchase: transaction_date}
  within_days: {param: window_days}
params:
  window_days: {type: int, default: 90}
alert:
  title: "{gift.record_id} within {params.window_days} days of {purchase.net_amount}"
  subject: gift.person_key
  dedup: [gift.record_id]
tests:
  - {name: p, given: {}, period: 2026-12, expect: [{gift: []}]}
  - {name: n, given: {}, period: 2026-12, expect: []}
"""

CHILD = """
import hashlib, json, resource, sys, time
import numpy as np, pandas as pd
sys.path.insert(0, {root!r})
from audit.period import Period
from rules.compiler import compile_rule
from rules.evaluate import evaluate_rule
from rules.loader import load_text
from rules.model import from_document
n, engine = {n}, {engine!r}
rng = np.random.default_rng(7)
n_gifts = max(10, n // 100); n_purch = n - n_gifts; orgs = max(10, n // 100)
def days(k): return pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, k), unit="D")
gifts = pd.DataFrame({{"fact_id": [f"G{{i}}" for i in range(n_gifts)], "record_id": [f"G{{i}}" for i in range(n_gifts)],
    "person_key": [f"P{{i % 500}}" for i in range(n_gifts)], "org_key": [f"O{{x}}" for x in rng.integers(0, orgs, n_gifts)],
    "offered_date": days(n_gifts), "outcome": "accepted"}})
purch = pd.DataFrame({{"fact_id": [f"T{{i}}" for i in range(n_purch)], "org_key": [f"O{{x}}" for x in rng.integers(0, orgs, n_purch)],
    "transaction_date": days(n_purch), "net_amount": pd.Series(rng.integers(1, 10**6, n_purch), dtype="Int64")}})
for df in (gifts, purch):
    for c in df.columns:
        if df[c].dtype == "str" or df[c].dtype == object: df[c] = df[c].astype("object")
rule = compile_rule(from_document(load_text({rule!r}, "bench.yaml")))
t, cpu = time.perf_counter(), time.process_time()
found, stats = evaluate_rule(rule, {{"gifts_hospitality": gifts, "procurement": purch}}, Period(2026, 12), None, engine)
wall, cpu = time.perf_counter() - t, time.process_time() - cpu
from rules.engines import isolated
def worker_cpu():  # CPU seconds of every worker process, counted once they have exited
    if isolated._POOL is not None:
        isolated._POOL.close()
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime
digest = hashlib.sha256(json.dumps(sorted(str(f.key()) for f in found)).encode()).hexdigest()
print(json.dumps({{"wall": wall, "cpu": cpu, "worker_cpu": worker_cpu(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mb": isolated.peak_worker_mb,
                  "findings": len(found), "matches": stats.matches, "digest": digest, "partitions": stats.partitions}}))
"""


def run_case(n: int, engine: str) -> dict:
    code = CHILD.format(root=str(ROOT), n=n, engine=engine, rule=RULE)
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = ap.parse_args()
    print("durable = the production engine (durable-rules in worker processes, batches of whole partitions);"
          " durable-inprocess = the same work in one process. peak MB: this process / the largest worker")
    print(f"{'facts':>10} {'engine':>17} {'wall s':>8} {'CPU s':>6} {'worker CPU s':>12} {'peak MB':>8} {'worker MB':>9} "
          f"{'matches':>9} {'findings':>9} {'partitions':>10}  agree")
    for n in args.sizes:
        results = {e: run_case(n, e) for e in ("reference", "durable", "durable-inprocess")}
        ok = all("error" not in r for r in results.values())
        agree = ok and len({(r["digest"], r["matches"]) for r in results.values()}) == 1
        for e, r in results.items():
            if "error" in r:
                print(f"{n:>10,} {e:>17} FAILED {r['error']}")
                continue
            print(f"{n:>10,} {e:>17} {r['wall']:>8.2f} {r['cpu']:>6.2f} {r['worker_cpu']:>12.2f} {r['rss_mb']:>8.0f} "
                  f"{r['worker_mb'] or 0:>9.0f} {r['matches']:>9,} {r['findings']:>9,} {r['partitions']:>10,}  "
                  f"{'yes' if agree else 'no'}")
        if ok:
            ref, dur = results["reference"], results["durable"]
            wall = dur["wall"] / max(ref["wall"], 1e-9)
            cpu = (dur["cpu"] + dur["worker_cpu"]) / max(ref["cpu"], 1e-9)
            print(f"{'':>10} durable / reference: {wall:.1f}x wall, {cpu:.1f}x CPU (process + workers); "
                  f"largest durable worker {dur['worker_mb'] or 0:,.0f} MB")


if __name__ == "__main__":
    main()
