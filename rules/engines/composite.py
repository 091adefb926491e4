"""Rules the durable engine cannot take whole, run on it as two-input rules: an `absent` rule with
several present or missing inputs, and a `peers` rule over several inputs (joined here, its
statistics in rules.engines.pandas_kinds).

The durable engine correlates inputs that all share every key (its partition) and evaluates a
two-input `absent` as a positive join (rules.engines.durable). A rule such as "a view of a record
with a vulnerable victim (present: view + victim, joined on the record) by a user with no link to
it, not in its unit and not a team-mate of an officer linked to it" is run as:

1. the present inputs joined one at a time, in the order written: each step a two-input join of a
   synthetic input (one row per tuple so far, holding the keys and compared fields it needs) with
   the next input, on the keys they share and the compares between them;
2. each missing group joined the same way (a group of one input is that input);
3. for each missing group, a two-input `absent` of the present tuples against the group's tuples;
   a present tuple is a finding when it survives every group.

Every correlation is the engine's own work; this module only reshapes frames. The reference engine
evaluates the same rule directly (rules.engines.reference) and the differential tests compare them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from rules.engines.base import EngineResult

if TYPE_CHECKING:
    import pandas as pd

    from rules.compiler import CompiledRule

LEFT, RIGHT = "left_tuple", "right_tuple"  # synthetic inputs: one row per tuple of several inputs

Evaluate = Callable[["CompiledRule", "dict[str, pd.DataFrame]", "dict[str, Any]"], EngineResult]
Tuples = list[dict[str, tuple]]  # alias -> (fact_id,)


def needed(compiled: CompiledRule) -> bool:
    """True for a rule the durable engine cannot take whole: an absent rule with several present or
    missing inputs, or a peers rule over several inputs."""
    if compiled.kind == "peers":
        return len(compiled.inputs) > 1
    return compiled.kind == "absent" and (len(compiled.present) > 1 or len(compiled.missing_inputs) > 1)


def evaluate(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
             engine: Evaluate) -> EngineResult:
    """A `needed` rule's findings, every correlation done by `engine` (an engine's evaluate)."""
    if compiled.kind == "peers":
        return evaluate_peers(compiled, frames, params, engine)
    return evaluate_absent(compiled, frames, params, engine)


def evaluate_peers(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
                   evaluate: Evaluate) -> EngineResult:
    """The inputs joined by the engine (chained two-input joins), the statistics in pandas."""
    from rules.engines import pandas_kinds

    result = EngineResult()
    side = _chain(compiled, compiled.aliases, frames, params, evaluate, result)
    joined = side.frame(frames, {f"{a}.{col}": (a, col) for a in compiled.aliases for col in frames[a].columns})
    found = pandas_kinds.peers(compiled, joined, params)
    found.partitions, found.pruned = result.partitions, result.pruned
    return found


class _Side:
    """Tuples of some inputs, and how to show them to an engine as one synthetic input."""

    def __init__(self, aliases: list[str], tuples: Tuples):
        self.aliases, self.tuples = aliases, tuples

    def frame(self, frames: dict[str, pd.DataFrame], columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
        """fact_id = the tuple's position; each column (name -> (alias, engine column)) from that row."""
        import pandas as pd

        out = {"fact_id": [str(i) for i in range(len(self.tuples))]}
        rows = {alias: pd.Index(frames[alias]["fact_id"]).get_indexer([t[alias][0] for t in self.tuples])
                for alias in {alias for alias, _ in columns.values()}}  # once per input, not per column
        for name, (alias, col) in columns.items():
            out[name] = frames[alias][col].to_numpy()[rows[alias]]
        return pd.DataFrame(out)


def _pair(compiled: CompiledRule, left: list[str], right: list[str], kind: str, name: str
          ) -> tuple[CompiledRule, dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """The two-input rule relating the inputs `left` to the inputs `right` (each side one synthetic
    input when it holds several; an input alone stays itself): the keys naming both sides and the
    compares between them. Returns the rule and each synthetic side's columns."""
    def alias_of(side: list[str], synthetic: str) -> str:
        return side[0] if len(side) == 1 else synthetic

    la, ra = alias_of(left, LEFT), alias_of(right, RIGHT)
    cols: dict[str, dict[str, tuple[str, str]]] = {LEFT: {}, RIGHT: {}}

    def ref(side: list[str], synthetic: str, alias: str, fname: str, key: str | None = None) -> tuple[str, str]:
        if len(side) == 1:
            return alias, fname
        name = f"key:{key}" if key else f"{alias}__{fname}"
        cols[synthetic][name] = (alias, f"key:{key}" if key else fname)
        return synthetic, (f"{alias}__{fname}" if key else name)

    keys = []
    for key, per in compiled.keys:
        owners = dict(per)
        lo = next((a for a in left if a in owners), None)
        ro = next((a for a in right if a in owners), None)
        if lo and ro:
            pairs = (ref(left, LEFT, lo, owners[lo], key), ref(right, RIGHT, ro, owners[ro], key))
            keys.append((key, tuple(sorted(pairs))))
    compares = []
    for c in compiled.compares:
        (a, fa), (b, fb) = c["left"], c["right"]
        if {a, b} <= set(left) | set(right) and ((a in left) != (b in left)):
            cmp = dict(c)
            for side in ("left", "right"):
                alias, fname = c[side]
                where, synthetic = (left, LEFT) if alias in left else (right, RIGHT)
                cmp[side] = list(ref(where, synthetic, alias, fname))
            compares.append(cmp)
    inputs = []
    for side, synthetic, alias in ((left, LEFT, la), (right, RIGHT, ra)):
        if len(side) == 1:
            inputs.append(compiled.input(alias))
        else:
            fields = tuple(n for n in cols[synthetic] if not n.startswith("key:"))
            inputs.append(replace(compiled.input(side[0]), alias=synthetic, where=(), where_any=(), fields=fields,
                                  engine_fields=fields, kinds=()))
    rule = replace(compiled, name=name, kind=kind, inputs=tuple(inputs), keys=tuple(keys), compares=tuple(compares),
                   absent={"present": la, "missing": ra} if kind == "absent" else None, aggregate=None)
    return rule, cols[LEFT], cols[RIGHT]


def _frames(side: list[str], synthetic: str, columns: dict, tuples: _Side | None,
            frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {side[0]: frames[side[0]]} if len(side) == 1 else {synthetic: tuples.frame(frames, columns)}


def _chain(compiled: CompiledRule, aliases: list[str], frames: dict[str, pd.DataFrame], params: dict[str, Any],
           evaluate: Evaluate, result: EngineResult) -> _Side:
    """The inputs joined one at a time, in order (each shares a key with an earlier one: validated)."""
    side = _Side(aliases[:1], [{aliases[0]: (f,)} for f in frames[aliases[0]]["fact_id"]])
    for i, alias in enumerate(aliases[1:], start=1):
        rule, left_cols, _ = _pair(compiled, side.aliases, [alias], "join", f"{compiled.name}.{alias}")
        sub = evaluate(rule, {**_frames(side.aliases, LEFT, left_cols, side, frames), alias: frames[alias]}, params)
        _count(result, sub)
        first = rule.inputs[0].alias
        tuples = []
        for m in sub.matches:
            before = side.tuples[int(m[first][0])] if first == LEFT else {first: m[first]}
            tuples.append({**before, alias: m[alias]})
        side = _Side(aliases[:i + 1], tuples)
    return side


def _count(result: EngineResult, sub: EngineResult) -> None:
    result.partitions += sub.partitions
    result.pruned += sub.pruned


def evaluate_absent(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
                    evaluate: Evaluate) -> EngineResult:
    """The findings of a `needed` absent rule, every correlation done by `evaluate` (an engine's)."""
    result = EngineResult()
    present = _chain(compiled, compiled.present, frames, params, evaluate, result)
    alive = list(range(len(present.tuples)))
    for group in compiled.missing:
        if not alive:
            break
        side = _Side(present.aliases, [present.tuples[i] for i in alive])
        rule, left_cols, right_cols = _pair(compiled, present.aliases, group, "absent",
                                            f"{compiled.name}.{'+'.join(group)}")
        others = _chain(compiled, group, frames, params, evaluate, result) if len(group) > 1 else None
        sub = evaluate(rule, {**_frames(present.aliases, LEFT, left_cols, side, frames),
                              **_frames(group, RIGHT, right_cols, others, frames)}, params)
        _count(result, sub)
        first = rule.inputs[0].alias
        position = {t[first][0] if first != LEFT else str(i): i for i, t in enumerate(side.tuples)}
        alive = [alive[position[m[first][0]]] for m in sub.matches]
    result.matches = [present.tuples[i] for i in sorted(alive)]
    return result
