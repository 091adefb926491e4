"""Load benchmark of the review web app (a script, not a test).

Seeds a store with N alerts (default 10,000: 90% gifts x procurement, 10% vetting), serves the
app on 127.0.0.1 with the real command (`integrity-audit serve --workers W`, default 2) in a
child process, signs in R simulated reviewers (default 50) and, once all are signed in (argon2
sign-ins are not measured), has them load the queue (random filter / page) and alert pages for
D seconds (default 60).

A reviewer reads each page for a random pause (uniform 0..2*think seconds; `--think 0` sends
requests back to back, which measures the saturation throughput, not a reviewer). Reviewers
start at staggered moments within the first think interval, as people do. Requests sent in the
first `--warmup` seconds (default 5: each worker process's first queue listings and caches) are
reported on a line of their own and left out of the percentiles.

Prints requests per second, p50 / p95 / p99 latency per page, the load average and where the
CPU went per request: the server processes, PostgreSQL's backends (when on PostgreSQL), and this
client (it runs on the same machine, so it competes with the server).
Runs on SQLite and, when reachable, on PostgreSQL in a schema it creates and drops.

    .venv/bin/python benchmarks/bench_web.py [--alerts 10000] [--reviewers 50] [--duration 60]
                                             [--think 2] [--warmup 5] [--workers 2]
                                             [--backends sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "web")]
PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CSRF = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"')


def seed_store(url: str, alerts: int, reviewers: int) -> None:
    import seed
    from audit.store import open_store
    from audit.store.record import record_run
    from audit.web import users

    store = open_store(url)
    vetting = alerts // 10
    record_run(store, seed.run_input("2026-10", alerts - vetting, vetting, hostile=False))
    for i in range(reviewers):
        users.add_user(store, f"bench{i}", "reviewer", seed.PASSWORD, actor="bench")
    store.dispose()


def serve(url: str, port: int, workers: int, folder: str) -> subprocess.Popen:
    """Child process: `integrity-audit serve` over `url` on 127.0.0.1:port."""
    config = Path(folder) / "bench-config.toml"
    config.write_text(f"[store]\nurl = {json.dumps(url)}\n")
    cli = Path(sys.executable).with_name("integrity-audit")
    log = (Path(folder) / "serve.log").open("w")  # uvicorn's start/stop lines; shown if it fails
    return subprocess.Popen([str(cli), "serve", "-c", str(config), "--port", str(port), "--workers", str(workers),
                             "--no-access-log"], stdout=log, stderr=subprocess.STDOUT)


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, CPU ticks used so far by it and its exited children, command name),
    from Linux /proc. Counting exited children matters for PostgreSQL: a backend that ends with
    its connection leaves its CPU time with the postmaster."""
    table = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                head, tail = (d / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()  # fields 11-14: utime, stime, and cutime, cstime of reaped children
            table[int(d.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]), head.split("(", 1)[1])
    return table


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by `pid` with its descendants (the CLI, uvicorn's
    supervisor, its workers), and by every PostgreSQL process on the machine (nan off Linux)."""
    try:
        table, family = _proc_table(), {pid}
        for _ in range(4):
            family |= {p for p, (ppid, _t, _c) in table.items() if ppid in family}
        tick = os.sysconf("SC_CLK_TCK")
        server = sum(table[p][1] for p in family if p in table) / tick
        database = sum(t for _pp, t, comm in table.values() if comm.startswith("postgres")) / tick
        return server, database
    except (OSError, ValueError):
        return float("nan"), float("nan")


async def reviewer(base: str, name: str, window: dict[str, float], n_alerts: int, lat: dict[str, list[float]],
                   errors: list[str], think: float, signed_in: asyncio.Barrier) -> None:
    import httpx

    import seed

    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as c:
        page = await c.get("/login")
        r = await c.post("/login", data={"csrf": CSRF.search(page.text).group(1), "username": name,
                                         "password": seed.PASSWORD})
        if r.status_code != 303:
            errors.append(f"{name}: sign-in {r.status_code}")
        await signed_in.wait()  # the measured window starts when every reviewer is signed in
        if r.status_code != 303:
            return
        if "start" not in window:
            window["start"] = time.monotonic()
        deadline = window["start"] + window["duration"]
        rng = random.Random(name)
        internal = n_alerts - n_alerts // 10
        if think:
            await asyncio.sleep(rng.uniform(0, think))  # people do not all click at the same moment
        while time.monotonic() < deadline:
            if rng.random() < 0.5:
                kind, url = "queue", rng.choice(["/alerts", f"/alerts?page={rng.randint(1, 100)}",
                                                 "/alerts?status=new&sort=newest", "/alerts?level=high&person=Staff"])
            else:
                kind, url = "alert", f"/alerts/{rng.randint(1, internal)}"
            sent, t0 = time.monotonic(), time.perf_counter()
            r = await c.get(url)
            took = time.perf_counter() - t0
            if sent - window["start"] < window["warmup"]:
                lat["warm-up"].append(took)
            else:
                if "measured" not in window:
                    window["measured"], window["cpu"] = sent, (*cpu_seconds(window["server"]), time.process_time())
                lat[kind].append(took)
            if r.status_code != 200:
                errors.append(f"{url}: {r.status_code}")
            if think:
                await asyncio.sleep(rng.uniform(0, 2 * think))


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if len(values) > 1 else float("nan")


def bench(backend: str, url: str, args) -> None:
    t0 = time.perf_counter()
    seed_store(url, args.alerts, args.reviewers)
    print(f"[{backend}] seeded {args.alerts} alerts and {args.reviewers} reviewers in {time.perf_counter() - t0:.1f} s")
    from webtest import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = serve(url, port, args.workers, folder)
        try:
            base = f"http://127.0.0.1:{port}"
            import httpx
            for _ in range(300):
                try:
                    httpx.get(base + "/login", timeout=1)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None:
                        raise SystemExit(f"[{backend}] the server exited with {proc.returncode}:\n"
                                         + (Path(folder) / "serve.log").read_text()[-3000:])
                    time.sleep(0.1)
            lat: dict[str, list[float]] = {"warm-up": [], "queue": [], "alert": []}
            errors: list[str] = []
            window = {"duration": args.warmup + args.duration, "warmup": args.warmup, "server": proc.pid}

            async def run_all():
                barrier = asyncio.Barrier(args.reviewers)
                await asyncio.gather(*(reviewer(base, f"bench{i}", window, args.alerts, lat, errors, args.think,
                                                barrier) for i in range(args.reviewers)))
            load_before = os.getloadavg()
            asyncio.run(run_all())
            elapsed = window["start"] + window["duration"] - window["measured"]  # no request is sent after it
            load_after = os.getloadavg()
            server_cpu, db_cpu = (after - before for after, before in zip(cpu_seconds(proc.pid), window["cpu"]))
            client_cpu = time.process_time() - window["cpu"][2]
        finally:
            proc.terminate()
            proc.wait(30)
    total = len(lat["queue"]) + len(lat["alert"])
    print(f"[{backend}] {args.workers} worker(s), {args.reviewers} reviewers (think {args.think:g} s), "
          f"measured {elapsed:.1f} s after a {args.warmup:g} s warm-up: {total} requests, {total / elapsed:.1f} req/s, "
          f"{len(errors)} errors{(' e.g. ' + errors[0]) if errors else ''}")
    per = 1000 / max(total, 1)
    print(f"[{backend}]   load average (1/5/15 min) {' / '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' / '.join(f'{x:.2f}' for x in load_after)} after, on {os.cpu_count()} CPUs")
    print(f"[{backend}]   CPU per request: server {server_cpu * per:.1f} ms"
          + (f", PostgreSQL {db_cpu * per:.1f} ms" if backend == "postgresql" else "")
          + f", this client {client_cpu * per:.1f} ms")
    for kind, values in lat.items():
        if values:
            print(f"[{backend}]   {kind:7s} n={len(values):6d}  p50 {pct(values, 50):7.1f} ms  "
                  f"p95 {pct(values, 95):7.1f} ms  p99 {pct(values, 99):7.1f} ms  max {max(values) * 1000:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--reviewers", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=2.0,
                    help="mean seconds a reviewer reads a page before the next (0 = back to back: saturation)")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds at the start whose requests are reported apart, not in the percentiles")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (serve --workers)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench("sqlite", f"sqlite:///{tmp}/bench.db", args)
        elif backend == "postgresql":
            import psycopg

            from pgschema import scratch_schema

            try:
                with scratch_schema(PG, "bench_web") as url:
                    bench("postgresql", url, args)
            except psycopg.OperationalError as e:
                print(f"[postgresql] stopped: {PG}: {e}")  # not reachable, or lost during the run


if __name__ == "__main__":
    main()
