"""The fast paths of organisation resolution (issue #16) give exactly what the pairwise ones gave.

fuzzy_edges scores every pair of a block in C and hands compare() only the pairs that can make an
edge; supplier_ids.name_groups asks names_agree only about the pairs similarity.agree_candidates
yields (a catch-all id such as Calderdale's "Purchase Card Supplier" carries thousands of names).
Each is checked against the plain version kept as the oracle, on names built to hit every way two
names can agree: equal words in another order, one-letter typos, transposed letters, abbreviations
of business words ("sec" / "security"), plurals, structure words ("group", "holdings"), numbers and
"north" / "south" (never the same), trading names (units with two names).
"""
from __future__ import annotations

import random

import pytest

from audit.entities import supplier_ids
from audit.entities.orgs import resolve_orgs
from audit.entities.similarity import agree_candidates, fuzzy_edges, fuzzy_edges_pairwise, fuzzy_eligible, names_agree
from entity_fixtures import org_mentions

WORDS = ("acme apex harrow fleet repairs security securities sec valley digital design designs engineering eng "
         "consulting cons brothers bros medical legal care homes oxford friend mind cleaning clean "
         "north south 1 2 05d").split()
STRUCTURE = "group holdings international services service uk trading".split()


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    k = rng.randrange(len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # transposed letters
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    if kind == 1:  # a letter dropped
        return word[:k] + word[k + 1:]
    return word[:k] + rng.choice("aeiourst") + word[k + 1:]  # a letter changed


def _names(n: int, seed: int) -> list[str]:
    """n distinct canonical names, many of them near another one."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        if out and rng.random() < 0.6:  # a variant of an earlier name
            words = rng.choice(out).split()
            change = rng.randrange(4)
            if change == 0:
                k = rng.randrange(len(words))
                words[k] = _typo(words[k], rng)
            elif change == 1:
                words.append(rng.choice(STRUCTURE))
            elif change == 2:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            else:
                rng.shuffle(words)
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
        name = " ".join(words)
        if name not in out:
            out.append(name)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzzy_edges_equal_the_pairwise_comparison(seed):
    names = sorted(n for n in _names(600, seed) if fuzzy_eligible(n))
    fast, pairs = fuzzy_edges(names, 85.0, 92.0)
    slow, slow_pairs = fuzzy_edges_pairwise(names, 85.0, 92.0)
    assert pairs == slow_pairs  # the candidate pairs counted as before (the org_candidate_pairs stat)
    assert fast == slow
    assert {e[3] for e in slow} == {"strong", "weak"}  # the names do make both kinds of edge


def test_agree_candidates_hold_every_agreeing_pair():
    rng = random.Random(4)
    names = _names(250, 4)
    units = sorted({tuple(rng.sample(names, rng.choice((1, 1, 1, 2)))) for _ in range(300)})
    found = agree_candidates(units, 85.0)
    agreeing = {(p, q) for p in range(len(units)) for q in range(p + 1, len(units))
                if names_agree(units[q], units[p], 85.0)}
    assert agreeing and agreeing <= found
    assert len(found) < len(units) * (len(units) - 1) // 8  # and prunes most of the pairs


@pytest.mark.parametrize("seed", [5, 6])
def test_catch_all_supplier_id_groups_equal_the_pairwise_grouping(seed):
    """Many names under one supplier id (a purchase-card bucket): same groups, same order."""
    rng = random.Random(seed)
    names = _names(200, seed)
    units = [tuple(rng.sample(names, rng.choice((1, 1, 1, 2)))) for _ in range(260)] + [()]  # () has only a number
    members = list(range(len(units)))
    rng.shuffle(members)

    def agree(a, b):
        return names_agree(a, b, 85.0)

    fast = supplier_ids.name_groups(members, units.__getitem__, agree, lambda d: agree_candidates(d, 85.0))
    slow = supplier_ids.name_groups(members, units.__getitem__, agree)
    assert fast == slow
    assert 10 < len(slow) < len({u for u in units if u})  # names grouped together, and many groups


def test_catch_all_id_is_demoted_and_a_renamed_vendor_is_not():
    texts = [f"{n} Ltd" for n in _names(120, 7)]
    m = org_mentions(texts + ["Dawsongroup Sweepers Ltd", "Dawsongroup Environmental Ltd"],
                     supplier_id=["card|Purchase Card Supplier"] * len(texts) + ["v|S326432"] * 2)
    res = resolve_orgs(m, fuzzy_threshold=92.0, weak_threshold=85.0)
    assert res.stats["org_demoted_ids"].keys() == {"card|Purchase Card Supplier"}
    renamed = res.mentions.iloc[-2:]
    assert renamed["key"].nunique() == 1 and set(renamed["strength"]) == {"weak"}


def _staff_filtered(wf, parsed):
    """The oracle: Workforce.candidates as it was, filtering every staff member of the surname."""
    for first, last in parsed.splits():
        staff = wf.by_last.get(last, [])
        if not first:
            found, score = staff, 80
        elif len(first) == 1:
            found, score = [s for s in staff if s.first.startswith(first)], 90
        else:
            found, score = [s for s in staff if first in (s.first, s.first_full)], 100
        if found:
            return found, score
    return [], 0


@pytest.mark.parametrize("seed", [1, 2])
def test_workforce_candidates_by_forename_index_equal_the_filtered_surname(seed):
    """People are found through (surname, forename) and (surname, initial) indexes instead of
    filtering every staff member of the surname (hundreds per common surname in a large force):
    the same staff, in the same order, with the same score, for full forenames, several forenames,
    initials, surname-only text, titles and unknown names."""
    import pandas as pd

    from audit.entities import names
    from audit.entities.people import Workforce

    rng = random.Random(seed)
    forenames = ["Mary", "Ann", "Mary Ann", "John", "Jon", "Jo", "Joanne", "Ali", "Al", "O'Neil", "Zoë", "J"]
    surnames = ["Smith", "Jones", "Smith-Jones", "O'Brien", "de la Cruz", "Khan", "Ng"]
    rows = [{"person_id": f"P{i:05d}", "first_name": rng.choice(forenames), "last_name": rng.choice(surnames),
             "date_of_birth": None, "department": None} for i in range(3000)]
    wf = Workforce(pd.DataFrame(rows))
    written = [f"{f} {s}" for f in forenames for s in surnames] + [f"{f[0]}. {s}" for f in forenames for s in surnames]
    written += [f"{f.replace(' ', '')} {s}" for f in forenames for s in surnames]  # "MaryAnn Smith": all forenames
    written += [s for s in surnames] + ["DS 1234 J. Smith", "Mr John Smith", "Smith, John", "Nobody Here", "M A Smith"]
    for text in written:
        parsed = names.parse(text)
        assert wf.candidates(parsed) == _staff_filtered(wf, parsed), text


def test_blank_per_distinct_value_equals_the_cell_by_cell_test():
    """resolve._blank decides once per distinct value: the same as testing every cell, for every kind
    of missing value pandas knows, text of spaces only, and cells that are not text."""
    from decimal import Decimal

    import numpy as np
    import pandas as pd

    from audit.entities.resolve import _blank

    cells = [None, np.nan, pd.NaT, pd.NA, Decimal("NaN"), "", "  ", "\t\n", "x", " x ", 5, 0.0, 0,
             pd.Timestamp("2026-01-01"), "x", None, "", Decimal("1.5")]
    s = pd.Series(cells * 3, index=range(100, 100 + 3 * len(cells)), dtype="object")
    cell_by_cell = s.isna() | (s.astype("object").fillna("").astype(str).str.strip() == "")
    pd.testing.assert_series_equal(_blank(s), cell_by_cell, check_names=False)
    unhashable = pd.Series([["a"], None, " "], dtype="object")
    assert _blank(unhashable).tolist() == [False, True, True]
