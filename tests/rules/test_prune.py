"""rules.prune is exact: evaluating the rules on the access log cut to the rows PrunePlan.keep marks
gives the same findings (facts, values, titles, as-of dates) and the same not-evaluable counts as on
the whole log, on both engines, in the run's month and in the late pass; and the cut is a real one.

The world is a small generated force with a month of access logs (tests/generator/test_access_logs.py),
with blanks written into a few rows of the log (an undated row, an unknown action, an unresolved user)
so that rows counted as not evaluable exist and most of them would otherwise be pruned."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import pandas as pd
import pytest
from helpers import compiled as compiled_rule

from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate
from rules.prune import plan

PERIOD = Period(2026, 10)
REGISTER = "system_access"
LIBRARY_RULES = [compile_rule(r) for r in load_rules([LIBRARY])[0]]
ACCESS_RULES = [c for c in LIBRARY_RULES if REGISTER in c.registers]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, pd.DataFrame]:
    import connectors
    from audit import settings
    from audit.entities import resolve
    from audit.generator import generate
    from audit.generator.access_logs import generate_access_logs

    out = tmp_path_factory.mktemp("prune_force")
    generate(out, seed=5, months=12, end="2026-10", scale=0.3)
    generate_access_logs(out, seed=5, rate=0.1, add_sources=True)
    cfg = settings.load(out / "config.toml")
    wanted = {"workforce", "absence", "notifiable_associations", REGISTER, "record_subjects"}
    with contextlib.chdir(out):
        load = connectors.load_sources([s for s in cfg.sources if s.register in wanted], cfg.base_dir)
    assert not load.failures
    by_register: dict[str, list[pd.DataFrame]] = {}
    for f in load.frames:
        by_register.setdefault(f.register, []).append(f.df)
    frames = resolve({k: pd.concat(v, ignore_index=True) for k, v in by_register.items()}, cfg.entities).frames
    log = frames[REGISTER].copy()
    rng = np.random.default_rng(11)
    rows = rng.choice(len(log), 90, replace=False)
    log.loc[log.index[rows[:30]], "accessed_date"] = pd.NaT  # undated: counted for every input on the log
    log.loc[log.index[rows[30:60]], "action"] = None  # `action in [...]` undecided
    log.loc[log.index[rows[60:]], "person_key"] = None  # a key blank: unresolved user
    frames[REGISTER] = log
    # still off sick: the long sicknesses begun since August left open, so the rule's where_any
    # branch that reads the period end (an open absence) selects them
    absence = frames["absence"].copy()
    long_open = (absence["absence_type"] == "sickness") & (absence["start_date"] >= "2026-08-01") & \
        ((absence["end_date"] - absence["start_date"]).dt.days >= 27)
    assert long_open.sum() >= 3
    absence.loc[long_open, "end_date"] = pd.NaT
    frames["absence"] = absence
    return frames


def _others(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {k: v for k, v in frames.items() if k != REGISTER}


def _pruned(frames: dict[str, pd.DataFrame], rules, chunk: int = 5_000) -> tuple[dict[str, pd.DataFrame], float]:
    """The log cut by the plan, streamed in chunks as a loader would; and the share of rows kept."""
    p = plan(rules, REGISTER, _others(frames))
    assert p.prunable, p.why_not
    log = frames[REGISTER]
    keep = np.concatenate([p.keep(log.iloc[i:i + chunk]) for i in range(0, len(log), chunk)])
    assert keep.dtype == bool and len(keep) == len(log)
    return {**frames, REGISTER: log[keep]}, float(keep.mean())


def _outcome(evaluation) -> tuple[list[str], dict[str, dict[str, int]]]:
    findings = sorted(repr((f.rule_name, sorted(f.facts.items()), sorted(f.values.items()), f.title, f.subject,
                            f.dedup, f.as_of)) for f in evaluation.findings)
    counts = {name: st.not_evaluable for name, st in evaluation.stats.items()}
    return findings, counts


def _log_counts(counts: dict[str, dict[str, int]], rules) -> int:
    """How many not-evaluable rows the counts hold for inputs on the log."""
    on_log = {(c.name, i.alias) for c in rules for i in c.inputs if i.register == REGISTER}
    return sum(n for rule, per in counts.items() for k, n in per.items() if (rule, k.split(".")[0]) in on_log)


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_pruned_log_gives_the_same_findings_and_counts(world, engine):
    pruned, kept = _pruned(world, LIBRARY_RULES)
    print(f"\n{engine}: kept {len(pruned[REGISTER])} of {len(world[REGISTER])} rows ({kept:.1%})")
    whole = _outcome(evaluate(ACCESS_RULES, world, PERIOD, engine=engine))
    cut = _outcome(evaluate(ACCESS_RULES, pruned, PERIOD, engine=engine))
    assert len(whole[0]) >= 20 and {r.split("'")[1] for r in whole[0]} == {c.name for c in ACCESS_RULES}
    assert _log_counts(whole[1], ACCESS_RULES) >= 90  # the blanks written in are counted
    assert cut == whole
    assert kept < 0.3  # a real cut: the access rules read a small part of the log


def test_pruned_log_gives_the_same_late_findings(world):
    """The run of the month after the log with a late pass over the two months before: the log's
    findings come back only as late findings, for the rows named fresh (a random quarter)."""
    pruned, _ = _pruned(world, LIBRARY_RULES)
    ids = [f for df in world.values() if "fact_id" in df for f in df["fact_id"]]
    fresh = set(random.Random(4).sample(ids, len(ids) // 4))
    run = dict(period=PERIOD.next(), engine="reference", fresh=fresh, late_lookback_months=2)
    whole_eval = evaluate(ACCESS_RULES, world, **run)
    whole = _outcome(whole_eval)
    assert sum(st.late_findings for st in whole_eval.stats.values()) >= 5
    assert _outcome(evaluate(ACCESS_RULES, pruned, **run)) == whole


@pytest.mark.parametrize("compiled", ACCESS_RULES, ids=lambda c: c.name)
def test_each_rule_alone(world, compiled):
    """Each rule's own plan (the rows it alone needs) keeps its findings and counts."""
    pruned, kept = _pruned(world, [compiled])
    assert _outcome(evaluate([compiled], pruned, PERIOD, engine="reference")) == \
        _outcome(evaluate([compiled], world, PERIOD, engine="reference"))
    assert kept < 1.0


# Rules whose selection of the log reads the period. The late pass evaluates other months with other
# bounds, so such a condition cannot cut; and a row it leaves undecided in some month (in a
# where_any: false OR unknown) must stay, or that month's count changes.
PERIOD_RULE = """inputs:
  access:
    register: system_access
    where:
      action|in: [view, print, export]
{selection}
  sickness:
    register: absence
    where: {{absence_type|eq: sickness}}
match:
  kind: join
  on:
    person: {{access: person_key, sickness: person_key}}
  compare:
    - {{left: access.accessed_date, op: gte, right: sickness.start_date}}
params: {{}}
alert:
  title: "{{access.person_key}} on {{access.accessed_date}}"
  fields: [access.access_id, sickness.start_date]
  dedup: [access.access_id]
"""
LATE_IN_MONTH = """      accessed_date|gte: {period: start, offset_days: 10}"""
LATE_OR_MANY = """    where_any:
      - accessed_date|gte: {period: start, offset_days: 20}
      - rows_returned|gt: 5"""


@pytest.mark.parametrize("selection", [LATE_IN_MONTH, LATE_OR_MANY], ids=["where", "where_any"])
def test_a_condition_reading_the_period_does_not_cut(world, selection):
    rule = compiled_rule(PERIOD_RULE.format(selection=selection), name="access_late_in_month", alias="access")
    pruned, kept = _pruned(world, [rule])
    print(f"\nkept {kept:.1%}")
    for q in (PERIOD, PERIOD.next()):
        whole = _outcome(evaluate([rule], world, q, engine="reference"))
        assert _outcome(evaluate([rule], pruned, q, engine="reference")) == whole
    findings, counts = _outcome(evaluate([rule], world, PERIOD, engine="reference"))
    assert len(findings) >= 5
    if selection == LATE_OR_MANY:  # views before the 21st with no rows_returned: undecided
        assert _log_counts(counts, [rule]) > 1000
    late = dict(period=PERIOD.next(), engine="reference", fresh=set(world[REGISTER]["fact_id"]), late_lookback_months=1)
    whole = evaluate([rule], world, **late)
    assert whole.stats[rule.name].late_findings >= 5
    assert _outcome(evaluate([rule], pruned, **late)) == _outcome(whole)
    # where: the people with a sickness; where_any: every view (undecided in some month), no search
    assert kept < (0.6 if selection == LATE_IN_MONTH else 0.9)


ABSENT_MISSING_LOG = """inputs:
  sickness:
    register: absence
    where: {absence_type|eq: sickness}
  access:
    register: system_access
match:
  kind: absent
  present: sickness
  missing: [access]
  on:
    person: {sickness: person_key, access: person_key}
params: {}
alert:
  title: "{sickness.person_key} off sick and never logged in"
  fields: [sickness.start_date]
  dedup: [sickness.person_key]
"""


def test_a_missing_input_on_the_register_prunes_nothing(world):
    rule = compiled_rule(ABSENT_MISSING_LOG, name="sick_and_silent", alias="sickness")
    p = plan([*ACCESS_RULES, rule], REGISTER, _others(world))
    assert not p.prunable and "sick_and_silent" in p.why_not
    assert p.keep(world[REGISTER].head(100)).all()


def test_no_rule_reading_the_register_keeps_nothing(world):
    others = [c for c in LIBRARY_RULES if REGISTER not in c.registers]
    p = plan(others, REGISTER, _others(world))
    assert p.prunable and p.rules == []
    assert not p.keep(world[REGISTER]).any()


def test_the_cut_is_the_rows_sharing_every_key_with_a_partner_row(world):
    """access_after_assignment_ended alone, against a hand-written oracle: the kept rows are exactly
    the selected views whose (record, officer) pair is that of an ended assignment, and the rows its
    selection counts as not evaluable. Each key checked on its own would keep many more."""
    rule = next(c for c in ACCESS_RULES if c.name == "access_after_assignment_ended")
    p = plan([rule], REGISTER, _others(world))
    log = world[REGISTER].reset_index(drop=True)
    kept = p.keep(log)

    def filled(col: pd.Series) -> np.ndarray:
        return col.notna().to_numpy() & (col.astype("object").astype(str).str.strip() != "").to_numpy()

    subj = world["record_subjects"]
    ended = subj[subj["role"].isin(["officer_in_case", "assigned_officer"]).to_numpy() & filled(subj["assigned_to"])
                 & filled(subj["record_id"]) & filled(subj["person_key"])]
    pairs = set(zip(ended["record_id"], ended["person_key"]))
    dated, action = filled(log["accessed_date"]), filled(log["action"])
    viewed = log["action"].isin(["view", "print", "export"]).to_numpy() & dated & filled(log["record_id"])
    user = filled(log["person_key"])
    paired = np.array([(r, k) in pairs for r, k in zip(log["record_id"], log["person_key"])])
    undecided = ~dated | (dated & ~action & filled(log["record_id"])) | (viewed & ~user)
    expected = (viewed & user & paired) | undecided
    assert undecided.sum() >= 60 and (viewed & user & paired).sum() >= 10
    assert (kept == expected).all(), (np.flatnonzero(kept & ~expected)[:5], np.flatnonzero(~kept & expected)[:5])
    records, officers = set(ended["record_id"]), set(ended["person_key"])
    each_alone = viewed & user & log["record_id"].isin(records).to_numpy() & log["person_key"].isin(officers).to_numpy()
    assert each_alone.sum() > 2 * (viewed & user & paired).sum()


def test_undecided_marks_exactly_the_counted_rows(world):
    """Selection.undecided: the rows select_input counted (one blank each here), and none it sent on."""
    from rules.evaluate import params_in_force
    from rules.select import select_input

    rule = next(c for c in ACCESS_RULES if c.name == "access_no_work_reason")
    inp = rule.input("view")
    log = world[REGISTER].reset_index(drop=True)
    sel = select_input(rule, inp, log, params_in_force(rule, None), (-10**6, 10**6), (0, 0))
    assert sel.undecided.sum() == sum(sel.not_evaluable.values()) >= 60
    assert not sel.undecided[sel.selected.index.to_numpy()].any()
