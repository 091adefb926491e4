"""The access rules (rules/library/access) on one small world written out by hand: the planted
patterns of issue #19 that the rule format can express raise exactly their rule's findings, and the
decoys the issue names (a public-protection officer whose job is those records, a supervisor
reviewing the team's cases, an analyst's bulk report) plus near misses raise none, on both engines
with identical findings. Every access rule reads only need-to-know fields, so its alerts are the
CCU's alone."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from audit import registers
from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate_rule
from rules.testing import canonical_column

RULES = {r.name: r for r in load_rules([LIBRARY])[0] if Path(r.file).parent.name == "access"}
PERIOD = Period.parse("2026-10")


def _frame(register: str, rows: list[dict]) -> pd.DataFrame:
    reg = registers.get(register)
    data = {"fact_id": pd.Series([r["fact_id"] for r in rows], dtype="object")}
    for f in reg.fields.values():
        data[f.name] = canonical_column([r.get(f.name) for r in rows], f.type)
    return pd.DataFrame(data)


def _acc(i: str, user: str, day: str, action: str = "view", **kw) -> dict:
    return {"fact_id": i, "access_id": i, "person_id": user, "person_key": user, "accessed_date": day,
            "system": "crime", "action": action, **kw}


STAFF = [  # person, first, last, date of birth, department
    ("100001", "John", "Smith", "1980-05-01", "Response"), ("100002", "Ann", "Jones", "1975-02-02", "HR"),
    ("100003", "Priya", "Patel", "1988-07-07", "Public Protection"), ("100004", "Mark", "Blake", "1979-09-09", "Response"),
    ("100005", "Sue", "Green", "1984-04-04", "Intelligence"), ("100006", "Tom", "Hill", "1990-01-01", "Response"),
]
ACCESS = [
    # planted
    _acc("A01", "100001", "2026-10-03", "search", search_text="SMITH JOHN 01/05/1980", name_dob_key="smith|j|1980-05-01"),
    _acc("A02", "100001", "2026-10-04", "search", search_text="JONES ANN 02/02/1975", name_dob_key="jones|a|1975-02-02"),
    _acc("A03", "100006", "2026-10-06", record_id="CR9", name_dob_key="crook|b|1970-03-03"),
    _acc("A04", "100004", "2026-10-20", record_id="CR2"),
    _acc("A05", "100005", "2026-10-12", record_id="CR6"),
    _acc("A06", "100001", "2026-10-16", record_id="CR1"),                                       # no work reason
    # decoys and near misses
    _acc("D01", "100003", "2026-10-05", record_id="CR1", name_dob_key="victim|v|2009-01-01"),   # PPU officer, vulnerable record
    _acc("D02", "100004", "2026-10-07", record_id="CR3"),                                       # supervisor, team's case
    _acc("D08", "100001", "2026-10-09", record_id="CR3"),                                       # team-mate, team's case
    _acc("D03", "100005", "2026-10-02", "export", search_text="DA repeat victims - all divisions", rows_returned=6500),
    _acc("D04", "100004", "2026-10-10", record_id="CR4"),                                       # hand-over, within grace
    _acc("D05", "100006", "2026-10-07", record_id="CR8", name_dob_key="crook|b|1973-03-03"),   # associate's namesake
    _acc("D06", "100001", "2026-10-08", "search", search_text="SMITH ZACHARY 14/03/1961", name_dob_key="smith|z|1961-03-14"),
    _acc("D07", "100002", "2026-10-14", record_id="CR5"),                                       # short sickness
]
SUBJECTS = [
    {"link_id": "L1", "record_id": "CR1", "role": "victim", "domestic_abuse": True, "first_name": "Vera", "last_name": "Victim",
     "date_of_birth": "2009-01-01", "owning_unit": "Public Protection"},
    {"link_id": "L2", "record_id": "CR1", "role": "officer_in_case", "person_id": "100003", "person_key": "100003",
     "assigned_from": "2026-09-01"},
    {"link_id": "L3", "record_id": "CR2", "role": "officer_in_case", "person_id": "100004", "person_key": "100004",
     "assigned_from": "2026-08-01", "assigned_to": "2026-09-20"},
    {"link_id": "L4", "record_id": "CR3", "role": "officer_in_case", "person_id": "100006", "person_key": "100006",
     "assigned_from": "2026-09-15"},
    {"link_id": "L5", "record_id": "CR4", "role": "officer_in_case", "person_id": "100004", "person_key": "100004",
     "assigned_from": "2026-08-01", "assigned_to": "2026-10-01"},
    {"link_id": "L6", "record_id": "CR3", "role": "victim", "child": True, "first_name": "Cal", "last_name": "Child",
     "date_of_birth": "2015-05-05", "owning_unit": "CID"},
]
MANAGER = {"100006": "100004", "100001": "100004"}  # a team: 100004 manages 100006 and 100001
ABSENCE = [
    {"record_id": "S1", "person_id": "100005", "person_key": "100005", "absence_type": "sickness",
     "start_date": "2026-10-03"},  # open, 29 days by the period end; D03 is the day before it
    {"record_id": "S2", "person_id": "100002", "person_key": "100002", "absence_type": "sickness",
     "start_date": "2026-10-13", "end_date": "2026-10-15", "days": 3},
]
ASSOC = [{"record_id": "N1", "person_id": "100006", "person_key": "100006", "associate_name": "Bob Crook",
          "associate_dob": "1970-03-03", "name_dob_key": "crook|b|1970-03-03", "category": "organised_crime",
          "declared_date": "2024-01-10"}]
EXPECTED = {  # rule -> the planted access rows it must cite, and nothing else
    "access_self_search": {"A01"}, "access_colleague_search": {"A02"}, "access_associate_record_viewed": {"A03"},
    "access_after_assignment_ended": {"A04"}, "access_during_long_sickness": {"A05"},
    "access_no_work_reason": {"A06"},
}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    staff = [{"fact_id": f"W{p}", "person_id": p, "person_key": p, "first_name": f, "last_name": l,
              "date_of_birth": d, "department": dep, "name_dob_key": f"{l.lower()}|{f[0].lower()}|{d}",
              "line_manager_id": MANAGER.get(p)}
             for p, f, l, d, dep in STAFF]
    return {"system_access": _frame("system_access", ACCESS),
            "record_subjects": _frame("record_subjects", [{"fact_id": s["link_id"], **s} for s in SUBJECTS]),
            "absence": _frame("absence", [{"fact_id": a["record_id"], **a} for a in ABSENCE]),
            "notifiable_associations": _frame("notifiable_associations", [{"fact_id": a["record_id"], **a} for a in ASSOC]),
            "workforce": _frame("workforce", staff)}


def test_every_access_rule_is_checked_here():
    assert set(RULES) == set(EXPECTED) | {"access_peer_trawling"}  # trawling: its own world below


def _trawling_world() -> dict[str, pd.DataFrame]:
    """Seven Response constables open 1-3 vulnerable records each and one opens 14 (planted); eight
    public-protection constables open 30-34 each (their job: the decoy); a Response sergeant alone in
    their grade opens 20 (too few peers for a baseline: silent)."""
    staff, views, subjects = [], [], []
    for r in range(40):
        subjects.append({"fact_id": f"L{r}", "link_id": f"L{r}", "record_id": f"R{r}", "role": "victim",
                         "domestic_abuse": True, "owning_unit": "Public Protection"})

    def person(pid: str, dept: str, grade: str, records: range) -> None:
        staff.append({"fact_id": f"W{pid}", "person_id": pid, "person_key": pid, "first_name": "A", "last_name": pid,
                      "department": dept, "rank_grade": grade})
        for r in records:
            views.append(_acc(f"V{pid}-{r}", pid, f"2026-10-{1 + r % 28:02d}", record_id=f"R{r}"))

    person("T1", "Response", "Constable", range(14))
    for i in range(7):
        person(f"C{i}", "Response", "Constable", range(i, i + 1 + i % 3))
    for i in range(8):
        person(f"P{i}", "Public Protection", "Constable", range(i, i + 30 + i % 5))
    person("S1", "Response", "Sergeant", range(20))
    return {"system_access": _frame("system_access", views), "record_subjects": _frame("record_subjects", subjects),
            "workforce": _frame("workforce", staff)}


def test_trawling_found_against_peers_and_busy_units_silent_on_both_engines():
    compiled = compile_rule(RULES["access_peer_trawling"])
    world = _trawling_world()
    got = {}
    for engine in ("reference", "durable"):
        findings, _ = evaluate_rule(compiled, world, PERIOD, engine=engine)
        got[engine] = [(f.subject, f.values["value"], f.values["peers.count"], f.values["peers.mean"], f.title)
                       for f in findings]
    assert got["reference"] == got["durable"]
    (subject, value, peers, mean, title), = got["reference"]
    assert (subject, value, peers) == ("T1", 14, 7)
    assert mean == round(sum(1 + i % 3 for i in range(7)) / 7, 2)  # the others' mean, not including T1
    assert "peers (Response / Constable, 7 others) averaged" in title


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_planted_found_and_decoys_silent_on_both_engines(name, frames):
    compiled = compile_rule(RULES[name])
    got = {}
    for engine in ("reference", "durable"):
        findings, _ = evaluate_rule(compiled, frames, PERIOD, engine=engine)
        log = [i.alias for i in compiled.inputs if i.register == "system_access"]
        got[engine] = sorted((f.dedup, tuple(sorted(x for a in log for x in f.facts.get(a, ()))), f.title)
                             for f in findings)
    assert got["reference"] == got["durable"]
    cited = {fact for _, facts, _ in got["reference"] for fact in facts}
    assert cited == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_access_rules_read_only_need_to_know_registers_fields(name):
    """The pipeline gives an alert the sensitivity of the most sensitive field its rule reads
    (audit.pipeline._rule_sensitivity): every access rule reads a sensitive field, so the web app and
    exports show its alerts to the CCU only."""
    compiled = compile_rule(RULES[name])
    levels = {registers.get(i.register).fields[f].sensitivity for i in compiled.inputs for f in i.fields}
    assert "sensitive" in levels
    for register in ("system_access", "record_subjects"):
        assert {f.sensitivity for f in registers.get(register).fields.values()} == {"sensitive"}
