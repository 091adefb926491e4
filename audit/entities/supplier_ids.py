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

from typing import Callable, Sequence

#: an id whose names make this many different organisations or more is a bucket, not a vendor
DEMOTE_AT = 3


def name_groups(members: Sequence[int], names: Callable[[int], tuple[str, ...]],
                agree: Callable[[tuple[str, ...], tuple[str, ...]], bool]) -> list[list[int]]:
    """The members of one id grouped by name evidence (single linkage over the distinct written
    names); members without a name (only a number) join no group and count for none."""
    groups: list[list[tuple[str, ...]]] = []
    for n in sorted({names(i) for i in members if names(i)}):
        hit = [g for g in groups if any(agree(n, o) for o in g)]
        groups = [g for g in groups if g not in hit] + [[n] + [o for g in hit for o in g]]
    where = {n: k for k, g in enumerate(groups) for n in g}
    out: list[list[int]] = [[] for _ in groups]
    for i in members:
        if names(i):
            out[where[names(i)]].append(i)
    return out


def classify(by_id: dict[str, list[int]], names: Callable[[int], tuple[str, ...]],
             agree: Callable[[tuple[str, ...], tuple[str, ...]], bool]) -> dict[str, list[list[int]]]:
    """id -> its name groups, for every id whose names make more than one organisation."""
    out = {}
    for sid, members in by_id.items():
        if len({names(i) for i in members if names(i)}) < 2:
            continue
        groups = name_groups(members, names, agree)
        if len(groups) > 1:
            out[sid] = groups
    return out
