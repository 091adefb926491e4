"""The numbers the monthly report shows, computed from a RunView: alerts by level / rule /
register / department, new vs carried vs resolved, combined risk per person and organisation,
data quality per source, and the variant without sensitive registers.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

from audit import registers
from audit.store.views import AlertView, RunView, SourceLoadView
from rules.model import LEVELS

#: Combined-risk weight of one alert at each level (a critical alert outweighs many low ones).
LEVEL_WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1, "informational": 0}
ORG_NAME_FIELDS = ("supplier_name", "donor_name", "organisation_name", "associate_organisation",
                   "former_force")
UNKNOWN = "(not recorded)"
#: Fields that name a police force, not a counterparty: the barred / advisory list's former force is
#: where the listed person served. An organisation resolved from one of them is a force, and a force
#: (like the auditing force itself) is never scored as a risky organisation, wherever it appears.
FORCE_FIELDS = frozenset({"former_force"})


@dataclass
class RiskEntry:
    key: str
    name: str
    score: int = 0
    alerts: list[int] = field(default_factory=list)
    rules: set[str] = field(default_factory=set)
    registers: set[str] = field(default_factory=set)
    levels: Counter = field(default_factory=Counter)


def count_by(alerts: list[AlertView], attr: str) -> list[tuple[str, int]]:
    """(value, alerts) most first; a list attribute (registers) counts each alert once per value."""
    c: Counter = Counter()
    for a in alerts:
        v = getattr(a, attr)
        for item in (v if isinstance(v, list) else [v]):
            c[item or UNKNOWN] += 1
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))


def by_level(alerts: list[AlertView]) -> list[tuple[str, int]]:
    c = Counter(a.level for a in alerts)
    known = [(lv, c[lv]) for lv in LEVELS]
    return known + sorted((lv, n) for lv, n in c.items() if lv not in LEVELS)


def by_rule(alerts: list[AlertView]) -> list[dict]:
    rows: dict[str, dict] = {}
    for a in alerts:
        r = rows.setdefault(a.rule_name, {"rule": a.rule_name, "title": a.rule_title,
                                          "level": a.level, "new": 0, "late": 0, "carried": 0, "total": 0})
        r["total"] += 1
        r[a.novelty if a.novelty in ("new", "late") else "carried"] += 1
    return sorted(rows.values(), key=lambda r: (-r["total"], r["rule"]))


def _add(entry: RiskEntry, a: AlertView) -> None:
    if a.id in entry.alerts:
        return
    entry.alerts.append(a.id)
    entry.score += LEVEL_WEIGHTS.get(a.level, 1)
    entry.rules.add(a.rule_name)
    entry.registers.update(a.registers)
    entry.levels[a.level] += 1


def top_people(alerts: list[AlertView], limit: int = 15) -> list[RiskEntry]:
    """People with the most combined risk: level-weighted alerts about them, across registers."""
    people: dict[str, RiskEntry] = {}
    for a in alerts:
        if a.subject:
            e = people.setdefault(a.subject, RiskEntry(a.subject, a.subject_name or a.subject))
            _add(e, a)
    return sorted(people.values(), key=lambda e: (-e.score, -len(e.registers), e.key))[:limit]


def _org_source_fields(register: str) -> set[str]:
    """The fields of a register whose organisation the resolver puts in org_key."""
    try:
        fields = registers.get(register).fields.values()
    except KeyError:
        return set()
    return {f.name for f in fields if f.entity == "org" and f.key == "org_key"}


def police_forces(alerts: list[AlertView], force_name: str = "") -> tuple[set[str], set[str]]:
    """(org keys, casefolded names) of police forces in the evidence: organisations resolved from a
    FORCE_FIELDS field (by the register dictionary, so by data, not by a list of names), and the
    auditing force's own name."""
    keys, names = set(), {force_name.strip().casefold()} - {""}
    for a in alerts:
        for f in a.facts:
            for name in _org_source_fields(f.register) & FORCE_FIELDS:
                if f.values.get(name):
                    names.add(str(f.values[name]).strip().casefold())
                    if f.values.get("org_key"):
                        keys.add(str(f.values["org_key"]))
    return keys, names


def top_organisations(alerts: list[AlertView], limit: int = 15, force_name: str = "") -> list[RiskEntry]:
    """Organisations (by resolved org_key on the evidence) with the most combined risk; police
    forces (the former force on the barred list, the auditing force) are not counterparties."""
    orgs: dict[str, RiskEntry] = {}
    force_keys, force_names = police_forces(alerts, force_name)
    for a in alerts:
        for f in a.facts:
            key = f.values.get("org_key")
            if not key or str(key) in force_keys:
                continue
            if any(str(f.values.get(n) or "").strip().casefold() in force_names for n in ORG_NAME_FIELDS):
                continue
            name = next((f.values[n] for n in ORG_NAME_FIELDS if f.values.get(n)), key)
            _add(orgs.setdefault(str(key), RiskEntry(str(key), str(name))), a)
    return sorted(orgs.values(), key=lambda e: (-e.score, -len(e.registers), e.key))[:limit]


def novelty(run: RunView, alerts: list[AlertView], resolved: list[AlertView]) -> dict[str, int]:
    """new (of this month), late (new, of an earlier month: a row arrived late), carried over, and
    resolved: a state finding (a condition that held) that no longer holds. An event finding that is
    not raised again was reported, not resolved, and is not counted here."""
    return {"new": sum(a.novelty == "new" for a in alerts),
            "late": sum(a.novelty == "late" for a in alerts),
            "carried": sum(a.novelty == "carried" for a in alerts),
            "resolved": len(resolved)}


def open_ended(source: SourceLoadView) -> dict[str, int]:
    """Open-ended date field -> cells read as "no end date" (31/12/9999 ...), over the source's
    files (connectors.FileInfo.open_ended; runs recorded before it was kept have none)."""
    total: Counter = Counter()
    for f in source.files:
        total.update(f.get("open_ended") or {})
    return dict(total)


def quality(run: RunView) -> list[dict]:
    """Per source: rows read / accepted / quarantined, share quarantined, top reasons, status,
    and the cells of open-ended date fields read as blank ("no end date")."""
    out = []
    for s in run.sources:
        share = (s.rows_quarantined / s.rows_read) if s.rows_read else 0.0
        out.append({"source": s, "share": share, "open_ended": open_ended(s),
                    "reconciles": s.rows_read == s.rows_accepted + s.rows_quarantined})
    return out


def failures(run: RunView) -> list[str]:
    """Plain-words sentences for everything that makes the audit incomplete."""
    lines = [f"{s.register.replace('_', ' ').capitalize()} ({s.source}) did not load: "
             f"{s.error or 'no reason recorded'}. The audit is incomplete."
             for s in run.sources if s.status == "failed"]
    if run.status in ("partial", "failed") and not lines:
        lines.append(f"The run ended {run.status}"
                     + (f": {run.error}" if run.error else "") + ". The audit is incomplete.")
    elif run.error:  # a run that finished with notes: rules not run for lack of a source, engine fallbacks
        lines.append(f"Note: {run.error}")
    return lines


def _need_to_know(register: str, field: str) -> bool:
    reg = registers.registers().get(register)
    fld = reg.fields.get(field) if reg else None
    return fld is not None and fld.sensitivity == "sensitive"


def redact_sensitive_values(alert: AlertView) -> AlertView:
    """The alert with need-to-know field values (bank account hashes...) taken out of its evidence,
    for readers without need-to-know: an alert they may see can still cite a row of a register
    that holds such a field (a supplier's bank hash on a procurement line)."""
    facts = [dataclasses.replace(f, values={k: v for k, v in f.values.items() if not _need_to_know(f.register, k)})
             for f in alert.facts]
    return dataclasses.replace(alert, facts=facts)


def without_sensitive(run: RunView) -> RunView:
    """The run for circulation: without need-to-know alerts (associations, vetting, bank matches),
    and without need-to-know values in the evidence of the rest."""
    return dataclasses.replace(
        run, alerts=[redact_sensitive_values(a) for a in run.alerts if a.sensitivity != "sensitive"],
        resolved=[redact_sensitive_values(a) for a in run.resolved if a.sensitivity != "sensitive"])
