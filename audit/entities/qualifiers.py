"""What a written organisation name says besides the name itself.

A register's supplier or donor column often carries more than the organisation's name:
  the account or charge paid     "Transport for London (Rent)", "VODAFONE LIMITED (CORPORATE)",
                                 "Montagu Evans – Client Account (Rent, Rates,SC)", "AMAS LTD NONRENT A/C"
  the matter or the agent        "Fairhome Care PLC Re Alexander House", "GPA c/o CBRE"
  a ledger or tax reference      "HMRC - 475/RA62835 AC13 Brooksbank", "CCT VENUES-2WM"
  the firm's status              "Acme Ltd (in liquidation)"
  another name of the same firm  "X Ltd t/a Y", "X T/as Y", "X Ltd TA Y", "X Ltd Formerly Y"
  its initials                   "Government Property Agency GPA", "SCC (Specialist Computer Centres PLC)"
  its parent                     "Training Synergy Ltd (Part of Escalla)"
`parts(text)` returns the written forms that name the organisation (its registered or main name
first, then trading and former names), with the qualifiers removed; normalise.org_names turns each
into a canonical name. A bracket that is none of these stays part of the name: "Sherwood Properties
(Nottingham) Limited", "Robinson Legal Services (Northern) Ltd", "MMCG (2) Limited" name other
companies than their bracket-less forms would.

Each rule is measured on the hand-labelled real pairs (tests/entities/real_pairs.csv) and the
generated truth (benchmarks/bench_entities.py).
"""
from __future__ import annotations

import re
from functools import lru_cache

#: a bracket or " - " tail holding one of these describes an account, charge, ledger or status,
#: not another organisation: "(rent and SC - MAIN JLL account)", "(LIM/Rent Ac)", "- RC's & utilities"
ACCOUNT_WORDS = frozenset("""
rent rents rates account accounts ac acc invoices invoice utilities receipts ledger nonrent payments
liquidation administration receivership department dept division
""".split())
#: words a bracket may consist of entirely without naming anyone: "(UK)", "(CORPORATE)", "(Service Charge)"
QUALIFIER_WORDS = ACCOUNT_WORDS | frozenset("uk gb corporate cic main all sc service charge charges client".split())
#: UK legal forms: a name ends at its legal form, what follows qualifies it ("AMAS Ltd (rent ...)",
#: "Nat West Bank PLC - NEST EFT Receipts Ac", "HPUT A Limited and HPUT B Limited")
LEGAL_FORMS = frozenset("ltd limited plc llp".split())
_NO_INITIAL = frozenset({"the", "and", "of", "for", "in", "&"})

_STATUS = re.compile(r"\(?\s*\bin\s+(?:liquidation|administration|receivership)\b\s*\)?")
_BRACKET = re.compile(r"\(([^()]*)(?:\)|$)")
_ALIAS = re.compile(r"\b(?:t/as|t/a|t\\a|ta:|trading\s+as|trading\s+name|formerly(?:\s+known\s+as)?|"
                    r"previously(?:\s+known\s+as)?)(?=[\s:]|$)")
_LEGAL_TA = re.compile(r"\b(ltd|limited|plc|llp)\.?\s+ta\s")  # "CAPITA ... LTD TA KNOWLEDGEPOOL"
_TAIL = re.compile(r"\s(?:re:?|c/o)\s+\S.*$|\s(?:client\s+(?:account|a/?c)|sales\s+ledger)\b.*$")
_DASH = re.compile(r"\s*,\s*|\s+[-\u2013\u2014]+\s+")  # a tail after a comma or a spaced dash
_CODE_SUFFIX = re.compile(r"-[a-z]*\d[a-z0-9]*$")  # "cct venues-2wm"
_WORD = re.compile(r"[a-z0-9]+")


def _words(s: str) -> list[str]:
    return _WORD.findall(s.replace("a/c", "ac"))


def _is_qualifier(s: str, codes: bool = False) -> bool:
    """Does this bracket / tail describe an account, a charge or a status only? With `codes`, a
    reference ("C1X2", "475/RA62835") also qualifies: a " - " tail, never a bracket ("Connect Plus
    (M25) Ltd" is a company's name)."""
    words = _words(s)
    if not words:
        return True
    if re.match(r"\s*(?:re|part\s+of|c/o)\b", s):
        return True
    if any(w in ACCOUNT_WORDS for w in words) or all(w in QUALIFIER_WORDS for w in words):
        return True
    return codes and (any(any(c.isdigit() for c in w) and any(c.isalpha() for c in w) for w in words)
                      or bool(re.search(r"\d/|/\d", s)))


def _initials(words: list[str], legal: bool) -> str:
    return "".join(w[0] for w in words if w not in _NO_INITIAL and (legal or w not in LEGAL_FORMS))


def _abbreviates(short: list[str], long: list[str]) -> bool:
    """Is `short` (one word of 2+ letters) the initials of `long` (2+ words), with or without the
    legal form ("GLL" = Greenwich Leisure Ltd, "SCC" = Specialist Computer Centres PLC)?"""
    return len(short) == 1 and len(short[0]) >= 2 and len(long) >= 2 and short[0].isalpha() \
        and short[0] in (_initials(long, True), _initials(long, False))


def _subsequence(chunk: str, word: str) -> bool:
    it = iter(word)
    return all(c in it for c in chunk)


def _contracts(short: str, long: list[str]) -> bool:
    """Is `short` (one word of 3+ letters) a contraction of the words `long` (2+), each giving its
    first letter and maybe more of its letters in order: "mmgrp" = Mobile Marketing GRouP, "gpa"?"""
    if len(short) < 3 or len(long) < 2 or not short.isalpha() or len(short) > 3 * len(long):
        return False

    def fits(s: str, ws: list[str]) -> bool:
        if not ws:
            return not s
        if not s or s[0] != ws[0][0]:
            return False
        return any(_subsequence(s[:k], ws[0]) and fits(s[k:], ws[1:]) for k in range(1, len(s) - len(ws) + 2))
    return fits(short, long)


def _brackets(s: str) -> tuple[str, list[str]]:
    """Drop qualifying brackets, keep naming ones inline; former names in brackets become aliases."""
    aliases: list[str] = []
    for m in reversed(list(_BRACKET.finditer(s))):
        inner = m.group(1).strip()
        outer = (s[:m.start()] + " " + s[m.end():]).strip()
        former = re.match(r"(?:formerly|previously)(?:\s+known\s+as)?\s+(.*)", inner)
        if former:
            aliases.append(former.group(1))
            s = outer
        elif _abbreviates(_words(outer), _words(inner)):  # "GLL (GREENWICH LEISURE LTD)": the long form
            s = inner
        elif _abbreviates(_words(inner), _words(outer)) or _is_qualifier(inner):
            s = outer
        else:
            s = s[:m.start()] + " " + inner + " " + s[m.end():]
    return s, aliases


def _trim(part: str) -> tuple[str, list[str]]:
    """One name: cut relationship tails, qualifying tails after " - " or a comma, codes, words after
    the legal form, and a leading or trailing run of its own initials. A tail after a comma or " - "
    that contracts the name before it is the same organisation's short or registered name, returned
    apart ("MOBILE MARKETING GROUP, MMGRP LIMITED." -> "mobile marketing group", ["mmgrp limited."])."""
    part = _TAIL.sub("", part).strip()
    pieces = _DASH.split(part)
    main = [w for w in _words(pieces[0]) if w not in _NO_INITIAL and w not in LEGAL_FORMS]
    kept, aliases = [pieces[0]], []
    for p in pieces[1:]:
        if _is_qualifier(p, codes=True):
            continue
        own = [w for w in _words(p) if w not in LEGAL_FORMS]
        if len(own) == 1 and _contracts(own[0], main):
            aliases.append(p)
        else:
            kept.append(p)
    part = " ".join(kept)
    part = _CODE_SUFFIX.sub("", part.strip())
    words = part.split()
    plain = [w.strip(".,") for w in words]
    cut = next((i for i, w in enumerate(plain) if i > 0 and w in LEGAL_FORMS and i < len(plain) - 1), None)
    if cut is not None:
        words, plain = words[:cut + 1], plain[:cut + 1]
    letters = _words(" ".join(plain))
    if len(letters) >= 3 and letters[-1] not in LEGAL_FORMS and _abbreviates(letters[-1:], letters[:-1]):
        words = words[:-1]  # "GOVERNMENT PROPERTY AGENCY GPA"
    elif len(letters) >= 3 and _abbreviates(letters[:1], letters[1:]):  # "MMG MOBILE MARKETING GROUP"
        words = words[1:]
    return " ".join(words), aliases


@lru_cache(maxsize=1 << 18)
def parts(text: str) -> tuple[str, ...]:
    """The written forms in `text` that name the organisation, qualifiers removed, main name first.

    Lower case; punctuation other than what the rules above read is left for normalise.org_name.
    """
    s = _STATUS.sub(" ", text.lower())
    s = _LEGAL_TA.sub(r"\1 t/a ", s)
    s, aliases = _brackets(s)
    out = []
    pieces = _ALIAS.split(s) + aliases
    while pieces:
        piece, more = _trim(pieces.pop(0).strip(" ,;/-"))
        pieces += more
        if piece and piece not in out:
            out.append(piece)
    return tuple(out)
