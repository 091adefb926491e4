"""Analysts' overrides: `same` forces a link, `different` vetoes one, bad files fail loudly."""
import pandas as pd
import pytest

from audit.entities import OverridesError, resolve
from audit.entities.overrides import load
from audit.settings import EntitiesSection

from entity_fixtures import frame

HEADER = "kind,left,right,decision,who,when,why\n"


def _write(tmp_path, lines):
    p = tmp_path / "overrides.csv"
    p.write_text(HEADER + "".join(l + "\n" for l in lines), encoding="utf-8")
    return p


def _frames():
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": "Acme Security Ltd", "company_number": "01234567", "net_amount": 1},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": "ACME SECURITY LIMITED", "company_number": None, "net_amount": 1},
        {"transaction_id": "T3", "line_no": "1", "supplier_name": "Zenith Guarding", "company_number": None, "net_amount": 1},
        {"transaction_id": "T4", "line_no": "1", "supplier_name": "Acme Security Ltd", "company_number": "1234567", "net_amount": 1},
    ])
    return {"procurement": proc}


def _keys(res):
    return list(res.frames["procurement"]["org_key"])


def test_org_same_forces_a_link_with_override_evidence(tmp_path):
    path = _write(tmp_path, ["org,Zenith Guarding,01234567,same,A. Analyst,2026-11-01,Zenith is Acme's trading name (CH filing)"])
    res = resolve(_frames(), EntitiesSection(overrides=str(path)))
    k = _keys(res)
    assert k[2] == k[0] == "CN:01234567"
    link = res.links[(res.links["field"] == "org_key") & (res.links["source_text"] == "Zenith Guarding")].iloc[0]
    assert (link["method"], link["score"], link["strength"]) == ("override", 100.0, "strong")
    assert res.stats["overrides"] == 1
    assert _keys(resolve(_frames()))[2] != k[0]  # without the file they stay apart


def test_org_different_vetoes_even_an_identical_name(tmp_path):
    path = _write(tmp_path, ["org,ACME SECURITY LIMITED,01234567,different,A. Analyst,2026-11-01,Unrelated sole trader"])
    k = _keys(resolve(_frames(), overrides=path))
    assert k[1] != k[0]
    assert k[0] == k[3]  # the company number still joins the numbered rows


def test_org_different_vetoes_a_company_number_link(tmp_path):
    # T1 and T4 share company number 01234567; the analyst says the name on T2 is not that company
    path = _write(tmp_path, ["org,01234567,ACME SECURITY LIMITED,different,B,2026-11-01,test"])
    res = resolve(_frames(), overrides=path)
    k = _keys(res)
    assert k[1] != k[0] and k[0] == k[3]
    assert res.stats["org_vetoes"].get("override_different", 0) >= 1


def test_person_overrides(tmp_path, workforce):
    gifts = frame("gifts_hospitality", [
        {"record_id": "G1", "person_name": "John Smith", "donor_name": "X Ltd"},
        {"record_id": "G2", "person_name": "Priya Patel", "donor_name": "X Ltd"},
    ])
    path = _write(tmp_path, [
        "person,John Smith,100002,same,C. Reviewer,2026-11-02,Confirmed with HR",
        "person,Priya Patel,000417,different,C. Reviewer,2026-11-02,A visitor of the same name",
    ])
    res = resolve({"workforce": workforce, "gifts_hospitality": gifts}, overrides=path)
    g = res.frames["gifts_hospitality"]
    assert g["person_key"].iloc[0] == "100002"
    assert g["person_key"].isna().iloc[1]
    assert list(res.unresolved["reason"]) == ["no_match"]
    gl = res.links[(res.links["field"] == "person_key") & (res.links["register"] == "gifts_hospitality")]
    assert gl["method"].tolist() == ["override"]
    # a run resolves through the RowKeys its streamed registers use (one workforce index, its overrides)
    from audit.entities import RowKeys

    frames = {"workforce": workforce, "gifts_hospitality": gifts}
    shared = resolve(frames, keys=RowKeys(workforce, overrides=path))
    for register, df in res.frames.items():
        pd.testing.assert_frame_equal(shared.frames[register], df)
    pd.testing.assert_frame_equal(shared.links, res.links)
    pd.testing.assert_frame_equal(shared.unresolved, res.unresolved)
    with pytest.raises(ValueError, match="keys"):
        resolve(frames, overrides=path, keys=RowKeys(workforce, overrides=path))


@pytest.mark.parametrize("line,message", [
    ("org,A,B,maybe,x,2026-01-01,y", "decision must be same or different"),
    ("company,A,B,same,x,2026-01-01,y", "kind must be org or person"),
    ("org,,B,same,x,2026-01-01,y", "left and right"),
    ("org,A,B,same,,2026-01-01,", "who and why"),
])
def test_bad_override_lines_fail_with_file_and_line(tmp_path, line, message):
    path = _write(tmp_path, [line])
    with pytest.raises(OverridesError, match=rf"overrides.csv:2: {message}"):
        load(path)


def test_missing_file_and_missing_columns_fail(tmp_path):
    with pytest.raises(OverridesError, match="not found"):
        load(tmp_path / "nope.csv")
    bad = tmp_path / "o.csv"
    bad.write_text("kind,left,right\n", encoding="utf-8")
    with pytest.raises(OverridesError, match="missing column"):
        load(bad)
