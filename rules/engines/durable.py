"""The durable-rules engine (2.0.28): correlation only (join / sequence / absent).

How each measured trap is made impossible (docs: /work/shared/DESIGN.md):
- lost matches in one big state / MemoryError from live sids: facts are partitioned by the join
  key; a state (sid, a counter: a sid holding '"' breaks durable's state, error 309) holds whole
  partitions up to PACK_FACTS facts, each partition with its own number `k` that every pattern's
  key-equality clause compares, so partitions sharing a state never match each other. States are
  freed by replacing the whole ruleset every ROTATE_FACTS facts (see _Session: delete_state can
  crash). A partition over MAX_PARTITION_FACTS is split into chunks whose cartesian product covers
  every combination (each match holds one fact per input, so it lies in exactly one chunk tuple);
  each tuple has a state of its own.
- identical facts refused: every fact carries an integer id unique in the evaluation.
- `$or` before a cross-fact comparison: no `$or` is ever emitted (where_any runs in pandas); the
  clauses are emitted in the compiler's fixed order (type tag, key equality, eq, others).
- "150" > 100, NaN: facts are built from rules.select engine frames (normalised, no NA).
- exceptions swallowed inside actions: the action only appends ids; after every assert the state's
  `exception` is checked and raised as EngineError, as is any exception from the assert itself.
- > 255 properties, ~500 rules per ruleset, definitions mutated on load: facts carry only the
  fields the rule correlates on; one ruleset per rule, from a deep copy, with a unique name.
- timers: the Host's background dispatch threads are never started (_QuietHost), so actions run
  only inside our assert calls.
- `absent` does NOT use durable's `none`. Measured on 2.0.28: `none` only holds if the missing facts
  are in the state before the present fact arrives, and `delete_state` on a partition where a
  `none` blocked aborts the whole process (`free(): invalid pointer`). So the engine correlates
  present-with-missing as a positive join (same keys and comparisons) and absent = the present
  facts sent minus those matched. Partitions with no missing fact skip the engine (every present
  fact is a finding); partitions with no present fact are pruned.

Cost (measured, bench_engine.py): durable-rules spends per match, not per fact, so an action is
handed up to CAP matches at once (durable's `cap`: one action round trip per batch instead of one
per match), and facts go to the C core as JSON text built here once per fact.

Two halves: `Plan` (pandas, in the calling process) cuts the engine frames into jobs of plain
JSON text, and `run_job` (durable-rules only) asserts a job and returns the matched fact ids. This
module imports neither pandas nor the C core at import time, so the worker process that runs
`run_job` (rules.engines.isolated) starts in a fraction of a second; `DurableEngine` runs both
halves in the calling process, for the engine's own tests and benchmarks.
"""
from __future__ import annotations

import copy
import itertools
import json
from typing import TYPE_CHECKING, Any

from rules.engines.base import (MAX_PARTITION_FACTS, EngineError, EngineResult, candidates, correlation_order,
                                key_columns, offset_value)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from rules.compiler import CompiledRule

PACK_FACTS = 2_000  # whole partitions share a durable state (sid) up to this many facts
CAP = 1_000  # matches handed to one action call (durable's `cap`)
_SERIAL = itertools.count()
ROTATE_FACTS = 50_000  # facts asserted into one ruleset before it is freed and replaced
ROTATE_SIDS = 1_000  # measured: the 1,025th live sid in one ruleset raises MemoryError
_FLIP = {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte", "eq": "eq", "ne": "ne"}
_DR_OP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


def _host():
    """A durable Host without the background dispatch/timer threads (imported on first use)."""
    from durable.engine import Host

    class _QuietHost(Host):
        def _run(self) -> None:  # noqa: D401 - durable's hook
            return None

    return _QuietHost()


class _Session:
    """One durable ruleset at a time, replaced by a fresh one after `rotate_facts` facts or
    ROTATE_SIDS partitions (a ruleset holds at most 1,024 live sids).

    Measured on 2.0.28: `delete_state` (even after retracting the facts) crashes the process
    (segfault / `free(): invalid pointer`) when the state holds a partial match whose cross-fact
    comparison failed. So partition states are never deleted one by one; instead the whole ruleset
    (and every state in it) is freed with `delete_ruleset`, which is safe, every `rotate_facts`
    facts. Memory stays bounded, and no ruleset ever holds the ~100k facts where matches get lost.

    KNOWN OPEN DEFECT (measured, not fixed): with join / absent rules carrying a cross-fact `eq` or
    ordered comparison, durable-rules 2.0.28 segfaults inside assert_facts after some hundreds of
    small evaluations in one process (history-dependent: replaying the failing case alone passes;
    retracting facts, single-fact asserts, short ruleset names did not cure it). Sequence rules
    survived 1,500 evaluations. Reproducer: tests/rules/test_durable_crash.py.
    """

    def __init__(self, name: str, definition: dict, rotate_facts: int):
        self.name, self.definition, self.rotate_facts = name, definition, rotate_facts
        self.rotations = 0
        self.host = None
        self._open()

    def _open(self) -> None:
        self.rs = f"r{next(_SERIAL)}"  # short and unique: long names corrupt memory (see below)
        self.host = _host()
        self.host.set_rulesets({self.rs: copy.deepcopy(self.definition)})  # durable mutates it on load
        self.facts = 0
        self.sids = 0

    def done(self, n_facts: int) -> None:
        """A partition is finished; rotate if this ruleset has taken enough facts."""
        self.facts += n_facts
        self.sids += 1
        if self.facts >= self.rotate_facts or self.sids >= ROTATE_SIDS:
            self.close()
            self.rotations += 1
            self._open()

    def close(self) -> None:
        if self.host is not None:
            import durable_rules_engine

            durable_rules_engine.delete_ruleset(self.host.get_ruleset(self.rs)._handle)
            self.host = None


def _pattern(alias: str) -> str:
    return f"p_{alias}"


def _clause(cmp: dict, order: list[str], params: dict[str, Any]) -> tuple[str, dict]:
    """One compiled comparison as a clause on the later of its two patterns."""
    (la, lf), op, (ra, rf) = cmp["left"], cmp["op"], cmp["right"]
    off = offset_value(cmp, params)
    if order.index(la) < order.index(ra):  # rewrite as right op' left - off
        (la, lf), (ra, rf), op, off = (ra, rf), (la, lf), _FLIP[op], -off
    ref: Any = {_pattern(ra): f"f_{rf}"}
    if off:
        ref = {"$add": {"$l": ref, "$r": off}}
    if op == "eq":
        return la, {f"f_{lf}": ref}
    return la, {_DR_OP[op]: {f"f_{lf}": ref}}


def definition(compiled: CompiledRule, params: dict[str, Any]) -> dict:
    """The durable ruleset for one compiled rule (clauses in the compiler's fixed order), without
    its action (run_job adds it)."""
    order = correlation_order(compiled)
    clauses: dict[str, list] = {a: [{"t": a}] for a in order}
    for alias in order[1:]:
        clauses[alias].append({"k": {_pattern(order[0]): "k"}})  # key equality first
    for cmp in compiled.compares:
        alias, clause = _clause(cmp, order, params)
        clauses[alias].append(clause)
    patterns = []
    for alias in order:
        body = {"$and": clauses[alias]} if len(clauses[alias]) > 1 else clauses[alias][0]
        patterns.append({_pattern(alias): body})
    return {"r_0": {"all": patterns, "cap": CAP}}


class Plan:
    """The engine frames of one evaluation cut into jobs for `run_job` (pandas; no C core here).

    A job is {"name", "definition" (the ruleset without its action), "states": [(sid, facts,
    [JSON text of the facts of each input, in assert order])]}, at most `batch_facts` facts made of
    whole partitions, or one chunk tuple of a partition over `max_partition` facts. A fact's id is
    an integer unique in the evaluation (its input's offset + its row), decoded by `finish`."""

    def __init__(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
                 max_partition: int | None = None, pack_facts: int | None = None, batch_facts: int | None = None):
        self.compiled = compiled
        self.order = correlation_order(compiled)
        self.frames, pruned = candidates(compiled, frames)
        self.max_partition = max_partition or MAX_PARTITION_FACTS
        self.pack_facts = pack_facts or PACK_FACTS
        self.batch_facts = batch_facts
        self.definition = definition(compiled, params)
        self.result = EngineResult(pruned=pruned)
        self.ids = {a: self.frames[a]["fact_id"].tolist() for a in self.order}
        self.offsets = dict(zip(self.order, itertools.accumulate([0] + [len(self.ids[a]) for a in self.order])))
        self.considered: list[int] = []  # absent: the present facts sent (ids)

    def _bodies(self, alias: str) -> list[str]:
        """Each row's fact as JSON text but its closing state members: '{"id":7,"t":"gift","f_x":1',
        built once per row."""
        import pandas as pd

        df = self.frames[alias]
        off, tag = self.offsets[alias], json.dumps(alias)
        parts = [[f'{{"id":{off + i},"t":{tag}' for i in range(len(df))]]
        for f in self.compiled.input(alias).engine_fields:
            name = f',"f_{f}":'
            if df[f].dtype == object:  # keyed by type too: 1, 1.0 and True are equal keys, not equal JSON
                cache: dict = {}

                def text(v, cache=cache, name=name) -> str:
                    key = (type(v), v)
                    return cache.get(key) or cache.setdefault(key, name + json.dumps(v, ensure_ascii=False))

                parts.append([text(v) for v in df[f].tolist()])
            else:  # one numpy dtype: equal values are equal JSON
                codes, uniques = pd.factorize(df[f])
                texts = [name + json.dumps(v, ensure_ascii=False) for v in uniques.tolist()]
                parts.append([texts[c] for c in codes.tolist()])
        return ["".join(p) for p in zip(*parts)]

    def jobs(self):
        import numpy as np

        absent = self.compiled.absent
        order = self.order
        if any(not len(self.ids[a]) for a in order):  # no candidate partition
            if absent and len(self.ids[absent["present"]]):  # no missing fact: every present fact is a finding
                self.result.matches = [{absent["present"]: (f,)} for f in self.ids[absent["present"]]]
            return
        keys = key_columns(self.compiled)
        groups = {a: self.frames[a].groupby(keys, sort=False).indices for a in order}
        bodies = {a: self._bodies(a) for a in order}
        empty = np.array([], dtype="int64")
        job: list = []
        n_job = n_state = 0
        state: list = [[] for _ in order]

        def close_state() -> None:
            nonlocal n_state, state
            if n_state:
                job.append((f"s{len(job)}", n_state, ["[" + ",".join(s) + "]" for s in state]))
            n_state, state = 0, [[] for _ in order]

        def add(parts: dict[str, np.ndarray]) -> None:
            nonlocal n_state
            self.result.partitions += 1
            tail = f',"sid":"s{len(job)}","k":{self.result.partitions}}}'
            for j, a in enumerate(order):
                body = bodies[a]
                state[j] += [body[i] + tail for i in parts[a].tolist()]
            n_state += sum(len(p) for p in parts.values())

        def emit():
            nonlocal job, n_job
            close_state()
            out = {"name": self.compiled.name, "definition": self.definition, "states": job}
            job, n_job = [], 0
            return out

        for key in sorted(groups[order[0]], key=repr):  # candidates: every key here is in each required input
            parts = {a: groups[a].get(key, empty) for a in order}
            if absent:
                present = absent["present"]
                if not len(parts[absent["missing"]]):
                    self.result.matches += [{present: (self.ids[present][i],)} for i in parts[present]]
                    continue  # nothing can match: every present fact is a finding
                self.considered += (parts[present] + self.offsets[present]).tolist()
            m = sum(len(p) for p in parts.values())
            if m > self.max_partition:  # each chunk tuple alone: tuples share facts, a state may not
                if n_job:
                    yield emit()
                size = max(1, self.max_partition // len(order))
                split = [[p[i:i + size] for i in range(0, len(p), size)] or [p] for p in parts.values()]
                for tup in itertools.product(*split):
                    add(dict(zip(order, tup)))
                    close_state()
                    yield emit()
                continue
            if self.batch_facts and n_job and n_job + m > self.batch_facts:
                yield emit()
            if n_state and n_state + m > self.pack_facts:
                close_state()
            add(parts)
            n_job += m
        if n_job:
            yield emit()

    def finish(self, hits: list[tuple[int, ...]]) -> EngineResult:
        """The result, from the ids of each match (one per input, in assert order: run_job), once
        every job has run."""
        order = self.order
        absent = self.compiled.absent
        if absent:  # a present fact is a finding unless some job matched it
            hit = {h[0] for h in hits}
            present = absent["present"]
            self.result.matches += [{present: (self.ids[present][i],)} for i in self.considered if i not in hit]
        else:
            ids = [f for a in order for f in self.ids[a]]  # by durable id
            self.result.matches = [{a: (ids[i],) for a, i in zip(order, h)} for h in hits]
        return self.result


def _collector(hits: list, patterns: list[str]):
    """The rule's action: it only appends each match's fact ids, in pattern order (with `cap`, c.m
    holds a batch of matches)."""

    def action(c) -> None:
        for frame in ([m._d for m in c.m] if c._m is None else [c._m]):
            hits.append(tuple(frame[p]["id"] for p in patterns))

    return action


def run_job(job: dict, rotate_facts: int | None = None) -> list[tuple[int, ...]]:
    """Assert one job's states into durable-rules; the ids of each match. Needs only durable."""
    hits: list[tuple[int, ...]] = []
    rules = copy.deepcopy(job["definition"])
    rules["r_0"]["run"] = _collector(hits, [next(iter(p)) for p in rules["r_0"]["all"]])
    session = _Session(job["name"], rules, rotate_facts or ROTATE_FACTS)
    try:
        for sid, n, texts in job["states"]:
            for text in texts:
                _assert(session, sid, text)
            session.done(n)
    finally:
        session.close()
    return hits


def _assert(session: _Session, sid: str, text: str) -> None:
    """durable's Host.assert_facts on facts already JSON text (the same calls, without re-encoding)."""
    import durable_rules_engine
    from durable.engine import MessageNotHandledException, MessageObservedException

    ruleset = session.host.get_ruleset(session.rs)
    failure: list = [None]
    try:
        handle = ruleset._handle_result(durable_rules_engine.assert_facts(ruleset._handle, text), text)
        ruleset.do_actions(handle, lambda e, _state: failure.__setitem__(0, e))
    except MessageNotHandledException:
        return  # no pattern matched any fact, so no action ran and there is no state to check
    except MessageObservedException as e:
        raise EngineError(f"durable-rules refused duplicate facts in state {sid}: {str(e)[:200]}") from None
    except Exception as e:  # noqa: BLE001 - any engine failure must be loud
        raise EngineError(f"durable-rules failed in state {sid}: {type(e).__name__}: {e!r}") from e
    if failure[0] is not None:
        raise EngineError(f"durable-rules failed in state {sid}: {failure[0]!r}")
    state = session.host.get_state(session.rs, sid)
    if state and state.get("exception"):
        raise EngineError(f"durable-rules action failed in state {sid}: {state['exception'][:500]}")


class DurableEngine:
    """Both halves in the calling process (tests and benchmarks; production: rules.engines.isolated)."""

    name = "durable"

    def __init__(self, max_partition_facts: int = MAX_PARTITION_FACTS, rotate_facts: int | None = None,
                 pack_facts: int | None = None):
        self.max_partition_facts = max_partition_facts
        self.rotate_facts = rotate_facts
        self.pack_facts = pack_facts

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        from rules.engines import composite, pandas_kinds

        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        if composite.needed(compiled):
            return composite.evaluate(compiled, frames, params, self.evaluate)
        plan = Plan(compiled, frames, params, self.max_partition_facts, self.pack_facts)
        hits = []
        for job in plan.jobs():
            hits += run_job(job, self.rotate_facts)
        return plan.finish(hits)
