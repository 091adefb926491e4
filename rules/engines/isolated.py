"""The durable engine behind a process boundary, so a crash in its C core is loud and contained.

durable-rules 2.0.28 can segfault inside `assert_facts` after many join / absent evaluations in
one process (history dependent: the same case replayed alone passes; tests/rules/
test_durable_crash.py reproduces it). A segfault would kill the audit with no record, or, worse,
be caught nowhere. So correlation runs in a worker process, a fresh interpreter (see _Worker):

- this process plans (rules.engines.durable.Plan): only candidate partitions are sent
  (rules.engines.base.candidates: a key value lacking a fact of a required input cannot fire), as
  jobs of JSON text, so the worker never receives, groups or asserts the rest and imports no
  pandas (measured: a fresh worker is ready in ~0.1 s of CPU instead of ~0.6 s);
- the C core never frees a fact it was given (measured on 2.0.28: ~7.5 KB per fact asserted, kept
  until the process ends, whether or not its ruleset is deleted; ~1.1 KB per match), so a worker
  asserts at most WORKER_FACTS facts (and reports about WORKER_MATCHES matches, or runs
  WORKER_EVALUATIONS jobs), then is replaced by a fresh one (history never builds up; its memory
  is returned to the system). Measured: a worker stays under 1 GB;
- a large evaluation is cut into jobs of at most BATCH_FACTS facts made of whole partitions (every
  row of a key value in the same job, so matches never straddle two) or, for a partition over the
  engine's MAX_PARTITION_FACTS, of one chunk tuple of it (the tuples cover every combination; an
  absent's present fact is a finding only if no tuple matched it), so no job, and so no worker,
  takes more than its share however many facts a rule sees;
- a worker that dies mid-job is replaced and the job is run again from scratch in a fresh worker;
  if that one dies too, EngineCrash names the rule and the exit codes, and no partial result is
  ever returned (rules.evaluate then evaluates that rule with the reference engine and records
  that it did, and why: the run and its report say so);
- `single` and `aggregate` never touch the C core and run in this process.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from rules.engines.base import EngineCrash, EngineError, EngineResult
from rules.engines.durable import Plan

if TYPE_CHECKING:
    import pandas as pd

    from rules.compiler import CompiledRule

WORKER_EVALUATIONS = 20
WORKER_FACTS = 80_000  # facts a worker asserts before it is replaced (~7.5 KB each, never freed)
WORKER_MATCHES = 200_000  # matches a worker reports before it is replaced (~1.1 KB each in the C core)
BATCH_FACTS = 40_000  # facts in one job at most (whole partitions, or one chunk tuple of at most
#                       the engine's MAX_PARTITION_FACTS)
ATTEMPTS = 2
#: the largest peak resident memory (MB) any worker of this process reported (for benchmarks)
peak_worker_mb = 0.0


def _serve(conn: Connection) -> None:
    """Worker loop: run jobs (rules.engines.durable.Plan) until told to stop. It imports durable-rules
    and this package only, not pandas: a fresh worker is ready in a fraction of a second."""
    from rules.engines.durable import run_job

    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent went away
            return
        if job is None:
            return
        try:
            hits = run_job(job)
            conn.send(("ok", (hits, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
        except Exception as e:  # noqa: BLE001 - sent back and raised in the parent as EngineError
            conn.send(("error", f"{type(e).__name__}: {e}"))


#: the worker's whole program: import the loop by name and serve the connection on fd argv[3]
_LAUNCH = ("import sys\nfrom importlib import import_module\nfrom multiprocessing.connection import Connection\n"
           "getattr(import_module(sys.argv[1]), sys.argv[2])(Connection(int(sys.argv[3])))\n")


class _Worker:
    """A fresh interpreter running `serve` (a module-level function) over a pipe.

    Started with subprocess, not multiprocessing's spawn: spawn re-imports the parent's __main__
    in the child, and under the integrity-audit command that is audit.cli and everything it
    imports (measured: 2.5 s CPU and 128 MB for every worker started, against 0.13 s and 18 MB for
    this package and durable-rules alone). Not fork either: measured on a scale-5 force, a batch
    that a fresh worker evaluates correctly segfaults every time in a forked one (state inherited
    from the parent)."""

    def __init__(self, serve=_serve):
        self.conn, child = mp.Pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, serve.__module__, serve.__qualname__, str(child.fileno())],
            pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.used = 0
        self.facts = 0
        self.matches = 0

    def evaluate(self, request: dict) -> tuple[str, Any]:
        self.used += 1
        self.facts += _facts(request)
        self.conn.send(request)
        return self.conn.recv()

    def stop(self) -> int | None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()
        return self.process.returncode  # -N: killed by signal N


class _Pool:
    """One worker at a time for this process, recycled after WORKER_EVALUATIONS rules."""

    def __init__(self, serve=_serve) -> None:
        self._serve = serve  # the worker loop (tests pass one that crashes)
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    def run(self, request: dict, rule: str) -> list[tuple[int, ...]]:
        with self._lock:
            exits = []
            for _ in range(ATTEMPTS):
                worker = self._worker
                if worker is not None and worker.facts and worker.facts + _facts(request) > WORKER_FACTS:
                    worker.stop()  # it would pass its share of facts: a fresh one takes this request
                    worker = None
                worker = worker or _Worker(self._serve)
                self._worker = worker
                try:
                    status, payload = worker.evaluate(request)
                except (EOFError, ConnectionResetError, BrokenPipeError):
                    self._worker = None
                    exits.append(worker.stop())
                    continue
                worker.matches += len(payload[0]) if status == "ok" else 0
                if (worker.used >= WORKER_EVALUATIONS or worker.facts >= WORKER_FACTS
                        or worker.matches >= WORKER_MATCHES):
                    worker.stop()
                    self._worker = _Worker(self._serve)  # warms up while we go on
                if status == "error":
                    raise EngineError(payload)
                hits, peak = payload
                global peak_worker_mb
                peak_worker_mb = max(peak_worker_mb, peak)
                return hits
            raise EngineCrash(f"durable-rules crashed evaluating rule {rule!r} in {ATTEMPTS} fresh worker "
                              f"processes (exit codes {exits})")

    def warm(self) -> None:
        """Start a worker now, so its start-up (imports) overlaps with the caller's own work."""
        with self._lock:
            if self._worker is None:
                self._worker = _Worker(self._serve)

    def close(self) -> None:
        with self._lock:
            if self._worker:
                self._worker.stop()
                self._worker = None


_POOL: _Pool | None = None


def _pool() -> _Pool:
    global _POOL
    if _POOL is None:
        _POOL = _Pool()
        atexit.register(_POOL.close)
    return _POOL


def warm() -> None:
    """Start the durable worker in the background (the pipeline calls this before loading)."""
    _pool().warm()


def _facts(job: dict) -> int:
    return sum(n for _, n, _ in job["states"])


class IsolatedDurableEngine:
    name = "durable"

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        from rules.engines import composite, pandas_kinds

        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        if composite.needed(compiled):
            return composite.evaluate(compiled, frames, params, self.evaluate)
        plan = Plan(compiled, frames, params, batch_facts=BATCH_FACTS)
        hits: list[tuple[int, ...]] = []
        for job in plan.jobs():
            hits += _pool().run(job, compiled.name)
        return plan.finish(hits)
