"""`blank: open` on a compare: a blank open-ended right operand is a period still running.

The old behaviour (every blank makes the pair not evaluable) silently missed a claim or a decision
made during an ongoing sickness absence; these tests fail on it. Both engines must agree with each
other AND with a plain-Python statement of the meaning (the oracle below), blanks on either side.
"""
from __future__ import annotations

import operator

import pandas as pd
import pytest
from helpers import HEADER, TESTS, compiled
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines import both, frame

from audit.period import Period
from rules.explain import explain
from rules.loader import load_text
from rules.model import from_document
from rules.select import OPEN_END_DAY
from rules.validate import schema_problems, semantic_problems

PERIOD = Period(2026, 3)
OPS = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}

BODY = """inputs:
  interest:
    register: business_interests
    where: {{decision|eq: approved}}
  sickness:
    register: absence
    where: {{absence_type|eq: sickness}}
match:
  kind: {kind}
  on: {{person: {{interest: person_key, sickness: person_key}}}}
  compare:
    - {{left: interest.decision_date, op: gte, right: sickness.start_date}}
    - {{left: interest.decision_date, op: {op}, right: sickness.end_date, offset_days: {offset}{blank}}}
alert:
  title: "{{interest.person_key}} decided {{interest.decision_date}} (absence {{sickness.start_date}} to {{sickness.end_date}})"
  subject: interest.person_key
  fields: [interest.record_id, sickness.end_date]
  dedup: [interest.record_id, sickness.record_id]
"""
ABSENT_EXTRA = "  present: interest\n  missing: sickness\n"


def rule_body(op="lte", offset=0, blank="open", kind="join") -> str:
    body = BODY.format(kind=kind, op=op, offset=offset, blank=f", blank: {blank}" if blank else "")
    if kind == "absent":  # an absent rule's alert names only the present input
        body = body.replace("  on:", ABSENT_EXTRA + "  on:", 1) \
            .replace(" (absence {sickness.start_date} to {sickness.end_date})", "") \
            .replace(", sickness.end_date]", "]").replace(", sickness.record_id]", "]")
    return body


def interests(rows) -> pd.DataFrame:
    """rows: (person_key, decision day of March 2026 or None)."""
    return frame([{"fact_id": f"i{n}", "record_id": f"B{n}", "person_key": p, "decision": "approved",
                   "decision_date": None if d is None else f"2026-03-{d:02d}"} for n, (p, d) in enumerate(rows)],
                 dates=["decision_date"])


def absences(rows) -> pd.DataFrame:
    """rows: (person_key, start day of March 2026, end day of March 2026 or None = open)."""
    return frame([{"fact_id": f"a{n}", "record_id": f"A{n}", "person_key": p, "absence_type": "sickness",
                   "start_date": f"2026-03-{s:02d}", "end_date": None if e is None else f"2026-03-{e:02d}"}
                  for n, (p, s, e) in enumerate(rows)], dates=["start_date", "end_date"])


def run_both(body: str, interest_rows, absence_rows, alias="interest"):
    return both(compiled(body, alias=alias), {"business_interests": interests(interest_rows),
                                              "absence": absences(absence_rows)})


# -- meaning ------------------------------------------------------------------------------------

def test_open_absence_contains_a_later_decision_and_is_not_counted_as_not_evaluable():
    found, stats = run_both(rule_body(), [("P1", 10), ("P1", 2)], [("P1", 5, None)])
    assert [f.facts for f in found] == [{"interest": ("i0",), "sickness": ("a0",)}]  # not i1: before the start
    assert stats.not_evaluable == {}


def test_without_blank_open_the_same_absence_stays_not_evaluable():
    """The old behaviour, kept as the default: no finding, and the blank is counted."""
    for blank in (None, "not_evaluable"):
        found, stats = run_both(rule_body(blank=blank), [("P1", 10)], [("P1", 5, None)])
        assert found == [] and stats.not_evaluable == {"sickness.end_date": 1}


@pytest.mark.parametrize("op, holds", [("lt", True), ("lte", True), ("gt", False), ("gte", False)])
def test_open_end_is_later_than_any_date_whatever_the_offset(op, holds):
    for offset in (-400, 0, 400):
        found, stats = run_both(rule_body(op=op, offset=offset), [("P1", 10)], [("P1", 5, None)])
        assert bool(found) is holds, (op, offset)
        assert stats.not_evaluable == {}  # decided either way


def test_evidence_and_title_show_the_real_blank_never_the_engine_value():
    found, _ = run_both(rule_body(), [("P1", 10)], [("P1", 5, None)])
    f = found[0]
    assert f.values == {"interest.record_id": "B0", "sickness.end_date": None}
    assert f.title == "P1 decided 2026-03-10 (absence 2026-03-05 to (blank))"
    assert str(OPEN_END_DAY) not in f.title and "9999" not in f.title


def test_a_blank_on_the_left_is_still_not_evaluable():
    found, stats = run_both(rule_body(), [("P1", None), ("P1", 10)], [("P1", 5, None)])
    assert [f.facts["interest"] for f in found] == [("i1",)]
    assert stats.not_evaluable == {"interest.decision_date": 1}


def test_a_field_another_compare_needs_is_dropped_and_counted_when_blank():
    """end_date is open for one compare but a plain operand of another: the pair cannot be decided."""
    body = rule_body().replace("    - {left: interest.decision_date, op: gte, right: sickness.start_date}",
                               "    - {left: interest.decision_date, op: gte, right: sickness.start_date}\n"
                               "    - {left: sickness.end_date, op: gte, right: interest.decision_date}")
    found, stats = run_both(body, [("P1", 10)], [("P1", 5, None), ("P1", 5, 20)])
    assert [f.facts["sickness"] for f in found] == [("a1",)]
    assert stats.not_evaluable == {"sickness.end_date": 1}


def test_absent_kind_reads_an_open_absence_as_covering():
    """present: interest, missing: sickness - an interest decided outside every absence."""
    found, stats = run_both(rule_body(kind="absent"), [("P1", 10), ("P2", 10), ("P3", 10)],
                            [("P1", 5, None), ("P2", 5, 8)])
    assert sorted(f.facts["interest"] for f in found) == [("i1",), ("i2",)]
    assert stats.not_evaluable == {}


# -- both engines against the oracle, blanks on either side ---------------------------------------

PEOPLE = st.sampled_from(["P1", "P2", None])
DAY = st.integers(1, 31)
ROWS_I = st.lists(st.tuples(PEOPLE, st.one_of(st.none(), DAY)), min_size=1, max_size=8)
ROWS_A = st.lists(st.tuples(PEOPLE, DAY, st.one_of(st.none(), DAY)), min_size=1, max_size=8)


def oracle(interest_rows, absence_rows, op, offset) -> list[tuple[str, str]]:
    """The meaning, stated directly: an open end is later than any date."""
    out = []
    for i, (ip, d) in enumerate(interest_rows):
        for a, (ap, s, e) in enumerate(absence_rows):
            if ip is None or ip != ap or d is None or d < s:
                continue
            if (op in ("lt", "lte")) if e is None else OPS[op](d, e + offset):
                out.append((f"i{i}", f"a{a}"))
    return sorted(out)


@settings(max_examples=30, deadline=None)
@given(ROWS_I, ROWS_A, st.sampled_from(sorted(OPS)), st.sampled_from([-3, 0, 2]))
def test_engines_agree_with_the_oracle(interest_rows, absence_rows, op, offset):
    found, stats = run_both(rule_body(op=op, offset=offset), interest_rows, absence_rows)
    assert sorted((f.facts["interest"][0], f.facts["sickness"][0]) for f in found) == \
        oracle(interest_rows, absence_rows, op, offset)
    assert "sickness.end_date" not in stats.not_evaluable


# -- compiled form and explain --------------------------------------------------------------------

def test_not_saying_and_not_evaluable_compile_to_the_same_version_open_does_not():
    plain, explicit, opened = (compiled(rule_body(blank=b), alias="interest") for b in (None, "not_evaluable", "open"))
    assert plain.version == explicit.version != opened.version
    assert [c.get("blank") for c in opened.compares] == [None, "open"]
    assert "(a blank sickness.end_date is open: later than any date)" in explain(opened)


# -- validation -----------------------------------------------------------------------------------

def problems_of(body: str) -> list:
    doc = load_text(HEADER.format(id="11111111-1111-4111-8111-111111111111", name="test_rule") + body
                    + TESTS.format(alias="interest"), "test_rule.yaml")
    schema = schema_problems(doc)
    return schema or semantic_problems(from_document(doc))


def located(problems, severity="error") -> list[str]:
    return [f"{p.line}:{p.message}" for p in problems if p.severity == severity]


def test_schema_refuses_an_unknown_blank_meaning():
    got = located(problems_of(rule_body(blank="infinite")))
    assert any("'infinite' is not one of ['open', 'not_evaluable']" in g for g in got), got


def test_blank_open_needs_an_ordering_op():
    got = located(problems_of(rule_body(op="eq")))
    assert got == ["20:blank: open needs an ordering op (lt, lte, gt, gte), not eq: a period that has not "
                   "ended has no end date to be equal to"]


def test_blank_open_needs_an_open_ended_right_operand_and_hints_the_swap():
    body = rule_body().replace("right: sickness.end_date", "right: sickness.start_date")
    got = located(problems_of(body))
    assert len(got) == 1 and got[0].startswith("20:blank: open applies to the right operand") \
        and "sickness.start_date is not" in got[0] and "flip the op" not in got[0]
    swapped = rule_body(op="gte").replace("{left: interest.decision_date, op: gte, right: sickness.end_date",
                                          "{left: sickness.end_date, op: gte, right: interest.decision_date")
    got = located(problems_of(swapped))
    assert len(got) == 1 and "interest.decision_date is not; sickness.end_date is: write it on the right" in got[0]


def test_an_open_ended_operand_without_a_blank_meaning_is_warned_about():
    warned = located(problems_of(rule_body(blank=None)), "warning")
    assert len(warned) == 1 and warned[0].startswith("20:sickness.end_date is open-ended") and "blank: open" in warned[0]
    left = rule_body(blank=None).replace("{left: interest.decision_date, op: lte, right: sickness.end_date",
                                         "{left: sickness.end_date, op: gte, right: interest.decision_date")
    warned = located(problems_of(left), "warning")
    assert len(warned) == 1 and "a blank on the left is never read as open" in warned[0]
    for blank in ("open", "not_evaluable"):
        assert problems_of(rule_body(blank=blank)) == []
