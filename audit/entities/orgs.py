"""Organisation resolution: every organisation mention -> one org_key, with the evidence.

Order of evidence, strongest first (each step may be vetoed, see unionfind.py):
  override (analyst said same) > company_number > vat_number > identifier (same supplier id in one
  source) > normalised_name (equal canonical names, legal, trading and former names; spaces ignored)
  > fuzzy (rapidfuzz over blocked candidates, similarity.py) > initials (a bare "PWC" for the one
  organisation whose name gives those initials: weak, reported `linked_by_initials`).
Conservative by design: generic names ("Services Ltd") and short names never fuzzy-match; a
canonical name carried by two different registered companies does not pull unnumbered mentions
into either, and is reported `same_name_different_company_numbers` (a governing body and its
trading subsidiary are two companies until an analyst's override joins them); two components with
different company numbers are never joined except by override; a weak similarity ("Acme Security"
/ "Acme Securities") is reported for review, never joined; a supplier id shared by many different
names is a bucket, never evidence (supplier_ids.py); a link made on a name alone between two places
(another country, another postcode) or two kinds of entity (an LLP, a company) is weak and reported
`conflicting_org_details`.
Keys are deterministic: "CN:<company number>" when the organisation has one, else
"ORG:<sha1 of its smallest canonical name, 12 hex>".
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from itertools import combinations
from dataclasses import dataclass, field

import pandas as pd

from audit.entities import normalise, supplier_ids
from audit.entities.overrides import Overrides
from audit.entities.similarity import agree_candidates, compare, fuzzy_edges, fuzzy_eligible, names_agree
from audit.entities.unionfind import VetoUnionFind

#: precedence of evidence methods (a unit keeps the strongest accepted edge that touches it)
RANK = {"override": 6, "company_number": 5, "vat_number": 4, "identifier": 3, "normalised_name": 2, "fuzzy": 1,
        "initials": 0.5}
#: evidence from the written name alone (kept weak across places: VetoUnionFind.conflict)
NAME_METHODS = ("normalised_name", "fuzzy", "initials")
#: review reasons, in the order the unresolved list shows them
REASONS = ("ambiguous_org_name", "similar_org_name_not_linked", "same_name_different_company_numbers",
           "conflicting_org_details", "supplier_id_names_differ", "shared_supplier_id", "linked_by_initials")


@dataclass
class OrgResult:
    """Per mention (aligned with the input rows): key, method, score, strength, matched_text."""

    mentions: pd.DataFrame
    unresolved: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


@dataclass
class _Review:
    """Why a reviewer should look at a unit (reason -> candidates), and which units' keys are weak."""

    items: dict[int, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(dict))
    weak: set[int] = field(default_factory=set)

    def add(self, i: int, reason: str, candidates: list[str], weak: bool) -> None:
        self.items[i].setdefault(reason, candidates)
        if weak:
            self.weak.add(i)


def _lone(uf: VetoUnionFind, i: int) -> bool:
    """A single written form with no registered number: the only kind of mention reported as
    `similar_org_name_not_linked` (an established organisation is keyed by its own evidence)."""
    root = uf.find(i)
    comp = uf.comp[root]
    return uf.size[root] == 1 and not comp.company_numbers and not comp.vat_numbers


def _where(text, line, post_code) -> str:
    """normalise.origin as sortable text: "GB|SW1A 1AA|company", "IE||", "CA,PH,US||", "" when unknown."""
    countries, pc, form = normalise.origin(text, line, post_code)
    return f"{','.join(sorted(countries))}|{pc}|{form}" if countries or pc or form else ""


def _origin(where: str) -> tuple[frozenset[str], str, str]:
    countries, pc, form = (where.split("|") + ["", "", ""])[:3]
    return frozenset(c for c in countries.split(",") if c), pc, form


def _place(where: str) -> str:
    """A unit's origin as a reviewer reads it: "GB SW1A 1AA company"."""
    countries, pc, form = _origin(where)
    return " ".join(x for x in (",".join(sorted(countries)), pc, form) if x)


def _units(mentions: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple], dict[int, str]]:
    """Mentions -> a frame of the mentions that name something (their unit and text), the distinct
    units (sorted) and a display text per unit (its smallest written form).

    A register repeats its suppliers row after row: each distinct written combination (text,
    numbers, supplier id, address; a cell that is not text is a blank) is normalised once."""
    n = len(mentions)
    cells = [[v if isinstance(v, str) else None for v in mentions[c]] if c in mentions else [None] * n
             for c in ("text", "company_number", "vat_number", "supplier_id", "address", "postcode")]
    seen: dict[tuple, int] = {}
    row_written = [seen.setdefault(w, len(seen)) for w in zip(*cells)]
    unit_of_written = []  # per distinct written combination, in order of first appearance
    for text, cn, vat, sid, line, post_code in seen:
        unit_of_written.append((normalise.org_names(text), normalise.company_number(cn), normalise.vat_number(vat),
                                sid if sid and sid.strip() else "", _where(text or "", line, post_code)))
    named = [bool(u[0] or u[1] or u[2]) for u in unit_of_written]
    units = sorted({u for u, keep in zip(unit_of_written, named) if keep})
    uid = {u: i for i, u in enumerate(units)}
    display: dict[int, str] = {}
    for (text, *_), u, keep in zip(seen, unit_of_written, named):  # first appearance order: as row by row
        if keep:
            i, text = uid[u], text or ""
            display[i] = min(display.get(i, text), text) if text else display.get(i, u[1] or u[2])
    rows = [r for r, w in enumerate(row_written) if named[w]]
    m = pd.DataFrame({"unit": [uid[unit_of_written[row_written[r]]] for r in rows],
                      "text": [cells[0][r] or "" for r in rows]}, index=mentions.index[rows])
    return m, units, display


class _Linker:
    """The union-find plus, per unit, the strongest accepted edge that touches it."""

    def __init__(self, units: list[tuple], forbidden: set[frozenset[str]], wanted: set[str]):
        self.uf = VetoUnionFind(len(units), forbidden)
        self.evidence: dict[int, tuple] = {}  # unit -> (rank, score, method, strength, partner)
        self.vetoes: dict[str, int] = defaultdict(int)
        self.conflicts: list[tuple[int, str]] = []  # (unit, "country" | "address" | "legal_form") of weak name links
        self.by: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in ("cn", "vat", "sid", "name", "tag")}
        self.spelled: dict[str, set[str]] = defaultdict(set)  # squashed name -> its canonical spellings
        for i, (nms, cn, vat, sid, where) in enumerate(units):
            tags = ({"name:" + n for n in nms} | ({"cn:" + cn} if cn else set())) & wanted
            self.uf.add_ids(i, cn, vat, tags, _origin(where))
            for key, val in (("cn", cn), ("vat", vat), ("sid", sid)):
                if val:
                    self.by[key][val].append(i)
            for n in nms:
                key = normalise.squash(n)
                units_named = self.by["name"][key]
                if not units_named or units_named[-1] != i:  # units come in order: only this one can repeat
                    units_named.append(i)
                self.spelled[key].add(n)
            for t in tags:
                self.by["tag"][t].append(i)
            if cn or vat:  # a unit's own registered number is evidence
                method = "company_number" if cn else "vat_number"
                self.evidence[i] = (RANK[method] + 0.5, 100.0, method, "strong", i)

    def link(self, a: int, b: int, method: str, score: float, strength: str) -> None:
        conflict = self.uf.conflict(a, b) if method in NAME_METHODS else None
        reason = self.uf.union(a, b, method=method)
        if reason:
            self.vetoes[reason] += 1
            return
        if conflict:
            strength = "weak"
            self.conflicts.append((a, conflict))
        for x, y in ((a, b), (b, a)):
            cand = (RANK[method] + (0.5 if strength == "strong" else 0), score, method, strength, y)
            if x not in self.evidence or cand[:2] > self.evidence[x][:2]:
                self.evidence[x] = cand


def _link_ids(lk: _Linker, units: list[tuple], review: _Review, weak: float) -> dict[str, int]:
    """Company numbers, VAT numbers, then supplier ids (buckets demoted); returns the demoted ids."""
    for key, method in (("cn", "company_number"), ("vat", "vat_number")):
        for members in lk.by[key].values():
            for b in members[1:]:
                lk.link(members[0], b, method, 100.0, "strong")
    split = supplier_ids.classify(lk.by["sid"], lambda i: units[i][0], lambda x, y: names_agree(x, y, weak),
                                  lambda distinct: agree_candidates(distinct, weak))
    demoted = {}
    for sid, members in lk.by["sid"].items():
        groups = split.get(sid, [members])
        if len(groups) >= supplier_ids.DEMOTE_AT:
            demoted[sid] = len(groups)
            for i in members:
                review.add(i, "shared_supplier_id", [sid], weak=False)
            continue
        group_of = {i: k for k, g in enumerate(groups) for i in g}  # a unit without a name is in none
        for b in members[1:]:
            ga, gb = group_of.get(members[0]), group_of.get(b)
            lk.link(members[0], b, "identifier", 100.0, "strong" if ga is None or gb is None or ga == gb else "weak")
        if len(groups) > 1:
            for k, g in enumerate(groups):
                others = sorted({n for o, h in enumerate(groups) if o != k for i in h for n in units[i][0]})
                for i in g:
                    review.add(i, "supplier_id_names_differ", others, weak=True)
    return demoted


def _link_names(lk: _Linker, review: _Review) -> dict[int, list[str]]:
    """Equal canonical names (spaces ignored); returns the unnumbered units left apart because the
    name is carried by two registered companies (ambiguous), reporting the numbered ones."""
    ambiguous: dict[int, list[str]] = {}
    uf = lk.uf
    for key in sorted(lk.by["name"]):
        members = lk.by["name"][key]
        roots = {uf.find(i) for i in members if uf.comp[uf.find(i)].company_numbers}
        if len(roots) > 1:  # one name, several registered companies: review, never join
            numbered = sorted({cn for r in roots for cn in uf.comp[r].company_numbers})
            for i in members:
                own = uf.comp[uf.find(i)].company_numbers
                if own:
                    others = [c for c in numbered if c not in own]
                    review.add(i, "same_name_different_company_numbers", others, weak=False)
                else:
                    ambiguous[i] = numbered
            members = [i for i in members if uf.comp[uf.find(i)].company_numbers]
        strength = "weak" if normalise.is_generic(min(lk.spelled[key])) else "strong"
        for b in members[1:]:
            lk.link(members[0], b, "normalised_name", 100.0, strength)
    return ambiguous


def _link_initials(lk: _Linker, units: list[tuple], review: _Review, skip: set[int]) -> None:
    """A bare one-word name that is the initials of exactly one organisation's multi-word name
    ("PWC" / "Price Waterhouse Coopers", "CIEH" / "Chartered Institute of Environmental Health"):
    linked, weak (initials are a reading, not evidence: an alert resting on it is raised a level
    lower) and reported `linked_by_initials` so a reviewer confirms or rejects it. Not when the
    short form is written with a legal form ("AES Ltd" is a company registered under those letters),
    nor when two organisations' names give the same initials (then nothing says which is meant).
    Public bodies' official abbreviations are read from reference.py instead, as strong links."""
    uf = lk.uf
    long_roots: dict[str, set[int]] = defaultdict(set)
    long_names: dict[str, set[str]] = defaultdict(set)
    for key, members in lk.by["name"].items():
        for n in lk.spelled[key]:
            if " " in n and not normalise.is_generic(n):
                for ini in normalise.initialisms(n):
                    long_roots[ini].update(uf.find(i) for i in members if i not in skip)
                    long_names[ini].add(n)
    for key in sorted(lk.by["name"]):
        if key not in long_roots or not any(normalise.is_initialism(n) for n in lk.spelled[key]):
            continue
        short = [i for i in lk.by["name"][key] if i not in skip and not _origin(units[i][4])[2]
                 and not units[i][1] and not units[i][2]]
        roots = long_roots[key] - {uf.find(i) for i in short}
        if not short or len(roots) != 1:
            continue
        target = next(iter(roots))
        for i in short:
            if uf.find(i) != target:
                kept = lk.evidence.get(target)  # the named side's own link is as strong as it was
                lk.link(i, target, "initials", 100.0, "weak")
                if kept is None:
                    lk.evidence.pop(target, None)
                else:
                    lk.evidence[target] = kept
            if uf.find(i) == target:
                review.add(i, "linked_by_initials", sorted(long_names[key]), weak=True)


def resolve_orgs(mentions: pd.DataFrame, *, fuzzy_threshold: float, weak_threshold: float,
                 overrides: Overrides | None = None) -> OrgResult:
    """Resolve mentions (columns text, company_number, vat_number, supplier_id, optionally address
    and postcode; any index)."""
    overrides = overrides or Overrides()
    m, units, display = _units(mentions)
    lk = _Linker(units, {frozenset(p) for p in overrides.org("different")}, overrides.org_tags())
    uf, review = lk.uf, _Review()
    for left, right in overrides.org("same"):
        for a in lk.by["tag"].get(left, []):
            for b in lk.by["tag"].get(right, []):
                lk.link(a, b, "override", 100.0, "strong")
    demoted = _link_ids(lk, units, review, weak_threshold)
    ambiguous_units = _link_names(lk, review)
    rep = {key: min(spelled) for key, spelled in lk.spelled.items()}
    names = sorted(rep[k] for k in lk.by["name"] if fuzzy_eligible(rep[k]))
    edges, compared = fuzzy_edges(names, weak_threshold, fuzzy_threshold)
    usable = {n: [i for i in lk.by["name"][normalise.squash(n)] if i not in ambiguous_units] for n in names}
    fuzzy_ambiguous = _ambiguous_fuzzy(edges, usable, uf, fuzzy_threshold)
    # A weak similarity is never joined: "Acme Security" / "Acme Securities", "X" / "X Group",
    # "X Medical" / "X Legal" are different registered companies as often as not, and a wrong join
    # raises association and gift alerts against the wrong people. Such names are reported instead.
    similar: dict[str, set[str]] = defaultdict(set)
    for neg_score, a, b, strength in edges:
        if not usable[a] or not usable[b] or a in fuzzy_ambiguous or b in fuzzy_ambiguous:
            continue
        if strength == "weak":
            similar[a].add(b)
            similar[b].add(a)
            continue
        lk.link(usable[a][0], usable[b][0], "fuzzy", -neg_score, strength)
    for n, others in fuzzy_ambiguous.items():
        for i in usable[n]:
            if not uf.comp[uf.find(i)].company_numbers and uf.size[uf.find(i)] == 1:
                ambiguous_units.setdefault(i, others)
    for i, candidates in ambiguous_units.items():
        review.add(i, "ambiguous_org_name", candidates, weak=True)
    for n, others in similar.items():
        for i in usable[n]:
            if _lone(uf, i) and i not in lk.evidence and i not in ambiguous_units:
                review.add(i, "similar_org_name_not_linked", sorted(others), weak=True)
    _link_initials(lk, units, review, set(ambiguous_units))
    groups = uf.groups()
    for a, kind in lk.conflicts:  # every name-keyed member of a component joined across places
        members = groups[uf.find(a)]
        places = sorted({_place(units[i][4]) for i in members if units[i][4]})
        for i in members:
            if not units[i][1] and not units[i][2]:
                review.add(i, "conflicting_org_details", places, weak=True)
    keys = _component_keys(uf, units)
    rows = []
    for i, u in enumerate(units):
        if i in lk.evidence:
            _, score, method, strength, partner = lk.evidence[i]
            matched = (u[1] or u[2]) if partner == i else display.get(partner, "")
        else:  # alone: keyed by its own identifier or name
            method = "company_number" if u[1] else ("vat_number" if u[2] else "normalised_name")
            score, partner = 100.0, i
            strength = "weak" if (method == "normalised_name" and all(map(normalise.is_generic, u[0]))) else "strong"
            matched = u[1] or u[2] or " / ".join(u[0])
        if i in review.weak:
            strength = "weak"
        rows.append((keys[uf.find(i)], method, round(float(score), 1), strength, matched))
    unit_out = pd.DataFrame(rows, columns=["key", "method", "score", "strength", "matched_text"])
    out = pd.DataFrame(index=mentions.index, columns=unit_out.columns, dtype="object")
    if len(m):
        out.loc[m.index, :] = unit_out.iloc[m["unit"].to_numpy()].to_numpy()
    stats = {
        "org_units": len(units), "org_names": len(names), "org_components": len(set(keys.values())),
        "org_candidate_pairs": compared, "org_all_pairs": len(names) * (len(names) - 1) // 2,
        "org_fuzzy_links": sum(1 for e in lk.evidence.values() if e[2] == "fuzzy"),
        "org_vetoes": dict(lk.vetoes),
        "org_ambiguous_names": len(fuzzy_ambiguous) + len({n for i in ambiguous_units for n in units[i][0]}),
        "org_demoted_ids": dict(sorted(demoted.items())),
        "org_same_name_different_numbers": len({n for i, r in review.items.items()
                                                if "same_name_different_company_numbers" in r for n in units[i][0]}),
        "org_address_conflicts": len(lk.conflicts),
    }
    flagged = [(row_index, i, text) for row_index, i, text
               in zip(m.index.tolist(), m["unit"].tolist(), m["text"].tolist()) if i in review.items]
    unresolved = [{"index": row_index, "text": text, "reason": reason, "candidates": review.items[i][reason]}
                  for reason in REASONS for row_index, i, text in flagged if reason in review.items[i]]
    return OrgResult(out, unresolved, stats)


def _ambiguous_fuzzy(edges: list[tuple], usable: dict[str, list[int]], uf: VetoUnionFind,
                     strong: float) -> dict[str, list[str]]:
    """Names whose best fuzzy candidates are two organisations that are not the same as each other.

    "acme sec" is as close to "acme security" as to "acme securities": linking it to either would be a
    guess (and linking it to both would chain two companies together), so it links to neither and is
    reported. Candidates that are themselves a strong match for each other ("harrow fleet repairs",
    "harrow flet repairs") are one organisation and do not make a name ambiguous.
    """
    best: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for _, a, b, strength in edges:
        best[a][strength].append(b)
        best[b][strength].append(a)
    out: dict[str, list[str]] = {}
    for name, by_strength in best.items():
        others = [o for o in (by_strength.get("strong") or by_strength.get("weak") or []) if usable[o]]
        roots = {o: uf.find(usable[o][0]) for o in others}
        if len(set(roots.values())) < 2:
            continue
        for x, y in combinations(sorted(others), 2):
            if roots[x] != roots[y] and uf.veto(roots[x], roots[y], method="fuzzy") is None:
                score, aligned, _ = compare(x, y)
                if aligned and score >= strong:
                    continue
            if roots[x] != roots[y]:  # two candidates that are not the same organisation as each other
                out[name] = sorted(others)
                break
    return out


def _component_keys(uf: VetoUnionFind, units: list[tuple]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for root, members in uf.groups().items():
        cns = sorted(uf.comp[root].company_numbers)
        if cns:
            keys[root] = "CN:" + cns[0]
            continue
        basis = min((n for i in members for n in units[i][0]), default="") or min(
            ("vat:" + units[i][2] for i in members if units[i][2]), default="")
        keys[root] = "ORG:" + hashlib.sha1(basis.encode()).hexdigest()[:12]
    return keys
