"""A run as three flat, typed tables (alerts, evidence, links): what every export format writes.

Each column has a kind (str, int, float, money, date, datetime, bool) so CSV, XLSX and JSON
writers format it the same way. Evidence is one row per fact: the fixed columns plus one column
per canonical field present in the run's facts (dictionary order), typed from the dictionary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from audit import registers
from audit.store.views import AlertView, RunView

from reports.cells import field_type, typed

_KIND_OF_TYPE = {"date": "date", "money": "money", "int": "int", "number": "float", "bool": "bool"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "str"  # str | int | float | money | date | datetime | bool


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: list[list[Any]]


ALERT_COLUMNS = [
    Column("alert_id", "int"), Column("fingerprint"), Column("period"), Column("first_period"),
    Column("novelty"), Column("late_event_period"), Column("late_reason"), Column("status"), Column("level"),
    Column("weakest_link_strength"), Column("weakest_link"), Column("rule_id"), Column("rule_name"),
    Column("rule_title"), Column("rule_version"), Column("registers"), Column("sensitivity"),
    Column("title"), Column("subject"), Column("subject_name"), Column("department"),
    Column("assignee"), Column("fact_count", "int"), Column("params"), Column("values"),
    Column("last_disposition"), Column("last_disposition_by"),
    Column("last_disposition_at", "datetime"), Column("last_disposition_note"),
]
EVIDENCE_FIXED = [
    Column("alert_id", "int"), Column("alias"), Column("fact_id"), Column("register"),
    Column("source"), Column("file"), Column("row", "int"),
]
LINK_COLUMNS = [
    Column("alert_id", "int"), Column("fact_id"), Column("field"), Column("key"), Column("method"),
    Column("score", "float"), Column("strength"), Column("source_text"), Column("matched_text"),
]


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _alert_row(a: AlertView) -> list[Any]:
    last = a.history[-1] if a.history else None
    return [
        a.id, a.fingerprint, a.period, a.first_period, a.novelty,
        a.late.get("event_period") if a.late else None, a.late_text or None, a.status, a.level,
        a.weakest_link.get("strength") if a.weakest_link else None, a.link_text or None, a.rule_id,
        a.rule_name, a.rule_title, a.rule_version, ";".join(a.registers), a.sensitivity, a.title,
        a.subject, a.subject_name, a.department, a.assignee, len(a.facts), _json(a.params),
        _json(a.values), last.status if last else None, last.reviewer if last else None,
        last.at if last else None, last.note if last else None,
    ]


def evidence_columns(alerts: list[AlertView]) -> list[Column]:
    """Fixed columns, then every field present in any fact, in dictionary order.

    A field name whose type differs between registers is exported as text (kind str)."""
    present: dict[str, set[str]] = {}
    for a in alerts:
        for f in a.facts:
            for name in f.values:
                present.setdefault(name, set()).add(field_type(f.register, name))
    order: list[str] = []
    for reg in registers.registers().values():
        order += [n for n in reg.fields if n in present and n not in order]
    order += sorted(n for n in present if n not in order)
    cols = []
    for name in order:
        types = present[name]
        kind = _KIND_OF_TYPE.get(next(iter(types)), "str") if len(types) == 1 else "str"
        cols.append(Column(name, kind))
    return EVIDENCE_FIXED + cols


def _evidence_rows(alerts: list[AlertView], columns: list[Column]) -> list[list[Any]]:
    value_cols = columns[len(EVIDENCE_FIXED):]
    rows = []
    for a in alerts:
        for f in a.facts:
            row: list[Any] = [a.id, f.alias, f.fact_id, f.register, f.source, f.file, f.row]
            for col in value_cols:
                v = f.values.get(col.name)
                row.append(typed(v, field_type(f.register, col.name)) if col.kind != "str" else v)
            rows.append(row)
    return rows


def build(run: RunView) -> list[Table]:
    """The run's alerts, evidence and links as typed tables (in alert order)."""
    ev_cols = evidence_columns(run.alerts)
    links = [[a.id, ln.fact_id, ln.field, ln.key, ln.method, ln.score, ln.strength, ln.source_text,
              ln.matched_text] for a in run.alerts for ln in a.links]
    return [
        Table("alerts", ALERT_COLUMNS, [_alert_row(a) for a in run.alerts]),
        Table("evidence", ev_cols, _evidence_rows(run.alerts, ev_cols)),
        Table("links", LINK_COLUMNS, links),
    ]
