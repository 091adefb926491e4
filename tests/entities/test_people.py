"""People: ids, written names, ambiguity reported (never guessed), dates of birth, departments."""
import pandas as pd
import pytest

from audit.entities import resolve

from entity_fixtures import frame


def _gifts(rows):
    base = {"donor_name": "Acme Ltd", "kind": "gift", "outcome": "accepted"}
    return frame("gifts_hospitality", [{"record_id": f"G{i}", **base, **r} for i, r in enumerate(rows)])


def _resolve(workforce, rows):
    res = resolve({"workforce": workforce, "gifts_hospitality": _gifts(rows)})
    return res, res.frames["gifts_hospitality"]


def _person_links(res):
    links = res.links
    return links[(links["register"] == "gifts_hospitality") & (links["field"] == "person_key")]


def test_ambiguous_name_is_reported_not_guessed(workforce):
    res, g = _resolve(workforce, [{"person_name": "John Smith"}, {"person_name": "PC 4411 J. Smith"}])
    assert g["person_key"].isna().all()
    un = res.unresolved[res.unresolved["field"] == "person_key"]
    assert list(un["reason"]) == ["ambiguous", "ambiguous"]
    assert set(un["candidates"]) == {"100001; 100002"}
    assert set(un["fact_id"]) == set(g["fact_id"])
    assert not (res.links["fact_id"].isin(g["fact_id"]) & (res.links["field"] == "person_key")).any()


@pytest.mark.parametrize("extra,expected,method", [
    ({"person_dob": "1975-06-30"}, "100002", "name_dob"),
    ({"person_department": "cid"}, "100001", "normalised_name"),
    ({"person_department": "Response", "person_dob": "1975-06-30"}, "100002", "name_dob"),
])
def test_date_of_birth_or_department_settles_two_namesakes(workforce, extra, expected, method):
    res, g = _resolve(workforce, [{"person_name": "DS John Smith", **extra}])
    assert g["person_key"].iloc[0] == expected
    link = _person_links(res).iloc[0]
    assert (link["method"], link["strength"], link["matched_text"]) == (method, "strong", "John Smith")


def test_date_of_birth_that_disagrees_is_not_a_match(workforce):
    res, g = _resolve(workforce, [{"person_name": "Priya Patel", "person_dob": "1991-01-01"}])
    assert g["person_key"].isna().all()
    assert list(res.unresolved["reason"]) == ["no_match"]


@pytest.mark.parametrize("written,expected,score,strength", [
    ("Mary-Ann O'Sullivan", "100003", 100.0, "strong"),
    ("O'SULLIVAN, Mary Ann", "100003", 100.0, "strong"),
    ("Insp M. O'Sullivan", "100003", 90.0, "weak"),
    ("Gareth Jones-Evans", "100005", 100.0, "strong"),
    ("Ms Patel", "000417", 80.0, "weak"),
])
def test_written_names_resolve_with_honest_strength(workforce, written, expected, score, strength):
    res, g = _resolve(workforce, [{"person_name": written}])
    assert g["person_key"].iloc[0] == expected
    link = _person_links(res).iloc[0]
    assert (link["score"], link["strength"], link["source_text"]) == (score, strength, written)


def test_unknown_name_is_unresolved(workforce):
    res, g = _resolve(workforce, [{"person_name": "Zebedee Quill"}])
    assert g["person_key"].isna().all()
    assert list(res.unresolved["reason"]) == ["no_match"]


def test_ids_win_over_names_and_unknown_ids_are_keyed_but_reported(workforce):
    res, g = _resolve(workforce, [
        {"person_id": "100003", "person_name": "John Smith"},
        {"person_id": "555555"},
        {"person_id": "100001", "approver": "417"},  # leading zeros lost by a spreadsheet
        {"person_id": "100001", "approver": "Gareth Jones-Evans"},  # approver written as a name
        {"person_id": "100001", "approver": "P-9999"},
    ])
    assert list(g["person_key"]) == ["100003", "555555", "100001", "100001", "100001"]
    assert list(g["approver_key"].fillna("-")) == ["-", "-", "000417", "100005", "P-9999"]
    un = res.unresolved.set_index("text")
    assert un.loc["555555", "reason"] == "unknown_id" and un.loc["P-9999", "reason"] == "unknown_id"
    weak = res.links[(res.links["strength"] == "weak") & (res.links["register"] == "gifts_hospitality")]
    assert set(weak["source_text"]) == {"555555", "P-9999"}


def test_every_person_reference_field_is_filled(workforce):
    proc = frame("procurement", [{"transaction_id": "T1", "line_no": "1", "supplier_name": "X Ltd", "net_amount": 1,
                                  "requisitioner": "100001", "approver": "100002", "supplier_created_by": "100001"}])
    bi = frame("business_interests", [{"record_id": "B1", "person_id": "100003", "decided_by": "100005",
                                       "interest_type": "other", "decision": "approved"}])
    res = resolve({"workforce": workforce, "procurement": proc, "business_interests": bi})
    p = res.frames["procurement"].iloc[0]
    assert (p["requisitioner_key"], p["approver_key"], p["supplier_created_by_key"]) == ("100001", "100002", "100001")
    assert res.frames["business_interests"]["decided_by_key"].iloc[0] == "100005"
    assert list(res.frames["workforce"]["person_key"]) == list(workforce["person_id"])


def test_name_dob_keys_join_workforce_barred_list_and_associates(workforce):
    barred = frame("barred_list", [{"record_id": "X1", "list": "barred", "first_name": "JOHN",
                                    "last_name": "smith", "date_of_birth": "1975-06-30"}])
    na = frame("notifiable_associations", [{"record_id": "N1", "person_id": "100003", "category": "other",
                                            "associate_name": "Mr J Smith", "associate_dob": "1975-06-30",
                                            "declared_date": "2026-01-01"}])
    res = resolve({"workforce": workforce, "barred_list": barred, "notifiable_associations": na})
    key = "smith|j|1975-06-30"
    assert res.frames["barred_list"]["name_dob_key"].iloc[0] == key
    assert res.frames["notifiable_associations"]["name_dob_key"].iloc[0] == key
    assert key in set(res.frames["workforce"]["name_dob_key"])


def test_without_a_workforce_names_are_reported_not_dropped():
    res = resolve({"gifts_hospitality": _gifts([{"person_name": "John Smith"}, {"person_id": "42"}])})
    g = res.frames["gifts_hospitality"]
    assert pd.isna(g["person_key"].iloc[0]) and g["person_key"].iloc[1] == "42"
    assert list(res.unresolved["reason"]) == ["no_workforce"]


def test_the_frames_given_are_never_changed(workforce):
    """resolve and RowKeys copy frames shallowly (pandas copies on write): the keys they fill, even in
    a key column the input already has, never reach the caller's frames."""
    from audit.entities import RowKeys

    gifts = _gifts([{"person_id": "100001"}, {"person_name": "John Smith"}]).assign(person_key="stale")
    before = {"workforce": workforce.copy(), "gifts": gifts.copy()}
    res = resolve({"workforce": workforce, "gifts_hospitality": gifts})
    assert res.frames["gifts_hospitality"]["person_key"].iloc[0] == "100001"
    absence = frame("absence", [{"record_id": "A1", "person_id": "100001", "absence_type": "sickness",
                                 "start_date": "2026-10-01"}]).assign(person_key="stale")
    kept = absence.copy()
    keyed = RowKeys(workforce).resolve("absence", absence)
    assert keyed.frames["absence"]["person_key"].iloc[0] == "100001"
    pd.testing.assert_frame_equal(workforce, before["workforce"])
    pd.testing.assert_frame_equal(gifts, before["gifts"])
    pd.testing.assert_frame_equal(absence, kept)
