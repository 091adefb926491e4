"""Backtest a draft rule (or a changed library rule) over every month of the configured sources.

Owns: `backtest(settings, rule_file, ...)` -> Backtest (one MonthResult per month), its JSON form,
and a small self-contained HTML page. Nothing is written: the store is only read, for the alerts
the current library raised in each month and the reviewers' dispositions on them (the labels).

Per month: the rule's findings, the distinct alerts they would raise (one per dedup key, as the
store fingerprints them), per 1,000 staff in post that month, the alerts that overlap a stored
alert (same subject and at least one cited fact in common) and the labels of those stored alerts:
closed as false positive, closed with management action or referred to the CCU, no further
action, still open. For a rule whose id (or name) the live rule set has, the live version runs
beside it: alerts added and dropped (by dedup key), and those kept whose facts changed.

Imports: connectors, audit.entities, rules, audit.store (read only). The CLI is
audit/cli/backtest_cmd.py.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from sqlalchemy.exc import DBAPIError

from audit import registers
from audit.period import Period
from audit.settings import Settings
from rules import api as rules_api
from rules.evaluate import evaluate_rule

#: label of a stored alert by its status (audit.store.lifecycle.STATUSES)
LABELS = {"false_positive": "false_positive", "management_action": "action", "referred_to_ccu": "action",
          "no_further_action": "no_further_action"}
LABEL_NAMES = ("false_positive", "action", "no_further_action", "open")
#: registers a backtest cannot rebuild: only a run's ledger makes them
UNBACKTESTABLE = ("register_changes",)

Progress = Callable[[str, int, int], None]  # (what, done, total)


class BacktestError(ValueError):
    """The rule or the period range cannot be backtested; the message says what to fix."""


@dataclass
class Alert:
    key: tuple  # the dedup values (fingerprint = rule id + these)
    subject: str | None
    facts: frozenset[str]
    title: str


@dataclass
class MonthResult:
    period: str
    findings: int = 0
    alerts: int = 0  # distinct alerts the rule would raise this month
    new_alerts: int = 0  # of which not raised in an earlier month of the backtest
    staff: int | None = None
    per_1k_staff: float | None = None
    overlap: int = 0  # alerts overlapping an alert the current library raised (same subject, a shared fact)
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABEL_NAMES, 0))
    live_alerts: int | None = None  # the live version's alerts (a changed library rule)
    added: int | None = None
    dropped: int | None = None
    changed: int | None = None  # same dedup key, different facts
    dropped_labels: dict[str, int] | None = None  # labels of stored alerts the dropped ones overlapped
    examples: dict[str, list[str]] = field(default_factory=dict)  # added / dropped: a few titles


@dataclass
class Backtest:
    rule: str
    rule_file: str
    version: str
    against: str | None  # "live <file>" or the --against file, or None (a new rule)
    engine: str
    store: str | None  # None: no store to compare with
    months: list[MonthResult]
    notes: list[str] = field(default_factory=list)
    #: over the whole backtest, each alert once (a state finding repeats every month): "added",
    #: "dropped", "changed", "overlap" -> dedup keys; "labelled", "dropped_labelled" -> stored alert -> label
    distinct: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        """Findings summed over months; alerts, overlaps, labels and changes counted once each."""
        d = self.distinct
        out: dict[str, Any] = {"findings": sum(m.findings for m in self.months),
                               "alerts": sum(m.new_alerts for m in self.months),
                               "overlap": len(d.get("overlap", ())),
                               "labels": _count(d.get("labelled", {}))}
        if self.against:
            for k in ("added", "dropped", "changed"):
                out[k] = len(d.get(k, ()))
            out["dropped_labels"] = _count(d.get("dropped_labelled", {}))
        rates = [m.per_1k_staff for m in self.months if m.per_1k_staff is not None]
        out["alerts_per_1k_staff_per_month"] = round(sum(rates) / len(rates), 3) if rates else None
        return out

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "rule_file": self.rule_file, "version": self.version, "against": self.against,
                "engine": self.engine, "store": self.store, "notes": self.notes, "totals": self.totals(),
                "months": [asdict(m) for m in self.months]}


def _count(labels: dict[int, str]) -> dict[str, int]:
    return {n: sum(1 for v in labels.values() if v == n) for n in LABEL_NAMES}


# ---- inputs -------------------------------------------------------------------------------------
def load_draft(path: Path) -> rules_api.Rule:
    rules, problems = rules_api.load_rules([path])
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise BacktestError("the rule file has errors (run `integrity-audit rules validate`):\n"
                            + "\n".join(str(p) for p in errors))
    if len(rules) != 1:
        raise BacktestError(f"{path}: expected one rule file, found {len(rules)} rule(s)")
    rule = rules[0]
    unbacktestable = sorted(set(rule.registers) & set(UNBACKTESTABLE))
    if unbacktestable:
        raise BacktestError(f"rule {rule.name} reads {', '.join(unbacktestable)}, which only a scheduled run's "
                            "ledger makes: it cannot be backtested")
    return rule


def months_of_data(frames: dict[str, pd.DataFrame]) -> list[Period]:
    """Every month from the earliest to the latest event date of the loaded registers."""
    lo = hi = None
    for name, df in frames.items():
        reg = registers.get(name)
        if reg.kind != "event" or not reg.date_field or df.empty or reg.date_field not in df:
            continue
        d = pd.to_datetime(df[reg.date_field], errors="coerce").dropna()
        if d.empty:
            continue
        lo = min(lo, d.min().date()) if lo else d.min().date()
        hi = max(hi, d.max().date()) if hi else d.max().date()
    if lo is None:
        raise BacktestError("no event register loaded any dated row: nothing to backtest over")
    return span(Period.containing(lo), Period.containing(hi))


def span(first: Period, last: Period) -> list[Period]:
    out, p = [], first
    while (p.year, p.month) <= (last.year, last.month):
        out.append(p)
        p = p.next()
    return out


def staff_in_post(workforce: pd.DataFrame | None, period: Period) -> int | None:
    if workforce is None or workforce.empty:
        return None
    start = pd.to_datetime(workforce.get("start_date"), errors="coerce") if "start_date" in workforce else None
    end = pd.to_datetime(workforce.get("end_date"), errors="coerce") if "end_date" in workforce else None
    keep = pd.Series(True, index=workforce.index)
    if start is not None:
        keep &= start.isna() | (start <= pd.Timestamp(period.end))
    if end is not None:
        keep &= end.isna() | (end >= pd.Timestamp(period.start))
    return int(keep.sum())


def _source_frames(settings: Settings, progress: Progress | None) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The configured sources, loaded and entity-resolved once (as a run does, without the ledger)."""
    import connectors
    from audit.entities import resolve

    load = connectors.load_sources(settings.sources, settings.base_dir,
                                   progress=lambda name, done, total: progress and progress(f"load {name}", done, total))
    notes = [f"source {f.source} did not load: {f.message}" for f in load.failures]
    if progress:
        progress("resolve people and organisations", 0, 1)
    return resolve(load.by_register(), settings.entities, settings.overrides_in_force).frames, notes


# ---- the store (read only) ----------------------------------------------------------------------
@dataclass
class Stored:
    alert_id: int
    rule: str
    subject: str | None
    status: str
    facts: frozenset[str]


def stored_alerts(store_url: str) -> dict[str, list[Stored]]:
    """Period -> the alerts the current run of that period raised or carried, with their facts."""
    from audit.store.db import open_store

    store = open_store(store_url, migrate=False)
    try:
        return stored_alerts_in(store)
    finally:
        store.dispose()


def stored_alerts_in(store, periods: set[str] | None = None) -> dict[str, list[Stored]]:
    """stored_alerts of an open store (audit.shadow reads the live alerts its shadow rules overlap);
    `periods`: of those months only (the rules page shows six, a store may hold years)."""
    from sqlalchemy import select

    from audit.store.models import Alert as AlertRow, AlertFact, AlertOccurrence, Run

    with store.read() as s:
        q = select(Run.id, Run.period).where(Run.superseded_by.is_(None), Run.status.in_(("succeeded", "partial")))
        if periods is not None:
            q = q.where(Run.period.in_(sorted(periods)))
        runs = s.execute(q).all()
        current = {}
        for run_id, period in runs:
            current[period] = max(run_id, current.get(period, 0))
        if not current:
            return {}
        rows = s.execute(
            select(AlertOccurrence.id, AlertOccurrence.period, AlertRow.id, AlertRow.rule_name, AlertRow.subject,
                   AlertRow.status)
            .join(AlertRow, AlertRow.id == AlertOccurrence.alert_id)
            .where(AlertOccurrence.run_id.in_(list(current.values())))).all()
        facts: dict[int, set[str]] = {}
        for occ, fid in s.execute(select(AlertFact.occurrence_id, AlertFact.fact_id)
                                  .join(AlertOccurrence, AlertOccurrence.id == AlertFact.occurrence_id)
                                  .where(AlertOccurrence.run_id.in_(list(current.values())))):
            facts.setdefault(occ, set()).add(fid)
    out: dict[str, list[Stored]] = {}
    for occ, period, alert_id, rule, subject, status in rows:
        out.setdefault(period, []).append(Stored(alert_id, rule, subject, status, frozenset(facts.get(occ, ()))))
    return out


def index_by_fact(stored: list[Stored]) -> dict[str, list[Stored]]:
    """fact id -> the stored alerts citing it (for `overlapping`)."""
    by_fact: dict[str, list[Stored]] = {}
    for s in stored:
        for f in s.facts:
            by_fact.setdefault(f, []).append(s)
    return by_fact


def overlapping(alert: Alert, by_fact: dict[str, list[Stored]]) -> list[Stored]:
    """The stored alerts `alert` overlaps: same subject and at least one cited fact in common
    (the backtest's overlap, and the shadow rules', audit.shadow)."""
    seen: dict[int, Stored] = {}
    for f in alert.facts:
        for s in by_fact.get(f, ()):
            if s.subject == alert.subject:
                seen[s.alert_id] = s
    return list(seen.values())


def label(status: str) -> str:
    """A stored alert's label from its status: false_positive, action, no_further_action or open."""
    return LABELS.get(status, "open")


# ---- evaluation ---------------------------------------------------------------------------------
def _alerts(findings) -> dict[tuple, Alert]:
    """One alert per dedup key; its facts are the union of the findings' facts (as carried)."""
    out: dict[tuple, Alert] = {}
    for f in findings:
        ids = frozenset(i for ids in f.facts.values() for i in ids)
        if f.dedup in out:
            a = out[f.dedup]
            out[f.dedup] = Alert(a.key, a.subject, a.facts | ids, a.title)
        else:
            out[f.dedup] = Alert(f.dedup, f.subject, ids, f.title)
    return out


def _params(settings: Settings, compiled: rules_api.CompiledRule, notes: list[str]) -> dict[str, Any]:
    overrides = dict(settings.rules.params.get(compiled.name, {}))
    known = {n for n, _, _ in compiled.params}
    ignored = sorted(set(overrides) - known)
    if ignored:
        notes.append(f"config.toml overrides of {compiled.name} not used by this version: {', '.join(ignored)}")
    return {k: v for k, v in overrides.items() if k in known}


def live_version(settings: Settings, rule: rules_api.Rule) -> tuple[rules_api.CompiledRule | None, str | None]:
    from audit.pipeline import load_rule_set

    compiled, rules, _ = load_rule_set(settings)
    for c, r in zip(compiled, rules):
        if c.id == rule.id or c.name == rule.name:
            return c, r.file
    return None, None


def backtest(settings: Settings, rule_file: Path, *, first: Period | None = None, last: Period | None = None,
             against: Path | None = None, engine: str | None = None, progress: Progress | None = None,
             frames: dict[str, pd.DataFrame] | None = None) -> Backtest:
    """Evaluate the rule in `rule_file` month by month; compare with the live version (or `against`)
    and with the store's alerts and dispositions. `frames`: resolved register frames (tests)."""
    rule = load_draft(rule_file)
    draft = rules_api.compile_rule(rule)
    engine = engine or settings.rules.engine
    notes: list[str] = []
    if against is not None:
        old_rule = load_draft(against)
        old, against_label = rules_api.compile_rule(old_rule), f"{against}"
    else:
        old, old_file = live_version(settings, rule)
        against_label = f"live {old_file}" if old is not None else None
    if frames is None:
        frames, load_notes = _source_frames(settings, progress)
        notes += load_notes
    missing = sorted({r for r in draft.registers if frames.get(r) is None or frames[r].empty})
    if missing:
        notes.append(f"no rows loaded for {', '.join(missing)}: the rule finds nothing there")
    data_months = months_of_data(frames)
    months = span(first or data_months[0], last or data_months[-1])
    store_url = settings.store_url
    try:
        stored = stored_alerts(store_url)
    except DBAPIError as e:  # no store (yet) is not an error for a backtest; a bug in reading one is
        stored, store_url = {}, None
        notes.append(f"no store to compare with ({type(e).__name__}): overlap and labels are 0")
    draft_params = _params(settings, draft, notes)
    old_params = _params(settings, old, []) if old is not None else {}
    raised: set[tuple] = set()
    distinct: dict[str, Any] = {"added": set(), "dropped": set(), "changed": set(), "overlap": set(),
                                "labelled": {}, "dropped_labelled": {}}
    results = []
    for i, period in enumerate(months):
        if progress:
            progress(f"backtest {period}", i, len(months))
        found, stats = evaluate_rule(draft, frames, period, draft_params, engine)
        if stats.skipped:
            raise BacktestError(f"rule {draft.name} cannot run: {stats.skipped}")
        alerts = _alerts(found)
        m = MonthResult(str(period), findings=len(found), alerts=len(alerts))
        m.new_alerts = len(set(alerts) - raised)
        raised |= set(alerts)
        m.staff = staff_in_post(frames.get("workforce"), period)
        if m.staff:
            m.per_1k_staff = round(1000 * m.alerts / m.staff, 3)
        by_fact = index_by_fact(stored.get(str(period), []))
        labelled: dict[int, Stored] = {}
        for a in alerts.values():
            hits = overlapping(a, by_fact)
            m.overlap += bool(hits)
            if hits:
                distinct["overlap"].add(a.key)
            labelled.update({s.alert_id: s for s in hits})
        for s in labelled.values():
            m.labels[label(s.status)] += 1
            distinct["labelled"][s.alert_id] = label(s.status)
        if old is not None:
            live, _ = evaluate_rule(old, frames, period, old_params, engine)
            live_alerts = _alerts(live)
            added = [k for k in alerts if k not in live_alerts]
            dropped = [k for k in live_alerts if k not in alerts]
            m.live_alerts, m.added, m.dropped = len(live_alerts), len(added), len(dropped)
            changed = [k for k in alerts if k in live_alerts and alerts[k].facts != live_alerts[k].facts]
            m.changed = len(changed)
            distinct["added"].update(added)
            distinct["dropped"].update(dropped)
            distinct["changed"].update(changed)
            m.dropped_labels = dict.fromkeys(LABEL_NAMES, 0)
            dropped_stored: dict[int, Stored] = {}
            for k in dropped:
                dropped_stored.update({s.alert_id: s for s in overlapping(live_alerts[k], by_fact)})
            for s in dropped_stored.values():
                m.dropped_labels[label(s.status)] += 1
                distinct["dropped_labelled"][s.alert_id] = label(s.status)
            m.examples = {"added": [alerts[k].title for k in added[:3]],
                          "dropped": [live_alerts[k].title for k in dropped[:3]]}
        results.append(m)
    if progress:
        progress("done", len(months), len(months))
    return Backtest(rule.name, str(rule_file), draft.version, against_label, engine, store_url, results, notes,
                    distinct)


# ---- HTML ---------------------------------------------------------------------------------------
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest: {{ b.rule }}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
.note{color:#555}</style></head><body>
<h1>Backtest of {{ b.rule }}</h1>
<p>{{ b.rule_file }} (version {{ b.version[:16] }}), engine {{ b.engine }};
{% if b.against %}compared with {{ b.against }}{% else %}a new rule (no live version){% endif %};
store: {{ b.store or "none" }}.</p>
{% for n in b.notes %}<p class="note">{{ n }}</p>{% endfor %}
<svg width="{{ 60 + 34 * b.months|length }}" height="200" role="img" aria-label="alerts per month">
<line x1="40" y1="170" x2="{{ 40 + 34 * b.months|length }}" y2="170" stroke="#888"/>
<text x="0" y="20" font-size="11">{{ top }}</text><text x="0" y="170" font-size="11">0</text>
{% for m in b.months %}{% set h = (150 * m.alerts / top)|round|int %}
<rect x="{{ 44 + 34 * loop.index0 }}" y="{{ 170 - h }}" width="{{ 14 if b.against else 26 }}" height="{{ h }}" fill="#3b6ea5"><title>{{ m.period }}: {{ m.alerts }} alerts</title></rect>
{% if b.against %}{% set g = (150 * m.live_alerts / top)|round|int %}<rect x="{{ 58 + 34 * loop.index0 }}" y="{{ 170 - g }}" width="12" height="{{ g }}" fill="#bbb"><title>{{ m.period }}: {{ m.live_alerts }} alerts (compared version)</title></rect>{% endif %}
<text x="{{ 44 + 34 * loop.index0 }}" y="186" font-size="9">{{ m.period[2:] }}</text>{% endfor %}
</svg>
<p>Blue: alerts this rule would raise{% if b.against %}; grey: the version it is compared with{% endif %}.</p>
<table><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
</body></html>
"""


def rows(b: Backtest) -> tuple[list[str], list[list[Any]]]:
    """The table (shared by the CLI and the HTML page)."""
    headers = ["month", "findings", "alerts", "new", "per 1k staff", "overlap", "FP", "action", "NFA", "open"]
    if b.against:
        headers += ["live", "added", "dropped", "changed", "dropped FP", "dropped action"]
    out = []
    for m in b.months:
        row: list[Any] = [m.period, m.findings, m.alerts, m.new_alerts,
                          "-" if m.per_1k_staff is None else f"{m.per_1k_staff:.2f}", m.overlap,
                          m.labels["false_positive"], m.labels["action"], m.labels["no_further_action"],
                          m.labels["open"]]
        if b.against:
            row += [m.live_alerts, m.added, m.dropped, m.changed, m.dropped_labels["false_positive"],
                    m.dropped_labels["action"]]
        out.append(row)
    t = b.totals()
    total: list[Any] = ["total (each alert once)", t["findings"], t["alerts"], t["alerts"],
                        "-" if t["alerts_per_1k_staff_per_month"] is None else f"{t['alerts_per_1k_staff_per_month']:.2f}/month",
                        t["overlap"], *[t["labels"][n] for n in LABEL_NAMES]]
    if b.against:
        total += ["", t["added"], t["dropped"], t["changed"], t["dropped_labels"]["false_positive"],
                  t["dropped_labels"]["action"]]
    out.append(total)
    return headers, out


def html(b: Backtest) -> str:
    from jinja2 import Environment

    headers, table = rows(b)
    top = max([m.alerts for m in b.months] + [m.live_alerts or 0 for m in b.months] + [1])
    return Environment(autoescape=True).from_string(_PAGE).render(b=b, headers=headers, rows=table, top=top)

