"""The store's tables (SQLAlchemy 2.x ORM). Same models on SQLite and PostgreSQL.

Owns the schema only; the Alembic migrations in audit/store/migrations/versions mirror it.
Times are stored in UTC and always read back timezone-aware (UTCDateTime).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | partial | failed
    engine: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(Integer)  # a later run of the period replaced it
    # migration 0006: when the run's report and exports were swapped into the output folder (and
    # delivered); NULL while it is being published, if publishing was interrupted, or with --no-publish.
    published_at: Mapped[datetime | None]
    # migration 0006: the token of the period lock the run was started under (audit.store.locks), so
    # a reader can tell whether the run's process still holds it (audit.store.record.crashed_runs)
    lock_token: Mapped[str | None] = mapped_column(String(64))
    sources_loaded: Mapped[int] = mapped_column(default=0)
    sources_failed: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_accepted: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    rules_evaluated: Mapped[int] = mapped_column(default=0)
    findings: Mapped[int] = mapped_column(default=0)
    alerts_new: Mapped[int] = mapped_column(default=0)
    alerts_carried: Mapped[int] = mapped_column(default=0)
    alerts_resolved: Mapped[int] = mapped_column(default=0)
    alerts_suppressed: Mapped[int] = mapped_column(default=0)


class RunLock(Base):
    __tablename__ = "run_locks"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int]
    host: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]
    # migration 0006: refreshed by the holder every locks.HEARTBEAT_SECONDS (NULL: an older holder)
    heartbeat_at: Mapped[datetime | None]


class SourceLoad(Base):
    __tablename__ = "source_loads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(255))
    register: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # loaded | failed
    error: Mapped[str | None] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_accepted: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    files: Mapped[list[Any]] = mapped_column(default=list)  # [{path, sha256, rows}]


class QuarantineRow(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(255))
    file: Mapped[str | None] = mapped_column(Text)
    row: Mapped[int | None]
    column: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


#: rule_versions.status of a version recorded before the store kept statuses (migration 0004)
UNRECORDED_STATUS = "unrecorded"


class RuleVersion(Base):
    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    runbook: Mapped[str] = mapped_column(Text, default="")
    registers: Mapped[list[Any]] = mapped_column(default=list)
    sensitivity: Mapped[str] = mapped_column(String(16), default="internal")
    # migration 0004: the rule file's lifecycle status (experimental | test | stable | deprecated);
    # rows recorded before it say "unrecorded". Part of the version hash, so a new status = a new row.
    status: Mapped[str] = mapped_column(String(16), server_default=UNRECORDED_STATUS)
    # migration 0004: the run from which this is the rule's current version (audit.store.rule_versions)
    current_since_run: Mapped[int | None] = mapped_column(Integer)


class RunRule(Base):
    """Which rule versions a run evaluated."""

    __tablename__ = "run_rules"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"), primary_key=True)


class ShadowRuleRun(Base):
    """A shadow rule a run evaluated (migration 0009; audit.store.shadow): its findings are kept in
    shadow_findings, never in alerts. One row per run and rule, so a month it found nothing counts."""

    __tablename__ = "shadow_rule_runs"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    rule_version: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7), index=True)
    findings: Mapped[int] = mapped_column(default=0)
    alerts: Mapped[int] = mapped_column(default=0)  # distinct fingerprints (what it would have raised)


class ShadowFinding(Base):
    """A finding of a shadow rule (migration 0009): stored apart, never in the queue, reports or exports."""

    __tablename__ = "shadow_findings"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    rule_version: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # as an alert's: rule id + dedup values
    subject: Mapped[str | None] = mapped_column(String(255))
    as_of: Mapped[date | None] = mapped_column(Date)
    fact_ids: Mapped[list[Any]] = mapped_column(default=list)
    title: Mapped[str] = mapped_column(Text)


class RulePromotion(Base):
    """A shadow rule an auditor promoted (migration 0009; `rules promote`): live from the next run,
    whatever the rule file or [rules] shadow says. One per rule id; the trail event carries the summary."""

    __tablename__ = "rule_promotions"
    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))  # the shadow version promoted
    promoted_by: Mapped[str] = mapped_column(String(255))
    promoted_at: Mapped[datetime]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Person(Base):
    """Subjects as last seen by a run (name, department, line manager)."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_line_manager_id", "line_manager_id"),)  # migration 0003
    person_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    line_manager_id: Mapped[str | None] = mapped_column(String(255))


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255), index=True)
    level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    dedup: Mapped[list[Any]] = mapped_column(default=list)
    first_period: Mapped[str] = mapped_column(String(7))
    last_period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(32), default="new", index=True)
    assignee: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    dispositions: Mapped[list["Disposition"]] = relationship(order_by="Disposition.id")


class AlertOccurrence(Base):
    """An alert found by a run: novelty new / carried, or suppressed; params in force."""

    __tablename__ = "alert_occurrences"
    __table_args__ = (UniqueConstraint("alert_id", "run_id"),
                      Index("ix_alert_occurrences_alert_id_period", "alert_id", "period"))  # 0003
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    novelty: Mapped[str] = mapped_column(String(16))  # new | carried
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression_id: Mapped[int | None] = mapped_column(Integer)
    rule_version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    as_of: Mapped[date | None] = mapped_column(Date)
    # migration 0005: set when the run raised a finding of an earlier month because a row it cites
    # arrived (or changed) since the previous run: {event_period, arrived_period, months_late,
    # entries: [{register, key, event_date, entry_date, entry_field, how}]} (audit.store.ledger)
    late: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # the weakest entity link the alert rests on, and the level it was lowered from if below strong
    # (audit.reliance; migration 0008)
    weakest_link: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AlertResolved(Base):
    """An alert found by the previous period's run and not by this run."""

    __tablename__ = "alert_resolved"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)


class LedgerRow(Base):
    """What the runs have seen of one source row (migration 0005; owned by audit.store.ledger).

    One row per entry of a source, by its natural key (with an occurrence number where a source
    repeats a key): hashes of its content and material fields, the material values (so an alteration
    can show before and after), and the periods of the runs that first saw it, first saw its present
    content, last saw it, and found it altered or gone. Not a copy of the register."""

    __tablename__ = "row_ledger"
    __table_args__ = (Index("ix_row_ledger_source_key", "source", "natural_key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    register: Mapped[str] = mapped_column(String(64))
    natural_key: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(16))
    material_hash: Mapped[str] = mapped_column(String(16))
    material: Mapped[str] = mapped_column(Text, default="")  # audit.store.ledger.pack: field\x1evalue\x1f...
    event_date: Mapped[date | None] = mapped_column(Date)
    first_period: Mapped[str] = mapped_column(String(7))
    first_run: Mapped[int] = mapped_column(Integer)
    content_period: Mapped[str] = mapped_column(String(7))
    last_period: Mapped[str] = mapped_column(String(7))
    last_run: Mapped[int] = mapped_column(Integer)
    # the material values before the latest alteration, and the period whose run found it
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_period: Mapped[str | None] = mapped_column(String(7))
    # present | deleted (gone, and the source was whole) | aged_out (older than the extract reaches)
    state: Mapped[str] = mapped_column(String(16), default="present")
    gone_period: Mapped[str | None] = mapped_column(String(7))
    # seen again after runs that did not see it (its source failed, was empty or came back short):
    # the period of the run that saw it return, and the last period that had seen it before
    returned_period: Mapped[str | None] = mapped_column(String(7))
    returned_since: Mapped[str | None] = mapped_column(String(7))


class LedgerSource(Base):
    """The latest run that advanced the ledger of one source (migration 0010; audit.store.ledger).

    A present row of that source was seen by that run: its own `last_period` is not rewritten each
    month (that was one UPDATE of every row of every source, every run). A row's own `last_period`
    counts only once it is gone (deleted, aged out): the last period that saw it."""

    __tablename__ = "ledger_sources"
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_period: Mapped[str] = mapped_column(String(7))
    last_run: Mapped[int] = mapped_column(Integer)
    # the keyed seal of the source's ledger rows as that run left them (migration 0012;
    # audit.store.ledger_seal), the trail key id it was made with, and how many rows it covers
    seal: Mapped[str | None] = mapped_column(String(16), nullable=True)
    seal_key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sealed_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AlertFact(Base):
    __tablename__ = "alert_facts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("alert_occurrences.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(64))
    fact_id: Mapped[str] = mapped_column(String(255))
    register: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(255))
    file: Mapped[str | None] = mapped_column(Text)
    row: Mapped[int | None]
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlertLink(Base):
    __tablename__ = "alert_links"
    __table_args__ = (Index("ix_alert_links_key", "key"),)  # migration 0003
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("alert_occurrences.id", ondelete="CASCADE"), index=True)
    fact_id: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    strength: Mapped[str | None] = mapped_column(String(16))
    source_text: Mapped[str | None] = mapped_column(Text)
    matched_text: Mapped[str | None] = mapped_column(Text)


class AccessTimeline(Base):
    """One user's accesses to one record, as the run read them from the access log (migration 0011;
    owned by audit.store.access_timeline): for the (user, record) pairs that access alerts of the run
    cite, every system_access row of that user for that record (capped, cited rows always kept) and
    the count per day of all of them. Need-to-know (system_access is sensitive throughout): the CCU's
    only, decided by audit.web.access before anything is shown. Not a copy of the register."""

    __tablename__ = "access_timelines"
    __table_args__ = (UniqueConstraint("run_id", "person_key", "record_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    person_key: Mapped[str] = mapped_column(String(255))
    record_id: Mapped[str] = mapped_column(String(255))
    total: Mapped[int] = mapped_column(Integer)  # rows of this user for this record the run read
    per_day: Mapped[dict[str, Any]] = mapped_column(default=dict)  # ISO date -> accesses (all rows)
    rows: Mapped[list[Any]] = mapped_column(default=list)  # at most the cap; len(rows) < total: capped
    window_from: Mapped[date | None] = mapped_column(Date)  # the access log's dates as the run read it
    window_to: Mapped[date | None] = mapped_column(Date)


class Disposition(Base):
    __tablename__ = "dispositions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)


class Suppression(Base):
    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # finding | rule_subject
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    reason: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Delivery(Base):
    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    destination: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # delivered | failed
    attempts: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only, hash-chained (see audit.store.trail)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object_seq", "object", "seq"),  # migration 0003
                      Index("ix_audit_events_action_seq", "action", "seq"))
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object: Mapped[str] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))



class WebUser(Base):
    """A person who signs in to the review web app (owned by audit.web.users; migration 0002)."""

    __tablename__ = "web_users"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # reviewer | ccu | auditor | admin
    department: Mapped[str | None] = mapped_column(Text)  # limits a reviewer to that department's staff
    person_id: Mapped[str | None] = mapped_column(String(255))  # their own person_key (segregation of duties)
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser session; the cookie holds the token, the table its SHA-256 only."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("web_users.name", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
