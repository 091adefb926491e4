"""The durable engine behind a process boundary, so a crash in its C core is loud and contained.

durable-rules 2.0.28 can segfault inside `assert_facts` after many join / absent evaluations in
one process (history dependent: the same case replayed alone passes; tests/rules/
test_durable_crash.py reproduces it). A segfault would kill the audit with no record, or, worse,
be caught nowhere. So correlation runs in a freshly spawned worker process:

- each worker evaluates at most WORKER_EVALUATIONS rules or BATCH_FACTS facts, then exits
  (history never builds up; the C core's memory, which it keeps until the process ends, about
  1 KB per fact asserted, is returned to the system);
- a large evaluation is cut into batches of whole partitions (every row of a key value goes to
  the same batch, so matches never straddle two batches) of about BATCH_FACTS facts, each in a
  fresh worker: peak memory stays bounded however many facts a rule sees;
- a worker that dies mid-rule is replaced and the rule is evaluated again from scratch in a fresh
  worker; if that one dies too, EngineCrash names the rule and the exit codes, and no partial
  result is ever returned (rules.evaluate then evaluates that rule with the reference engine and
  records that it did, and why: the run and its report say so);
- `single` and `aggregate` never touch the C core and run in this process.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import resource
import threading
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from rules.compiler import CompiledRule
from rules.engines import pandas_kinds
from rules.engines.base import EngineCrash, EngineError, EngineResult, key_columns

WORKER_EVALUATIONS = 20
BATCH_FACTS = 200_000
ATTEMPTS = 2
#: the largest peak resident memory (MB) any worker of this process reported (for benchmarks)
peak_worker_mb = 0.0


def _serve(conn: Connection) -> None:
    """Worker loop: evaluate (compiled, frames, params) requests until told to stop."""
    from rules.engines.durable import DurableEngine

    engine = DurableEngine()
    while True:
        request = conn.recv()
        if request is None:
            return
        try:
            result = engine.evaluate(*request)
            conn.send(("ok", (result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
        except Exception as e:  # noqa: BLE001 - sent back and raised in the parent as EngineError
            conn.send(("error", f"{type(e).__name__}: {e}"))


class _Worker:
    def __init__(self, ctx: mp.context.BaseContext, serve=_serve):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child,), daemon=True, name="durable-worker")
        self.process.start()
        child.close()
        self.used = 0
        self.facts = 0

    def evaluate(self, request: tuple) -> tuple[str, Any]:
        self.used += 1
        self.facts += sum(len(df) for df in request[1].values())
        self.conn.send(request)
        return self.conn.recv()

    def stop(self) -> int | None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        return self.process.exitcode


class _Pool:
    """One worker at a time for this process, recycled after WORKER_EVALUATIONS rules."""

    def __init__(self, serve=_serve) -> None:
        self._serve = serve  # the worker loop (tests pass one that crashes)
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        # spawn, not fork or forkserver: measured on a scale-5 force, a batch that a spawned worker
        # evaluates correctly segfaults every time in a forked one (state inherited from the parent)
        self._ctx = mp.get_context("spawn")

    def run(self, request: tuple, rule: str) -> EngineResult:
        with self._lock:
            exits = []
            for _ in range(ATTEMPTS):
                worker = self._worker or _Worker(self._ctx, self._serve)
                self._worker = worker
                try:
                    status, payload = worker.evaluate(request)
                except (EOFError, ConnectionResetError, BrokenPipeError):
                    self._worker = None
                    exits.append(worker.stop())
                    continue
                if worker.used >= WORKER_EVALUATIONS or worker.facts >= BATCH_FACTS:
                    worker.stop()
                    self._worker = _Worker(self._ctx, self._serve)  # warms up while we go on
                if status == "error":
                    raise EngineError(payload)
                result, peak = payload
                global peak_worker_mb
                peak_worker_mb = max(peak_worker_mb, peak)
                return result
            raise EngineCrash(f"durable-rules crashed evaluating rule {rule!r} in {ATTEMPTS} fresh worker "
                              f"processes (exit codes {exits})")

    def warm(self) -> None:
        """Start a worker now, so its start-up (imports) overlaps with the caller's own work."""
        with self._lock:
            if self._worker is None:
                self._worker = _Worker(self._ctx, self._serve)

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


class IsolatedDurableEngine:
    name = "durable"

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        result = EngineResult()
        for batch in batches(compiled, frames):
            part = _pool().run((compiled, batch, params), compiled.name)
            result.matches += part.matches
            result.partitions += part.partitions
            result.pruned += part.pruned
        return result


def batches(compiled: CompiledRule, frames: dict[str, pd.DataFrame], size: int | None = None):
    """The frames cut into about total/size batches by a hash of the join key: each key value's
    rows, in every input, land in exactly one batch."""
    size = size or BATCH_FACTS
    total = sum(len(df) for df in frames.values())
    n = max(1, -(-total // size))
    if n == 1:
        yield frames
        return
    keys = key_columns(compiled)
    which = {a: (pd.util.hash_pandas_object(df[keys], index=False).to_numpy() % n) for a, df in frames.items()}
    for b in range(n):
        yield {a: df[which[a] == b] for a, df in frames.items()}
