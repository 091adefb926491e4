"""The durable-rules engine (2.0.28): correlation only (join / sequence / absent).

How each measured trap is made impossible (docs: /work/shared/DESIGN.md):
- lost matches in one big state / MemoryError from live sids: facts are partitioned by the join
  key (one sid per key value; the sid is a counter because a sid holding '"' breaks durable's
  state, error 309); a partition is asserted and its matches collected; states are freed by
  replacing the whole ruleset every ROTATE_FACTS facts (see _Session: delete_state can crash). A partition over MAX_PARTITION_FACTS is split into chunks whose cartesian product covers
  every combination (each match holds one fact per input, so it lies in exactly one chunk tuple).
- identical facts refused: every fact carries id = alias:fact_id (unique per partition).
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

This class runs durable in the calling process; the production engine ("durable") wraps it in a
worker process (rules.engines.isolated) because of the still-open crash in assert_facts.
"""
from __future__ import annotations

import copy
import itertools
import itertools as _it
from typing import Any

import durable_rules_engine
import numpy as np
import pandas as pd
from durable.engine import Host, MessageNotHandledException, MessageObservedException

from rules.compiler import CompiledRule
from rules.engines import pandas_kinds
from rules.engines.base import EngineError, EngineResult, key_columns, offset_value

MAX_PARTITION_FACTS = 20_000
_SERIAL = _it.count()
ROTATE_FACTS = 50_000  # facts asserted into one ruleset before it is freed and replaced
ROTATE_SIDS = 1_000  # measured: the 1,025th live sid in one ruleset raises MemoryError
_FLIP = {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte", "eq": "eq", "ne": "ne"}
_DR_OP = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


class _QuietHost(Host):
    """A Host without the background dispatch/timer threads."""

    def _run(self) -> None:  # noqa: D401 - durable's hook
        return None


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
        self.host: Host | None = None
        self._open()

    def _open(self) -> None:
        self.rs = f"r{next(_SERIAL)}"  # short and unique: long names corrupt memory (see below)
        self.host = _QuietHost()
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


def definition(compiled: CompiledRule, params: dict[str, Any], action) -> dict:
    """The durable ruleset for one compiled rule (clauses in the compiler's fixed order)."""
    order = [compiled.absent["present"], compiled.absent["missing"]] if compiled.absent else compiled.aliases
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
    return {"r_0": {"all": patterns, "run": action}}


class _Columns:
    """An engine frame as plain Python lists; facts are built per partition (memory stays small)."""

    def __init__(self, df: pd.DataFrame, alias: str, fields: list[str]):
        self.alias = alias
        self.ids = df["fact_id"].tolist()
        self.cols = {f"f_{f}": df[f].tolist() for f in fields}

    def fact_id(self, i: int) -> str:
        return self.ids[i]

    def facts(self, positions, sid: str) -> list[dict]:
        return [{"id": f"{self.alias}:{self.ids[i]}", "t": self.alias, "sid": sid, "k": sid,
                 **{c: v[i] for c, v in self.cols.items()}} for i in positions]


def _chunks(positions: np.ndarray, size: int) -> list[np.ndarray]:
    return [positions[i:i + size] for i in range(0, len(positions), size)] or [positions]


class DurableEngine:
    name = "durable"

    def __init__(self, max_partition_facts: int = MAX_PARTITION_FACTS, rotate_facts: int = ROTATE_FACTS):
        self.max_partition_facts = max_partition_facts
        self.rotate_facts = rotate_facts

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        return self._correlate(compiled, frames, params)

    def _correlate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult:
        hits: list[tuple] = []

        def action(c) -> None:  # only appends; never raises
            hits.append(tuple((name[2:], fact["id"]) for name, fact in c._m.items() if name.startswith("p_")))

        session = _Session(compiled.name, definition(compiled, params, action), self.rotate_facts)
        try:
            result = self._run_partitions(compiled, frames, session)
        finally:
            session.close()
        matched = [self._to_match(h) for h in hits]
        if compiled.absent:  # result.matches holds every present fact that was considered
            present = compiled.absent["present"]
            hit = {m[present][0] for m in matched}
            result.matches = [m for m in result.matches if m[present][0] not in hit]
        else:
            result.matches = matched
        return result

    def _run_partitions(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame], session: "_Session") -> EngineResult:
        keys = key_columns(compiled)
        absent = compiled.absent
        order = [absent["present"], absent["missing"]] if absent else compiled.aliases
        required = [absent["present"]] if absent else compiled.aliases
        columns = {i.alias: _Columns(frames[i.alias], i.alias, list(i.engine_fields)) for i in compiled.inputs}
        groups = {a: frames[a].groupby(keys, sort=False).indices if len(frames[a]) else {} for a in order}
        all_keys = set().union(*(groups[a].keys() for a in order))
        empty = np.array([], dtype="int64")
        result = EngineResult()
        for key in sorted(all_keys, key=repr):
            if any(key not in groups[a] for a in required):
                result.pruned += 1  # cannot fire: a required input has no fact with this key
                continue
            parts = {a: groups[a].get(key, empty) for a in order}
            if absent:
                present = absent["present"]
                result.matches += [{present: (columns[present].fact_id(i),)} for i in parts[present]]
                if not len(parts[absent["missing"]]):
                    continue  # nothing can match: every present fact is a finding

            for combo in self._combinations(parts, order, absent):
                # sid: a plain counter. Measured: a sid holding '"' breaks durable's state (error 309),
                # so key values never go into a sid; the partition itself guarantees equal keys.
                sid = f"s{result.partitions}"
                result.partitions += 1
                n_facts = 0
                for alias in order:
                    facts = columns[alias].facts(combo[alias], sid)
                    self._assert(session.host, session.rs, sid, facts)
                    n_facts += len(facts)
                session.done(n_facts)
        return result

    def _combinations(self, parts: dict[str, np.ndarray], order: list[str], absent: dict | None):
        """Chunk tuples covering every combination (a match holds one fact per input, so it lies in
        exactly one tuple; for absent, the union of matched present facts over tuples is exact)."""
        total = sum(len(p) for p in parts.values())
        if total <= self.max_partition_facts:
            yield parts
            return
        size = max(1, self.max_partition_facts // len(order))
        split = [_chunks(parts[a], size) for a in order]
        for tup in itertools.product(*split):
            yield dict(zip(order, tup))

    @staticmethod
    def _assert(host: Host, rs: str, sid: str, facts: list[dict]) -> None:
        if not facts:
            return
        try:
            host.assert_facts(rs, facts)
        except MessageNotHandledException:
            return  # no pattern matched any fact, so no action ran and there is no state to check
        except MessageObservedException as e:
            raise EngineError(f"durable-rules refused duplicate facts in partition {sid}: {str(e)[:200]}") from None
        except Exception as e:  # noqa: BLE001 - any engine failure must be loud
            raise EngineError(f"durable-rules failed in partition {sid}: {type(e).__name__}: {e!r}") from e
        state = host.get_state(rs, sid)
        if state and state.get("exception"):
            raise EngineError(f"durable-rules action failed in partition {sid}: {state['exception'][:500]}")

    @staticmethod
    def _to_match(hit: tuple) -> dict[str, tuple[str, ...]]:
        return {alias: (fid.split(":", 1)[1],) for alias, fid in hit}
