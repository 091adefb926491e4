"""Evaluation of compiled rules over register frames for one audit period.

Owns: params in force (defaults + overrides, type-checked), the evaluation window (period plus
the rule's look-back), running selection then an engine, and turning matches into Findings
(title, subject, dedup, values, as-of date). Only findings whose as-of date falls in the period
are reported; state-only findings are as of the period end.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

import pandas as pd

from audit import registers as reg
from audit.period import Period
from rules import engines, render
from rules import types as T
from rules.compiler import CompiledRule, lookback_days
from rules.engines.base import EngineCrash
from rules.finding import Finding
from rules.select import Selection, day_number, select_input


class EvaluationError(ValueError):
    """Bad parameters or inputs for a rule; the message names the rule and what to fix."""


@dataclass
class RuleStats:
    rule: str
    rows_in: dict[str, int] = field(default_factory=dict)  # alias -> rows in the window
    rows_selected: dict[str, int] = field(default_factory=dict)  # alias -> rows sent on
    not_evaluable: dict[str, int] = field(default_factory=dict)  # "alias.field" -> rows
    matches: int = 0  # all matches in the window
    findings: int = 0  # matches as of the period
    partitions: int = 0
    pruned: int = 0
    lookback_days: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why the rule could not run (e.g. a register not loaded)
    engine: str = ""  # the engine whose findings these are
    fallback: str | None = None  # why the reference engine stood in for durable (recorded, reported)
    late_findings: int = 0  # findings of earlier months citing a fresh row (rules.late)
    late_months: int = 0  # earlier months the late pass evaluated
    late_seconds: float = 0.0


@dataclass
class Evaluation:
    findings: list[Finding]
    stats: dict[str, RuleStats]
    engine: str
    seconds: float


def params_in_force(compiled: CompiledRule, overrides: dict[str, Any] | None) -> dict[str, Any]:
    params = {name: default for name, _, default in compiled.params}
    types = {name: ptype for name, ptype, _ in compiled.params}
    for name, value in (overrides or {}).items():
        if name not in params:
            raise EvaluationError(f"rule {compiled.name}: override of unknown param {name!r} "
                                  f"(params: {', '.join(params) or 'none'})")
        problem = T.default_problem(types[name], value)
        if problem:
            raise EvaluationError(f"rule {compiled.name}: param {name}: {problem}")
        params[name] = value
    return params


class _Facts:
    """Original (canonical) values of the matched rows, by alias and fact id (looked up once)."""

    def __init__(self, compiled: CompiledRule, selections: dict[str, Selection], matches: list[dict]):
        self.types = {i.alias: {f: reg.get(i.register).fields[f].type for f in i.fields} for i in compiled.inputs}
        self.date_field = {i.alias: i.date_field for i in compiled.inputs if i.register_kind == "event"}
        self.rows: dict[str, dict[str, dict]] = {}
        self.dates: dict[str, dict[str, date | None]] = {}
        for i in compiled.inputs:
            ids = list({f for m in matches for f in m.get(i.alias, ())})
            frame = selections[i.alias].selected.drop_duplicates("fact_id").set_index("fact_id")
            cols = [f for f in i.fields if f in frame.columns]
            self.rows[i.alias] = frame.loc[ids, cols].to_dict("index") if ids else {}
            fname = self.date_field.get(i.alias)
            self.dates[i.alias] = {f: render.as_date(row.get(fname)) if fname else None
                                   for f, row in self.rows[i.alias].items()}

    def value(self, alias: str, fact_id: str, fname: str) -> Any:
        return self.rows[alias][fact_id].get(fname)

    def date(self, alias: str, fact_id: str) -> date | None:
        return self.dates[alias][fact_id]

    def as_of(self, match: dict) -> date | None:
        dates = [d for a, ids in match.items() for f in ids if (d := self.dates[a][f]) is not None]
        return max(dates) if dates else None


def _finding(compiled: CompiledRule, match: dict, facts: _Facts, params: dict[str, Any], as_of: date | None,
             period_end: date | None = None) -> Finding:
    # the representative fact per alias: the latest (aggregates hold many)
    rep = {a: max(ids, key=lambda f, a=a: (facts.date(a, f) or date.min, f)) for a, ids in match.items()}

    def raw(alias: str, fname: str) -> Any:
        return facts.value(alias, rep[alias], fname) if alias in rep else None

    figures = getattr(match, "figures", {})  # a peers finding's value and baseline (engines.base.Measured)

    def shown(ph: str) -> str:
        if ph in figures:
            return render.display(figures[ph], "number" if isinstance(figures[ph], float) else "string")
        ref, words = render.tense(ph)
        if words:  # {alias.field|past/future}: the word says whether the date has passed (validated: a date)
            head, _, tail = ref.partition(".")
            return render.dated(words, raw(head, tail), shown(ref), period_end)
        head, _, tail = ph.partition(".")
        if head == "params":
            ptype = next(t for n, t, _ in compiled.params if n == tail)
            return render.display(params[tail], ptype if ptype == "money" else "string")
        alias = compiled.aliases[0]
        if ph == "count":
            return str(len(match[alias]))
        if ph == "sum":
            h = next(h for h in compiled.aggregate["having"] if h["function"] == "sum")
            total = sum(int(facts.value(alias, f, h["field"])) for f in match[alias])
            return render.display(total, facts.types[alias][h["field"]])
        if head == "group":
            return render.display(raw(alias, tail), facts.types[alias][tail])
        return render.display(raw(head, tail), facts.types[head][tail])

    alert = compiled.alert
    subject = render.stored(raw(*alert["subject"]), "string") if alert["subject"] else None
    return Finding(
        rule_id=compiled.id, rule_name=compiled.name, rule_version=compiled.version, level=compiled.level,
        title=render.render(alert["title"], shown), subject=subject,
        facts={a: tuple(sorted(ids)) for a, ids in match.items()},
        dedup=tuple(render.stored(raw(a, f), "string") or "" for a, f in alert["dedup"]),
        params=dict(params),
        values={**{f"{a}.{f}": render.stored(raw(a, f), facts.types[a][f]) for a, f in alert["fields"]},
                **{name: figures[name] for name in figures}},
        as_of=as_of,
    )


@dataclass
class WindowResult:
    """What the engine matched in one evaluation window, with the matched rows' original values."""

    matches: list[dict]
    facts: _Facts
    params: dict[str, Any]
    period_end: date | None = None  # the audit period's last day (date words in titles read it)


def evaluate_window(compiled: CompiledRule, register_frames: dict[str, pd.DataFrame], window: tuple[int, int],
                    period: tuple[int, int], params: dict[str, Any], engine: str, stats: RuleStats) -> WindowResult:
    """Select every input's rows dated in `window` (day numbers; state inputs whole) and run the
    engine; `period` is what a condition's {period: start|end} reads. Fills `stats`."""
    return run_selections(compiled, select_window(compiled, register_frames, window, period, params, stats),
                          period, params, engine, stats)


def select_window(compiled: CompiledRule, register_frames: dict[str, pd.DataFrame], window: tuple[int, int],
                  period: tuple[int, int], params: dict[str, Any], stats: RuleStats) -> dict[str, Selection]:
    selections: dict[str, Selection] = {}
    not_eval: Counter = Counter()
    for inp in compiled.inputs:
        sel = select_input(compiled, inp, register_frames[inp.register], params, window, period)
        selections[inp.alias] = sel
        stats.rows_in[inp.alias] = sel.rows_in
        stats.rows_selected[inp.alias] = len(sel.engine)
        not_eval.update(sel.not_evaluable)
    stats.not_evaluable = dict(sorted(not_eval.items()))
    return selections


def run_selections(compiled: CompiledRule, selections: dict[str, Selection], period: tuple[int, int],
                   params: dict[str, Any], engine: str, stats: RuleStats) -> WindowResult:
    """Run the engine over selected rows (select_window)."""
    result = engines.get(engine).evaluate(compiled, {a: s.engine for a, s in selections.items()}, params)
    stats.matches, stats.partitions, stats.pruned = len(result.matches), result.partitions, result.pruned
    return WindowResult(result.matches, _Facts(compiled, selections, result.matches), params,
                        date.fromordinal(period[1] + date(1970, 1, 1).toordinal()))


def findings_in(compiled: CompiledRule, got: WindowResult, period: Period) -> list[Finding]:
    """The findings of a window's matches whose as-of date falls in `period` (a state-only match: as
    of the period's end), in key order."""
    findings = []
    for m in got.matches:
        as_of = got.facts.as_of(m)
        if (as_of or period.end) in period:
            findings.append(finding_of(compiled, got, m, as_of))
    return sorted(findings, key=lambda f: f.key())


def finding_of(compiled: CompiledRule, window: WindowResult, match: dict, as_of: date | None) -> Finding:
    return _finding(compiled, match, window.facts, window.params, as_of, window.period_end)


def evaluate_rule(compiled: CompiledRule, register_frames: dict[str, pd.DataFrame], period: Period,
                  overrides: dict[str, Any] | None = None, engine: str = "durable") -> tuple[list[Finding], RuleStats]:
    started = time.perf_counter()
    stats = RuleStats(compiled.name)
    params = params_in_force(compiled, overrides)
    stats.lookback_days = lookback_days(compiled, params)
    missing = [i.register for i in compiled.inputs if i.register not in register_frames]
    if missing:
        stats.skipped = f"register(s) not loaded: {', '.join(sorted(set(missing)))}"
        return [], stats
    start, end = day_number(period.start), day_number(period.end)
    got = evaluate_window(compiled, register_frames, (start - stats.lookback_days, end), (start, end), params,
                          engine, stats)
    findings = findings_in(compiled, got, period)
    stats.findings = len(findings)
    stats.seconds = time.perf_counter() - started
    return findings, stats


def _evaluate_with_late(compiled: CompiledRule, frames: dict[str, pd.DataFrame], period: Period,
                        overrides: dict[str, Any] | None, engine: str, fresh: set[str] | None,
                        late_lookback_months: int, fresh_from: dict[str, Period] | None, shared: Any
                        ) -> tuple[list[Finding], RuleStats]:
    from rules.late import late_findings

    found, st = evaluate_rule(compiled, frames, period, overrides, engine)
    if fresh and not st.skipped:
        started = time.perf_counter()
        late, st.late_months = late_findings(compiled, frames, period, fresh, late_lookback_months,
                                             overrides, engine, fresh_from, shared)
        st.late_findings, st.late_seconds = len(late), time.perf_counter() - started
        found = found + late
    return found, st


def evaluate(compiled_rules: list[CompiledRule], register_frames: dict[str, pd.DataFrame], period: Period,
             params_overrides: dict[str, dict[str, Any]] | None = None, engine: str = "durable",
             progress: Callable[[str], None] | None = None, fresh: set[str] | None = None,
             late_lookback_months: int = 0, fresh_from: dict[str, Period] | None = None) -> Evaluation:
    """Run every compiled rule; `progress(rule_name)` is called before each rule.

    With `fresh` (fact ids first seen or changed since the previous run), findings of the
    `late_lookback_months` before the period that cite a fresh row are added (rules.late); rules with
    no event input only for the rows of `fresh_from` (fact id -> first month it could be cited in)."""
    from rules.late import Shared

    started = time.perf_counter()
    findings: list[Finding] = []
    stats: dict[str, RuleStats] = {}
    shared = Shared(register_frames, fresh) if fresh else None
    for compiled in compiled_rules:
        if progress:
            progress(compiled.name)
        overrides = (params_overrides or {}).get(compiled.name)
        try:
            found, st = _evaluate_with_late(compiled, register_frames, period, overrides, engine, fresh,
                                            late_lookback_months, fresh_from, shared)
            st.engine = engine
        except EngineCrash as crash:
            # The C core died twice on this rule (rules.engines.isolated). The reference engine is
            # the oracle both engines are tested against, so it stands in; the run records that it
            # did, and why, so nobody reads this rule's result as the production engine's.
            found, st = _evaluate_with_late(compiled, register_frames, period, overrides, "reference", fresh,
                                            late_lookback_months, fresh_from, shared)
            st.engine, st.fallback = "reference", str(crash)
        findings += found
        stats[compiled.name] = st
    return Evaluation(findings, stats, engine, time.perf_counter() - started)
