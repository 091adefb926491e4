"""How alike two canonical organisation names are: the word-level comparison behind the `fuzzy`
method and the weak similarities reported for review (orgs.py), and the candidate blocking.

Conservative by design: a link needs every word aligned (equal, an abbreviation of a common
business word, or a one-letter typo in a word of 5+ letters); numbers and words such as "north" /
"south" must be equal; a plural is another company's name. Names that differ only by generic words
("PA Consulting Group" / "PA Consulting Services", "X" / "X Group") are similar, never the same:
since 2015 Companies House no longer treats "Group", "Holdings", "International" or "Services" as
making two names the same, so each can be a different registered company.
"""
from __future__ import annotations

import re
from collections import defaultdict
from itertools import combinations

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from audit.entities import normalise

_DIGIT = re.compile(r"\d").search
#: words that place a company in its group rather than name its trade: names differing only by
#: these are similar (reported), never the same
STRUCTURE_WORDS = frozenset("group groups holdings holding international global uk gb trading services service".split())
#: words that tell two otherwise equal names apart: a difference in one of these is never a typo
DISTINGUISHING = frozenset("""
north south east west northern southern eastern western central upper lower new old first second
third i ii iii iv v
""".split())


def compare(a: str, b: str) -> tuple[float, bool, bool]:
    """Similarity of two canonical names (0-100), whether every word aligns, whether the first does.

    Words align when equal, when one abbreviates a common business word in the other ("sec" /
    "security", see _abbreviates), or when they differ by one edit (a typo) and are 5+ letters long;
    numbers and words such as "north" / "south" must be equal. A strong link needs every word aligned;
    a weak similarity at least the first word ("Oxford Friend" is not even weakly "Oxfordshire Mind").
    """
    ta, tb = a.split(), b.split()
    ta = [next((y for y in tb if x not in tb and _abbreviates(x, y)), x) for x in ta]
    tb = [next((x for x in ta if y not in ta and _abbreviates(y, x)), y) for y in tb]
    differ = set(ta) ^ set(tb)
    if any(_has_digit(t) or t in DISTINGUISHING for t in differ):  # "North X" / "South X", "Apex 1" / "2", "05D" / "06D"
        return 0.0, False, False
    sa, sb = " ".join(sorted(ta)), " ".join(sorted(tb))
    # Indel ratio counts a transposed pair of letters as two edits; OSA counts it as the one typo it is
    score = max(fuzz.token_sort_ratio(sa, sb), OSA.normalized_similarity(sa, sb) * 100)
    first = ta[0] == tb[0] or _typo(ta[0], tb[0])
    if len(ta) != len(tb):
        return score, False, first
    rest = sorted(tb)
    for x in sorted(ta):
        match = next((y for y in rest if y == x), None) or next((y for y in rest if _typo(x, y)), None)
        if match is None:
            return score, False, first
        rest.remove(match)
    return score, True, first


def _has_digit(token: str) -> bool:
    """A number or a code ("2", "05d", "m25"): a difference in one is never a typo."""
    return _DIGIT(token) is not None


def _abbreviates(short: str, word: str) -> bool:
    """Is `short` (3+ letters) a written abbreviation of `word`? Only of a common business word
    ("sec." Security or Securities, "sol." Solutions, "eng" Engineering: normalise.is_business_word).
    A shorter name is not an abbreviation of a longer one: "Fox" / "Foxglove", "Harris" / "Harrison",
    "Wood" / "Woods" are different companies' names."""
    return len(short) >= 3 and short != word and word.startswith(short) and normalise.is_business_word(word)


def names_agree(a: tuple[str, ...], b: tuple[str, ...], weak: float) -> bool:
    """Do two units' names support each other (for a supplier id: supplier_ids.py)? Yes when one
    is empty, they share a canonical name, or any two of their names are at least weakly similar."""
    if not a or not b or set(a) & set(b):
        return True
    return any(compare(x, y)[0] >= weak for x in a for y in b)


def agree_candidates(units: list[tuple[str, ...]], weak: float) -> set[tuple[int, int]]:
    """Positions (p < q) of the units (each a tuple of canonical names) that names_agree may find
    agreeing: they share a name, or two of their names score near `weak` or may be read as an
    abbreviation one of the other (as fuzzy_edges). names_agree is False for every other pair."""
    owners: dict[str, list[int]] = defaultdict(list)
    for p, names in enumerate(units):
        for n in dict.fromkeys(names):
            owners[n].append(p)
    strings = list(owners)
    close = _close_pairs([_sorted_form(n) for n in strings], weak) | _rewritten_pairs(strings)
    out = {pair for ps in owners.values() for pair in combinations(ps, 2)}
    for x, y in close:
        out.update((min(p, q), max(p, q)) for p in owners[strings[x]] for q in owners[strings[y]] if p != q)
    return out


def fuzzy_eligible(name: str) -> bool:
    """Generic, short and one-word names never fuzzy-match ("Canon" is not "Cannon")."""
    return (not normalise.is_generic(name) and not normalise.is_short(name) and len(name.split()) > 1)


def _typo(x: str, y: str) -> bool:
    """One edit apart, 5+ letters, and not a plural ("security"/"securitys" is another company's name)."""
    if min(len(x), len(y)) < 5 or x.rstrip("s") == y.rstrip("s"):
        return False
    return OSA.distance(x, y) <= 1 and not _has_digit(x) and not _has_digit(y)


def block_keys(name: str) -> set[str]:
    """Blocking keys: 3-letter prefixes of the first two significant (non-generic) words."""
    words = [w for w in name.split() if w not in normalise.GENERIC_WORDS]
    return {w[:3] for w in words[:2]}


def differ_by_structure(a: str, b: str) -> bool:
    """Do two names share their distinctive words and differ only by words that place a company
    in its group ("acme security" / "acme security group", "pa consulting group" / "pa consulting
    services")? A different trade ("valley security" / "valley digital") is not such a difference."""
    ta, tb = set(a.split()), set(b.split())
    return bool(ta ^ tb) and ta ^ tb <= STRUCTURE_WORDS and any(t not in normalise.GENERIC_WORDS for t in ta & tb)


def fuzzy_edges(names: list[str], weak: float, strong: float) -> tuple[list[tuple], int]:
    """Compare the names of each block: (-score, a, b, "strong" | "weak") edges, best first, and
    the number of pairs in the blocks (the candidate pairs).

    Only the pairs that can make an edge reach compare(): rapidfuzz scores every pair of a block
    in C (_close_pairs) and compare() sees only the pairs that can make an edge: a plain score near
    the weak threshold with the first words at most one edit apart (a weak edge needs them
    aligned), or near the strong one with as many words (a strong edge aligns every word); pairs
    where it may read a word as an abbreviation; pairs differing by structure words. fuzzy_edges_pairwise is the plain version it must equal.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    key_sets: dict[frozenset[str], int] = defaultdict(int)
    for i, n in enumerate(names):
        keys = block_keys(n)
        for k in keys:
            blocks[k].append(i)
        if len(keys) == 2:
            key_sets[frozenset(keys)] += 1
    # a pair of names sharing both their keys sits in two blocks and counts once
    compared = sum(_pairs(len(m)) for m in blocks.values()) - sum(_pairs(c) for c in key_sets.values())
    forms = [_sorted_form(n) for n in names]
    words = [n.split() for n in names]
    candidates: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2:
            continue
        block = [names[i] for i in members]
        edge = (strong, [words[i][0] for i in members], np.array([len(words[i]) for i in members]))
        found = _close_pairs([forms[i] for i in members], weak, edge)
        found |= _rewritten_pairs(block) | _structure_pairs(block)
        candidates.update((members[x], members[y]) for x, y in found)
    return _edges(names, sorted(candidates), weak, strong), compared


def fuzzy_edges_pairwise(names: list[str], weak: float, strong: float) -> tuple[list[tuple], int]:
    """fuzzy_edges comparing every pair of every block in Python: the reference (oracle) for tests."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        for k in block_keys(n):
            blocks[k].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        pairs.update(combinations(members, 2))
    return _edges(names, sorted(pairs), weak, strong), len(pairs)


def _edges(names: list[str], pairs: list[tuple[int, int]], weak: float, strong: float) -> list[tuple]:
    edges = []
    for i, j in pairs:
        score, aligned, first = compare(names[i], names[j])
        if aligned and score >= strong:
            edges.append((-score, names[i], names[j], "strong"))
        elif first and (score >= weak or differ_by_structure(names[i], names[j])):
            edges.append((-score, names[i], names[j], "weak"))
    edges.sort()
    return edges


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _sorted_form(name: str) -> str:
    """The string compare() scores when it reads no word as an abbreviation."""
    return " ".join(sorted(name.split()))


#: rows of the score matrix computed at once (bounds memory: rows x block size)
_CHUNK = 512
#: scores are float32 in cdist's matrix: a pair this close under the threshold is kept for compare()
_MARGIN = 0.5


def _close_pairs(forms: list[str], weak: float,
                 edge: tuple[float, list[str], np.ndarray] | None = None) -> set[tuple[int, int]]:
    """Positions (x < y) of forms whose token-sort or OSA score reaches the weak threshold (less a
    margin): an upper bound of compare()'s score wherever it reads no word as an abbreviation.

    With `edge` (the strong threshold, each form's first word and its number of words), only the
    pairs that can make a fuzzy_edges edge without an abbreviation read: first words at most one
    edit (OSA) apart (compare's `first`), or the strong threshold reached by as many words."""
    cut = weak - _MARGIN
    out: set[tuple[int, int]] = set()
    for start in range(0, len(forms) - 1, _CHUNK):
        rows, cols = forms[start:start + _CHUNK], forms[start:]
        score = np.maximum(cdist(rows, cols, scorer=fuzz.token_sort_ratio, score_cutoff=cut),
                           cdist(rows, cols, scorer=OSA.normalized_similarity, score_cutoff=cut / 100) * 100)
        close = score >= cut
        if edge is not None:
            strong, firsts, counts = edge
            aligned = (score >= strong - _MARGIN) & (counts[start:start + _CHUNK, None] == counts[None, start:])
            close &= aligned | (cdist(firsts[start:start + _CHUNK], firsts[start:], scorer=OSA.distance,
                                      score_cutoff=1) <= 1)
        xs, ys = np.nonzero(np.triu(close, 1))  # column c is position start + c: keep those after the row
        out.update(zip((xs + start).tolist(), (ys + start).tolist()))
    return out


def _rewritten_pairs(names: list[str]) -> set[tuple[int, int]]:
    """Positions (x < y) of names where compare() may read a word of one as an abbreviation of a
    business word of the other (_abbreviates: a 3+ letter word that is a strict prefix of it)."""
    by_prefix: dict[str, set[int]] = defaultdict(set)
    for y, n in enumerate(names):
        for word in set(n.split()):
            if normalise.is_business_word(word):
                for end in range(3, len(word)):
                    by_prefix[word[:end]].add(y)
    out: set[tuple[int, int]] = set()
    for x, n in enumerate(names):
        for word in set(n.split()):
            out.update((min(x, y), max(x, y)) for y in by_prefix.get(word, ()) if y != x)
    return out


def _structure_pairs(names: list[str]) -> set[tuple[int, int]]:
    """Positions (x < y) of names equal once structure words are left out (differ_by_structure)."""
    by_rest: dict[frozenset[str], list[int]] = defaultdict(list)
    for x, n in enumerate(names):
        by_rest[frozenset(n.split()) - STRUCTURE_WORDS].append(x)
    return {pair for members in by_rest.values() for pair in combinations(members, 2)}
