"""The late pass (rules.late) is exact: cutting the registers to the partitions of fresh rows and
evaluating only the months that can hold a late finding gives the same findings as evaluating every
earlier month whole and keeping the findings that cite a fresh row; on both engines, for every rule
of the library, on the bundled sample with a random set of fresh rows."""
from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

import connectors
from audit import settings as settings_mod
from audit.entities import resolve
from audit.generator.run import generate
from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rule, load_rules
from rules.evaluate import evaluate_rule
from rules.late import Shared, late_findings, months_back

ROOT = Path(__file__).resolve().parents[2]
PERIOD = Period(2026, 10)
LOOKBACK = 5


def _frames_of(config: Path):
    settings = settings_mod.load(config)
    with contextlib.chdir(config.parent):  # a generated force's sqlite source URL is relative to its folder
        load = connectors.load_sources(settings.sources, settings.base_dir)
    return resolve(load.by_register(), settings.entities).frames


@pytest.fixture(scope="module")
def frames():
    return _frames_of(ROOT / "config.toml")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated force over a year: aggregates, absent rules and long joins with rows on both
    sides of a month's window, which the small sample does not all have."""
    out = tmp_path_factory.mktemp("force")
    generate(out, seed=7, months=12, end="2026-10", scale=0.3)
    frames = _frames_of(out / "config.toml")
    rng = random.Random(3)
    ids = [f for name, df in frames.items() if name != "workforce" and "fact_id" in df for f in df["fact_id"]]
    return frames, set(rng.sample(ids, len(ids) // 4))


@pytest.fixture(scope="module")
def fresh(frames) -> set[str]:
    rng = random.Random(12)
    ids = [f for name, df in frames.items() if name != "workforce" and "fact_id" in df for f in df["fact_id"]]
    return set(rng.sample(ids, len(ids) // 3))


@pytest.fixture(scope="module")
def shared(frames, fresh) -> Shared:
    return Shared(frames, fresh)


RULES = [compile_rule(r) for r in load_rules([LIBRARY])[0]]
EVENT_RULES = [c for c in RULES if any(i.register_kind == "event" for i in c.inputs)]


def _brute(compiled, frames, cites, lookback: int = LOOKBACK) -> set:
    """Every earlier month evaluated whole; the findings of month q that `cites(fact_id, q)`."""
    q, out = months_back(PERIOD, lookback), set()
    while q < PERIOD:
        for f in evaluate_rule(compiled, frames, q, None, "reference")[0]:
            if any(cites(fid, q) for ids in f.facts.values() for fid in ids):
                out.add(f.key())
        q = q.next()
    return out


@pytest.mark.parametrize("compiled", EVENT_RULES, ids=lambda c: c.name)
def test_late_pass_equals_every_month_evaluated_whole(compiled, frames, fresh, shared):
    expected = _brute(compiled, frames, lambda fid, q: fid in fresh)
    for engine in ("reference", "durable"):
        found, _ = late_findings(compiled, frames, PERIOD, fresh, LOOKBACK, None, engine)
        assert {f.key() for f in found} == expected, engine
        # as a run does it: what all rules read of the whole registers computed once, shared
        found, _ = late_findings(compiled, frames, PERIOD, fresh, LOOKBACK, None, engine, shared=shared)
        assert {f.key() for f in found} == expected, engine
        assert all(f.as_of is not None and f.as_of < PERIOD.start for f in found)


@pytest.mark.parametrize("compiled", EVENT_RULES, ids=lambda c: c.name)
def test_late_pass_over_a_generated_year_equals_every_month_evaluated_whole(compiled, generated):
    """Twelve months back on a generated force (the reference engine; both engines agree on the
    sample above and in tests/rules/test_engines_agree*)."""
    frames, fresh = generated
    expected = _brute(compiled, frames, lambda fid, q: fid in fresh, lookback=12)
    found, _ = late_findings(compiled, frames, PERIOD, fresh, 12, None, "reference")
    assert {f.key() for f in found} == expected


def test_the_generated_year_has_late_findings_of_every_kind(generated):
    """Not vacuous: aggregates, sequences, joins and single-row rules all have late findings there
    (the library's absent rules all read state registers: they are tested below)."""
    frames, fresh = generated
    kinds = {c.kind for c in EVENT_RULES if _brute(c, frames, lambda fid, q: fid in fresh, lookback=12)}
    assert {"aggregate", "sequence", "join", "single"} <= kinds, kinds


def test_the_sample_has_late_findings_to_compare(frames, fresh):
    """The comparison above is not vacuous: several rules do have late findings here."""
    with_findings = [c.name for c in EVENT_RULES if _brute(c, frames, lambda fid, q: fid in fresh)]
    assert len(with_findings) >= 5, with_findings


def test_nothing_fresh_evaluates_nothing(frames):
    for compiled in EVENT_RULES:
        assert late_findings(compiled, frames, PERIOD, set(), LOOKBACK) == ([], 0)


STATE_RULES = [c for c in RULES if c not in EVENT_RULES]


@pytest.fixture(scope="module")
def fresh_from(frames) -> dict:
    """Rows of the state registers back after months their source could not be read (from a month on)."""
    rng = random.Random(5)
    out = {}
    for name in ("business_interests", "notifiable_associations", "vetting", "absence", "workforce"):
        for fid in frames[name]["fact_id"]:
            if rng.random() < 0.3:
                out[fid] = months_back(PERIOD, rng.randint(1, LOOKBACK))
    return out


def _back_from(fresh_from):
    return lambda fid, q: fid in fresh_from and fresh_from[fid] <= q


@pytest.mark.parametrize("compiled", STATE_RULES, ids=lambda c: c.name)
def test_late_pass_of_a_condition_rule_equals_every_month_evaluated_whole(compiled, frames, fresh_from):
    expected = _brute(compiled, frames, _back_from(fresh_from))
    for engine in ("reference", "durable"):
        found, _ = late_findings(compiled, frames, PERIOD, set(fresh_from), LOOKBACK, None, engine, fresh_from)
        assert {f.key() for f in found} == expected, engine
        assert all(f.as_of is not None and f.as_of < PERIOD.start for f in found)


def test_condition_rules_have_late_findings_to_compare(frames, fresh_from):
    assert len([c.name for c in STATE_RULES if _brute(c, frames, _back_from(fresh_from))]) >= 5


UNBOUNDED_JOIN = """
schema_version: 1
id: 00000000-0000-4000-8000-00000000abcd
name: test_gift_and_purchase_same_org_any_time
title: "{gift.donor_name} offered a gift and was paid"
description: A join of two dated registers bounded on one side only, so a match can span more than a month's window.
status: test
level: low
author: tests
date: 2026-12-06
inputs:
  gift:
    register: gifts_hospitality
    where:
      org_key|exists: true
  purchase:
    register: procurement
    where:
      org_key|exists: true
match:
  kind: join
  on:
    org: {gift: org_key, purchase: org_key}
  compare:   # bounded on one side only: the payment may be any time before the gift
    - {left: purchase.transaction_date, op: lte, right: gift.offered_date, offset_days: 45}
params: {}
alert:
  title: "{gift.donor_name} offered a gift and was paid"
  subject: gift.person_key
  fields: [gift.record_id, purchase.transaction_id]
  dedup: [gift.record_id, purchase.transaction_id]
tests:
  - name: the same organisation alerts
    period: 2026-03
    given:
      gift:
        - {record_id: G1, person_key: P1, org_key: O1, donor_name: Acme, offered_date: 2026-03-02}
      purchase:
        - {transaction_id: T1, line_no: "1", org_key: O1, supplier_name: Acme, net_amount: 100, transaction_date: 2026-03-01}
    expect:
      - {gift: [0], purchase: [0]}
  - name: another organisation does not
    period: 2026-03
    given:
      gift:
        - {record_id: G1, person_key: P1, org_key: O1, donor_name: Acme, offered_date: 2026-03-02}
      purchase:
        - {transaction_id: T1, line_no: "1", org_key: O2, supplier_name: Bravo, net_amount: 100, transaction_date: 2026-03-01}
    expect: []
"""


def test_a_late_match_counts_only_in_the_month_whose_window_holds_all_its_rows(generated, tmp_path):
    """A join of two dated registers bounded on one side only: a month's run sees only pairs whose
    rows both lie in its window, so evaluating many months at once must not add pairs wider than it."""
    path = tmp_path / "test_gift_and_purchase_same_org_any_time.yml"
    path.write_text(UNBOUNDED_JOIN, encoding="utf-8")
    rule, problems = load_rule(path)
    assert rule is not None, problems
    compiled = compile_rule(rule)
    frames, fresh = generated
    expected = _brute(compiled, frames, lambda fid, q: fid in fresh, lookback=12)
    found, _ = late_findings(compiled, frames, PERIOD, fresh, 12, None, "reference")
    assert expected and {f.key() for f in found} == expected
