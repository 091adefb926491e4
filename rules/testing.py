"""Running a rule's embedded `tests` on the engines and comparing with `expect` exactly.

Owns: `frames_from_given` (given rows -> canonical register frames, fact ids `<alias>#<index>`),
the default test period (the month of the latest event date in `given`), and `run_rule_tests`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from audit import registers as reg
from audit.period import Period
from rules.compiler import CompiledRule, compile_rule
from rules.evaluate import EvaluationError, evaluate_rule
from rules.model import Rule, RuleTest

ENGINES = ("durable", "reference")


@dataclass
class TestOutcome:
    rule: str
    test: str
    engine: str
    passed: bool
    detail: str = ""
    location: str = ""  # file:line:col of the test


def canonical_column(values: list[Any], ftype: str) -> pd.Series:
    """A list of YAML values as the canonical dtype of a register field (connectors/frame.py)."""
    if ftype == "date":
        return pd.to_datetime(pd.Series(values, dtype="object"), format="%Y-%m-%d")
    if ftype in ("money", "int"):
        return pd.Series(values, dtype="Int64")
    if ftype == "number":
        return pd.Series(values, dtype="Float64")
    if ftype == "bool":
        return pd.Series(values, dtype="boolean")
    return pd.Series([None if v is None else str(v) for v in values], dtype="object")


def fact_id(alias: str, index: int) -> str:
    return f"{alias}#{index}"


def frames_from_given(rule: Rule, given: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    """One canonical frame per register; rows of every alias reading that register are stacked."""
    rows_by_register: dict[str, list[dict]] = {}
    for alias, inp in rule.inputs.items():
        rows_by_register.setdefault(inp.register, [])
        for i, row in enumerate(given.get(alias, [])):
            rows_by_register[inp.register].append({"fact_id": fact_id(alias, i), **row})
    frames = {}
    for register_name, rows in rows_by_register.items():
        register = reg.get(register_name)
        data = {"fact_id": pd.Series([r["fact_id"] for r in rows], dtype="object")}
        for f in register.fields.values():
            data[f.name] = canonical_column([r.get(f.name) for r in rows], f.type)
        frames[register_name] = pd.DataFrame(data)
    return frames


def default_period(rule: Rule, test: RuleTest) -> Period:
    if test.period:
        return Period.parse(test.period)
    latest = None
    for alias, rows in test.given.items():
        register = reg.get(rule.inputs[alias].register)
        for row in rows:
            value = row.get(register.date_field) if register.date_field else None
            if value and (latest is None or value > latest):
                latest = value
    if latest is None:
        raise EvaluationError(f"test {test.name!r}: no event date in given; add `period: YYYY-MM`")
    return Period.parse(latest[:7])


def run_test(rule: Rule, compiled: CompiledRule, test: RuleTest, engine: str) -> TestOutcome:
    line, col = rule.doc.where(test.path) if rule.doc else (1, 1)
    where = f"{rule.file}:{line}:{col}"
    try:
        findings, _ = evaluate_rule(compiled, frames_from_given(rule, test.given), default_period(rule, test),
                                    test.params, engine)
    except Exception as e:  # noqa: BLE001 - a crashing test is a failed test, reported with its cause
        return TestOutcome(rule.name, test.name, engine, False, f"error: {type(e).__name__}: {e}", where)
    got = sorted(tuple(sorted(f.facts.items())) for f in findings)
    want = sorted(tuple(sorted((a, tuple(sorted(fact_id(a, i) for i in idx))) for a, idx in e.items()))
                  for e in test.expect)
    if got == want:
        return TestOutcome(rule.name, test.name, engine, True, f"{len(got)} finding(s) as expected", where)
    extra = [g for g in got if g not in want]
    missing = [w for w in want if w not in got]
    return TestOutcome(rule.name, test.name, engine, False,
                       f"expected {len(want)} finding(s), got {len(got)}; unexpected: {_fmt(extra)}; missing: {_fmt(missing)}",
                       where)


def _fmt(items: list) -> str:
    return "; ".join(", ".join(f"{a}{list(ids)}" for a, ids in item) for item in items) or "none"


def run_rule_tests(rule: Rule, engines: tuple[str, ...] = ENGINES) -> list[TestOutcome]:
    compiled = compile_rule(rule)
    return [run_test(rule, compiled, t, e) for t in rule.tests for e in engines]
