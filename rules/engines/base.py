"""The engine protocol and what an engine returns.

An engine receives one compiled rule, the engine frames per alias (rules.select: fact_id,
`key:<name>` columns and the engine fields, normalised, no blanks) and the params in force, and
returns matches: one dict alias -> sorted fact ids per finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # not imported at run time: the durable worker imports this module and stays light
    import pandas as pd

    from rules.compiler import CompiledRule

Match = dict[str, tuple[str, ...]]
#: the most facts the durable engine asserts for one partition; a larger one is cut into chunk tuples
MAX_PARTITION_FACTS = 20_000


class Measured(dict):
    """A match (alias -> fact ids) with the figures that explain it: a `peers` finding's value and
    its peer group's baseline (rules.model.PEER_FIGURES)."""

    def __init__(self, facts: dict, figures: dict):
        super().__init__(facts)
        self.figures = figures


class EngineError(RuntimeError):
    """An engine failed; evaluation stops loudly (never a silent partial result)."""


class EngineCrash(EngineError):
    """The durable engine's worker process died on a rule, in every attempt."""


@dataclass
class EngineResult:
    matches: list[Match] = field(default_factory=list)
    partitions: int = 0  # partitions sent to the engine (durable), for the run statistics
    pruned: int = 0  # partitions that could not fire and were never sent

    def keys(self) -> list[tuple]:
        """Engine-independent identity of each match (used to compare engines)."""
        return sorted(tuple(sorted((a, tuple(sorted(f))) for a, f in m.items())) for m in self.matches)


class Engine(Protocol):
    name: str

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult: ...


def key_columns(compiled: CompiledRule) -> list[str]:
    return [f"key:{k}" for k, _ in compiled.keys]


def offset_value(cmp: dict, params: dict[str, Any]) -> int | float:
    """The signed offset of a compiled comparison under `params`."""
    from rules.compiler import resolve

    if cmp["offset"] is None:
        return 0
    return cmp["sign"] * resolve(cmp["offset"], params)


def correlation_order(compiled: CompiledRule) -> list[str]:
    """The inputs of a correlation in the order they are asserted (absent: present, then missing)."""
    absent = compiled.absent
    return [absent["present"], absent["missing"]] if absent else list(compiled.aliases)


def candidates(compiled: CompiledRule, frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], int]:
    """The frames cut to the partitions that can fire, and how many partitions (key values) were cut.

    Exact: a key value lacking a fact of some required input (every input of a join or sequence;
    the present input of an absent) has no match, and, for absent, a missing fact whose key value
    has no present fact matches nothing. So only rows of key values in every required input stay."""
    import numpy as np
    import pandas as pd

    keys = key_columns(compiled)
    order = correlation_order(compiled)
    required = [compiled.absent["present"]] if compiled.absent else order
    bounds = np.cumsum([0] + [len(frames[a]) for a in order])
    if not bounds[-1]:
        return dict(frames), 0
    both = pd.concat([frames[a][keys] for a in order], ignore_index=True)
    codes = both.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()  # one number per key value
    rows = {a: codes[bounds[j]:bounds[j + 1]] for j, a in enumerate(order)}
    has = {a: np.bincount(rows[a], minlength=codes.max() + 1) > 0 for a in order}
    keep = np.logical_and.reduce([has[a] for a in required])
    out = {}
    for a in order:
        mask = keep[rows[a]]
        out[a] = frames[a] if mask.all() else frames[a][mask]
    return {**frames, **out}, int(np.logical_or.reduce([has[a] for a in order]).sum() - keep.sum())
