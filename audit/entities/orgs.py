"""Organisation resolution: every organisation mention -> one org_key, with the evidence.

Order of evidence, strongest first (each step may be vetoed, see unionfind.py):
  override (analyst said same) > company_number > vat_number > identifier (same supplier id in one
  source) > normalised_name (equal canonical names, legal and trading names) > fuzzy (rapidfuzz over
  blocked candidates).
Conservative by design: generic names ("Services Ltd") and short names never fuzzy-match; a
canonical name carried by two different registered companies does not pull unnumbered mentions
into either; two components with different company numbers are never joined except by override;
a weak similarity ("Acme Security" / "Acme Securities") is reported for review, never joined.
Keys are deterministic: "CN:<company number>" when the organisation has one, else
"ORG:<sha1 of its smallest canonical name, 12 hex>".
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from itertools import combinations
from dataclasses import dataclass, field

import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from audit.entities import normalise
from audit.entities.overrides import Overrides
from audit.entities.unionfind import VetoUnionFind

#: precedence of evidence methods (a unit keeps the strongest accepted edge that touches it)
RANK = {"override": 6, "company_number": 5, "vat_number": 4, "identifier": 3, "normalised_name": 2, "fuzzy": 1}
#: words that tell two otherwise equal names apart: a difference in one of these is never a typo
DISTINGUISHING = frozenset("""
north south east west northern southern eastern western central upper lower new old first second
third i ii iii iv v
""".split())


@dataclass
class OrgResult:
    """Per mention (aligned with the input rows): key, method, score, strength, matched_text."""

    mentions: pd.DataFrame
    unresolved: list[dict] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


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
    if any(t.isdigit() or t in DISTINGUISHING for t in differ):  # "North X" vs "South X", "Apex 1" vs "Apex 2"
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


def _abbreviates(short: str, word: str) -> bool:
    """Is `short` (3+ letters) a written abbreviation of `word`? Only of a common business word
    ("sec." Security or Securities, "sol." Solutions, "eng" Engineering: normalise.is_business_word).
    A shorter name is not an abbreviation of a longer one: "Fox" / "Foxglove", "Harris" / "Harrison",
    "Wood" / "Woods" are different companies' names."""
    return len(short) >= 3 and short != word and word.startswith(short) and normalise.is_business_word(word)


def _lone(uf: VetoUnionFind, i: int) -> bool:
    """A single written form with no registered number: the only kind of mention reported as
    `similar_org_name_not_linked` (an established organisation is keyed by its own evidence)."""
    root = uf.find(i)
    comp = uf.comp[root]
    return uf.size[root] == 1 and not comp.company_numbers and not comp.vat_numbers


def _names_agree(a: tuple[str, ...], b: tuple[str, ...], weak: float) -> bool:
    """Do two units' names support each other (for a supplier-id link: a shared id bucket such as
    "Personal Budgets" over unrelated names is only a weak link)?"""
    if not a or not b or set(a) & set(b):
        return True
    return any(compare(x, y)[0] >= weak for x in a for y in b)


def _fuzzy_eligible(name: str) -> bool:
    """Generic, short and one-word names never fuzzy-match ("Canon" is not "Cannon")."""
    return (not normalise.is_generic(name) and not normalise.is_short(name) and len(name.split()) > 1)


def _typo(x: str, y: str) -> bool:
    """One edit apart, 5+ letters, and not a plural ("security"/"securitys" is another company's name)."""
    if x.isdigit() or y.isdigit() or min(len(x), len(y)) < 5 or x.rstrip("s") == y.rstrip("s"):
        return False
    return OSA.distance(x, y) <= 1


def block_keys(name: str) -> set[str]:
    """Blocking keys: 3-letter prefixes of the first two significant (non-generic) words."""
    words = [w for w in name.split() if w not in normalise.GENERIC_WORDS]
    return {w[:3] for w in words[:2]}


def _fuzzy_edges(names: list[str], weak: float, strong: float) -> tuple[list[tuple], int]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        for k in block_keys(n):
            blocks[k].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    edges = []
    for i, j in sorted(pairs):
        score, aligned, first = compare(names[i], names[j])
        if aligned and score >= strong:
            edges.append((-score, names[i], names[j], "strong"))
        elif first and score >= weak:
            edges.append((-score, names[i], names[j], "weak"))
    edges.sort()
    return edges, len(pairs)


def resolve_orgs(mentions: pd.DataFrame, *, fuzzy_threshold: float, weak_threshold: float,
                 overrides: Overrides | None = None) -> OrgResult:
    """Resolve mentions (columns text, company_number, vat_number, supplier_id; any index)."""
    overrides = overrides or Overrides()
    m = pd.DataFrame({
        "names": [tuple(normalise.org_names(t)) for t in mentions["text"]],
        "cn": [normalise.company_number(v) for v in mentions["company_number"]],
        "vat": [normalise.vat_number(v) for v in mentions["vat_number"]],
        "sid": [v if isinstance(v, str) and v.strip() else "" for v in mentions["supplier_id"]],
        "text": [t if isinstance(t, str) else "" for t in mentions["text"]],
    }, index=mentions.index)
    has_any = (m["names"].map(len) > 0) | (m["cn"] != "") | (m["vat"] != "")
    unit_cols = ["names", "cn", "vat", "sid"]
    units = sorted(set(m.loc[has_any, unit_cols].itertuples(index=False, name=None)))
    uid = {u: i for i, u in enumerate(units)}
    display: dict[int, str] = {}
    for u, text in zip(m.loc[has_any, unit_cols].itertuples(index=False, name=None), m.loc[has_any, "text"]):
        i = uid[u]
        display[i] = min(display.get(i, text), text) if text else display.get(i, u[1] or u[2])

    forbidden = {frozenset(p) for p in overrides.org("different")}
    wanted = overrides.org_tags()
    uf = VetoUnionFind(len(units), forbidden)
    by: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in ("cn", "vat", "sid", "name", "tag")}
    for i, (nms, cn, vat, sid) in enumerate(units):
        tags = ({"name:" + n for n in nms} | ({"cn:" + cn} if cn else set())) & wanted
        uf.add_ids(i, cn, vat, tags)
        for key, val in (("cn", cn), ("vat", vat), ("sid", sid)):
            if val:
                by[key][val].append(i)
        for n in nms:
            by["name"][n].append(i)
        for t in tags:
            by["tag"][t].append(i)

    evidence: dict[int, tuple] = {}  # unit -> (rank, score, method, strength, partner)
    for i, (_, cn, vat, _) in enumerate(units):  # a unit's own registered number is evidence
        if cn or vat:
            method = "company_number" if cn else "vat_number"
            evidence[i] = (RANK[method] + 0.5, 100.0, method, "strong", i)
    vetoes: dict[str, int] = defaultdict(int)

    def link(a: int, b: int, method: str, score: float, strength: str) -> None:
        reason = uf.union(a, b, method=method)
        if reason:
            vetoes[reason] += 1
            return
        for x, y in ((a, b), (b, a)):
            cand = (RANK[method] + (0.5 if strength == "strong" else 0), score, method, strength, y)
            if x not in evidence or cand[:2] > evidence[x][:2]:
                evidence[x] = cand

    for left, right in overrides.org("same"):
        for a in by["tag"].get(left, []):
            for b in by["tag"].get(right, []):
                link(a, b, "override", 100.0, "strong")
    for key, method in (("cn", "company_number"), ("vat", "vat_number"), ("sid", "identifier")):
        for members in by[key].values():
            for b in members[1:]:
                link(members[0], b, method, 100.0, "strong" if key != "sid" or _names_agree(
                    units[members[0]][0], units[b][0], weak_threshold) else "weak")
    ambiguous_units: dict[int, list[str]] = {}
    for name in sorted(by["name"]):
        members = by["name"][name]
        numbered = sorted({cn for i in members for cn in uf.comp[uf.find(i)].company_numbers})
        if len(numbered) > 1:  # one name, several registered companies: unnumbered mentions stay apart
            for i in members:
                if not uf.comp[uf.find(i)].company_numbers:
                    ambiguous_units[i] = numbered
            members = [i for i in members if uf.comp[uf.find(i)].company_numbers]
        strength = "weak" if normalise.is_generic(name) else "strong"
        for b in members[1:]:
            link(members[0], b, "normalised_name", 100.0, strength)
    names = sorted(n for n in by["name"] if _fuzzy_eligible(n))
    edges, compared = _fuzzy_edges(names, weak_threshold, fuzzy_threshold)
    usable = {n: [i for i in by["name"][n] if i not in ambiguous_units] for n in names}
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
        link(usable[a][0], usable[b][0], "fuzzy", -neg_score, strength)
    for n, others in fuzzy_ambiguous.items():
        for i in usable[n]:
            if not uf.comp[uf.find(i)].company_numbers and uf.size[uf.find(i)] == 1:
                ambiguous_units.setdefault(i, others)

    similar_units: dict[int, list[str]] = {}
    for n, others in similar.items():
        for i in usable[n]:
            if _lone(uf, i) and i not in evidence and i not in ambiguous_units:
                similar_units[i] = sorted(others)
    keys = _component_keys(uf, units)
    rows = []
    for i, u in enumerate(units):
        if i in evidence:
            _, score, method, strength, partner = evidence[i]
            matched = (u[1] or u[2]) if partner == i else display.get(partner, "")
        else:  # alone: keyed by its own identifier or name
            method = "company_number" if u[1] else ("vat_number" if u[2] else "normalised_name")
            score, partner = 100.0, i
            strength = "weak" if (method == "normalised_name" and all(map(normalise.is_generic, u[0]))) else "strong"
            matched = u[1] or u[2] or " / ".join(u[0])
        if i in ambiguous_units or i in similar_units:
            strength = "weak"
        rows.append((keys[uf.find(i)], method, round(float(score), 1), strength, matched))
    unit_out = pd.DataFrame(rows, columns=["key", "method", "score", "strength", "matched_text"])
    idx = pd.Series([uid[u] for u in m.loc[has_any, unit_cols].itertuples(index=False, name=None)],
                    index=m.index[has_any.to_numpy()], dtype="int64")
    out = pd.DataFrame(index=mentions.index, columns=unit_out.columns, dtype="object")
    if len(idx):
        picked = unit_out.iloc[idx.to_numpy()].set_axis(idx.index)
        out.loc[idx.index, :] = picked.to_numpy()
    stats = {
        "org_units": len(units), "org_names": len(names), "org_components": len(set(keys.values())),
        "org_candidate_pairs": compared, "org_all_pairs": len(names) * (len(names) - 1) // 2,
        "org_fuzzy_links": sum(1 for e in evidence.values() if e[2] == "fuzzy"),
        "org_vetoes": dict(vetoes),
    }
    unresolved = [{"index": row_index, "text": m.at[row_index, "text"], "reason": "ambiguous_org_name",
                   "candidates": ambiguous_units[i]} for row_index, i in idx.items() if i in ambiguous_units]
    unresolved += [{"index": row_index, "text": m.at[row_index, "text"], "reason": "similar_org_name_not_linked",
                    "candidates": similar_units[i]} for row_index, i in idx.items() if i in similar_units]
    stats["org_ambiguous_names"] = len(fuzzy_ambiguous) + len({n for i in ambiguous_units for n in units[i][0]})
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
