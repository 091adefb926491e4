"""Organisation resolution through resolve(): guards, vetoes, determinism and evidence."""
import pytest
import pandas as pd

from audit.entities import LINK_COLUMNS, resolve
from audit.store.views import LinkView

from entity_fixtures import frame

SUPPLIERS = [
    ("Acme Security Ltd", "01234567", "GB123456789"),
    ("ACME SECURITY LIMITED", None, None),
    ("Acme Security (UK) Ltd", "1234567", None),
    ("Acme Securities Ltd", "00000999", None),
    ("Acme Securities Limited", "999", None),
    ("Services Ltd", None, None),
    ("Services Limited", "07777777", None),
    ("Bloggs Plumbing", None, "987 6543 21"),
    ("Harrow Fleet Repairs Ltd", None, None),
]


def _frames():
    proc = frame("procurement", [{"transaction_id": f"T{i}", "line_no": "1", "supplier_name": n,
                                  "company_number": cn, "vat_number": vat, "net_amount": 100}
                                 for i, (n, cn, vat) in enumerate(SUPPLIERS)])
    gifts = frame("gifts_hospitality", [
        {"record_id": "G1", "person_id": "1", "donor_name": "The Acme Security Company", "donor_company_number": None},
        {"record_id": "G2", "person_id": "1", "donor_name": "Acme Securities Ltd", "donor_company_number": None},
        {"record_id": "G3", "person_id": "1", "donor_name": "Services Ltd", "donor_company_number": None},
        {"record_id": "G4", "person_id": "1", "donor_name": "Harow Fleet Repairs", "donor_company_number": None},
    ])
    interests = frame("business_interests", [
        {"record_id": "B1", "person_id": "1", "organisation_name": "Acme Security Group Ltd", "company_number": "55555555"},
        {"record_id": "B2", "person_id": "1", "organisation_name": "UK Ltd", "company_number": None},
    ])
    return {"procurement": proc, "gifts_hospitality": gifts, "business_interests": interests}


def _keys(res):
    p = res.frames["procurement"].set_index("supplier_name")["org_key"]
    g = res.frames["gifts_hospitality"].set_index("record_id")["org_key"]
    return p, g


def test_company_numbers_and_names_resolve_to_one_key_per_company():
    p, g = _keys(resolve(_frames()))
    acme = p["Acme Security Ltd"]
    assert acme == "CN:01234567"
    assert p["ACME SECURITY LIMITED"] == acme and p["Acme Security (UK) Ltd"] == acme and g["G1"] == acme
    assert p["Acme Securities Ltd"] == p["Acme Securities Limited"] == g["G2"] == "CN:00000999"
    assert g["G4"] == p["Harrow Fleet Repairs Ltd"]  # typo, fuzzy


def test_different_company_numbers_veto_the_decoy():
    res = resolve(_frames())
    p, _ = _keys(res)
    assert p["Acme Security Ltd"] != p["Acme Securities Ltd"]
    links = res.links[res.links["field"] == "org_key"]
    assert not (links["source_text"].str.contains("Securities") & (links["method"] == "fuzzy")).any()
    # the group company with its own number is not pulled in by its similar name
    b = res.frames["business_interests"].set_index("record_id")["org_key"]
    assert b["B1"] == "CN:55555555"


def test_generic_names_never_fuzzy_and_are_weak():
    res = resolve(_frames())
    links = res.links[res.links["field"] == "org_key"]
    generic = links[links["source_text"].isin(["Services Ltd", "UK Ltd"])]
    assert not (generic["method"] == "fuzzy").any()
    b = res.frames["business_interests"].set_index("record_id")["org_key"]
    assert b["B2"] not in set(res.frames["procurement"]["org_key"])
    g = links[(links["register"] == "gifts_hospitality") & (links["source_text"] == "Services Ltd")]
    assert (g["strength"] == "weak").all()


def test_evidence_rows_carry_method_score_and_both_strings():
    res = resolve(_frames())
    assert tuple(res.links.columns) == LINK_COLUMNS
    org = res.links[res.links["field"] == "org_key"]
    assert len(org) == 9 + 4 + 2  # one per mention
    typo = org[org["source_text"] == "Harow Fleet Repairs"].iloc[0]
    assert typo["method"] == "fuzzy" and 90 <= typo["score"] < 100 and typo["matched_text"] == "Harrow Fleet Repairs Ltd"
    cn = org[org["source_text"] == "Acme Security Ltd"].iloc[0]
    assert cn["method"] == "company_number" and cn["matched_text"] == "01234567"
    vat = org[org["source_text"] == "Bloggs Plumbing"].iloc[0]
    assert vat["method"] == "vat_number" and vat["key"].startswith("ORG:")
    # a link row is exactly what the reviewer's LinkView shows
    view = LinkView(**{k: v for k, v in org.iloc[0].items() if k != "register"})
    assert view.fact_id.startswith("procurement:")


def test_same_input_shuffled_gives_same_keys():
    frames = _frames()
    first = resolve(frames)
    shuffled = {r: df.sample(frac=1, random_state=3) for r, df in reversed(list(frames.items()))}
    second = resolve(shuffled)
    for reg in frames:
        a = first.frames[reg].set_index("fact_id")["org_key"].sort_index()
        b = second.frames[reg].set_index("fact_id")["org_key"].sort_index()
        pd.testing.assert_series_equal(a, b)
    cols = ["fact_id", "field", "key", "method", "score", "strength"]
    la = first.links[cols].sort_values(cols[:2]).reset_index(drop=True)
    lb = second.links[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(la, lb)


def test_input_frames_are_not_modified():
    frames = _frames()
    before = {r: df.copy() for r, df in frames.items()}
    resolve(frames)
    for r in frames:
        pd.testing.assert_frame_equal(frames[r], before[r])


def test_candidate_pairs_are_blocked_and_counted():
    res = resolve(_frames())
    assert 0 < res.stats["org_candidate_pairs"] < res.stats["org_all_pairs"]


def test_company_number_veto_beats_a_strong_name_match():
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": "Kestrel Guarding Ltd", "company_number": "01111111", "net_amount": 1},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": "Kestrel Gaurding Ltd", "company_number": "02222222", "net_amount": 1},
        {"transaction_id": "T3", "line_no": "1", "supplier_name": "Kestrel Gaurding Limited", "company_number": None, "net_amount": 1},
    ])
    res = resolve({"procurement": proc})
    k = list(res.frames["procurement"]["org_key"])
    assert k == ["CN:01111111", "CN:02222222", "CN:02222222"]
    assert res.stats["org_vetoes"]["company_number_conflict"] >= 1


def test_weak_similarity_never_joins_two_established_organisations():
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": "Westfield Systems Group Ltd", "company_number": "06657153", "net_amount": 1},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": "Westfield Systems Limited", "company_number": None, "supplier_id": "S1", "net_amount": 1},
        {"transaction_id": "T3", "line_no": "1", "supplier_name": "WESTFIELD SYSTEMS LIMITED", "company_number": None, "supplier_id": "S2", "net_amount": 1},
    ])
    res = resolve({"procurement": proc})
    k = list(res.frames["procurement"]["org_key"])
    assert k[1] == k[2] and k[0] != k[1]


def _decoy_frames(supplier_number):
    """The generator's decoys for the association and gift rules: a paid supplier (numbered or not)
    or a gift donor, and an associate's employer or another donor whose name is its plural."""
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": "Hunt Security Ltd", "company_number": supplier_number,
         "net_amount": 100},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": "Elmwood Recovery Ltd", "company_number": "06467593",
         "net_amount": 100}])
    gifts = frame("gifts_hospitality", [
        {"record_id": "G1", "person_id": "1", "donor_name": "Pinnacle Recovery Ltd", "donor_company_number": None},
        {"record_id": "G2", "person_id": "1", "donor_name": "Elmwood Recoveries Ltd", "donor_company_number": None}])
    assoc = frame("notifiable_associations", [
        {"record_id": "N1", "person_id": "2", "associate_organisation": "Hunt Securities Ltd"},
        {"record_id": "N2", "person_id": "3", "associate_organisation": "Pinnacle Recoveries Ltd"}])
    return {"procurement": proc, "gifts_hospitality": gifts, "notifiable_associations": assoc}


@pytest.mark.parametrize("supplier_number", ["08937372", None])
def test_plural_of_a_name_is_another_company_reported_not_joined(supplier_number):
    res = resolve(_decoy_frames(supplier_number))
    p = res.frames["procurement"].set_index("supplier_name")["org_key"]
    g = res.frames["gifts_hospitality"].set_index("donor_name")["org_key"]
    a = res.frames["notifiable_associations"].set_index("associate_organisation")["org_key"]
    assert a["Hunt Securities Ltd"] != p["Hunt Security Ltd"]  # association_with_supplier decoy
    assert a["Pinnacle Recoveries Ltd"] != g["Pinnacle Recovery Ltd"]  # association_with_donor decoy
    assert g["Elmwood Recoveries Ltd"] != p["Elmwood Recovery Ltd"]  # gift_from_recent_supplier decoy
    assert not (res.links["method"] == "fuzzy").any()
    u = res.unresolved[res.unresolved["field"] == "org_key"].set_index("text")
    for text, candidate in (("Hunt Securities Ltd", "hunt security"), ("Elmwood Recoveries Ltd", "elmwood recovery"),
                            ("Pinnacle Recoveries Ltd", "pinnacle recovery")):
        assert u.loc[text, "reason"] == "similar_org_name_not_linked" and u.loc[text, "candidates"] == candidate
    links = res.links[res.links["field"] == "org_key"].set_index("source_text")
    assert links.loc["Hunt Securities Ltd", "strength"] == "weak"
    assert links.loc["Elmwood Recovery Ltd", "strength"] == "strong"  # the supplier keeps its own evidence


@pytest.mark.parametrize("named,lone", [
    ("Westfield Systems Group Ltd", "Westfield Systems Limited"),  # a group company is another company
    ("Vanguard Legal Services Ltd", "Vanguard Medical Services Ltd"),  # another trade, not a variant
    ("Robinson Legal Services Ltd", "Robinson Legal Services (Northern) Ltd"),
])
def test_weak_similarity_with_a_different_word_is_reported_not_linked(named, lone):
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": named, "company_number": "06657153", "net_amount": 1},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": lone, "company_number": None, "supplier_id": "S1", "net_amount": 1},
    ])
    res = resolve({"procurement": proc})
    k = list(res.frames["procurement"]["org_key"])
    assert k[0] != k[1]
    if lone.endswith("(Northern) Ltd"):  # "northern" is a distinguishing word: not even similar
        return
    links = res.links[res.links["field"] == "org_key"].set_index("source_text")
    assert links.loc[lone, "strength"] == "weak"  # the reviewer sees it is not a confident key
    u = res.unresolved[res.unresolved["field"] == "org_key"]
    assert list(u["reason"]) == ["similar_org_name_not_linked"] and named.split(" Ltd")[0].lower() in u["candidates"].iloc[0]


def test_ambiguous_abbreviation_links_to_neither_company():
    proc = frame("procurement", [
        {"transaction_id": "T1", "line_no": "1", "supplier_name": "Pennine Security Ltd", "company_number": "01234567", "net_amount": 1},
        {"transaction_id": "T2", "line_no": "1", "supplier_name": "Pennine Securities Ltd", "company_number": "07654321", "net_amount": 1},
        {"transaction_id": "T3", "line_no": "1", "supplier_name": "Pennine Sec. Ltd", "company_number": None, "net_amount": 1},
    ])
    res = resolve({"procurement": proc})
    k = list(res.frames["procurement"]["org_key"])
    assert k[2] not in (k[0], k[1])
    un = res.unresolved[res.unresolved["field"] == "org_key"]
    assert list(un["reason"]) == ["ambiguous_org_name"] and list(un["text"]) == ["Pennine Sec. Ltd"]


def test_empty_registers_get_every_derived_key_column():
    from connectors import empty_frame
    from audit import registers
    res = resolve({n: empty_frame(n) for n in registers.names()})
    assert res.links.empty and res.unresolved.empty
    for name, df in res.frames.items():
        derived = [f.name for f in registers.get(name).fields.values() if f.derived]
        assert set(derived) <= set(df.columns), name
