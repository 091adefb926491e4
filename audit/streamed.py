"""Streamed registers: an access log of millions of rows a month, read a table at a time and kept only
where an enabled rule can use a row, before anything reaches the engines (#19, "Scale").

A register marked `streamed = true` in the dictionary (system_access) is not loaded with the others.
Once they are loaded and resolved, each of its sources is read by `connectors.stream` a table of
`connectors.STREAM_ROWS` rows at a time; for each table the rows' own keys are made
(`entities.RowKeys`: the user's person key, the name + date of birth key) and `rules.prune`'s plan,
derived from the enabled rules and the other registers' rows, marks the rows that can take part in a
finding (or be counted as not evaluable). The others are counted (`rows_pruned`: read, valid,
accepted, not kept) and let go. What is kept is resolved like any register (links and unresolved
rows for the evidence). So the run holds one table, the file's text and the kept rows, never the
whole log; the source's counts still reconcile against its bytes.

The CCU's access timeline of an alert needs every row of the alert's user for its record, pruned or
not: `timeline_rows` reads the source again, keeping those pairs' rows only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

import connectors
from audit import registers
from audit.entities import Resolution, RowKeys
from rules import prune
from rules.compiler import CompiledRule


def is_streamed(source: connectors.SourceConfig) -> bool:
    return connectors.is_streamed(source)


def split(sources: list[connectors.SourceConfig]) -> tuple[list, list]:
    """(ordinary sources, streamed sources), each in config order."""
    return [s for s in sources if not is_streamed(s)], [s for s in sources if is_streamed(s)]


@dataclass
class Streamed:
    """What the streamed sources gave: their frames (kept rows only) and failures, for each register
    the plan that chose the rows and the dates its log covered, and the notes for the run."""

    frames: list[connectors.RegisterFrame] = field(default_factory=list)
    failures: list[connectors.SourceFailure] = field(default_factory=list)
    plans: dict[str, prune.PrunePlan] = field(default_factory=dict)
    #: register -> the first and last date of its accepted rows, pruned or not (the window the run read)
    dates: dict[str, tuple] = field(default_factory=dict)
    #: per source, what was kept and why (the run's notes and the source's load notes)
    notes: list[str] = field(default_factory=list)


def load(sources: list[connectors.SourceConfig], base_dir: Path, frames: dict[str, pd.DataFrame],
         compiled: list[CompiledRule], params: dict[str, dict] | None, keys: RowKeys,
         progress: Callable[[str, str], None] | None = None) -> Streamed:
    """Stream every enabled source of `sources`; `frames`: the other registers, resolved."""
    out = Streamed()
    for source in (s for s in sources if s.enabled):
        register = source.register
        if register not in out.plans:
            out.plans[register] = prune.plan(compiled, register, frames, params)
        plan = out.plans[register]
        unresolved: Counter = Counter()

        def keep(df: pd.DataFrame, plan=plan, register=register, unresolved=unresolved) -> np.ndarray:
            keyed = keys.resolve(register, df, evidence=False)
            unresolved.update(keyed.stats["unresolved_by_reason"])
            out.dates[register] = _widen(out.dates.get(register), df[registers.get(register).date_field])
            return plan.keep(keyed.frames[register]) if plan.prunable else np.ones(len(df), dtype=bool)

        def step(read: int, kept: int, name=source.name) -> None:
            if progress:
                progress("stream", f"{name}: {read:,} rows read, {kept:,} kept for the rules")

        try:
            frame = connectors.stream(source, base_dir, keep, progress=step)
        except connectors.SourceError as e:
            out.failures.append(connectors.SourceFailure(source.name, register, str(e), source.required))
            continue
        said = _note(frame, plan, unresolved)
        frame.provenance.warnings.append(said)
        out.notes.append(f"source {source.name} {said}")
        out.frames.append(frame)
    return out


def _widen(window: tuple | None, dates: pd.Series) -> tuple | None:
    dates = dates.dropna()
    if dates.empty:
        return window
    lo, hi = pd.Timestamp(dates.min()).date(), pd.Timestamp(dates.max()).date()
    return (lo, hi) if window is None else (min(window[0], lo), max(window[1], hi))


def resolve_kept(frames: list[connectors.RegisterFrame], keys: RowKeys) -> dict[str, Resolution]:
    """register -> its kept rows (of every frame given) resolved, with links and unresolved rows."""
    out = {}
    for register in dict.fromkeys(f.register for f in frames):
        kept = pd.concat([f.df for f in frames if f.register == register], ignore_index=True)
        out[register] = keys.resolve(register, kept)
    return out


def _note(frame: connectors.RegisterFrame, plan: prune.PrunePlan, unresolved: Counter) -> str:
    """What the source's load says about the rows it did not keep."""
    accepted = frame.rows_accepted
    if not plan.prunable:
        said = f"all {accepted:,} accepted rows kept: {plan.why_not}"
    elif not plan.rules:
        said = f"none of its {accepted:,} accepted rows kept: no enabled rule reads this register"
    else:
        said = (f"{len(frame.df):,} of {accepted:,} accepted rows kept for the {len(plan.rules)} rule(s) that read "
                f"it ({', '.join(sorted(plan.rules))}); the other {frame.rows_pruned:,} can take part in no "
                "finding of them and were not sent to the engines")
    if unresolved:
        said += "; rows whose user could not be resolved (kept or not): " + ", ".join(
            f"{reason} {n:,}" for reason, n in sorted(unresolved.items()))
    return f"streamed: {said}"


def timeline_rows(sources: list[connectors.SourceConfig], base_dir: Path, pairs: set[tuple[str, str]],
                  keys: RowKeys) -> pd.DataFrame | None:
    """Every accepted row of the streamed sources of system_access whose (user, record) is one of
    `pairs` (the pairs the run's access alerts cite), read again from the sources; None when a source
    no longer reads (the timeline is then not recorded, never short)."""
    from audit.store.access_timeline import REGISTER, user_column  # (the store module reads no sources)

    wanted = pd.MultiIndex.from_tuples(sorted(pairs)) if pairs else None
    records = {r for _, r in pairs}
    parts = []
    for source in (s for s in sources if s.enabled and s.register == REGISTER):
        def keep(df: pd.DataFrame) -> np.ndarray:
            mask = np.array(df["record_id"].isin(records), dtype=bool)  # (a record's users resolved only)
            if mask.any():
                keyed = keys.resolve(REGISTER, df[mask], evidence=False).frames[REGISTER]
                pair = pd.MultiIndex.from_arrays([user_column(keyed).astype(object),
                                                  keyed["record_id"].astype("string").astype(object)])
                mask[mask] = np.asarray(pair.isin(wanted), dtype=bool)
            return mask

        try:  # a raw record with no cell equal to a cited record is not parsed
            frame = connectors.stream(source, base_dir, keep, wanted=lambda cells: not records.isdisjoint(cells))
        except connectors.SourceError:
            return None
        parts.append(keys.resolve(REGISTER, frame.df).frames[REGISTER])
    return pd.concat(parts, ignore_index=True) if parts else None
