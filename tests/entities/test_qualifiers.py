"""What a written supplier name carries besides the name (audit/entities/qualifiers.py), on the
real forms of ../shared/realdata: each is reduced to the names of the organisation, or kept."""
import pytest

from audit.entities.normalise import org_names
from audit.entities.orgs import resolve_orgs

from entity_fixtures import org_mentions


@pytest.mark.parametrize("written,names", [
    # an account, a charge or a status in brackets
    ("VODAFONE LIMITED (CORPORATE)", ("vodafone",)),
    ("Transport for London (Service Charge)", ("transport for london",)),
    ("Ministry of Justice (All invoices)", ("ministry justice",)),
    ("Montagu Evans (ACC 2)", ("montagu evans",)),
    ("Avison Young (Client A/c re London & Continental Railways)", ("avison young",)),
    ("AMAS Ltd (rent and SC - MAIN JLL account)", ("amas",)),
    ("Acme Security Ltd (in liquidation)", ("acme security",)),
    ("Creative International Adventures (Uk) Ltd", ("creative international adventures",)),
    # words after the legal form, " - " tails with a reference or an account, codes
    ("AMAS LTD NONRENT A/C", ("amas",)),
    ("Nat West Bank PLC - NEST EFT Receipts Ac", ("nat west bank",)),
    ("HMRC - 475/RA62835 AC13 Brooksbank", ("hmrc", "hm revenue customs")),  # and the body's name (reference.py)
    ("HMRC -  C2X2 TS", ("hmrc", "hm revenue customs")),
    ("Montagu Evans \u2013 Client Account (Rent, Rates,SC)", ("montagu evans",)),
    ("CCT VENUES-2WM", ("cct venues",)),
    ("Acme Ltd - Finance Department", ("acme",)),
    ("Leeds City Council, Finance Department", ("leeds city council",)),
    ("JAMES MACKINTOSH ARCHITECTS LTD.,", ("james mackintosh architects",)),
    # the matter or the agent
    ("Fairhome Care PLC Re Alexander House", ("fairhome care",)),
    ("Marton Care Homes Ltd c/o Botham Hall Care Home", ("marton care homes",)),
    ("GRANDE PROPERTY SERVICES (re DR Lal)", ("grande property services",)),
    ("TRAINING SYNERGY LTD (PART OF ESCALLA)", ("training synergy",)),
    # trading and former names
    ("Community Resourcing T/as Eden Brown", ("community resourcing", "eden brown")),
    ("CAPITA BUSINESS SERVICES LTD TA KNOWLEDGEPOOL", ("capita business services", "knowledgepool")),
    ("HKS Consultancy Group Ltd / T/A 24 HR Healthcare", ("hks consultancy group", "24 hr healthcare")),
    ("Global Outdoor Media Ltd Formerly Exterion Media", ("global outdoor media", "exterion media")),
    ("RAW WORKSHOP (FORMERLY THRIVE OXFORD", ("raw workshop", "thrive oxford")),
    # the organisation's own initials
    ("GOVERNMENT PROPERTY AGENCY GPA", ("government property agency",)),
    ("GLL (GREENWICH LEISURE LTD)", ("greenwich leisure",)),
    ("SCC (SPECIALIST COMPUTER CENTRES PLC)", ("specialist computer centres",)),
    ("OXFORDSHIRE COMMUNITY VOLUNTARY ACTION (OCVA)", ("oxfordshire community voluntary action",)),
    ("MMG MOBILE MARKETING GROUP", ("mobile marketing group",)),
    # a tail that contracts the name before it: the same organisation's short or registered name
    ("MOBILE MARKETING GROUP, MMGRP LIMITED.", ("mobile marketing group", "mmgrp")),
])
def test_qualifiers_are_removed_and_other_names_kept(written, names):
    assert org_names(written) == names


@pytest.mark.parametrize("written,names", [
    ("Sherwood Properties (Nottingham) Limited", ("sherwood properties nottingham",)),  # part of the registered name
    ("Robinson Legal Services (Northern) Ltd", ("robinson legal services northern",)),
    ("MMCG (2) Limited Re Knights Court", ("mmcg 2",)),
    ("Connect Plus (M25) Ltd", ("connect plus m25",)),  # a code in brackets is a name, not a reference
    ("Isand (DC) Ltd Re Ashfield House", ("isand dc",)),
    ("Helping Hands (HX)", ("helping hands hx",)),
    ("George Shaw & Sons - G J Toilet Hire", ("george shaw sons g j toilet hire",)),
    ("Cleansing Service Group Ltd", ("cleansing service group",)),  # "Group" in a registered name stays
    ("Swiss Re", ("swiss re",)),  # "re" with nothing after it is a name
    ("NEWSQUEST MIDLANDS, WALES & SOUTH WEST", ("newsquest midlands wales south west",)),
    ("TABLEAU INTERNATIONAL, U.C.", ("tableau international u c",)),
    ("Acme Computer Centre, Leeds", ("acme computer centre leeds",)),  # a place is no contraction
    ("Mobile Marketing Group - MMX", ("mobile marketing group mmx",)),  # nor letters the words do not give
])
def test_brackets_and_tails_that_name_a_company_stay(written, names):
    assert org_names(written) == names


@pytest.mark.parametrize("a,b", [
    ("VODAFONE LIMITED (CORPORATE)", "VODAFONE LTD"),
    ("MY CSP LTD", "MYCSP LTD"),  # the same letters: spaces do not make another name
    ("PRICE WATERHOUSE COOPERS", "PRICEWATERHOUSE COOPERS"),
    ("Acme Security Ltd (in liquidation)", "ACME SECURITY LIMITED"),
    ("Savills (RC's Rent & SC)", "Savills UK Ltd (RC's Rent & SC 1059 Glasgow)"),
])
def test_qualified_forms_link_strongly(a, b):
    m = resolve_orgs(org_mentions([a, b]), fuzzy_threshold=92, weak_threshold=85).mentions
    assert m["key"][0] == m["key"][1] and list(m["strength"]) == ["strong", "strong"]


@pytest.mark.parametrize("a,b", [
    ("PA CONSULTING GROUP", "PA CONSULTING SERVICES LTD"),  # parent and trading company
    ("Acme Security Ltd", "Acme Security Group Ltd"),
    ("Haven Care Ltd", "Haven Care Holdings Ltd"),
])
def test_names_differing_by_group_words_are_reported_not_linked(a, b):
    res = resolve_orgs(org_mentions([a, b]), fuzzy_threshold=92, weak_threshold=85)
    assert res.mentions["key"][0] != res.mentions["key"][1]
    assert [u["reason"] for u in res.unresolved] == ["similar_org_name_not_linked"] * 2


@pytest.mark.parametrize("a,b", [
    ("2022:05D  Dementia", "2022:06D  Dementia"),  # a code one digit apart is not a typo
    ("2022:05FTIFrailty And/Or Temporary Illness", "2022:06FTIFrailty And/Or Temporary Illness"),
    ("Valley Security Ltd", "Valley Digital Ltd"),  # another trade is not a group word
])
def test_codes_and_trades_are_neither_linked_nor_similar(a, b):
    res = resolve_orgs(org_mentions([a, b]), fuzzy_threshold=92, weak_threshold=85)
    assert res.mentions["key"][0] != res.mentions["key"][1] and res.unresolved == []
