"""runs.published_at, runs.lock_token and run_locks.heartbeat_at (all additive, nullable)

- runs.published_at: when the run's report and exports were swapped into the output folder and
  delivered (reports.publishing). A run recorded but not published (its process was killed while
  publishing, or it ran with --no-publish) is not the period's current one for report, export,
  the web app's downloads or delivery. Backfilled with finished_at for every succeeded or partial
  run recorded before this migration: the code of the time published right after recording.
- runs.lock_token: the token of the period lock the run was started under (audit.store.locks), so
  a run whose process is gone can be told from one that is still going (record.crashed_runs).
- run_locks.heartbeat_at: refreshed by the lock's holder while it holds the lock; a lock whose
  heartbeat stopped is dead even when its owner's host cannot be asked whether the pid lives.

Revision ID: 0006_run_published
Revises: 0005_row_ledger
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006_run_published'
down_revision: Union[str, Sequence[str], None] = '0005_row_ledger'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('runs', sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('runs', sa.Column('lock_token', sa.String(length=64), nullable=True))
    op.add_column('run_locks', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE runs SET published_at = finished_at "
               "WHERE status IN ('succeeded', 'partial') AND finished_at IS NOT NULL")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (see 0004_rule_status for why not a batch copy on SQLite).
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        raise RuntimeError("downgrading below 0006_run_published needs SQLite 3.35 or later "
                           f"(this is {bind.dialect.dbapi.sqlite_version}); upgrade SQLite or keep 0006")
    op.drop_column('run_locks', 'heartbeat_at')
    op.drop_column('runs', 'lock_token')
    op.drop_column('runs', 'published_at')
