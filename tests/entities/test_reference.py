"""Public bodies' abbreviations and former names (audit/entities/reference.py, public_bodies.csv),
"Her Majesty's" written as "HM", and initials read across names (orgs._link_initials)."""
import pytest

from audit.entities import reference
from audit.entities.normalise import initialisms, org_name, org_names
from audit.entities.orgs import resolve_orgs

from entity_fixtures import org_mentions


def _keys(texts, **cols):
    res = resolve_orgs(org_mentions(texts, **cols), fuzzy_threshold=92, weak_threshold=85)
    return res, list(res.mentions["key"]), list(res.mentions["strength"])


@pytest.mark.parametrize("written", ["Her Majesty's Revenue and Customs", "H.M. Revenue & Customs",
                                     "His Majesty\u2019s Revenue & Customs"])
def test_her_majestys_is_hm(written):
    assert org_name(written) == "hm revenue customs"


@pytest.mark.parametrize("a,b", [
    ("HMRC", "HM Revenue & Customs"),  # the official abbreviation, written bare
    ("HMRC - 475/RA62835 AC13 Brooksbank", "Her Majesty's Revenue and Customs"),
    ("INLAND REVENUE SHIPLEY PAYE", "HMRC"),  # a former name, with the office and the tax paid
    ("HMRC VAT", "HM Revenue and Customs"),
    ("Independent Police Complaints Commission", "IOPC"),  # renamed 2018
    ("DVLA", "Driver & Vehicle Licensing Agency"),
    ("IMPROVEMENT & DEVELOPMENT AGENCY", "Improvement and Development Agency for Local Government"),
    ("GPA c/o CBRE", "GOVERNMENT PROPERTY AGENCY"),
])
def test_public_bodies_link_strongly_by_their_abbreviation_or_former_name(a, b):
    _, keys, strength = _keys([a, b])
    assert keys[0] == keys[1] and strength == ["strong", "strong"]


@pytest.mark.parametrize("a,b", [
    ("CPS Ltd", "Crown Prosecution Service"),  # a company registered as CPS is not the CPS
    ("HMRC VAT Services Ltd", "HM Revenue & Customs"),  # a business word ends the body's name
    ("Homes Ltd", "Homes and Communities Agency"),  # "Homes England" -> "homes" is not distinctive
    ("HM Treasury", "HM Revenue & Customs"),
])
def test_look_alikes_of_public_bodies_are_not_linked(a, b):
    _, keys, _ = _keys([a, b])
    assert keys[0] != keys[1]


def test_the_table_states_its_source_and_every_line_is_complete():
    head = reference.TABLE.read_text(encoding="utf-8")
    assert "gov.uk/government/organisations" in head
    rows = reference.rows()
    assert len(rows) >= 50 and all(r["name"].strip() for r in rows)
    assert all(len(r["abbreviation"]) != 2 for r in rows)  # 2 letters name too many things


def test_initialisms():
    assert "hmrc" in initialisms("hm revenue customs")
    assert initialisms("chartered institute environmental health") == {"cieh"}
    assert "dfe" in initialisms("department for education")
    assert initialisms("acme") == set()


def test_bare_initials_of_one_organisation_link_weakly_and_are_reported():
    res, keys, strength = _keys(["PWC", "PRICE WATERHOUSE COOPERS", "CIEH", "CHARTERED INSTITUTE OF ENVIRONMENTAL HEALTH"])
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]
    assert strength == ["weak", "strong", "weak", "strong"]  # the initials rest on a reading, the name does not
    assert {(u["text"], u["reason"]) for u in res.unresolved} == {("PWC", "linked_by_initials"), ("CIEH", "linked_by_initials")}
    assert res.mentions["method"][0] == "initials"


@pytest.mark.parametrize("texts", [
    ["AES LTD", "AIRTECH ENVIRONMENTAL SYSTEMS"],  # a company registered under its letters
    ["PWC", "Price Waterhouse Coopers", "Peak West Construction"],  # two organisations give the letters
])
def test_initials_that_name_a_company_or_two_organisations_are_not_linked(texts):
    _, keys, _ = _keys(texts)
    assert keys[0] not in keys[1:]


def test_generic_long_names_give_no_initials():
    _, keys, _ = _keys(["SUH", "Services UK Holdings"])
    assert keys[0] != keys[1]
