"""Links that must not be identity evidence, and links that are reported for review instead of
made strong: bucket supplier ids, one name under two company numbers, a name-only link across
countries, addresses or legal forms."""
import pandas as pd

from audit.entities import resolve
from audit.entities.orgs import resolve_orgs
from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate_rule

from entity_fixtures import frame, org_mentions

CARD = ["Argos Ltd", "Jet2.Com Ltd", "Appliance World", "Direct Discounts", "Landlord Supplies"]


def _resolve(texts, **cols):
    return resolve_orgs(org_mentions(texts, **cols), fuzzy_threshold=92, weak_threshold=85)


def _proc(rows):
    return frame("procurement", [{"transaction_id": f"T{i}", "line_no": "1", "net_amount": 1, **r}
                                 for i, r in enumerate(rows)])


def test_an_id_over_many_unrelated_names_is_never_evidence():
    """Calderdale's "Purchase Card Supplier": one id, every card merchant."""
    texts = CARD + ["Argos Ltd", "ARGOS LIMITED"]
    res = _resolve(texts, supplier_id=["cal|Purchase Card Supplier"] * len(texts))
    keys = list(res.mentions["key"])
    assert len(set(keys[:5])) == 5  # five merchants, five organisations
    assert keys[0] == keys[5] == keys[6]  # Argos is still Argos, by its name
    assert "identifier" not in set(res.mentions["method"])
    assert res.stats["org_demoted_ids"] == {"cal|Purchase Card Supplier": 5}
    shared = [u for u in res.unresolved if u["reason"] == "shared_supplier_id"]
    assert len(shared) == len(texts) and shared[0]["candidates"] == ["cal|Purchase Card Supplier"]


def test_an_id_agreeing_with_its_names_still_links_strongly():
    res = _resolve(["Pennine Security Ltd", "PENNINE SECURITY LIMITED", "Pennine Sec. Ltd"], supplier_id=["S1"] * 3)
    m = res.mentions
    assert m["key"].nunique() == 1 and set(m["strength"]) == {"strong"} and res.stats["org_demoted_ids"] == {}


def test_two_names_under_one_id_are_linked_weakly_and_reported():
    """What a renamed vendor record looks like (Calderdale's S326432, Dawsongroup)."""
    res = _resolve(["Dawsongroup Sweepers Ltd", "Dawsongroup Environmental Municipal Civil Ltd"], supplier_id=["S326432"] * 2)
    m = res.mentions
    assert m["key"][0] == m["key"][1] and list(m["strength"]) == ["weak", "weak"]
    assert sorted(u["reason"] for u in res.unresolved) == ["supplier_id_names_differ"] * 2
    assert res.stats["org_demoted_ids"] == {}


def test_a_bucket_id_cannot_carry_a_gift_to_a_supplier_it_never_paid():
    """The issue's case: a gift from "Argos Ltd" must not share a key with a card payment that went
    to another merchant under the same bucket id."""
    proc = _proc([{"supplier_name": n, "supplier_id": "Purchase Card Supplier"} for n in CARD[1:]])
    gifts = frame("gifts_hospitality", [{"record_id": "G1", "person_id": "1", "donor_name": "Argos Ltd"}])
    res = resolve({"procurement": proc, "gifts_hospitality": gifts})
    assert res.frames["gifts_hospitality"]["org_key"][0] not in set(res.frames["procurement"]["org_key"])
    assert res.stats["unresolved_by_reason"]["shared_supplier_id"] == 4


def _governing_body_frames():
    """A governing body and its trading subsidiary: one name, two company numbers, and three gifts
    from "them" to one officer (one from the body, two from the subsidiary)."""
    gifts = frame("gifts_hospitality", [
        {"record_id": f"G{i}", "person_id": "1", "donor_name": "Calder Valley Rugby Club", "donor_company_number": cn,
         "offered_date": day, "kind": "hospitality", "outcome": "accepted", "estimated_value": 4000}
        for i, (cn, day) in enumerate([("04111111", "2026-03-02"), ("07222222", "2026-05-04"), ("07222222", "2026-06-10")])])
    interests = frame("business_interests", [{"record_id": "B1", "person_id": "2", "organisation_name": "Calder Valley Rugby Club Ltd"}])
    return {"gifts_hospitality": gifts, "business_interests": interests}


def _repeated_donor_findings(res):
    rule = compile_rule(next(r for r in load_rules([LIBRARY])[0] if r.name == "gifts_repeated_donor"))
    return evaluate_rule(rule, res.frames, Period(2026, 6), None, "reference")[0]


def test_one_name_two_company_numbers_is_reported_and_never_joined():
    res = resolve(_governing_body_frames())
    g = res.frames["gifts_hospitality"]["org_key"]
    assert list(g) == ["CN:04111111", "CN:07222222", "CN:07222222"]
    u = res.unresolved.set_index("fact_id")
    numbered = u[u["reason"] == "same_name_different_company_numbers"]
    assert len(numbered) == 3 and set(numbered["candidates"]) == {"04111111", "07222222"}
    assert set(u.loc[u["reason"] == "ambiguous_org_name", "text"]) == {"Calder Valley Rugby Club Ltd"}
    assert res.stats["org_same_name_different_numbers"] == 1
    assert _repeated_donor_findings(res) == []  # 1 + 2 gifts: no donor gave three


def test_an_override_joins_them_and_rules_count_them_together(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("kind,left,right,decision,who,when,why\n"
                    "org,04111111,07222222,same,A. Analyst,2026-07-01,Club and its trading subsidiary: one donor\n")
    res = resolve(_governing_body_frames(), overrides=path)
    keys = set(res.frames["gifts_hospitality"]["org_key"]) | set(res.frames["business_interests"]["org_key"])
    assert keys == {"CN:04111111"}  # the unnumbered interest now resolves to the joined organisation
    assert not res.unresolved["reason"].isin(["same_name_different_company_numbers", "ambiguous_org_name"]).any()
    findings = _repeated_donor_findings(res)
    assert len(findings) == 1 and len(findings[0].facts["gift"]) == 3


def test_a_name_only_link_across_countries_is_weak_and_reported():
    """A Dublin-addressed "Google" and Google UK Ltd (numbered, London): same name, another entity."""
    proc = _proc([
        {"supplier_name": "Google UK Ltd", "company_number": "03977902", "supplier_address": "1-13 St Giles High St",
         "supplier_postcode": "WC2H 8AG"},
        {"supplier_name": "Google", "supplier_address": "Gordon House, Barrow Street, Dublin 4", "supplier_postcode": "D04 E5W5"},
        {"supplier_name": "GOOGLE UK LIMITED", "supplier_address": "1-13 St Giles High St", "supplier_postcode": "WC2H 8AG"}])
    res = resolve({"procurement": proc})
    links = res.links[res.links["field"] == "org_key"].set_index("source_text")
    assert links.loc["Google UK Ltd", "strength"] == "strong"  # keyed by its own number
    assert links.loc["Google", "strength"] == "weak"
    u = res.unresolved[res.unresolved["reason"] == "conflicting_org_details"]
    assert "Google" in set(u["text"]) and any("IE" in c for c in u["candidates"])


def test_a_name_only_link_between_legal_forms_of_two_countries_is_weak():
    res = _resolve(["Bloomsbury Publishing Plc", "Bloomsbury Publishing Inc."])
    m = res.mentions
    assert m["key"][0] == m["key"][1] and list(m["strength"]) == ["weak", "weak"]
    assert [u["reason"] for u in res.unresolved] == ["conflicting_org_details"] * 2


def test_a_partnership_and_a_company_of_one_name_are_not_a_strong_link():
    res = _resolve(["ARCADIS LLP", "Arcadis (UK) Ltd", "Carter Jonas LLP", "CARTER JONAS"])
    m = res.mentions
    assert list(m["strength"][:2]) == ["weak", "weak"]
    assert m["key"][2] == m["key"][3] and list(m["strength"][2:]) == ["strong", "strong"]  # no form: no conflict


def test_same_place_and_unknown_places_stay_strong():
    res = _resolve(["Acme Security Ltd", "ACME SECURITY LIMITED", "Acme Security"],
                   address=["1 High St", "1 High Street", None], postcode=["AB1 2CD", "ab12cd", None])
    assert list(res.mentions["strength"]) == ["strong"] * 3 and res.unresolved == []
    assert pd.Series(res.mentions["key"]).nunique() == 1
