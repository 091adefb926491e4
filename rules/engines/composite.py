"""An `absent` rule with several present or missing inputs, run on an engine as simpler rules.

The durable engine correlates inputs that all share every key (its partition) and evaluates a
two-input `absent` as a positive join (rules.engines.durable). A rule such as "a view of a record
with a vulnerable victim (present: view + victim, joined on the record) by a user with no link to it
and not in its unit (missing: officer on record and user, staff on user)" is run as:

1. the join of the present inputs, on the keys naming all of them and the compares among them;
2. for each missing input, a two-input `absent` of one synthetic input (a row per present tuple,
   holding the keys and compared fields of the present inputs) against that missing input, on the
   keys it names and the compares that involve it;
3. a present tuple is a finding when it survives every missing input.

Each step is the engine's own work; this module only reshapes frames. The reference engine
evaluates the same rule directly (rules.engines.reference), and the differential tests compare them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from rules.engines.base import EngineResult

if TYPE_CHECKING:
    import pandas as pd

    from rules.compiler import CompiledRule

#: the synthetic input holding one row per present tuple
TUPLE = "present_tuple"

Evaluate = Callable[["CompiledRule", "dict[str, pd.DataFrame]", "dict[str, Any]"], EngineResult]


def needed(compiled: CompiledRule) -> bool:
    """True for an absent rule the durable engine cannot take whole (several present or missing)."""
    return compiled.kind == "absent" and (len(compiled.present) > 1 or len(compiled.missing) > 1)


def _column(alias: str, fname: str) -> str:
    return f"{alias}__{fname}"


def _present_join(compiled: CompiledRule) -> CompiledRule:
    present = compiled.present
    keys = tuple((k, tuple((a, f) for a, f in per if a in present)) for k, per in compiled.keys
                 if {a for a, _ in per} >= set(present))
    compares = tuple(c for c in compiled.compares if c["left"][0] in present and c["right"][0] in present)
    return replace(compiled, kind="join", inputs=tuple(i for i in compiled.inputs if i.alias in present),
                   keys=keys, compares=compares, absent=None)


def _tuples(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
            evaluate: Evaluate) -> tuple[list[dict], EngineResult | None]:
    present = compiled.present
    if len(present) == 1:
        (alias,) = present
        return [{alias: (f,)} for f in frames[alias]["fact_id"]], None
    result = evaluate(_present_join(compiled), {a: frames[a] for a in present}, params)
    return result.matches, result


def _tuple_frame(compiled: CompiledRule, frames: dict[str, pd.DataFrame], tuples: list[dict],
                 columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """One row per present tuple: fact_id = its position, and each wanted column (name -> (alias,
    engine column)) taken from that alias's row."""
    import pandas as pd

    out = {"fact_id": [str(i) for i in range(len(tuples))]}
    for name, (alias, col) in columns.items():
        frame = frames[alias]
        rows = pd.Index(frame["fact_id"]).get_indexer([t[alias][0] for t in tuples])
        out[name] = frame[col].to_numpy()[rows] if len(tuples) else frame[col].to_numpy()[:0]
    return pd.DataFrame(out)


def _against(compiled: CompiledRule, missing: str) -> tuple[CompiledRule, dict[str, tuple[str, str]]]:
    """The two-input absent rule (TUPLE present, `missing` missing) and the TUPLE columns it reads."""
    present = compiled.present
    columns: dict[str, tuple[str, str]] = {}
    keys = []
    for key, per in compiled.keys:
        owners = dict(per)
        if missing not in owners:
            continue
        source = next(a for a in present if a in owners)
        columns[f"key:{key}"] = (source, f"key:{key}")
        keys.append((key, tuple(sorted(((TUPLE, _column(source, owners[source])), (missing, owners[missing]))))))
    compares = []
    for c in compiled.compares:
        sides = {c["left"][0], c["right"][0]}
        if missing not in sides:
            continue
        cmp = dict(c)
        for side in ("left", "right"):
            alias, fname = c[side]
            if alias != missing:
                columns[_column(alias, fname)] = (alias, fname)
                cmp[side] = [TUPLE, _column(alias, fname)]
        compares.append(cmp)
    fields = tuple(n for n in columns if not n.startswith("key:"))
    base = compiled.input(present[0])
    synthetic = replace(base, alias=TUPLE, where=(), where_any=(), fields=fields, engine_fields=fields, kinds=())
    rule = replace(compiled, name=f"{compiled.name}.{missing}", inputs=(synthetic, compiled.input(missing)),
                   keys=tuple(keys), compares=tuple(compares), absent={"present": TUPLE, "missing": missing})
    return rule, columns


def evaluate_absent(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any],
                    evaluate: Evaluate) -> EngineResult:
    """The findings of a `needed` absent rule, every correlation done by `evaluate` (an engine's)."""
    tuples, joined = _tuples(compiled, frames, params, evaluate)
    result = EngineResult(partitions=joined.partitions if joined else 0, pruned=joined.pruned if joined else 0)
    alive = set(range(len(tuples)))
    for missing in compiled.missing:
        if not alive:
            break
        rule, columns = _against(compiled, missing)
        frame = _tuple_frame(compiled, frames, [tuples[i] for i in sorted(alive)], columns)
        order = sorted(alive)
        sub = evaluate(rule, {TUPLE: frame, missing: frames[missing]}, params)
        result.partitions += sub.partitions
        result.pruned += sub.pruned
        alive = {order[int(m[TUPLE][0])] for m in sub.matches}
    result.matches = [tuples[i] for i in sorted(alive)]
    return result
