"""Read-only views of a stored run: the contract between the store and its readers
(reports, exports, the CLI and the web app). Plain dataclasses, no ORM objects leak out.

The store fills these (audit.store.queries.run_view / alert_view); readers never query tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class SourceLoadView:
    source: str
    register: str
    kind: str
    location: str
    status: str  # loaded | failed
    error: str | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    files: list[dict[str, Any]]  # {path, sha256, rows}
    top_reasons: list[tuple[str, int]]  # (reason, count), most common first


@dataclass
class FactView:
    alias: str  # the rule input alias ("gift", "purchase")
    fact_id: str
    register: str
    source: str
    file: str
    row: int
    values: dict[str, Any]  # canonical field -> value as stored (money in pence, dates ISO)


@dataclass
class LinkView:
    """How an entity key on a fact was established (shown to the reviewer)."""

    fact_id: str
    field: str  # person_key | org_key | approver_key | ...
    key: str
    method: str  # identifier | normalised_name | fuzzy | address | bank | override | name_dob
    score: float
    strength: str  # strong | weak
    source_text: str  # the string on this fact
    matched_text: str  # the string it was linked to


@dataclass
class DispositionView:
    status: str
    reviewer: str
    at: datetime
    note: str


@dataclass
class AlertView:
    id: int
    fingerprint: str
    rule_id: str
    rule_name: str
    rule_title: str
    rule_version: str
    rule_description: str
    runbook: str
    level: str  # informational | low | medium | high | critical
    registers: list[str]
    title: str
    subject: str | None  # person_key
    subject_name: str | None
    department: str | None
    status: str  # new | in_review | no_further_action | management_action | referred_to_ccu | false_positive
    novelty: str  # new | late (new, of an earlier month: see `late`) | carried (relative to this run)
    first_period: str  # YYYY-MM first raised
    period: str  # the run's period
    params: dict[str, Any]
    values: dict[str, Any]
    facts: list[FactView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    history: list[DispositionView] = field(default_factory=list)
    sensitivity: str = "internal"  # the highest sensitivity among its registers
    assignee: str | None = None
    #: a finding of an earlier month raised by this run because a row it cites arrived or changed
    #: late: {event_date, event_period, reported_period, months_late, entries: [...]} (None otherwise)
    late: dict[str, Any] | None = None
    #: the weakest entity link the alert rests on, and `lowered_from` when it is below strong
    #: (audit.reliance; None for alerts of rules that correlate on no linked key)
    weakest_link: dict[str, Any] | None = None

    @property
    def link_text(self) -> str:
        """The weakest link the alert rests on, in words ('' when it rests on none): the report's
        technical fold, the exports' human-readable column and the CLI's JSON (audit.display)."""
        from audit import display

        return display.weakest_link(self.weakest_link)

    @property
    def late_text(self) -> str:
        """The plain sentence saying why an earlier month's finding is reported now ('' if not late)."""
        return late_sentence(self.late) if self.late else ""


def late_sentence(late: dict[str, Any]) -> str:
    """"Gifts and hospitality entry GH9: date declared 2026-10-15 for an event on 2026-08-01: reported
    in the 2026-10 audit, 2 months after the event (2026-08)"."""
    from audit import registers

    parts = []
    for e in late.get("entries", []):
        reg = registers.registers().get(e.get("register"))
        what = f"{reg.label if reg else e.get('register')} entry {e.get('key')}"
        on = f" for an event on {e['event_date']}" if e.get("event_date") else ""
        if e.get("how") == "changed":
            parts.append(f"{what}{on.replace(' for', ',')} was changed after its month")
        elif e.get("how") == "returned":
            parts.append(f"{what}{on.replace(' for', ',')} is back in its source after audits that could not see it")
        elif e.get("entry_date") and reg and e.get("entry_field") in reg.fields:
            parts.append(f"{what}: {reg.fields[e['entry_field']].label.lower()} {e['entry_date']}{on}")
        else:
            parts.append(f"{what}{on.replace(' for', ',')} first seen by this audit")
    n = int(late.get("months_late") or 0)
    return (f"{'; '.join(parts) or 'an entry arrived late'}: reported in the {late.get('reported_period')} audit, "
            f"{n} month{'s' if n != 1 else ''} after the event ({late.get('event_period')})")


@dataclass
class RunView:
    id: int
    period: str
    status: str  # running | succeeded | partial | failed
    started_at: datetime
    finished_at: datetime | None
    engine: str
    error: str | None
    sources: list[SourceLoadView]
    rule_versions: list[dict[str, str]]  # {id, name, version, level}
    alerts: list[AlertView]
    counts: dict[str, int]  # sources_loaded, sources_failed, rows_read, rows_accepted,
    # rows_quarantined, rules_evaluated, findings, alerts_new, alerts_carried, alerts_resolved
    resolved: list[AlertView] = field(default_factory=list)  # alerted before, not found this run
    trend: list[dict[str, Any]] = field(default_factory=list)  # [{period, new, carried, total}] last 12
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # {destination, status, at, error}

    @property
    def incomplete(self) -> bool:
        return any(s.status == "failed" for s in self.sources) or self.status in ("partial", "failed")
