"""Shadow rules: which rules run in shadow, what they found month by month, and promotion.

A rule is in shadow when its file says `status: shadow` or the force's config lists it in
`[rules] shadow`, and no auditor has promoted it (audit.store.shadow.promotions). Every run
evaluates it like the others (audit.pipeline.run_period), but its findings are stored apart
(audit.store.shadow) and never reach the alert queue, reports, exports or people pages. A promoted
rule runs live (status `stable`) from the next run; the rule file is not touched.

`summary` gives, per shadow rule, its months in shadow: findings, the distinct alerts it would have
raised, how many overlap an alert the live rules raised that month (same subject and a cited fact
in common: the backtest's overlap, audit.backtest.overlapping) and how reviewers closed those.
`promote` records the promotion with that summary (and optionally a backtest's totals) in the audit trail.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from audit import backtest as bt
from audit.settings import Settings
from audit.store import shadow as store_shadow
from audit.store.db import Store
from rules import api as rules_api
from rules.finding import Finding

SHADOW = "shadow"
PROMOTED_STATUS = "stable"


class PromoteError(ValueError):
    """The rule cannot be promoted; the message says why."""


def shadow_source(settings: Settings, rule: rules_api.Rule) -> str | None:
    """Why the rule is in shadow before any promotion: "rule file", "config" or None."""
    if rule.status == SHADOW:
        return "rule file"
    if rule.name in set(settings.rules.shadow) and rule.status != "deprecated":
        return "config"
    return None


def effective_rules(settings: Settings, library: list[rules_api.Rule],
                    promoted: dict[str, store_shadow.Promotion],
                    problems: list[rules_api.Problem] | None = None) -> list[rules_api.Rule]:
    """The rules with the status a run gives them: `shadow` when in shadow (file or config); once
    promoted (by rule id) `stable` for a file saying shadow, their own status for one shadowed by config. Copies; the loaded rules are not changed. Names in
    [rules] shadow that no rule has are reported in `problems`."""
    unknown = set(settings.rules.shadow) - {r.name for r in library}
    if unknown and problems is not None:
        problems.append(rules_api.Problem(str(settings.config_path), 1, 1,
                                          f"the shadow list of the config's rules section names unknown "
                                          f"rule(s): {sorted(unknown)}"))
    out = []
    for r in library:
        if shadow_source(settings, r) is None:
            out.append(r)
        elif r.id in promoted:  # live: a shadow file becomes stable; a rule shadowed by config keeps its own
            out.append(replace(r, status=PROMOTED_STATUS) if r.status == SHADOW else r)
        else:
            out.append(replace(r, status=SHADOW))
    return out


def split(findings: list[Finding], rules: list[rules_api.Rule], period) -> tuple[list[Finding], list[Finding]]:
    """(live findings, shadow findings). A shadow rule keeps the findings of the run's own month
    (the late pass's findings of earlier months are not kept: a later run would count them again)."""
    ids = {r.id for r in rules if r.status == SHADOW}
    if not ids:
        return findings, []
    live = [f for f in findings if f.rule_id not in ids]
    kept = [f for f in findings if f.rule_id in ids and (f.as_of is None or f.as_of >= period.start)]
    return live, kept


def counts(rules: list[rules_api.Rule], shadow_findings: list[Finding]) -> dict[str, int]:
    """Shadow rule name -> the findings of this run kept apart (0 included), for the run's summary."""
    out = {r.name: 0 for r in rules if r.status == SHADOW}
    for f in shadow_findings:
        out[f.rule_name] = out.get(f.rule_name, 0) + 1
    return out


# ---- monthly figures ---------------------------------------------------------------------------
@dataclass
class Month:
    period: str
    findings: int
    alerts: int  # distinct alerts it would have raised this month
    new_alerts: int  # of which not raised in an earlier month shown (a state finding repeats monthly)
    overlap: int  # of those alerts, overlapping a live alert of the month (same subject, a shared fact)
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(bt.LABEL_NAMES, 0))


@dataclass
class Summary:
    rule_id: str
    name: str
    months: list[Month]
    #: over the months shown, each once: "overlap" -> fingerprints, "labelled" -> live alert id -> label
    distinct: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        """Findings summed; alerts, overlaps and labels counted once each (as the backtest's totals)."""
        n = len(self.months)
        labelled = self.distinct.get("labelled", {})
        return {"months": n, "findings": sum(m.findings for m in self.months),
                "alerts": sum(m.new_alerts for m in self.months),
                "alerts_per_month": round(sum(m.alerts for m in self.months) / n, 2) if n else None,
                "overlap": len(self.distinct.get("overlap", ())),
                "labels": {k: sum(1 for v in labelled.values() if v == k) for k in bt.LABEL_NAMES}}

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.name, "rule_id": self.rule_id, "totals": self.totals(),
                "months": [asdict(m) for m in self.months]}


def summary(store: Store, names: dict[str, str], limit: int = 12) -> dict[str, Summary]:
    """rule id -> its last `limit` months in shadow with overlap against the live alerts, for the
    rules of `names` (rule id -> name)."""
    found = store_shadow.months(store, list(names), limit)
    if not found:
        return {}
    stored = bt.stored_alerts_in(store, {m.period for months in found.values() for m in months})
    out = {}
    for rule_id, months in found.items():
        rows, seen, distinct = [], set(), {"overlap": set(), "labelled": {}}
        for m in months:
            index = bt.index_by_fact(stored.get(m.period, []))
            overlap, labelled = 0, {}
            for a in m.alerts:
                hits = bt.overlapping(bt.Alert(a.fingerprint, a.subject, a.facts, a.title), index)
                overlap += bool(hits)
                if hits:
                    distinct["overlap"].add(a.fingerprint)
                labelled.update({s.alert_id: s for s in hits})
            fps = {a.fingerprint for a in m.alerts}
            month = Month(m.period, m.findings, len(m.alerts), len(fps - seen), overlap)
            seen |= fps
            for s in labelled.values():
                month.labels[bt.label(s.status)] += 1
                distinct["labelled"][s.alert_id] = bt.label(s.status)
            rows.append(month)
        out[rule_id] = Summary(rule_id, names.get(rule_id, ""), rows, distinct)
    return out


# ---- promotion ---------------------------------------------------------------------------------
@dataclass
class Promoted:
    rule: str
    rule_id: str
    version: str
    actor: str
    at: Any
    seq: int
    summary: dict[str, Any]


def promote(settings: Settings, store: Store, name: str, actor: str, *, backtest: bool = False) -> Promoted:
    """Promote the shadow rule `name`: record it (with its shadow figures, and a backtest's totals if
    asked) in the store and the audit trail. Raises PromoteError: unknown rule, not in shadow,
    already promoted."""
    from audit.pipeline import _load_library

    library, _ = _load_library(settings)
    rule = next((r for r in library if r.name == name), None)
    if rule is None:
        raise PromoteError(f"no valid rule named {name!r} in the library or config.toml's [rules] folders")
    source = shadow_source(settings, rule)
    promoted = store_shadow.promotions(store)
    if rule.id in promoted:
        p = promoted[rule.id]
        raise PromoteError(f"rule {name} is not in shadow: it was promoted by {p.promoted_by} on "
                           f"{p.promoted_at:%Y-%m-%d %H:%M} UTC and runs live")
    if source is None:
        raise PromoteError(f"rule {name} is not in shadow (status {rule.status}): only a rule with status "
                           "shadow, or listed in config.toml's [rules] shadow, can be promoted")
    compiled = rules_api.compile_rule(replace(rule, status=SHADOW))
    figures = summary(store, {rule.id: name}).get(rule.id)
    details: dict[str, Any] = {"shadow_by": source, "rule_file": rule.file,
                               "shadow": figures.to_json() if figures else
                               {"rule": name, "rule_id": rule.id, "totals": {"months": 0}, "months": []}}
    if backtest:
        result = bt.backtest(settings, Path(rule.file))
        # the live rule set holds the shadow rule itself, so added / dropped would compare it with itself
        totals = {k: v for k, v in result.totals().items() if k not in ("added", "dropped", "changed", "dropped_labels")}
        details["backtest"] = {"totals": totals, "months": len(result.months), "engine": result.engine,
                               "from": result.months[0].period if result.months else None,
                               "to": result.months[-1].period if result.months else None, "notes": result.notes}
    try:
        p, seq = store_shadow.promote(store, rule_id=rule.id, name=name, version=compiled.version, actor=actor,
                                      summary=details)
    except store_shadow.AlreadyPromoted as e:
        raise PromoteError(str(e)) from None
    return Promoted(name, rule.id, compiled.version, actor, p.promoted_at, seq, p.summary)
