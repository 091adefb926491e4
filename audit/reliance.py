"""What an alert rests on: the weakest entity link among the keys its rule correlates on.

A cross-register alert says "this gift's donor is that supplier" or "this claimant is that person"
because two rows carry the same org_key or person_key, and each key was put there by a link with
its evidence (audit.entities: a company number, a supplier id, an equal name, a fuzzy match...).
An alert that accuses an officer is only as good as the weakest of those links. So every finding
carries its weakest link (the link, its method, score and strength), and a finding that rests on
a link below "strong" is raised one level below its rule's, saying why; an analyst confirms or
rejects the link from the alert page (the entity overrides file), and the next run honours it.

The keys a finding rests on: its rule's join keys (match.on), an aggregate's group_by keys, and
the key of the person the alert is about (alert.subject).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from rules.compiler import CompiledRule
from rules.finding import Finding
from rules.model import LEVELS

_RANK = {"strong": 1, "weak": 0}


def lowered(level: str) -> str:
    """One level below `level` (informational stays informational)."""
    i = LEVELS.index(level) if level in LEVELS else len(LEVELS) - 1
    return LEVELS[min(i + 1, len(LEVELS) - 1)]


def key_fields(compiled: CompiledRule) -> dict[str, set[str]]:
    """alias -> the entity key fields a finding of the rule rests on."""
    out: dict[str, set[str]] = {}
    for _, per in compiled.keys:
        for alias, fname in per:
            out.setdefault(alias, set()).add(fname)
    if compiled.aggregate:
        out.setdefault(compiled.aliases[0], set()).update(compiled.aggregate["group_by"])
    subject = compiled.alert.get("subject")
    if subject:
        alias, fname = subject
        out.setdefault(alias, set()).add(fname)
    return out


def with_weakest_links(findings: list[Finding], compiled: list[CompiledRule], links: pd.DataFrame) -> list[Finding]:
    """Each finding with its weakest link (Finding.weakest_link); one resting on a link below strong
    is lowered a level. Findings of rules that correlate on no linked key pass unchanged."""
    if not findings or links is None or links.empty:
        return findings
    fields = {c.name: key_fields(c) for c in compiled}
    wanted = {f for fs in fields.values() for per in fs.values() for f in per}
    cited = {fid for f in findings for ids in f.facts.values() for fid in ids}
    rows = links[links["fact_id"].isin(cited) & links["field"].isin(wanted) & links["key"].notna()]
    index: dict[tuple[str, str], dict[str, Any]] = {(r["fact_id"], r["field"]): r for r in rows.to_dict("records")}
    out = []
    for f in findings:
        per = fields.get(f.rule_name, {})
        found = [(fid, fname, index[(fid, fname)]) for alias, ids in f.facts.items() for fid in ids
                 for fname in sorted(per.get(alias, ())) if (fid, fname) in index]
        if not found:
            out.append(f)
            continue
        fid, fname, ln = min(found, key=lambda c: (_RANK.get(c[2]["strength"], 0), float(c[2]["score"] or 0),
                                                   c[0], c[1]))
        info = {"fact_id": fid, "field": fname, "key": ln["key"], "method": ln["method"],
                "score": float(ln["score"] or 0), "strength": ln["strength"],
                "source_text": ln.get("source_text") or "", "matched_text": ln.get("matched_text") or "",
                "links": len(found)}
        level = f.level
        if ln["strength"] != "strong":
            level = lowered(f.level)
            info["lowered_from"] = f.level
        out.append(replace(f, level=level, weakest_link=info))
    return out
