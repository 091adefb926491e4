"""Well-known UK public bodies: their official abbreviations and former names (public_bodies.csv).

Spend files write the same public body three ways: "HM Revenue & Customs", "HMRC", and by a former
name ("Inland Revenue", before the 2005 merger). Nothing in the written names says "HMRC" is HM
Revenue & Customs, so a short reference table does: every body that appears commonly as a supplier
or payee in public spend files (government departments and agencies, police bodies, regulators,
the NHS bodies councils pay), from the GOV.UK organisations list (its "acronym" and superseded
organisations), with the source of each former name in the file's note column. It is general
reference data, not a list made from the labelled pairs; a body it lacks is joined by an analyst's
override (docs/entities.md).

A written name names a body when its canonical name (normalise.org_name) is the body's name, a
former name or, written bare, its abbreviation ("CPS Ltd" is a company called CPS, not the Crown
Prosecution Service); or when it is one of those followed by the tax the payment was for and at
most two words before it ("INLAND REVENUE SHIPLEY PAYE", "HMRC VAT"). normalise.org_names then
gives the body's own canonical name as one more name of the mention, so the forms link by
`normalised_name`.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Callable

TABLE = Path(__file__).with_name("public_bodies.csv")
#: a tail naming the tax or levy a payment to a tax body was for ("... SHIPLEY PAYE", "HMRC - VAT")
TAX_WORDS = frozenset("paye vat cis nic nics ni tax duty".split())
#: at most this many words in such a tail, the tax word included
MAX_TAIL = 3


def rows(path: Path = TABLE) -> list[dict[str, str]]:
    """The table's lines (comment lines starting with '#' skipped)."""
    with path.open(encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter=";"))


@lru_cache(maxsize=4)
def index(canon: Callable[[str], str]) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical full or former name -> body, bare abbreviation -> body), the body being its
    canonical official name; `canon` is normalise.org_name (passed in: normalise imports this module)."""
    names: dict[str, str] = {}
    abbrevs: dict[str, str] = {}
    for r in rows():
        body = canon(r["name"])
        if not _distinctive(r["name"], body):  # "Homes England" -> "homes": too little left to name it
            continue
        for n in [r["name"]] + [x for x in r["former_names"].split("|") if x.strip()]:
            if _distinctive(n, canon(n)):
                names[canon(n)] = body
        if r["abbreviation"].strip():
            abbrevs[r["abbreviation"].strip().lower()] = body
    return names, abbrevs


def _distinctive(written: str, name: str) -> bool:
    """Is a canonical name still the body's own? Not when normalisation left one word of several
    ("Homes England", "Natural England" -> "homes", "natural": trailing "England" is dropped as it is
    from company names), which would name every "Homes Ltd"."""
    return bool(name) and (len(name.split()) >= 2 or len(written.split()) == 1)


def body_of(name: str, bare: bool, canon: Callable[[str], str], stop: frozenset[str]) -> str:
    """The canonical name of the public body a canonical `name` names, or "".

    `bare`: the written form carries no legal form (Ltd, PLC ...), so an abbreviation may stand for
    the body; `stop`: words that end a body's name in a tax tail (legal forms, business words)."""
    names, abbrevs = index(canon)
    if name in names:
        return names[name]
    if bare and name in abbrevs:
        return abbrevs[name]
    tokens = name.split()
    if len(tokens) < 2 or tokens[-1] not in TAX_WORDS:
        return ""
    for cut in range(max(1, len(tokens) - MAX_TAIL), len(tokens)):
        head, tail = " ".join(tokens[:cut]), tokens[cut:]
        if any(t in stop for t in tail):
            continue
        if head in names:
            return names[head]
        if bare and head in abbrevs:
            return abbrevs[head]
    return ""
