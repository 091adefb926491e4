"""Access logs (issue #19): rows per month and generation cost, and recall of the access rules.

    # generate a force (if FOLDER has none) and its access logs; print rows, rate per staff, CPU, peak RSS
    .venv/bin/python benchmarks/bench_access.py gen --scale 1 5 --work /tmp/access_bench
    # after `integrity-audit run -p 2026-10 -c FOLDER/config.toml`: planted cases found, decoys alerted
    .venv/bin/python benchmarks/bench_access.py recall FOLDER
    # one audit of FOLDER's month (fresh store): seconds per stage, the audit process's memory at the
    # end of each stage, the peak of the process tree (bench_detection.TreeMemory); --compare: streamed, then whole
    .venv/bin/python benchmarks/bench_access.py run FOLDER --compare

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


def _hwm_mb() -> int:
    """This process's high-water mark of resident memory so far (VmHWM), MB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM"))


def _run_child(folder: str, period: str, engine: str, whole: bool) -> None:
    """One monthly audit of FOLDER in this process; prints seconds and the audit process's high-water
    mark at the end of each stage (the parent samples the whole process tree)."""
    from audit import settings as settings_mod, streamed
    from audit.period import Period
    from audit.pipeline import run_period

    if whole:  # the access log loaded whole, as before it was streamed
        streamed.is_streamed = lambda source: False
    hwm: dict[str, int] = {}
    current = ["start"]

    def progress(stage: str, detail: str) -> None:
        if stage != current[0]:
            hwm[current[0]] = _hwm_mb()
            current[0] = stage

    settings = settings_mod.load(Path(folder) / "config.toml")
    started = time.perf_counter()
    outcome = run_period(settings, Period.parse(period), engine=engine, publish=False, progress=progress)
    hwm[current[0]] = _hwm_mb()
    log = next((f for f in outcome.load.frames if f.register == "system_access"), None)
    print(json.dumps({"status": outcome.status, "findings": len(outcome.evaluation.findings),
                      "seconds": round(time.perf_counter() - started, 1),
                      "stages": {k: round(v, 1) for k, v in outcome.stage_seconds.items()}, "hwm_mb": hwm,
                      "log_rows": log.rows_read if log else 0, "log_kept": len(log.df) if log else 0}))


def run(args) -> None:
    """Audit FOLDER's period in a child process (a fresh store each time) and print time and memory."""
    import shutil

    from bench_detection import TreeMemory  # (this folder is on sys.path when run as a script)

    for whole in ([False, True] if args.compare else [args.whole]):
        data = Path(args.folder) / "data"
        if data.exists():
            shutil.rmtree(data)
        proc = subprocess.Popen([sys.executable, __file__, "_run", args.folder, args.period, args.engine,
                                 "1" if whole else "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
        with TreeMemory(proc.pid, interval=0.2) as mem:
            stdout, stderr = proc.communicate()
        if proc.returncode:
            print(f"failed:\n{stderr[-3000:]}")
            return
        r = json.loads(stdout.strip().splitlines()[-1])
        how = "log loaded whole" if whole else "log streamed"
        print(f"{how}: {r['status']}, {r['findings']} findings, {r['seconds']} s; access log {r['log_rows']:,} rows "
              f"read, {r['log_kept']:,} kept for the engines")
        print("  stage seconds: " + ", ".join(f"{k} {v}" for k, v in r["stages"].items()))
        print("  audit process high-water MB at the end of each stage: "
              + ", ".join(f"{k} {v:,}" for k, v in r["hwm_mb"].items()))
        workers = [mb for what, mb in mem.children() if what == "worker"]
        print(f"  peak MB: process tree {round(mem.tree_peak_kb / 1024):,} (sum of the processes alive at one "
              f"sample), audit process {max(r['hwm_mb'].values()):,}, largest durable worker "
              f"{max(workers, default=0):,} (of {len(workers)}, recycled)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        _run_child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "1")
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
    a = sub.add_parser("run", help="one monthly audit of FOLDER: seconds per stage and peak memory")
    a.add_argument("folder")
    a.add_argument("--period", default="2026-10")
    a.add_argument("--engine", default="durable")
    a.add_argument("--whole", action="store_true", help="load the access log whole instead of streaming it")
    a.add_argument("--compare", action="store_true", help="run streamed, then whole")
    args = p.parse_args()
    {"gen": gen, "recall": recall, "run": run}[args.cmd](args)


if __name__ == "__main__":
    main()
