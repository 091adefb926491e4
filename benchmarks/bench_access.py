"""Access logs (issue #19): rows per month and generation cost, and recall of the access rules.

    # generate a force (if FOLDER has none) and its access logs; print rows, rate per staff, CPU, peak RSS
    .venv/bin/python benchmarks/bench_access.py gen --scale 1 5 --work /tmp/access_bench
    # after `integrity-audit run -p 2026-10 -c FOLDER/config.toml`: planted cases found, decoys alerted
    .venv/bin/python benchmarks/bench_access.py recall FOLDER

`gen` runs each scale in a child process so its peak RSS is its own (resource.getrusage of the child).
`recall` reads FOLDER/access_truth.json and the run's store (FOLDER/data/integrity-audit.db, SQLite):
an access row cited by an alert of an access rule is matched to the planted case or decoy that
holds it; alerts citing no truth row are counted as background.
"""
from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(folder: str, scale: float, seed: int, rate: float) -> None:
    from audit.generator import generate
    from audit.generator.access_logs import generate_access_logs

    out = Path(folder)
    if not (out / "config.toml").exists():
        generate(out, seed=seed, months=12, end="2026-10", scale=scale)
    r = generate_access_logs(out, seed=seed, rate=rate, add_sources=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"scale": scale, "staff": r.staff, "access_rows": r.access_rows, "subject_rows": r.subject_rows,
                      "seconds": round(r.seconds, 1), "cpu_seconds": round(r.cpu_seconds, 1),
                      "peak_rss_mb": round(peak), "by_role": r.by_role,
                      "csv_mb": round((out / "system_access.csv").stat().st_size / 2**20)}))


def gen(args) -> None:
    rows = []
    for scale in args.scale:
        folder = Path(args.work) / f"s{scale:g}"
        t = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "_child", str(folder), str(scale), str(args.seed),
                              str(args.rate)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print(f"scale {scale:g}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["wall_total"] = round(time.perf_counter() - t, 1)
        rows.append(r)
    print(f"{'scale':>5} {'staff':>7} {'rows/month':>11} {'per staff':>9} {'subjects':>9} {'csv MB':>7} "
          f"{'wall s':>7} {'CPU s':>7} {'peak MB':>8}")
    for r in rows:
        print(f"{r['scale']:>5g} {r['staff']:>7,} {r['access_rows']:>11,} {r['access_rows'] / r['staff']:>9.0f} "
              f"{r['subject_rows']:>9,} {r['csv_mb']:>7} {r['seconds']:>7} {r['cpu_seconds']:>7} {r['peak_rss_mb']:>8}")


def recall(args) -> None:
    folder = Path(args.folder)
    truth = json.loads((folder / "access_truth.json").read_text(encoding="utf-8"))
    owner = {}
    for item in truth["scenarios"] + truth["decoys"]:
        for a in item["access_ids"]:
            owner[a] = item["id"]
    db = sqlite3.connect(folder / "data" / "integrity-audit.db")
    rows = db.execute("select a.id, a.rule_name, f.\"values\" from alerts a join alert_occurrences o on o.alert_id = a.id "
                      "join alert_facts f on f.occurrence_id = o.id where a.rule_name like 'access%' and f.register = 'system_access'")
    hit: dict[str, set[str]] = {}
    alerts: dict[str, set[int]] = {}
    cites_truth: set[int] = set()
    for alert, rule, values in rows:
        access = json.loads(values).get("access_id")
        alerts.setdefault(rule, set()).add(alert)
        if access in owner:
            hit.setdefault(owner[access], set()).add(rule)
            cites_truth.add(alert)
    background = {rule: ids - cites_truth for rule, ids in alerts.items()}
    print(f"{'id':<7} {'kind':<26} {'expected rule':<32} found by")
    found = Counter()
    for s in truth["scenarios"]:
        got = sorted(hit.get(s["id"], ()))
        ok = s["rule"] in got if s["rule"] else None
        found[(s["kind"], ok)] += 1
        print(f"{s['id']:<7} {s['kind']:<26} {s['rule'] or '(no rule: format)':<32} {', '.join(got) or '-'}")
    alerted = [d for d in truth["decoys"] if hit.get(d["id"])]
    print(f"\ndecoys: {len(truth['decoys'])}, alerted: {len(alerted)} "
          + ", ".join(f"{d['id']} {d['kind']} by {sorted(hit[d['id']])}" for d in alerted))
    print("alerts per access rule (all / citing no truth row):")
    for rule in sorted(alerts):
        print(f"  {rule:<34} {len(alerts[rule]):>6} {len(background.get(rule, ())):>6}")
    if truth.get("not_planted"):
        print("not planted:", "; ".join(truth["not_planted"]))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--scale", type=float, nargs="+", default=[1.0])
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--rate", type=float, default=1.0, help="multiplier of the per-role access rates")
    g.add_argument("--work", default="/tmp/access_bench")
    r = sub.add_parser("recall")
    r.add_argument("folder")
    args = p.parse_args()
    gen(args) if args.cmd == "gen" else recall(args)


if __name__ == "__main__":
    main()
