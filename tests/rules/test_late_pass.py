"""The late pass (rules.late) is exact: cutting the registers to the partitions of fresh rows and
evaluating only the months that can hold a late finding gives the same findings as evaluating every
earlier month whole and keeping the findings that cite a fresh row; on both engines, for every rule
of the library, on the bundled sample with a random set of fresh rows."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

import connectors
from audit import settings as settings_mod
from audit.entities import resolve
from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate_rule
from rules.late import late_findings, months_back

ROOT = Path(__file__).resolve().parents[2]
PERIOD = Period(2026, 10)
LOOKBACK = 5


@pytest.fixture(scope="module")
def frames():
    settings = settings_mod.load(ROOT / "config.toml")
    load = connectors.load_sources(settings.sources, settings.base_dir)
    return resolve(load.by_register(), settings.entities).frames


@pytest.fixture(scope="module")
def fresh(frames) -> set[str]:
    rng = random.Random(12)
    ids = [f for name, df in frames.items() if name != "workforce" and "fact_id" in df for f in df["fact_id"]]
    return set(rng.sample(ids, len(ids) // 3))


RULES = [compile_rule(r) for r in load_rules([LIBRARY])[0]]
EVENT_RULES = [c for c in RULES if any(i.register_kind == "event" for i in c.inputs)]


def _brute(compiled, frames, cites) -> set:
    """Every earlier month evaluated whole; the findings of month q that `cites(fact_id, q)`."""
    q, out = months_back(PERIOD, LOOKBACK), set()
    while q < PERIOD:
        for f in evaluate_rule(compiled, frames, q, None, "reference")[0]:
            if any(cites(fid, q) for ids in f.facts.values() for fid in ids):
                out.add(f.key())
        q = q.next()
    return out


@pytest.mark.parametrize("compiled", EVENT_RULES, ids=lambda c: c.name)
def test_late_pass_equals_every_month_evaluated_whole(compiled, frames, fresh):
    expected = _brute(compiled, frames, lambda fid, q: fid in fresh)
    for engine in ("reference", "durable"):
        found, _ = late_findings(compiled, frames, PERIOD, fresh, LOOKBACK, None, engine)
        assert {f.key() for f in found} == expected, engine
        assert all(f.as_of is not None and f.as_of < PERIOD.start for f in found)


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
