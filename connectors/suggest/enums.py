"""Enum evidence: how many of a column's values are (or nearly are) an enum field's values.

A value the connector already reads needs no map: it ignores case, spaces, "-" and "_"
("Annual Leave" is annual_leave). A near miss gets a proposed `values` entry, found in this order:
a common abbreviation ("CRN" -> credit, "P-Card" -> card), initials ("OIC" -> officer_in_case, and
"Management Vetting" -> mv the other way round), a form of the word ("Viewed" -> view), a unique prefix ("INV" -> invoice,
"G" -> gift), a canonical value named inside the text ("Police Officer" -> officer, "Barred List"
-> barred), then a close spelling ("Acepted" -> accepted). Only values of up to three words are
mapped this way ("Payments via credit cards" is a sentence, not a label). Also read: "NPPV Level 3"
(a filler word dropped: nppv3), "Management Vetting" (initials: mv), "Declined - returned to donor"
(a label, then a note). Anything else is reported, since a load would quarantine it ("value 'X' is
not one of ..."); for a column that is the field's, `nearest` proposes `other` (or the closest
label) with the reason, to check.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from audit.registers import Field

from ..parse import CellError, as_text, make_enum_parser, norm_key, parse_bool

MAX_DISTINCT = 50  # a column with more distinct values is not read as an enum
MAX_WORDS = 3  # longer values are sentences, not labels: only a case-insensitive match counts
_FUZZY_MIN = 85
_NEAREST_MIN = 70  # a label no rule reads is mapped to the nearest one only if this close
#: words of a cell that holds no label at all: such cells stay quarantined
_PLACEHOLDERS = {"unknown", "tbc", "tbd", "na", "n", "a", "null", "none", "blank", "error", "see", "notes",
                 "missing", "not", "known", "unspecified", "various", "test", "xxx"}
#: common abbreviations in force and council exports -> canonical value (used when the field has it)
ABBREVIATIONS = {
    "crn": "credit", "cn": "credit", "cr": "credit", "credit note": "credit",
    "po": "order", "purchase order": "order", "hotel": "accommodation", "subs": "subsistence",
    "pcard": "card", "p card": "card", "purchase card": "card", "gpc": "card",
    "stw": "single_tender_waiver", "waiver": "single_tender_waiver", "ota": "other",
    # decisions and outcomes, as registers word them
    "rejected": "refused", "declined": "refused", "not approved": "refused", "denied": "refused",
    "granted": "approved", "authorised": "approved", "authorized": "approved", "agreed": "approved",
    "awaiting decision": "pending", "under review": "pending", "in progress": "pending",
    "refused": "declined", "not accepted": "declined", "rejected by recipient": "declined",
    # police community support officers are police staff
    "pcso": "staff",
    # vetting clearances as vetting units word their state
    "live": "active", "current": "active", "in date": "active", "lapsed": "expired", "out of date": "expired",
}
#: words that only dress a label ("NPPV Level 3" is nppv3)
_FILLER = {"level"}
#: where a label's own words end and a note begins ("Declined - returned to donor")
_NOTE = re.compile(r"\s+[-–:(/]\s*|\s*[(]")


@dataclass
class EnumEvidence:
    share: float = 0.0  # of non-blank cells that are, or nearly are, canonical values
    value_map: dict[str, str] = field(default_factory=dict)  # proposed: source value -> canonical
    how: dict[str, str] = field(default_factory=dict)  # source value -> why it was mapped
    unmatched: Counter = field(default_factory=Counter)  # source value -> rows
    covered: set[str] = field(default_factory=set)  # canonical values seen


def _words(text: str) -> list[str]:
    return norm_key(text.replace("-", " ").replace("_", " ").replace("/", " ")).split()


def near_miss(text: str, values: tuple[str, ...]) -> tuple[str, str] | None:
    """(canonical, how) for a value the connector would not read as it is, else None."""
    words = _words(text)
    if len(words) > MAX_WORDS:
        return _leading_label(text, values)
    key = " ".join(words)
    squashed = "".join(words)
    plain = "".join(w for w in words if w not in _FILLER)
    for candidate in (key, squashed, plain):
        if ABBREVIATIONS.get(candidate) in values:
            return ABBREVIATIONS[candidate], "abbreviation"
    if plain != squashed and plain in values:
        return plain, f"without the word {' / '.join(sorted(_FILLER & set(words)))!r}"
    initials = "".join(w[0] for w in words)
    if len(words) >= 2 and all(w.isalpha() for w in words) and initials in values:
        return initials, "initials"  # "Management Vetting" -> mv, "Counter Terrorist Check" -> ctc
    acronym = [v for v in values if "_" in v and "".join(p[0] for p in v.split("_")) == squashed]
    if len(words) == 1 and 2 <= len(squashed) <= 5 and len(acronym) == 1:
        return acronym[0], "the initials of its words"  # "OIC" -> officer_in_case
    if squashed:
        prefixed = [v for v in values if v.replace("_", "").startswith(squashed)]
        if len(prefixed) == 1:
            return prefixed[0], "prefix"
    named = [v for v in values if set(v.split("_")) <= set(words)]
    if len(named) == 1:
        return named[0], "named in the text"
    formed = [v for v in values if len(words) == 1 and v in _stems(words[0])]
    if len(formed) == 1:
        return formed[0], "a form of the word"  # "Viewed" -> view, "Searches" -> search
    scored = sorted(((fuzz.ratio(key, v.replace("_", " ")), v) for v in values), reverse=True)
    if scored and scored[0][0] >= _FUZZY_MIN and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1], f"close spelling ({scored[0][0]:.0f})"
    return _leading_label(text, values)


def _stems(word: str) -> set[str]:
    """The word without an English ending: viewed, views, viewing -> view; searches -> search."""
    out = set()
    for ending in ("ing", "ed", "es", "s", "d"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            out.add(word[: -len(ending)])
    return out


def _leading_label(text: str, values: tuple[str, ...]) -> tuple[str, str] | None:
    """A label followed by a note: "Declined - returned to donor" is declined."""
    parts = _NOTE.split(text.strip(), maxsplit=1)
    if len(parts) < 2 or not parts[0] or not parts[1].strip():
        return None
    head = parts[0]
    direct = make_enum_parser(values, {})(head)
    if direct in values:
        return direct, f"begins with the label {head!r}"
    hit = near_miss(head, values) if len(_words(head)) <= MAX_WORDS else None
    return (hit[0], f"begins with {head!r} ({hit[1]})") if hit else None


def nearest(text: str, values: tuple[str, ...]) -> tuple[str, str] | None:
    """A value no rule reads, for a column that is this field's: `other` where the field has it,
    else the closest spelling if any is close at all. The reason says which, to check."""
    words = set(_words(text))
    if not words or words & _PLACEHOLDERS or not any(c.isalpha() for c in text):
        return None  # "Unknown - see notes", "TBC", "N/A": missing information, not a label
    if "other" in values:
        return "other", "not a value the dictionary names: proposed as other"
    scored = sorted(((fuzz.ratio(" ".join(_words(text)), v.replace("_", " ")), v) for v in values), reverse=True)
    if scored and scored[0][0] >= _NEAREST_MIN and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1], f"not a value the dictionary names: nearest label ({scored[0][0]:.0f})"
    return None


def yes_no_evidence(cells: Counter, fld: Field, header_words: set[str]) -> EnumEvidence | None:
    """Yes/No under a header naming one of a two-valued enum's values ("Accepted?" -> accepted /
    declined): yes is the named value, no the other."""
    if len(fld.values) != 2:
        return None
    named = [v for v in fld.values if set(v.split("_")) <= header_words]
    if len(named) != 1:
        return None
    yes, no = named[0], next(v for v in fld.values if v != named[0])
    ev = EnumEvidence(share=1.0)
    for raw in cells:
        try:
            answer = parse_bool(raw)
        except CellError:
            return None
        text = as_text(raw)
        ev.value_map[text] = yes if answer else no
        ev.how[text] = f"yes/no under a header naming {yes!r}"
        ev.covered.add(ev.value_map[text])
    return ev if ev.value_map else None


def enum_evidence(cells: Counter, fld: Field) -> EnumEvidence:
    """Evidence for `fld` from a column's non-blank cells (Counter value -> rows)."""
    n = sum(cells.values())
    if not n or len(cells) > MAX_DISTINCT:
        return EnumEvidence()
    direct = make_enum_parser(fld.values, {})
    ev = EnumEvidence()
    matched = 0
    for raw, rows in cells.items():
        text = as_text(raw)
        read = direct(text)
        if read in fld.values:
            matched += rows
            ev.covered.add(read)
            continue
        hit = near_miss(text, fld.values)
        if hit is None:
            ev.unmatched[text] += rows
            continue
        ev.value_map[text], ev.how[text] = hit
        ev.covered.add(hit[0])
        matched += rows
    ev.share = matched / n
    return ev
