"""Engines: evaluate the correlation of a CompiledRule over selected, normalised frames.

`reference` (plain pandas, the oracle) and `durable` (durable-rules) implement base.Engine;
`single` and `aggregate` run in pandas for both (rules.engines.pandas_kinds). Engines never import
the store and never see raw register rows, only the engine frames built by rules.select.
"""
from __future__ import annotations

from rules.engines.base import Engine, EngineError, EngineResult


def get(name: str) -> Engine:
    if name == "reference":
        from rules.engines.reference import ReferenceEngine

        return ReferenceEngine()
    if name == "durable":  # in a worker process: see rules.engines.isolated
        from rules.engines.isolated import IsolatedDurableEngine

        return IsolatedDurableEngine()
    if name == "durable-inprocess":  # for the engine's own tests and benchmarks only
        from rules.engines.durable import DurableEngine

        return DurableEngine()
    raise ValueError(f"unknown engine {name!r} (use durable or reference)")


__all__ = ["Engine", "EngineError", "EngineResult", "get"]
