"""Normalisation of organisation names, company / VAT numbers, postcodes and addresses.

Owns the string rules that decide when two written forms are "the same text"; nothing here
compares two records. Legal suffixes ("Ltd", "Limited", "PLC", "LLP", "(UK)" ...) are removed by
`cleanco`; the project adds only what cleanco does not know (leading "The", "&" = "and",
trailing "Company" / "Co"). What a written name says besides the name (trading and former names,
accounts, "re" / "c/o" matters, references, initials) is split off by qualifiers.py first.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from cleanco import basename

from audit.entities import qualifiers, reference

_NON_WORD = re.compile(r"[^a-z0-9 ]+")
#: "Her Majesty's" / "His Majesty's" / "H.M." are written "HM" as often as not ("HM Revenue & Customs")
_MAJESTY = re.compile(r"\b(?:her|his) majesty s?\b|\b(?:her|his) majestys\b|\bh m\b")
_SPACES = re.compile(r"\s+")
#: tokens dropped anywhere in a name (they carry no identity): "The Acme & Sons" ~ "Acme and Sons"
_STOP = frozenset({"the", "and", "of"})
#: trailing tokens cleanco leaves on ("The Acme Security Company")
_TRAILING = frozenset({"company", "co", "uk", "gb", "england", "wales"})
#: words that say what kind of business, not which one. A name made only of these (after the legal
#: suffix is removed) is "generic": it never matches by fuzzy similarity and its exact matches are weak.
GENERIC_WORDS = frozenset("""
services service solutions solution holdings holding group groups uk gb british england wales
international global national limited ltd company co trading enterprises enterprise management
consulting consultants consultancy systems supplies supply products associates partners partnership
investments properties property developments development training security maintenance cleaning
logistics technology technologies tech digital media design engineering construction contractors
general business industries trust foundation council agency direct online north south east west
central northern southern eastern western
""".split())
#: common written abbreviations, expanded before comparing ("Fleet Svcs" = "Fleet Services")
ABBREVIATIONS = {"svcs": "services", "svc": "services", "servs": "services", "mgmt": "management",
                 "mgt": "management", "intl": "international", "bros": "brothers", "assoc": "associates",
                 "dept": "department", "engg": "engineering", "natl": "national", "maint": "maintenance"}
#: words that end a public body's name before a tax tail is read (reference.body_of): "HMRC VAT
#: Services Ltd" is a company, "HMRC VAT" a payment to HMRC
_TAIL_STOP = GENERIC_WORDS | qualifiers.LEGAL_FORMS
#: a name shorter than this (letters and digits, spaces removed) is "short": exact matches only
MIN_FUZZY_CHARS = 5


def ascii_lower(text: str) -> str:
    """Lower case without accents ("Siân" -> "sian"): NFKD, combining marks dropped. Text that is
    ASCII already is only lowered (NFKD leaves it as it is), which most names and cells are."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1 << 18)
def org_name(text: str | None) -> str:
    """Canonical form of one organisation name: "The ACME Security Co. Ltd." -> "acme security".

    Returns "" when nothing identifying is left (blank, redacted, only a legal suffix).
    """
    if text is None or not isinstance(text, str):
        return ""
    s = ascii_lower(text).replace("&", " and ").replace("+", " and ")
    s = s.replace("(", " ").replace(")", " ").replace("'", "").replace("\u2019", "")
    s = _SPACES.sub(" ", _NON_WORD.sub(" ", s.replace(".", " ").replace(",", " "))).strip()
    s = _MAJESTY.sub("hm", s)
    prev = None
    while s and s != prev:  # cleanco removes one suffix per call: "co ltd" needs two
        prev = s
        s = basename(s).strip()
        tokens = s.split()
        while len(tokens) > 1 and tokens[-1] in _TRAILING:
            tokens.pop()
        s = " ".join(tokens)
    tokens = [ABBREVIATIONS.get(t, t) for t in s.split() if t not in _STOP]
    return " ".join(tokens)


@lru_cache(maxsize=1 << 18)
def org_names(text: str | None) -> tuple[str, ...]:
    """Every candidate name in one written form: the legal name and any trading or former name
    ("X t/a Y", "X formerly Y"), qualifiers removed (qualifiers.py).

    Distinct canonical forms, main name first; [] when the text names nothing.
    """
    if text is None or not isinstance(text, str):
        return ()
    out: list[str] = []
    for part in qualifiers.parts(text):
        name = org_name(part)
        if name and name not in out:
            out.append(name)
        bare = not any(w in qualifiers.LEGAL_FORMS for w in _NON_WORD.sub(" ", part).split())
        body = reference.body_of(name, bare, org_name, _TAIL_STOP) if name else ""
        if body and body not in out:  # "HMRC", "Inland Revenue Shipley PAYE": HM Revenue & Customs too
            out.append(body)
    if not out:  # only legal words ("UK Ltd"): keep them, so the mention is keyed (as a generic name)
        bare = _SPACES.sub(" ", _NON_WORD.sub(" ", ascii_lower(text))).strip()
        out = [bare] if bare else []
    return tuple(out)


def is_generic(name: str) -> bool:
    """A canonical name made only of generic business words ("services", "uk holdings")."""
    tokens = name.split()
    return not tokens or all(t in GENERIC_WORDS for t in tokens)


def is_business_word(word: str) -> bool:
    """One of GENERIC_WORDS, singular or plural ("security", "securities"): a word a register may
    abbreviate ("Sec.", "Sol."), unlike a name ("Fox" is not short for "Foxglove")."""
    singular = word[:-3] + "y" if word.endswith("ies") else word[:-1] if word.endswith("s") else word
    return word in GENERIC_WORDS or singular in GENERIC_WORDS


def squash(name: str) -> str:
    """A canonical name without its spaces: "my csp" = "mycsp", "price waterhouse coopers" =
    "pricewaterhouse coopers" (the same letters in the same order name the same organisation)."""
    return name.replace(" ", "")


#: words an initialism may leave out or keep ("DfE" = Department for Education)
_MINOR = frozenset("for in on to at a".split())
_VOWELS = frozenset("aeiouy")
#: an initialism is 3 to this many letters
MAX_INITIALISM = 6


def is_initialism(name: str) -> bool:
    """A one-word canonical name that could be initials: 3-6 letters ("hmrc", "pwc", "cieh")."""
    return " " not in name and name.isalpha() and 3 <= len(name) <= MAX_INITIALISM


def initialisms(name: str) -> set[str]:
    """The initials a multi-word canonical name may be written as: each word's first letter, minor
    words ("for", "in") kept or left out, and a word that is itself an abbreviation (2-4 letters, no
    vowel: "hm", "nhs") kept whole: "hm revenue customs" -> {"hrc", "hmrc"}. Only 3+ letters."""
    tokens = name.split()
    if len(tokens) < 2:
        return set()
    out = set()
    for skip_minor in (False, True):
        words = [t for t in tokens if not (skip_minor and t in _MINOR)]
        for whole in (False, True):
            s = "".join(t if whole and 2 <= len(t) <= 4 and t.isalpha() and not set(t) & _VOWELS else t[0]
                        for t in words)
            if 3 <= len(s) <= MAX_INITIALISM:
                out.add(s)
    return out


def is_short(name: str) -> bool:
    return len(name.replace(" ", "")) < MIN_FUZZY_CHARS


def company_number(value: str | None) -> str:
    """Companies House number: upper case, no spaces; purely numeric ones padded to 8 digits.

    "1234567" -> "01234567"; "sc 123456" -> "SC123456"; "0" / "N/A" / "" -> "" (not a number).
    """
    if value is None or not isinstance(value, str):
        return ""
    m = re.fullmatch(r"([A-Z]{0,2})(\d{1,8})", re.sub(r"[\s.\-/]", "", value).upper())
    if not m or int(m.group(2)) == 0 or len(m.group(0)) > 8:
        return ""
    prefix, digits = m.groups()
    return prefix + digits.zfill(8 - len(prefix))


def vat_number(value: str | None) -> str:
    """UK VAT number: "GB 123 4567 89" -> "123456789"; anything without 9 or 12 digits -> ""."""
    if value is None or not isinstance(value, str):
        return ""
    s = re.sub(r"[\s.\-]", "", value).upper()
    if s.startswith("GB"):
        s = s[2:]
    return s if re.fullmatch(r"\d{9}|\d{12}", s) and set(s) != {"0"} else ""


_POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})$")


def postcode(value: str | None) -> str:
    """UK postcode, upper case with one space before the inward code: "sw1a1aa" -> "SW1A 1AA"."""
    if value is None or not isinstance(value, str):
        return ""
    s = re.sub(r"\s+", "", value).upper()
    m = _POSTCODE.match(s)
    return f"{m.group(1)} {m.group(2)}" if m else ""


_EIRCODE = re.compile(r"\b([AC-FHKNPRTV-Y]\d{2}|D6W)\s?([0-9AC-FHKNPRTV-Y]{4})\s*$")
#: an address line ending in one of these names its country
COUNTRY_NAMES = {"united kingdom": "GB", "great britain": "GB", "uk": "GB", "england": "GB", "scotland": "GB",
                 "wales": "GB", "northern ireland": "GB", "ireland": "IE", "republic of ireland": "IE",
                 "eire": "IE", "usa": "US", "united states": "US", "united states of america": "US",
                 "canada": "CA", "france": "FR", "germany": "DE", "netherlands": "NL", "belgium": "BE",
                 "luxembourg": "LU", "switzerland": "CH", "spain": "ES", "italy": "IT", "india": "IN",
                 "australia": "AU", "china": "CN", "hong kong": "HK", "singapore": "SG", "japan": "JP"}
#: legal forms that say where a company is registered (the countries that use them); "Ltd" /
#: "Limited" say nothing (UK, Ireland, Hong Kong, New Zealand ... all use them)
LEGAL_FORM_COUNTRIES = {
    "plc": {"GB", "IE"}, "llp": {"GB"}, "cic": {"GB"}, "inc": {"US", "CA", "PH"},
    "incorporated": {"US", "CA"}, "llc": {"US"}, "corp": {"US", "CA", "PH"}, "corporation": {"US", "CA"},
    "gmbh": {"DE", "AT", "CH"}, "ag": {"DE", "AT", "CH"}, "bv": {"NL", "BE"}, "nv": {"NL", "BE"},
    "dac": {"IE"}, "uc": {"IE"}, "clg": {"IE"}, "pty": {"AU", "ZA"}, "sarl": {"FR", "LU", "CH"},
    "srl": {"IT", "RO"}}  # not "SpA" / "SAS": English words at the end of UK names ("Day Spa")
_LEGAL_FORM_AT_END = re.compile(r"\b(" + "|".join(LEGAL_FORM_COUNTRIES) + r"|u\.c)\.?\s*$")


#: legal forms of a partnership and of a company: an LLP is never a limited company, so
#: "Arcadis LLP" and "Arcadis (UK) Ltd" are two registered entities whatever their names share
PARTNERSHIP_FORMS = frozenset({"llp", "lp"})
COMPANY_FORMS = frozenset({"ltd", "limited", "plc", "cic"})


@lru_cache(maxsize=1 << 18)
def origin(text: str | None, line: str | None = None, post_code: str | None = None) -> tuple[frozenset[str], str, str]:
    """Where and what a mention says the organisation is: (possible countries, UK postcode, legal
    form "partnership" | "company"), each may be empty.

    Countries come from the address first (a UK postcode, an Irish Eircode, a country named at the
    end of the line), else from the legal form the name ends with ("Inc." -> US / CA / PH, "Plc" ->
    GB / IE). A UK postcode is also returned for comparing addresses. Used to keep a link made on a
    name alone weak when the two sides are in different places or of different legal forms
    (orgs.py, VetoUnionFind.conflict).
    """
    form = ""
    if isinstance(text, str):
        main = qualifiers.parts(text)
        last = _NON_WORD.sub(" ", ascii_lower(main[0])).split()[-1:] if main else []
        form = "partnership" if last and last[0] in PARTNERSHIP_FORMS else \
            "company" if last and last[0] in COMPANY_FORMS else ""
    pc = postcode(post_code)
    if pc:
        return frozenset({"GB"}), pc, form
    where = " ".join(v for v in (line, post_code) if isinstance(v, str)).strip()
    if _EIRCODE.search(where.upper()):
        return frozenset({"IE"}), "", form
    tail = _SPACES.sub(" ", _NON_WORD.sub(" ", ascii_lower(where).split(",")[-1])).strip()
    country = next((c for n, c in sorted(COUNTRY_NAMES.items(), key=lambda kv: -len(kv[0]))
                    if tail == n or tail.endswith(" " + n)), "") if tail else ""
    if country:
        return frozenset({country}), "", form
    legal = _LEGAL_FORM_AT_END.search(ascii_lower(text)) if isinstance(text, str) else None
    if legal:
        return frozenset(LEGAL_FORM_COUNTRIES.get(legal.group(1).replace(".", ""), set())), "", form
    return frozenset(), "", form


_HOUSE_NUMBER = re.compile(r"\b(\d+[a-z]?)\b")
_FLAT = re.compile(r"\b(?:flat|apartment|apt|unit|suite)\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=1 << 18)
def address_key(first_line: str | None, post_code: str | None) -> str:
    """Comparable address: "POSTCODE|number" ("12a High St", "ab1 2cd" -> "AB1 2CD|12a").

    With no house number the first two words of the line stand in ("Rose Cottage" ->
    "AB1 2CD|rose cottage"). The key names the building: a flat or unit number is dropped
    ("Flat 3, 40 Station Rd" -> "|40"), so a supplier registered at the building an employee lives
    in still matches; the evidence shows both full lines. Blank when the postcode is missing or
    invalid: a street line alone is too weak to compare.
    """
    pc = postcode(post_code)
    if not pc:
        return ""
    line = ascii_lower(first_line) if isinstance(first_line, str) else ""
    rest = _FLAT.sub(" ", line)
    number = _HOUSE_NUMBER.search(rest)
    if number:
        part = number.group(1)
    else:
        words = [w for w in _NON_WORD.sub(" ", rest).split() if w not in _STOP]
        part = " ".join(words[:2])
    return f"{pc}|{part}" if part else pc
