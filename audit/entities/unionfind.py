"""Union-find with vetoes: the clustering step of organisation resolution.

Each component remembers the company numbers, VAT numbers and override tags of its members, so a
union that would put two different registered companies (or a pair an analyst marked "different")
into one organisation is refused and counted instead of silently made.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Comp:
    company_numbers: set[str] = field(default_factory=set)
    vat_numbers: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)


class VetoUnionFind:
    """Union-find over 0..n-1 whose unions may be refused.

    `forbidden` holds unordered tag pairs {a, b}: no component may contain both a member tagged a
    and a member tagged b (the analyst said they are different organisations).
    """

    def __init__(self, n: int, forbidden: set[frozenset[str]] | None = None):
        self.parent = list(range(n))
        self.size = [1] * n
        self.comp = [_Comp() for _ in range(n)]
        self.forbidden = forbidden or set()

    def add_ids(self, i: int, company_number: str = "", vat_number: str = "", tags: set[str] | None = None) -> None:
        c = self.comp[self.find(i)]
        if company_number:
            c.company_numbers.add(company_number)
        if vat_number:
            c.vat_numbers.add(vat_number)
        if tags:
            c.tags |= tags

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def veto(self, a: int, b: int, *, method: str) -> str | None:
        """Why joining the components of a and b is refused, or None if it is allowed."""
        ca, cb = self.comp[self.find(a)], self.comp[self.find(b)]
        if self.forbidden and any(frozenset((x, y)) in self.forbidden for x in ca.tags for y in cb.tags):
            return "override_different"
        if method == "override":
            return None
        if ca.company_numbers and cb.company_numbers and not (ca.company_numbers & cb.company_numbers):
            return "company_number_conflict"
        if method != "company_number" and ca.vat_numbers and cb.vat_numbers \
                and not (ca.vat_numbers & cb.vat_numbers):
            return "vat_number_conflict"
        return None

    def union(self, a: int, b: int, *, method: str) -> str | None:
        """Join the components of a and b. Returns None when joined (or already one), else the veto."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        reason = self.veto(ra, rb, method=method)
        if reason:
            return reason
        if self.size[ra] < self.size[rb] or (self.size[ra] == self.size[rb] and rb < ra):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        ca, cb = self.comp[ra], self.comp[rb]
        ca.company_numbers |= cb.company_numbers
        ca.vat_numbers |= cb.vat_numbers
        ca.tags |= cb.tags
        self.comp[rb] = _Comp()
        return None

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return out
