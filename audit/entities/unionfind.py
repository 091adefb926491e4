"""Union-find with vetoes: the clustering step of organisation resolution.

Each component remembers the company numbers, VAT numbers and override tags of its members, so a
union that would put two different registered companies (or a pair an analyst marked "different")
into one organisation is refused and counted instead of silently made. It also remembers where its
members are (countries, postcodes and legal forms, normalise.origin), so a link made on a name
alone between two places or two kinds of entity can be told apart (`conflict`) and kept weak.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Comp:
    company_numbers: set[str] = field(default_factory=set)
    vat_numbers: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    countries: set[frozenset[str]] = field(default_factory=set)  # each member's possible countries
    postcodes: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)  # legal forms: "partnership", "company"


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

    def add_ids(self, i: int, company_number: str = "", vat_number: str = "", tags: set[str] | None = None,
                origin: tuple[frozenset[str], str, str] = (frozenset(), "", "")) -> None:
        c = self.comp[self.find(i)]
        if company_number:
            c.company_numbers.add(company_number)
        if vat_number:
            c.vat_numbers.add(vat_number)
        if tags:
            c.tags |= tags
        if origin[0]:
            c.countries.add(origin[0])
        if origin[1]:
            c.postcodes.add(origin[1])
        if origin[2]:
            c.forms.add(origin[2])

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

    def conflict(self, a: int, b: int) -> str | None:
        """Are the components of a and b in different places or of different legal forms? "country"
        when no member of one can be in the same country as a member of the other ("Bloomsbury
        Publishing Inc." / "... Plc", a Dublin address / a UK postcode); "address" when both have
        postcodes and share none; "legal_form" when one is a partnership and the other a company."""
        ca, cb = self.comp[self.find(a)], self.comp[self.find(b)]
        if ca.countries and cb.countries and not any(x & y for x in ca.countries for y in cb.countries):
            return "country"
        if ca.postcodes and cb.postcodes and not (ca.postcodes & cb.postcodes):
            return "address"
        if ca.forms and cb.forms and not (ca.forms & cb.forms):
            return "legal_form"
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
        ca.countries |= cb.countries
        ca.postcodes |= cb.postcodes
        ca.forms |= cb.forms
        self.comp[rb] = _Comp()
        return None

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return out
