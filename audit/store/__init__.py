"""The store: runs, alerts and their evidence, the alert lifecycle and the audit trail.

SQLAlchemy 2.x on SQLite (embedded default) or PostgreSQL, same code; schema by Alembic
(audit.store.migrate). May import audit.registers, audit.period and rules.finding only.

Writers: record.record_run (a run), lifecycle (dispositions, suppressions, assignment,
deliveries), trail (audit events). Readers: queries -> the dataclasses in views.
"""
from audit.store.db import Store, StoreError, open_store
from audit.store.locks import RunLocked, period_lock
from audit.store.record import (RuleInfo, RunInput, RunSummary, SourceLoadInput, fingerprint, record_run,
                                start_run)

__all__ = ["Store", "StoreError", "open_store", "RunLocked", "period_lock", "RuleInfo", "RunInput",
           "RunSummary", "SourceLoadInput", "fingerprint", "record_run", "start_run"]
