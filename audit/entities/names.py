"""Person names: parsing free text ("PC 1234 J. Smith", "Smith, John") and the name + date of
birth key that rules join on.

Owns the text rules only; matching against the workforce is in people.py.

name_dob_key = "<last>|<first initial>|<YYYY-MM-DD>", e.g. "osullivan|m|1984-03-07":
  last:  lower-case ASCII surname with spaces, hyphens and apostrophes removed
         ("O'Sullivan" -> "osullivan", "Smith-Jones" -> "smithjones", "De Souza" -> "desouza");
  first: the first letter of the first forename (so "J Smith" and "John Smith" agree);
  blank when the surname, a forename or the date of birth is missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from audit.entities.normalise import ascii_lower

#: ranks, titles and honorifics removed from the front of a written name ("DS", "Ch Supt", "Mrs")
TITLES = frozenset("""
pc wpc dc ps ds sgt sergeant di dci supt superintendent ch chief insp inspector det detective
constable acc dcc cc commander cmdr pcso spc mr mrs ms miss mx dr prof sir dame rev
""".split())
#: surname particles: in free text the surname starts at the first of these ("Ana de la Cruz")
PARTICLES = frozenset("de da del della der di du la le van von st mac mc".split())
_COLLAR = re.compile(r"^[a-z]{0,4}\d+[a-z]?$")  # "1234", "pc1234", "c123"
_SEP = re.compile(r"[^a-z0-9'\-, ]+")


def squash(part: str) -> str:
    """One name part as a comparable token: "O'Sullivan-Hart" -> "osullivanhart"."""
    return re.sub(r"[^a-z0-9]", "", ascii_lower(part))


@dataclass(frozen=True)
class ParsedName:
    tokens: tuple[str, ...]  # forenames then surname words, squashed, titles and numbers removed
    comma: bool  # written "Surname, Forename"

    @property
    def text(self) -> str:
        """Canonical text used to match overrides: "pc 1234 J. Smith" -> "j smith"."""
        return " ".join(self.tokens)

    def splits(self) -> list[tuple[str, str]]:
        """Every (first forename, surname) reading of the tokens, most likely first."""
        t = self.tokens
        if len(t) < 2:
            return [("", t[0])] if t else []
        return [(t[0], "".join(t[k:])) for k in range(len(t) - 1, 0, -1)]

    def first_last(self) -> tuple[str, str]:
        """The single reading used for name_dob_key (surname from the first particle, else last word)."""
        t = self.tokens
        if not t:
            return "", ""
        if len(t) == 1:
            return "", t[0]
        start = next((k for k in range(1, len(t) - 1) if t[k] in PARTICLES), len(t) - 1)
        return t[0], "".join(t[start:])


def parse(text: str | None) -> ParsedName:
    """Parse a written person name; titles, ranks and collar numbers are dropped."""
    if not isinstance(text, str):
        return ParsedName((), False)
    s = _SEP.sub(" ", ascii_lower(text).replace(".", " "))
    comma = "," in s
    if comma:  # "Smith, John" -> "John Smith"
        last, _, rest = s.partition(",")
        s = rest.replace(",", " ") + " " + last
    words = [w for w in s.split() if w.strip("'-")]
    while words and (words[0] in TITLES or _COLLAR.match(words[0])):
        words.pop(0)
    words = [w for w in words if not _COLLAR.match(w)]
    while len(words) > 1 and words[-1] in TITLES:  # "John Smith (DS)"
        words.pop()
    return ParsedName(tuple(t for t in (squash(w) for w in words) if t), comma)


def _iso(dob) -> str:
    if dob is None or dob is pd.NaT or (isinstance(dob, float) and dob != dob):
        return ""
    if isinstance(dob, (datetime, pd.Timestamp)):
        return dob.strftime("%Y-%m-%d") if not pd.isna(dob) else ""
    if isinstance(dob, date):
        return dob.isoformat()
    return ""


def name_dob_key(first_name: str | None, last_name: str | None, dob) -> str:
    """Key from separate forename / surname fields (workforce, barred list)."""
    first = parse(first_name).tokens
    last = "".join(squash(w) for w in (last_name or "").split()) if isinstance(last_name, str) else ""
    day = _iso(dob)
    if not first or not last or not day:
        return ""
    return f"{last}|{first[0][0]}|{day}"


def name_dob_key_free(full_name: str | None, dob) -> str:
    """Key from one written name (notifiable associations' associate_name)."""
    first, last = parse(full_name).first_last()
    day = _iso(dob)
    if not first or not last or not day:
        return ""
    return f"{last}|{first[0]}|{day}"
