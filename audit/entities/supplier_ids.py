"""Which supplier ids are identity evidence, and which are buckets shared by many organisations.

A supplier id names one vendor record in one source, so two rows with the same id are one
organisation (orgs.py, method `identifier`) - unless the source uses the id as a bucket. Real files
do: Calderdale's "Purchase Card Supplier" covers every card merchant (Argos, Jet2.com, Appliance
World, Landlord Supplies ...) and "Personal Budgets" 22 care categories. Joining on such an id put
Argos Ltd and Direct Discounts in one organisation and raised a gift-from-supplier alert on it.

The test is the data, not a list of known strings: the names written against the id are grouped by
name evidence alone (the same canonical name, or a similar one, see orgs._names_agree), and
  1 group  -> the id agrees with its names: identity evidence (strong links);
  2 groups -> what a renamed vendor record looks like (Calderdale's S326432 "Dawsongroup Sweepers
              Ltd" then "Dawsongroup Environmental Municipal Civil Ltd", same invoice series and
              amounts): linked, but weak and reported `supplier_id_names_differ`;
  3+       -> a bucket: never used as evidence (`demoted`), reported `shared_supplier_id` and
              listed in the run's stats (org_demoted_ids).
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

#: an id whose names make this many different organisations or more is a bucket, not a vendor
DEMOTE_AT = 3

Names = tuple[str, ...]
#: the distinct written names of one id (sorted) -> the positions (p < q) of pairs that may agree;
#: every other pair must not (similarity.agree_candidates)
Candidates = Callable[[list[Names]], Iterable[tuple[int, int]]]


def name_groups(members: Sequence[int], names: Callable[[int], Names], agree: Callable[[Names, Names], bool],
                candidates: Candidates | None = None) -> list[list[int]]:
    """The members of one id grouped by name evidence (single linkage over the distinct written
    names); members without a name (only a number) join no group and count for none.

    With `candidates`, `agree` is asked only about the pairs it yields (a catch-all id carries
    thousands of names: every pair is millions of comparisons); without, about every pair as the
    groups grow (name_groups_pairwise, the reference). Same groups, in the same order, either way.
    """
    distinct = sorted({names(i) for i in members if names(i)})
    if candidates is None:
        return _members(members, names, name_groups_pairwise(distinct, agree))
    parent = list(range(len(distinct)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p, q in sorted(candidates(distinct)):
        a, b = find(p), find(q)
        if a != b and agree(distinct[q], distinct[p]):  # the later name against an earlier one, as below
            parent[max(a, b)] = min(a, b)
    comps: dict[int, list[int]] = {}
    for x in range(len(distinct)):
        comps.setdefault(find(x), []).append(x)
    # the pairwise version appends each merged group at the end: groups come in order of their last name
    groups = sorted(comps.values(), key=lambda g: g[-1])
    return _members(members, names, [[distinct[x] for x in g] for g in groups])


def name_groups_pairwise(distinct: list[Names], agree: Callable[[Names, Names], bool]) -> list[list[Names]]:
    """Single linkage by asking `agree` about each name against every group so far: the reference."""
    groups: list[list[Names]] = []
    for n in distinct:
        hit = [g for g in groups if any(agree(n, o) for o in g)]
        groups = [g for g in groups if g not in hit] + [[n] + [o for g in hit for o in g]]
    return groups


def _members(members: Sequence[int], names: Callable[[int], Names], groups: list[list[Names]]) -> list[list[int]]:
    where = {n: k for k, g in enumerate(groups) for n in g}
    out: list[list[int]] = [[] for _ in groups]
    for i in members:
        if names(i):
            out[where[names(i)]].append(i)
    return out


def classify(by_id: dict[str, list[int]], names: Callable[[int], Names], agree: Callable[[Names, Names], bool],
             candidates: Candidates | None = None) -> dict[str, list[list[int]]]:
    """id -> its name groups, for every id whose names make more than one organisation."""
    out = {}
    for sid, members in by_id.items():
        if len({names(i) for i in members if names(i)}) < 2:
            continue
        groups = name_groups(members, names, agree, candidates)
        if len(groups) > 1:
            out[sid] = groups
    return out
