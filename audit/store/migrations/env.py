"""Alembic environment: runs on the connection audit.store.migrate hands over.

On PostgreSQL a transaction-scoped advisory lock makes concurrent upgrades queue; on SQLite the
connection's BEGIN IMMEDIATE does the same. DDL is transactional on both.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import text

from audit.store.models import Base

MIGRATION_LOCK_KEY = 7_304_211_006  # arbitrary constant: "integrity-audit migrations"

config = context.config
connection = config.attributes["connection"]


def include_object(obj, name, type_, reflected, compare_to):
    # APScheduler owns its job table; it is not part of our schema history.
    return not (type_ == "table" and name.startswith("apscheduler"))


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
    include_object=include_object,
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    context.run_migrations()
