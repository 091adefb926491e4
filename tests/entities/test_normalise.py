"""Normalisation cases: real-looking written forms that must / must not be treated as the same."""
import pandas as pd
import pytest

from audit.entities import names, normalise
from audit.entities.orgs import resolve_orgs


def _same_org(a: str, b: str, cn_a: str | None = None, cn_b: str | None = None) -> bool:
    df = pd.DataFrame({"text": [a, b], "company_number": [cn_a, cn_b], "vat_number": [None, None],
                       "supplier_id": [None, None]})
    keys = resolve_orgs(df, fuzzy_threshold=92, weak_threshold=85).mentions["key"]
    return keys[0] == keys[1]


MUST_MATCH = [
    ("Acme Security Ltd", "ACME SECURITY LIMITED"),
    ("Acme Security Ltd", "Acme Security (UK) Ltd"),
    ("Acme Security Ltd", "The Acme Security Company"),
    ("Acme Security Co. Ltd.", "acme security"),
    ("Smith & Sons Ltd", "Smith and Sons Limited"),
    ("Bloggs Plumbing", "Joe Bloggs Ltd t/a Bloggs Plumbing"),
    ("Joe Bloggs Ltd", "Joe Bloggs Ltd trading as Bloggs Plumbing"),
    ("Acme Security Ltd", "Acme Secruity Ltd"),  # one-letter typo (transposition)
    ("Northgate Public Services PLC", "NORTHGATE PUBLIC SERVICES"),
    ("Café Rouge Ltd", "CAFE ROUGE LIMITED"),
    ("O'Neill Catering LLP", "ONeill Catering"),
]
MUST_NOT_MATCH = [
    ("Acme Security Ltd", "Acme Securities Ltd"),  # a different word, not a typo
    ("Acme Security Ltd", "Acme Security Group Ltd"),
    ("North Yorkshire Cleaning Ltd", "South Yorkshire Cleaning Ltd"),
    ("Services Ltd", "Service Ltd"),  # generic: never fuzzy
    ("UK Holdings Ltd", "UK Holding Ltd"),
    ("Apex 1 Ltd", "Apex 2 Ltd"),
    ("BT", "BP"),
]


@pytest.mark.parametrize("a,b", MUST_MATCH)
def test_written_forms_of_one_company_match(a, b):
    assert _same_org(a, b)


@pytest.mark.parametrize("a,b", MUST_NOT_MATCH)
def test_similar_but_different_names_do_not_link(a, b):
    assert not _same_org(a, b)


@pytest.mark.parametrize("a,b", [("Services Ltd", "Service Ltd"), ("Apex 1 Ltd", "Apex 2 Ltd"),
                                 ("North Yorkshire Cleaning Ltd", "South Yorkshire Cleaning Ltd")])
def test_clear_non_matches_keep_separate_keys(a, b):
    assert not _same_org(a, b)


@pytest.mark.parametrize("a,b", [
    ("Acme Security Ltd", "Acme Securities Ltd"),  # singular / plural: two registrable company names
    ("Pinnacle Recovery Ltd", "Pinnacle Recoveries Ltd"),
    ("Lake Joanne Golf Club", "Lake Joannaton Golf Club"),
])
def test_near_names_without_numbers_are_reported_not_linked(a, b):
    df = pd.DataFrame({"text": [a, b], "company_number": [None, None], "vat_number": [None, None],
                       "supplier_id": [None, None]})
    res = resolve_orgs(df, fuzzy_threshold=92, weak_threshold=85)
    m = res.mentions
    assert m["key"][0] != m["key"][1]
    assert list(m["strength"]) == ["weak", "weak"]  # the reviewer sees neither key is confident
    assert sorted((u["text"], u["reason"], u["candidates"]) for u in res.unresolved) == sorted([
        (a, "similar_org_name_not_linked", [normalise.org_name(b)]),
        (b, "similar_org_name_not_linked", [normalise.org_name(a)])])
    # raising the weak threshold to the strong one turns the report off
    res = resolve_orgs(df, fuzzy_threshold=92, weak_threshold=92)
    assert res.unresolved == [] and list(res.mentions["strength"]) == ["strong", "strong"]


@pytest.mark.parametrize("a,b", [
    ("Fox Kennels Ltd", "Foxglove Kennels Limited"),  # a shorter name is not an abbreviation
    ("Harris Workwear Ltd", "Harrison Workwear Ltd"),
    ("West IT Solutions Ltd", "Westfield IT Solutions Ltd"),
    ("Wood Farm Shop Ltd", "Woods Farm Shop Ltd"),
    ("Lee Kennels Limited", "Lees Kennels Ltd"),
])
def test_a_prefix_of_a_name_is_not_an_abbreviation(a, b):
    assert not _same_org(a, b)


@pytest.mark.parametrize("a,b", [("Pennine Sec. Ltd", "Pennine Security Ltd"),
                                 ("Apex IT Sol. Ltd", "Apex IT Solutions Limited"),
                                 ("Kestrel Eng Ltd", "Kestrel Engineering Ltd")])
def test_abbreviated_business_words_still_link_strongly(a, b):
    df = pd.DataFrame({"text": [a, b], "company_number": [None, None], "vat_number": [None, None],
                       "supplier_id": [None, None]})
    m = resolve_orgs(df, fuzzy_threshold=92, weak_threshold=85).mentions
    assert m["key"][0] == m["key"][1] and list(m["strength"]) == ["strong", "strong"]


@pytest.mark.parametrize("raw,expected", [
    ("1234567", "01234567"), ("01234567", "01234567"), (" SC 123456 ", "SC123456"), ("oc301234", "OC301234"),
    ("0", ""), ("N/A", ""), ("", ""), (None, ""), ("123456789", ""), ("12-34-567", "01234567"),
])
def test_company_number(raw, expected):
    assert normalise.company_number(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("GB 123 4567 89", "123456789"), ("123456789", "123456789"), ("gb123456789001", "123456789001"),
    ("12345", ""), ("N/A", ""), (None, ""), ("000000000", ""),
])
def test_vat_number(raw, expected):
    assert normalise.vat_number(raw) == expected


@pytest.mark.parametrize("line,pc,expected", [
    ("12 High Street", "ab1 2cd", "AB1 2CD|12"),
    ("12A High St", "AB12CD", "AB1 2CD|12a"),
    ("Flat 3, 40 Station Road", "M1 1AE", "M1 1AE|40"),
    ("Rose Cottage, Church Road", "XY9 9ZZ", "XY9 9ZZ|rose cottage"),
    ("12 High Street", "not a postcode", ""),
    ("12 High Street", None, ""),
])
def test_address_key(line, pc, expected):
    assert normalise.address_key(line, pc) == expected


@pytest.mark.parametrize("written,tokens", [
    ("PC 1234 Smith", ("smith",)),
    ("DS J. Smith", ("j", "smith")),
    ("Smith, John", ("john", "smith")),
    ("Ch Supt Bob Jones", ("bob", "jones")),
    ("Dr. Jane Doe-Smith", ("jane", "doesmith")),
    ("John Smith (DS)", ("john", "smith")),
    ("T Hughes", ("t", "hughes")),  # an initial is not a title
])
def test_person_name_parsing(written, tokens):
    assert names.parse(written).tokens == tokens


def test_name_dob_key_is_deterministic_and_documented_format():
    dob = pd.Timestamp("1984-03-07")
    assert names.name_dob_key("Mary Ann", "O'Sullivan", dob) == "osullivan|m|1984-03-07"
    assert names.name_dob_key_free("Mary O'Sullivan", dob) == "osullivan|m|1984-03-07"
    assert names.name_dob_key_free("Ana de la Cruz", dob) == names.name_dob_key("Ana", "De La Cruz", dob)
    assert names.name_dob_key("Mary", "O'Sullivan", None) == ""  # no date of birth, no key
