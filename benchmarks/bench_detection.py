"""Measured detection of the shipped rule library on generated forces.

For each seed: generate a force (`integrity-audit generate`), load its sources, resolve entities,
run the whole library for every month, and score the findings against truth.json
(docs/generator-truth.md). Prints, per rule and overall:
  planted   scenarios of that kind; found = a finding of that rule, in the scenario's period (state
            scenarios: that period or later), whose facts cover every planted record of the
            registers the finding carries (an `absent` rule's present input only)
  decoys    near misses of that kind; alerted = a finding of that rule touching a decoy record
  bg/1k     findings of that rule touching no planted or decoy record (the unplanted background),
            per 1,000 workforce rows per month; `bg alerts/1k` counts distinct dedup keys instead
            (what the store raises as alerts after carry-over)

    .venv/bin/python benchmarks/bench_detection.py --seeds 1 2 3 --scale 1 [--engine durable]
    .venv/bin/python benchmarks/bench_detection.py --seeds 1 --param procurement_split_invoices.band_floor=0.9

`bg alerts/1k staff/month` stands beside recall so a threshold change (`--param RULE.PARAM=VALUE`,
repeatable, as config.toml's [rules.params] would set it) shows what it costs and what it saves.

Cost (`--cost`): one monthly audit (audit.pipeline.run_period for the last month, fresh SQLite store,
no publishing) per scale and seed, in a child process of its own; prints one table with a row per
run: seconds per stage (load, resolve, evaluate, record, total) and the audit's CPU seconds, the
ratio of the whole audit to simply reading the same input files with pandas (read_csv / read_excel
/ read_sql, dtype=str), source rows per second, and the peak memory of the audit process, of each
process under it (the durable worker, ...) and their sum, and of the whole tree at once (sampled
from /proc by this process, so growth with the scale is visible).

    .venv/bin/python benchmarks/bench_detection.py --cost --seeds 1 --scale 1 5 20 100 [--agree] [--functions] [--steady]

`--agree` runs each audit a second time on the other engine (fresh store) and prints whether the two
engines' findings agree exactly (rule, cited facts, title, subject, dedup values), with the first
differences if not. `--functions` adds the wall seconds inside the main functions of each stage
(TIMED) and their growth against the rows. `--steady` times the month after a run of the month
before on the same store (what a force pays each month once the ledger holds its rows) instead of a
first run (which writes every row to the ledger).

Schedule (`--schedule`): the monthly runs as they happen. Per seed, generate with the monthly
extracts (docs/generator-truth.md, "Monthly extracts"), then replay one run per month in order
(audit.pipeline.run_period, fresh SQLite store, no publishing) with one working source folder that
each month's files overwrite (a file missing from a month's folder is missing for that run). Scores
from the store, per run (the run's alert occurrences, their rule and cited facts, a fact matched
to truth by register + natural-key values):
  schedule cases  found = an alert of the case's `kind` raised by the run of its `arrival_period`
                  citing every one of its records; decoys alerted = an alert of the decoy's `kind`
                  in a run from its `event_period` to its `arrival_period` citing any of its records
  scenarios       found on schedule = an alert of its rule raised by some run up to and including
                  its arrival (truth `scenario_arrivals`: the first month from its period whose run
                  sees every record), covering its records of the registers the finding carries
Prints seconds per run and the store file size after each (the ledger's cost).

    .venv/bin/python benchmarks/bench_detection.py --schedule --seeds 1 2 3 --scale 1
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import resource
import subprocess
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(width=160)


def generate(out: Path, seed: int, scale: float, months: int, end: str, schedule: bool = False) -> None:
    try:
        from audit.generator.run import generate as run_generator
    except ImportError as e:
        raise SystemExit(f"the generator (audit/generator/run.py) is not available yet: {e}")
    run_generator(out, seed=seed, months=months, end=end, scale=scale, schedule=schedule)
    if not (out / "truth.json").exists():
        raise SystemExit(f"the generator wrote no truth.json in {out}")


def fact_index(frames: dict) -> dict[tuple, str]:
    """(register, natural key values) -> fact_id, for reading truth records."""
    from audit import registers

    index = {}
    for name, df in frames.items():
        keys = registers.get(name).natural_key
        if df.empty or not keys:
            continue
        cols = [df[k].astype("object").where(df[k].notna(), None).map(lambda v: None if v is None else str(v))
                for k in keys]
        for fid, *vals in zip(df["fact_id"], *cols):
            index[(name, tuple(vals))] = fid
    return index


def record_facts(entry: dict, index: dict, natural: dict) -> list[tuple[str, str]]:
    out = []
    for rec in entry["records"]:
        reg = rec["register"]
        key = tuple(str(rec["key"].get(k)) if rec["key"].get(k) is not None else None for k in natural[reg])
        fid = index.get((reg, key))
        # a record whose row was not accepted (source failed, row quarantined) can never be found:
        # keep a placeholder so the scenario counts as planted and missed, never silently dropped
        out.append((reg, fid if fid is not None else f"<not loaded: {reg} {key}>"))
    return out


def score_seed(seed: int, args, work: Path, totals: dict) -> None:
    import connectors
    from audit import registers
    from audit.entities import resolve
    from audit.period import Period
    from audit.settings import load as load_settings
    from audit.pipeline import load_rule_set
    from rules import api as rules_api

    out = work / f"seed{seed}"
    t = time.perf_counter()
    generate(out, seed, args.scale, args.months, args.end)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    settings = load_settings(out / "config.toml")
    load = connectors.load_sources(settings.sources, settings.base_dir)
    failed = [f.message for f in load.failures]
    for message in failed:  # loud, but the other registers can still be scored
        console.print(f"[red]seed {seed}: source failed, its rules cannot be scored:[/] {message}")
    resolution = resolve(load.by_register(), settings.entities)
    frames = resolution.frames
    for rule_name, params in args.params.items():
        settings.rules.params.setdefault(rule_name, {}).update(params)
    compiled, rules, problems = load_rule_set(settings)
    # registers whose facts a finding carries (an `absent` finding holds only the present input's)
    reads = {r.name: {i.register for a, i in r.inputs.items() if a not in r.match.missing_inputs} for r in rules}
    state_only = {r.name: all(registers.get(i.register).kind != "event" for i in r.inputs.values()) for r in rules}
    natural = {n: registers.get(n).natural_key for n in registers.names()}
    index = fact_index(frames)
    staff = max(1, len(frames["workforce"]))
    setup = time.perf_counter() - t

    planted_facts: set[str] = set()
    scenarios = [(s, record_facts(s, index, natural)) for s in truth["scenarios"]]
    decoys = [(d, record_facts(d, index, natural)) for d in truth["decoys"]]
    for _, recs in scenarios + decoys:
        planted_facts.update(f for _, f in recs)

    findings_by = defaultdict(list)  # (rule, period) -> [fact id sets]
    background = defaultdict(int)
    bg_alerts = defaultdict(set)
    t = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"seed {seed}: evaluating", total=len(truth["periods"]))
        for p in truth["periods"]:
            ev = rules_api.evaluate(compiled, frames, Period.parse(p), settings.rules.params, args.engine)
            for f in ev.findings:
                ids = {fid for ids in f.facts.values() for fid in ids}
                findings_by[(f.rule_name, p)].append(ids)
                if not ids & planted_facts:
                    background[f.rule_name] += 1
                    bg_alerts[f.rule_name].add(f.dedup)
            bar.advance(task)
    evaluate_s = time.perf_counter() - t

    periods = truth["periods"]
    for s, recs in scenarios:
        kind = s["kind"]
        want = {f for reg, f in recs if reg in reads.get(kind, set())}
        ok_periods = periods[periods.index(s["period"]):] if state_only.get(kind) else [s["period"]]
        hit = bool(want) and any(want <= ids for p in ok_periods for ids in findings_by.get((kind, p), []))
        totals[kind]["planted"] += 1
        totals[kind]["found"] += hit
        if not hit:
            totals[kind]["missed"].append(f"seed {seed} {s['id']} {s['period']}: {s.get('note', '')}")
    for d, recs in decoys:
        kind = d["kind"]
        ids_d = {f for _, f in recs}
        alerted = any(ids_d & ids for (rule, _), lst in findings_by.items() if rule == kind for ids in lst)
        totals[kind]["decoys"] += 1
        totals[kind]["decoys_alerted"] += alerted
        if alerted:
            totals[kind]["decoy_notes"].append(f"seed {seed} {d['id']}: {d.get('note', '')}")
    staff_months = staff * len(periods) / 1000
    for r in rules:
        totals[r.name]["bg"] += background[r.name] / staff_months
        totals[r.name]["bg_alerts"] += len(bg_alerts[r.name]) / staff_months
    totals["_runs"]["n"] += 1
    console.print(f"seed {seed}: {staff:,} workforce rows, {len(periods)} months, "
                  f"{len(truth['scenarios'])} scenarios, {len(truth['decoys'])} decoys; "
                  f"generate+load+resolve {setup:.1f} s, evaluate {evaluate_s:.1f} s ({args.engine})")


def pandas_read_seconds(settings) -> float:
    """Read every enabled source's rows with plain pandas (no mapping, no checks): the floor."""
    import pandas as pd
    import sqlalchemy as sa

    t = time.perf_counter()
    for src in settings.sources:
        if not src.enabled:
            continue
        if src.kind == "csv":
            pd.read_csv(settings.resolve_path(src.path), dtype=str, encoding=src.encoding, skiprows=src.skip_rows,
                        sep=src.delimiter, keep_default_na=False)
        elif src.kind == "xlsx":
            pd.read_excel(settings.resolve_path(src.path), sheet_name=src.sheet or 0, dtype=str,
                          skiprows=src.skip_rows)
        else:
            engine = sa.create_engine(src.url)
            with engine.connect() as conn:
                pd.read_sql(sa.text(src.query or f"SELECT * FROM {src.table}"), conn, dtype=str)
            engine.dispose()
    return time.perf_counter() - t


#: the functions `--functions` times inside each stage (module:function), in the order of a run
TIMED = """connectors.csv_source:open_file connectors.csv_source:tables connectors.xlsx_calamine:read_rows
connectors.sql_source:read connectors.mapping:map_table connectors.vector:parse_column connectors.validate:problems
connectors.assemble:_fact_ids connectors.assemble:_unique_keys audit.store.ledger:_current audit.store.ledger:_packed
audit.store.ledger:review rules.api:load_rules audit.entities.resolve:_orgs audit.entities.orgs:_units
audit.entities.orgs:resolve_orgs audit.entities.resolve:_people audit.entities.resolve:_name_dob
audit.entities.resolve:_row_keys audit.entities.resolve:resolve rules.evaluate:select_window rules.late:late_findings
rules.evaluate:evaluate audit.store.ledger:_insert audit.store.ledger:write audit.store.writer:write_results
audit.store.record:record_run""".split()


def _time_functions(names: list[str]) -> dict[str, float]:
    """Wrap each named function wherever it is bound (a module that imported it by name too) so its
    wall seconds add up, outermost call only (a generator: the time spent inside it). Returns the
    running totals. Profiling without a profiler's overhead, which inflates Python-level loops."""
    import importlib
    import inspect

    spent = defaultdict(float)

    def timed(name: str, fn):
        if inspect.isgeneratorfunction(fn):
            def gen(*a, **k):
                it = fn(*a, **k)
                while True:
                    t = time.perf_counter()
                    try:
                        value = next(it)
                    except StopIteration:
                        return
                    finally:
                        spent[name] += time.perf_counter() - t
                    yield value
            return gen
        depth = [0]

        def call(*a, **k):
            depth[0] += 1
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if not depth[0]:
                    spent[name] += time.perf_counter() - t
        return call

    for name in names:
        module, attr = name.split(":")
        original = getattr(importlib.import_module(module), attr)
        wrapped = timed(name, original)
        for mod in list(sys.modules.values()):
            for key, value in list(getattr(mod, "__dict__", {}).items()):
                if value is original:
                    setattr(mod, key, wrapped)
    return spent


def cost_child(folder: Path, end: str, engine: str, functions: bool = False, steady: bool = False) -> dict:
    """One monthly run of the whole pipeline on a generated force (this process only). `steady`: the
    month before is run first on the same store, untimed, so the timed run is a month like the ones
    after it (the ledger read back and compared, not written whole) rather than a force's first."""
    from audit.period import Period
    from audit.pipeline import run_period
    from audit.settings import load as load_settings

    import connectors
    from audit import pipeline

    spent = _time_functions(TIMED) if functions else {}

    settings = load_settings(folder / "config.toml")
    settings.store.url = f"sqlite:///{folder / 'bench_store.db'}"
    cpu_of: dict[str, float] = {}

    def cpu_clocked(name: str, fn):  # the CPU seconds of a stage: steadier than its wall clock on a busy machine
        def run(*a, **k):
            c = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                cpu_of[name] = cpu_of.get(name, 0.0) + time.process_time() - c
        return run

    connectors.load_sources = cpu_clocked("load", connectors.load_sources)
    pipeline.resolve = cpu_clocked("resolve", pipeline.resolve)
    with contextlib.chdir(folder):  # the generated sqlite source URL is relative to the force's folder
        c = time.process_time()
        read_s = min(pandas_read_seconds(settings) for _ in range(2))
        read_cpu = (time.process_time() - c) / 2
        if steady:
            run_period(settings, Period.parse(end).previous(), engine=engine, publish=False)
            cpu_of.clear()
            spent.clear()
        t, cpu = time.perf_counter(), time.process_time()
        outcome = run_period(settings, Period.parse(end), engine=engine, publish=False)
        total, total_cpu = time.perf_counter() - t, time.process_time() - cpu
    frames = getattr(outcome.load, "frames", None)
    rows = sum(f.rows_read for f in frames) if frames is not None else None
    keys = sorted(json.dumps([f.key(), f.title, f.subject, list(f.dedup)], default=str)
                  for f in outcome.evaluation.findings)
    (folder / f"findings_{engine}.json").write_text("\n".join(keys), encoding="utf-8")  # for --agree's diff
    staff = next((len(f.df) for f in frames or [] if f.register == "workforce"), None)
    return {"stages": {k: round(v, 2) for k, v in outcome.stage_seconds.items()}, "total": round(total, 2),
            "total_cpu": round(total_cpu, 2), "pandas_read": round(read_s, 2), "read_cpu": round(read_cpu, 2),
            "stage_cpu": {k: round(v, 2) for k, v in cpu_of.items()}, "status": outcome.status,
            "rows": rows, "staff": staff, "findings": len(outcome.evaluation.findings),
            "findings_sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest(),
            "functions": {k: round(v, 2) for k, v in spent.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


class TreeMemory:
    """Peak memory of a process and of every process under it (Linux /proc), sampled from outside.

    Each process's own peak is its VmHWM (the kernel's high-water mark, exact up to the last sample
    taken before it exits); the tree's peak is the largest sum of VmRSS over the processes alive at
    one sample (every `interval` seconds), so a short spike between samples can be missed.
    """

    def __init__(self, pid: int, interval: float = 0.1):
        import threading

        self.pid, self.interval = pid, interval
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (what it is, peak kB)
        self.tree_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            with contextlib.suppress(OSError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return out

    @staticmethod
    def _status(pid: int) -> tuple[int, int] | None:
        """(VmRSS kB, VmHWM kB) of a live process, None once it is gone."""
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if line.startswith(("VmRSS", "VmHWM")))
            return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
        except (OSError, KeyError, ValueError):
            return None

    @staticmethod
    def _what(pid: int) -> str:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return "?"
        if "resource_tracker" in cmd:
            return "resource tracker"
        if "multiprocessing" in cmd:
            return "worker"
        return "audit" if "--cost-child" in cmd else (cmd.split(" ")[0].rsplit("/", 1)[-1] or "?")

    def _run(self) -> None:
        while True:
            rss_sum = 0
            for pid in self._tree():
                got = self._status(pid)
                if got is None:
                    continue
                rss, hwm = got
                rss_sum += rss
                what, peak = self.peaks.get(pid) or (self._what(pid), 0)
                self.peaks[pid] = (what, max(peak, hwm))
            self.tree_peak_kb = max(self.tree_peak_kb, rss_sum)
            if self._stop.wait(self.interval):
                return

    def children(self) -> list[tuple[str, int]]:
        """(what, peak MB) of each process under the root, in the order they were seen."""
        return [(what, round(kb / 1024)) for pid, (what, kb) in self.peaks.items() if pid != self.pid]


def _run_cost_child(out: Path, args, engine: str | None = None) -> tuple[dict, TreeMemory]:
    for stale in out.glob("bench_store.db*"):  # each run starts from an empty store
        stale.unlink()
    proc = subprocess.Popen([sys.executable, __file__, "--cost-child", str(out), "--end", args.end,
                             "--engine", engine or args.engine, *(["--functions"] if args.functions else []),
                             *(["--steady"] if args.steady else [])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    with TreeMemory(proc.pid) as mem:
        stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{out.name}: the audit failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1]), mem


def cost(args) -> None:
    """One monthly audit per (scale, seed), each in a child process; one table over them all."""
    table = Table(title=f"Monthly audit cost: period {args.end}, engine {args.engine}, seeds {args.seeds}, "
                        + ("after a run of the month before (steady state)" if args.steady else "a first run")
                        + " (stage seconds are wall clock; one run each)")
    for col in ("scale", "seed", "staff", "rows read", "load s", "resolve s", "evaluate s", "record s", "total s",
                "bare read s", "audit / read", "rows / s", "CPU s: load", "bare read", "resolve", "audit",
                "MB parent", "MB children", "MB tree", "findings", "status"):
        table.add_column(col, justify="left" if col == "status" else "right")
    each: list[str] = []
    agree: list[str] = []
    timed: dict[tuple, tuple[int, dict]] = {}
    work = Path(tempfile.mkdtemp(prefix="bench_cost_"))
    try:
        for scale in args.scales:
            for seed in args.seeds:
                out = work / f"scale{scale:g}_seed{seed}"
                try:  # a scale that fails is a row of the table saying so; the other scales still run
                    with console.status(f"scale {scale:g} seed {seed}: generating"):
                        t = time.perf_counter()
                        generate(out, seed, scale, args.months, args.end)
                        gen_s = time.perf_counter() - t
                    with console.status(f"scale {scale:g} seed {seed}: running the {args.end} audit in a child "
                                        "process"):
                        r, mem = _run_cost_child(out, args)
                    if args.agree:
                        other = "reference" if args.engine == "durable" else "durable"
                        with console.status(f"scale {scale:g} seed {seed}: the same audit on the {other} engine"):
                            o, o_mem = _run_cost_child(out, args, other)
                        agree.append(_agreement(out, scale, seed, args.engine, r, other, o, o_mem))
                except (Exception, SystemExit) as e:  # noqa: BLE001 (a benchmark reports any failure)
                    why = (str(e).strip().splitlines() or [type(e).__name__])[-1][:150]
                    table.add_row(f"{scale:g}", str(seed), *["-"] * (len(table.columns) - 3), f"failed: {why}")
                    shutil.rmtree(out, ignore_errors=True)
                    continue
                if r.get("functions"):
                    timed[(scale, seed)] = (r["rows"], r["functions"])
                st, kids = r["stages"], mem.children()
                parent = max(r["peak_rss_mb"], round(mem.peaks.get(mem.pid, ("", 0))[1] / 1024))
                rows = r.get("rows")
                table.add_row(f"{scale:g}", str(seed), f"{r.get('staff') or 0:,}", f"{rows or 0:,}",
                              *(f"{st.get(k, 0):.1f}" for k in ("load", "resolve", "evaluate", "record")),
                              f"{r['total']:.1f}", f"{r['pandas_read']:.2f}",
                              f"{r['total'] / r['pandas_read']:.1f}x", f"{rows / r['total']:,.0f}" if rows else "-",
                              f"{r['stage_cpu'].get('load', 0):.2f}", f"{r['read_cpu']:.2f}",
                              f"{r['stage_cpu'].get('resolve', 0):.1f}", f"{r['total_cpu']:.1f}",
                              f"{parent:,}", f"{sum(mb for _, mb in kids):,}", f"{round(mem.tree_peak_kb / 1024):,}",
                              str(r["findings"]), r["status"])
                each.append(f"scale {scale:g} seed {seed}: generated in {gen_s:.1f} s; every stage (s): {st}; "
                            "peak MB of each process under the audit: "
                            + (", ".join(f"{what} {mb:,}" for what, mb in kids) or "none"))
                shutil.rmtree(out, ignore_errors=True)  # a large force's files are not kept past its row
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wide = Console(width=230)
    wide.print(table)
    for line in each + agree:
        wide.print(line)
    if timed:
        wide.print(_function_table(timed))
    wide.print("CPU s: CPU seconds in the audit process (not its workers) of the load stage, of the bare read "
               "(the mean of its two runs), of the resolve stage and of the whole audit; rows / s: source rows read per second "
               "of the whole audit (wall); MB parent: the audit process's own high-water mark; MB children: the "
               "sum of the high-water marks of every process under it (the durable worker, the resource "
               "tracker); MB tree: the largest sum of resident memory over the whole tree at one sample (0.1 s)")


def _function_table(timed: dict[tuple, tuple[int, dict]]) -> Table:
    """Seconds inside each timed function per (scale, seed), and the growth from the first run to
    the last next to the growth of the rows read (a function growing faster than the rows is where
    the audit stops being linear)."""
    runs = list(timed)
    table = Table(title="Wall seconds inside each function (outermost calls; nested ones are inside their callers)")
    table.add_column("function")
    for scale, seed in runs:
        table.add_column(f"scale {scale:g} s{seed}", justify="right")
    if len(runs) > 1:
        rows_growth = timed[runs[-1]][0] / max(timed[runs[0]][0], 1)
        table.add_column(f"growth (rows x{rows_growth:.1f})", justify="right")
    for name in TIMED:
        got = [timed[run][1].get(name) for run in runs]
        cells = [f"{v:.2f}" if v is not None else "-" for v in got]
        if len(runs) > 1:
            cells.append(f"x{got[-1] / got[0]:.1f}" if got[0] and got[-1] is not None else "-")
        table.add_row(name, *cells)
    return table


def _agreement(out: Path, scale: float, seed: int, engine: str, r: dict, other: str, o: dict,
               o_mem: TreeMemory) -> str:
    """One line: do the two engines' findings of the same audit agree exactly (Finding.key(), title,
    subject and dedup values), and if not, how many differ and the first few."""
    mine = set((out / f"findings_{engine}.json").read_text(encoding="utf-8").splitlines())
    theirs = set((out / f"findings_{other}.json").read_text(encoding="utf-8").splitlines())
    head = (f"scale {scale:g} seed {seed}: {engine} {r['findings']:,} findings in {r['total']:.1f} s; {other} "
            f"{o['findings']:,} in {o['total']:.1f} s (tree peak {round(o_mem.tree_peak_kb / 1024):,} MB): ")
    if mine == theirs:
        return head + f"[green]the engines agree exactly[/] (findings sha256 {r['findings_sha256'][:16]})"
    only_mine, only_theirs = sorted(mine - theirs), sorted(theirs - mine)
    return (head + f"[red]the engines DISAGREE[/]: {len(only_mine)} only on {engine}, {len(only_theirs)} only on "
            f"{other}; first: " + "; ".join((only_mine + only_theirs)[:3]))


# ---- --schedule: the monthly runs replayed in order -------------------------------------------------
def _run_alerts(store, run_id: int) -> list[tuple[str, set[tuple]]]:
    """The run's alert occurrences (not suppressed): (rule name, {(register, ((field, value), ...))})."""
    from sqlalchemy import select

    from audit import registers
    from audit.store.models import Alert, AlertFact, AlertOccurrence

    natural = {}
    with store.read() as s:
        occ = s.execute(select(AlertOccurrence.id, Alert.rule_name).join(Alert, Alert.id == AlertOccurrence.alert_id)
                        .where(AlertOccurrence.run_id == run_id, AlertOccurrence.suppressed.is_(False))).all()
        rule_of = {oid: name for oid, name in occ}
        cited: dict[int, set] = {oid: set() for oid in rule_of}
        ids = list(rule_of)
        for i in range(0, len(ids), 900):
            for oid, reg, values in s.execute(select(AlertFact.occurrence_id, AlertFact.register, AlertFact.values)
                                              .where(AlertFact.occurrence_id.in_(ids[i:i + 900]))):
                if reg is None:
                    continue
                if reg not in natural:
                    try:
                        natural[reg] = registers.get(reg).natural_key
                    except KeyError:
                        natural[reg] = ()
                values = values or {}
                if reg == "register_changes":  # a change cites the entry it is about, by register and key
                    reg = values.get("entry_register")
                    natural.setdefault(reg, registers.get(reg).natural_key)
                    parts = str(values.get("entry_key") or "").split(" / ")
                    values = {k: (v or None) for k, v in zip(natural[reg], parts)}
                cited[oid].add((reg, tuple((k, _text(values.get(k))) for k in natural[reg])))
    return [(rule_of[oid], cited[oid]) for oid in ids]


def _size(db: Path) -> int:
    """Bytes of the SQLite store (its write-ahead log included)."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def _text(v) -> str | None:
    return None if v is None else str(v)


def _record_key(rec: dict, natural: dict) -> tuple:
    reg = rec["register"]
    return (reg, tuple((k, _text(rec["key"].get(k))) for k in natural[reg]))


def schedule_seed(seed: int, args, root: Path, totals: dict, months_rows: list) -> None:
    from audit import registers
    from audit.period import Period
    from audit.pipeline import load_rule_set, run_period
    from audit.settings import load as load_settings
    from audit.generator.schedule import use_month
    from audit.store.db import open_store

    out = root / f"seed{seed}"
    t = time.perf_counter()
    generate(out, seed, args.scale, args.months, args.end, schedule=True)
    gen_s = time.perf_counter() - t
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    if "schedule" not in truth or not (out / "schedule").is_dir():
        raise SystemExit(f"seed {seed}: the generator wrote no monthly extracts (truth `schedule`, {out}/schedule)")
    work = root / f"seed{seed}-sources"
    work.mkdir()
    db = root / f"seed{seed}-store.db"
    url = f"sqlite:///{db}"
    store = open_store(url)
    natural = {n: registers.get(n).natural_key for n in registers.names()}
    by_run: dict[str, list] = {}  # period -> [(rule, cited keys)]
    rules = None
    try:
        for period in truth["periods"]:
            use_month(out, period, work)
            settings = load_settings(work / "config.toml")
            settings.store.url = url
            if rules is None:
                _, rules, _ = load_rule_set(settings)
            t = time.perf_counter()
            try:
                with contextlib.chdir(work), console.status(f"seed {seed}: run of {period}"):
                    outcome = run_period(settings, Period.parse(period), engine=args.engine, publish=False,
                                         store=store)
            except Exception as exc:  # the run is recorded failed; the later months still run and score
                console.print(f"[red]seed {seed}: the run of {period} failed:[/] {type(exc).__name__}: {exc}")
                by_run[period] = []
                months_rows.append((seed, period, time.perf_counter() - t, "error", 0, 0, _size(db),
                                    f"{type(exc).__name__}"))
                continue
            run_s = time.perf_counter() - t
            by_run[period] = _run_alerts(store, outcome.run_id)
            missing = sorted(f.source for f in outcome.load.failures) if outcome.load else []
            months_rows.append((seed, period, run_s, outcome.status, len(outcome.evaluation.findings)
                                if outcome.evaluation else 0, len(by_run[period]), _size(db), ", ".join(missing)))
    finally:
        store.dispose()

    periods = truth["periods"]

    def runs(lo: str, hi: str):
        return [p for p in periods if lo <= p <= hi]

    # the schedule cases
    for case in truth["schedule"]:
        want = {_record_key(r, natural) for r in case["records"]}
        key = (case["case"], case["kind"])
        tot = totals["schedule"][key]
        tot["planted"] += 1
        if case["case"] == "decoy":
            hit = any(rule == case["kind"] and want & cited for p in runs(case["event_period"], case["arrival_period"])
                      for rule, cited in by_run.get(p, []))
            tot["alerted"] += hit
            if hit:
                tot["notes"].append(f"seed {seed} {case['id']}: {case['note'][:100]}")
        else:
            hit = bool(want) and any(rule == case["kind"] and want <= cited
                                     for rule, cited in by_run.get(case["arrival_period"], []))
            tot["found"] += hit
            if not hit:
                tot["notes"].append(f"seed {seed} {case['id']} {case['event_period']} -> {case['arrival_period']}: "
                                    f"{case['note'][:100]}")

    # the standard scenarios, on schedule
    reads = {r.name: {i.register for a, i in r.inputs.items() if a not in r.match.missing_inputs} for r in rules or []}
    arrival = {a["id"]: a["arrival_period"] for a in truth.get("scenario_arrivals", [])}
    for sc in truth["scenarios"]:
        kind = sc["kind"]
        want = {_record_key(r, natural) for r in sc["records"] if r["register"] in reads.get(kind, set())}
        deadline = arrival.get(sc["id"], sc["period"]) or sc["period"]
        deadline = max(deadline, sc["period"])
        hit = bool(want) and any(rule == kind and want <= cited for p in runs(periods[0], deadline)
                                 for rule, cited in by_run.get(p, []))
        tot = totals["scenarios"][kind]
        tot["planted"] += 1
        tot["found"] += hit
        if not hit:
            tot["notes"].append(f"seed {seed} {sc['id']} {sc['period']} (due {deadline}): {sc['note'][:100]}")
    for d in truth["decoys"]:
        want = {_record_key(r, natural) for r in d["records"]}
        hit = any(rule == d["kind"] and want & cited for lst in by_run.values() for rule, cited in lst)
        tot = totals["scenarios"][d["kind"]]
        tot["decoys"] += 1
        tot["alerted"] += hit
        if hit:
            tot["decoy_notes"].append(f"seed {seed} {d['id']}: {d['note'][:100]}")
    failed = ", ".join(f"{f['source']} {f['how']} in {f['period']}" for f in truth.get("schedule_failed_sources", []))
    console.print(f"seed {seed}: generated with the monthly extracts in {gen_s:.1f} s; {len(periods)} runs; "
                  f"{len(truth['schedule'])} schedule cases; failed sources: {failed or 'none'}")


def schedule(args) -> None:
    def blank():
        return {"planted": 0, "found": 0, "alerted": 0, "decoys": 0, "notes": [], "decoy_notes": []}

    totals = {"schedule": defaultdict(blank), "scenarios": defaultdict(blank)}
    months_rows: list[tuple] = []
    root = Path(tempfile.mkdtemp(prefix="bench_schedule_"))
    try:
        for seed in args.seeds:
            schedule_seed(seed, args, root, totals, months_rows)
    finally:
        if args.keep:
            console.print(f"generated forces, monthly source folders and stores kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    title = f"seeds {args.seeds}, scale {args.scale}, {args.months} months to {args.end}, engine {args.engine}"
    table = Table(title=f"Monthly runs: {title}")
    for col in ("seed", "period", "run s", "status", "findings", "alerts (occurrences)", "store MB after",
                "sources failed"):
        table.add_column(col, justify="left" if col in ("status", "sources failed") else "right")
    for seed, period, run_s, status, findings, occ, size, missing in months_rows:
        table.add_row(str(seed), period, f"{run_s:.1f}", status, str(findings), str(occ), f"{size / 1e6:.1f}", missing)
    console.print(table)

    table = Table(title=f"Schedule cases (late, altered, deleted entries): {title}")
    for col in ("case", "kind", "planted", "found on schedule", "recall", "decoys alerted"):
        table.add_column(col, justify="left" if col in ("case", "kind") else "right")
    by_case: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (case, kind), t in sorted(totals["schedule"].items()):
        if case == "decoy":
            table.add_row(case, kind, str(t["planted"]), "-", "-", str(t["alerted"]))
            by_case[case][0] += t["planted"]
            by_case[case][2] += t["alerted"]
        else:
            table.add_row(case, kind, str(t["planted"]), str(t["found"]), f"{t['found'] / t['planted']:.0%}", "-")
            by_case[case][0] += t["planted"]
            by_case[case][1] += t["found"]
    for case, (planted, found, alerted) in sorted(by_case.items()):
        if case == "decoy":
            table.add_row(case, "ALL", str(planted), "-", "-", str(alerted), style="bold")
        else:
            table.add_row(case, "ALL", str(planted), str(found), f"{found / planted:.0%}" if planted else "-", "-",
                          style="bold")
    console.print(table)

    table = Table(title=f"Standard scenarios scored on schedule: {title}")
    for col in ("rule", "planted", "found on schedule", "recall", "decoys", "decoys alerted"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    p_all = f_all = d_all = a_all = 0
    for kind, t in sorted(totals["scenarios"].items()):
        p_all, f_all = p_all + t["planted"], f_all + t["found"]
        d_all, a_all = d_all + t["decoys"], a_all + t["alerted"]
        recall = f"{t['found'] / t['planted']:.0%}" if t["planted"] else "-"
        table.add_row(kind, str(t["planted"]), str(t["found"]), recall, str(t["decoys"]), str(t["alerted"]))
    table.add_row("ALL", str(p_all), str(f_all), f"{f_all / p_all:.1%}" if p_all else "-", str(d_all), str(a_all),
                  style="bold")
    console.print(table)
    if args.misses:
        for group in ("schedule", "scenarios"):
            for key, t in sorted(totals[group].items()):
                colour = "red" if isinstance(key, tuple) and key[0] == "decoy" else "yellow"
                for line in t["notes"]:  # a case missed, or a schedule decoy alerted
                    console.print(f"[{colour}]{group} {key}[/]: {line}")
                for line in t["decoy_notes"]:
                    console.print(f"[red]decoy alerted[/] {key}: {line}")


def parse_params(items: list[str]) -> dict[str, dict]:
    """["rule.param=value", ...] -> {rule: {param: value}}; the value read as JSON (0.9, 250000, "text")."""
    out: dict[str, dict] = {}
    for item in items:
        key, eq, value = item.partition("=")
        rule_name, dot, param = key.partition(".")
        if not (eq and dot and rule_name and param):
            raise SystemExit(f"--param {item!r}: write RULE.PARAM=VALUE")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(rule_name, {})[param] = parsed
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scale", type=float, nargs="+", default=[1.0],
                    help="force size (1 = about 2,000 people); --cost takes several, one table row each")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--end", default="2026-10")
    ap.add_argument("--engine", default="durable", choices=["durable", "reference"])
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    ap.add_argument("--misses", action="store_true", help="list missed scenarios and alerted decoys")
    ap.add_argument("--cost", action="store_true", help="measure one monthly audit end to end instead")
    ap.add_argument("--agree", action="store_true",
                    help="with --cost: run each audit again on the other engine and check the findings agree exactly")
    ap.add_argument("--functions", action="store_true",
                    help="with --cost: also print the wall seconds inside the main functions of each stage "
                         "(bench_detection.TIMED), per scale, and their growth between the first and last scale")
    ap.add_argument("--steady", action="store_true",
                    help="with --cost: time the month after a run of the month before on the same store (a "
                         "monthly run in steady state) instead of a force's first run")
    ap.add_argument("--cost-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--param", action="append", default=[], metavar="RULE.PARAM=VALUE",
                    help="override a rule param (repeatable), e.g. procurement_split_invoices.band_floor=0.9: "
                         "recall, decoys and background alerts per 1,000 staff show what the change costs")
    ap.add_argument("--schedule", action="store_true",
                    help="replay the monthly runs on the generated monthly extracts and score on schedule")
    args = ap.parse_args()
    args.params = parse_params(args.param)
    args.scales = args.scale
    if not args.cost:  # the other modes measure one force size
        if len(args.scales) > 1:
            ap.error("several --scale values are for --cost only")
        args.scale = args.scales[0]
    if args.cost_child:
        print(json.dumps(cost_child(args.cost_child, args.end, args.engine, args.functions, args.steady)))
        return
    if args.cost:
        cost(args)
        return
    if args.schedule:
        schedule(args)
        return

    try:
        import audit.pipeline  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"audit.pipeline is not available yet ({e}); nothing to measure")

    totals: dict = defaultdict(lambda: {"planted": 0, "found": 0, "decoys": 0, "decoys_alerted": 0, "bg": 0.0,
                                        "bg_alerts": 0.0, "missed": [], "decoy_notes": [], "n": 0})
    work = Path(tempfile.mkdtemp(prefix="bench_detection_"))
    try:
        for seed in args.seeds:
            score_seed(seed, args, work, totals)
    finally:
        if args.keep:
            console.print(f"generated forces kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    runs = totals.pop("_runs")["n"]
    changed = "; ".join(f"{r}.{k}={v}" for r, ps in args.params.items() for k, v in ps.items())
    table = Table(title=f"Detection: seeds {args.seeds}, scale {args.scale}, {args.months} months, engine {args.engine}"
                        + (f"; params {changed}" if changed else ""))
    for col in ("rule", "planted", "found", "recall", "bg alerts/1k staff/month", "decoys", "decoys alerted",
                "bg findings/1k staff/month"):
        table.add_column(col, justify="left" if col == "rule" else "right")
    all_p = all_f = all_d = all_da = 0
    bg_sum = bga_sum = 0.0
    for name in sorted(totals):
        t = totals[name]
        all_p, all_f, all_d, all_da = all_p + t["planted"], all_f + t["found"], all_d + t["decoys"], all_da + t["decoys_alerted"]
        bg, bga = t["bg"] / runs, t["bg_alerts"] / runs
        bg_sum, bga_sum = bg_sum + bg, bga_sum + bga
        recall = f"{t['found'] / t['planted']:.0%}" if t["planted"] else "-"
        table.add_row(name, str(t["planted"]), str(t["found"]), recall, f"{bga:.2f}", str(t["decoys"]),
                      str(t["decoys_alerted"]), f"{bg:.2f}")
    table.add_row("ALL", str(all_p), str(all_f), f"{all_f / all_p:.1%}" if all_p else "-", f"{bga_sum:.2f}", str(all_d),
                  str(all_da), f"{bg_sum:.2f}", style="bold")
    console.print(table)
    if args.misses:
        for name in sorted(totals):
            for line in totals[name]["missed"]:
                console.print(f"[yellow]missed[/] {name}: {line}")
            for line in totals[name]["decoy_notes"]:
                console.print(f"[red]decoy alerted[/] {name}: {line}")


if __name__ == "__main__":
    main()
