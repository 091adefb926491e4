"""The engine protocol and what an engine returns.

An engine receives one compiled rule, the engine frames per alias (rules.select: fact_id,
`key:<name>` columns and the engine fields, normalised, no blanks) and the params in force, and
returns matches: one dict alias -> sorted fact ids per finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from rules.compiler import CompiledRule

Match = dict[str, tuple[str, ...]]


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
