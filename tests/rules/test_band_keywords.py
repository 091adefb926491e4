"""Rule-format features of issue 21: a band (`{param, times}`: a share of a param), `keywords`
over several fields, and `{alias.date|past/future}` words in titles. Selection runs in pandas for
both engines; the differential tests here check the engines still agree on rules that use them."""
from __future__ import annotations

import pandas as pd
from helpers import compiled, rule_from_text
from hypothesis import given
from hypothesis import strategies as st
from test_differential import GIFTS, PERIOD, PURCHASES, SETTINGS, assert_same, gift_rows, purchase_rows

from audit.period import Period
from rules.explain import explain
from rules.loader import load_text
from rules.model import from_document
from rules.validate import schema_problems, semantic_problems

BAND_KEYWORDS_BODY = """inputs:
  gift:
    register: gifts_hospitality
    where: {outcome|eq: accepted}
    keywords: {fields: [donor_name, description], any: [ticket, "Box"]}
  purchase:
    register: procurement
    where:
      net_amount|gte: {param: cap, times: {param: share}}
      net_amount|lt: {param: cap}
match:
  kind: sequence
  on: {supplier: {gift: org_key, purchase: org_key}}
  dates: {gift: offered_date, purchase: transaction_date}
  within_days: 30
  order: any
params:
  cap: {type: money, default: 100000}
  share: {type: number, default: 0.5}
alert:
  title: "{gift.donor_name} gift {gift.offered_date|given/offered} near {purchase.net_amount}"
  subject: gift.person_key
  dedup: [gift.record_id]
"""
RULE = compiled(BAND_KEYWORDS_BODY)
TEXTS = st.sampled_from([None, "", "  ", "Cup final TICKETS", "box at the races", "Hamper", "Acme Ltd"])


def _gifts(g, donors, descriptions) -> pd.DataFrame:
    df = gift_rows(g)
    n = len(df)
    df["donor_name"] = pd.Series((donors * (n // max(len(donors), 1) + 1))[:n] if donors else [None] * n, dtype="object")
    df["description"] = pd.Series((descriptions * (n // max(len(descriptions), 1) + 1))[:n] if descriptions
                                  else [None] * n, dtype="object")
    return df


@SETTINGS
@given(GIFTS, PURCHASES, PERIOD, st.lists(TEXTS, max_size=5), st.lists(TEXTS, max_size=5),
       st.integers(1, 200_000), st.sampled_from([0, 0.2, 0.5, 0.9, 1]))
def test_band_and_keywords_engines_agree(g, p, period, donors, descriptions, cap, share):
    frames = {"gifts_hospitality": _gifts(g, donors, descriptions), "procurement": purchase_rows(p)}
    found = assert_same(RULE, frames, period, {"cap": cap, "share": share})
    floor = int(cap * share + 0.5)  # rounded half-up, like {field, times}
    amounts = dict(zip(frames["procurement"]["fact_id"], frames["procurement"]["net_amount"]))
    for f in found:
        amount = amounts[f.facts["purchase"][0]]
        assert floor <= amount < cap


def _selected(donor, description):
    frames = {"gifts_hospitality": _gifts([("O1", "P1", 40, 100, "accepted")], [donor], [description]),
              "procurement": purchase_rows([("O1", "P1", 45, 60_000, "tender")])}
    found, stats = __import__("rules.evaluate", fromlist=["evaluate_rule"]).evaluate_rule(
        RULE, frames, Period(2026, 2), None, "reference")
    return len(found), {k: n for k, n in stats.not_evaluable.items() if n}


def test_keywords_any_word_in_any_field_case_insensitive_blank_only_when_all_blank():
    assert _selected("Acme Ltd", "Cup final TICKETS") == (1, {})
    assert _selected("BOX OFFICE LTD", None) == (1, {})  # a blank description does not undecide it
    assert _selected("Acme Ltd", "Hamper") == (0, {})
    assert _selected(None, "  ") == (0, {"gift.description": 1, "gift.donor_name": 1})


def test_title_date_words_read_the_period_end():
    frames = {"gifts_hospitality": _gifts([("O1", "P1", 40, 100, "accepted")], ["Box Co"], [None]),
              "procurement": purchase_rows([("O1", "P1", 45, 60_000, "tender")])}
    found = assert_same(RULE, frames, Period(2026, 2))
    assert found[0].title == "Box Co gift given 2026-02-10 near £600.00"


def _errors(body: str) -> list[str]:
    from helpers import HEADER, TESTS

    doc = load_text(HEADER.format(id="11111111-1111-4111-8111-111111111111", name="test_rule") + body
                    + TESTS.format(alias="gift"), "<t>")
    problems = schema_problems(doc)
    if problems:
        return [p.message for p in problems]
    return [p.message for p in semantic_problems(from_document(doc)) if p.severity == "error"]


def test_validation_refuses_misused_band_keywords_and_date_words():
    body = BAND_KEYWORDS_BODY
    assert _errors(body) == []
    assert any("keywords apply to text fields" in m for m in
               _errors(body.replace("fields: [donor_name, description]", "fields: [donor_name, estimated_value]")))
    assert any("times needs a number or money compare" in m for m in
               _errors(body.replace("where: {outcome|eq: accepted}",
                                    "where: {outcome|eq: {param: cap, times: 2}}")))
    assert any("past/future words apply to a date field" in m for m in
               _errors(body.replace("{gift.offered_date|given/offered}", "{gift.donor_name|given/offered}")))
    assert _errors(body.replace("any: [ticket, \"Box\"]", "any: []"))  # the schema wants a word


def test_explain_shows_band_and_keywords():
    text = explain(RULE)
    assert "net_amount >= param cap x param share" in text
    assert 'any of donor_name, description contains any of ["ticket", "Box"]' in text
    assert rule_from_text  # imported for symmetry with the other rules tests
