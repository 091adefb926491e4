"""Helpers for the rules tests: build rules from YAML text and random canonical frames."""
from __future__ import annotations

import numpy as np
import pandas as pd

from rules.compiler import CompiledRule, compile_rule
from rules.loader import load_text
from rules.model import Rule, from_document
from rules.validate import schema_problems, semantic_problems

HEADER = """schema_version: 1
id: {id}
name: {name}
title: A test rule
description: Used by the tests.
status: test
level: medium
"""

TESTS = """tests:
  - name: positive
    given: {{}}
    period: 2026-03
    expect: [{{{alias}: []}}]
  - name: negative
    given: {{}}
    period: 2026-03
    expect: []
"""


def rule_from_text(text: str, file: str = "<test>") -> Rule:
    doc = load_text(text, file)
    problems = schema_problems(doc)
    assert not problems, [str(p) for p in problems]
    rule = from_document(doc)
    errors = [str(p) for p in semantic_problems(rule) if p.severity == "error"]
    assert not errors, errors
    return rule


def compiled(body: str, name: str = "test_rule", alias: str = "gift",
             rule_id: str = "11111111-1111-4111-8111-111111111111") -> CompiledRule:
    """A compiled rule from its inputs/match/params/alert YAML (header and dummy tests added)."""
    text = HEADER.format(id=rule_id, name=name) + body + TESTS.format(alias=alias)
    return compile_rule(rule_from_text(text))


def gifts(n: int, orgs: int, days: int, rng: np.random.Generator, start: str = "2026-01-01",
          prefix: str = "G") -> pd.DataFrame:
    return pd.DataFrame({
        "fact_id": pd.Series([f"{prefix}{i}" for i in range(n)], dtype="object"),
        "record_id": pd.Series([f"{prefix}{i}" for i in range(n)], dtype="object"),
        "person_key": pd.Series([f"P{i % 97}" for i in range(n)], dtype="object"),
        "org_key": pd.Series([f"O{x}" for x in rng.integers(0, orgs, n)], dtype="object"),
        "offered_date": pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n), unit="D"),
        "outcome": pd.Series(["accepted"] * n, dtype="object"),
        "estimated_value": pd.Series(rng.integers(100, 50_000, n), dtype="Int64"),
        "donor_name": pd.Series([f"Donor {i}" for i in range(n)], dtype="object"),
    })


def purchases(n: int, orgs: int, days: int, rng: np.random.Generator, start: str = "2026-01-01",
              prefix: str = "T") -> pd.DataFrame:
    return pd.DataFrame({
        "fact_id": pd.Series([f"{prefix}{i}" for i in range(n)], dtype="object"),
        "transaction_id": pd.Series([f"{prefix}{i}" for i in range(n)], dtype="object"),
        "org_key": pd.Series([f"O{x}" for x in rng.integers(0, orgs, n)], dtype="object"),
        "transaction_date": pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n), unit="D"),
        "net_amount": pd.Series(rng.integers(1, 1_000_000, n), dtype="Int64"),
    })


SEQUENCE_BODY = """inputs:
  gift:
    register: gifts_hospitality
    where: {outcome|eq: accepted}
  purchase:
    register: procurement
    where: {net_amount|gt: 0}
match:
  kind: sequence
  on: {supplier: {gift: org_key, purchase: org_key}}
  dates: {gift: offered_date, purchase: transaction_date}
  within_days: {param: window_days}
  order: any
params:
  window_days: {type: int, default: 90}
alert:
  title: "{gift.donor_name} gift within {params.window_days} days of {purchase.net_amount}"
  subject: gift.person_key
  dedup: [gift.record_id]
"""
