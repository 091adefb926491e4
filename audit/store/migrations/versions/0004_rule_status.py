"""rule_versions.status (a rule's lifecycle status) and rule_versions.current_since_run

- status: experimental | test | stable | deprecated, from the rule file. Rows recorded before this
  migration get "unrecorded" (the store never knew it; the next run records the current version's).
- current_since_run: the run from which the version is its rule's current one, so a run that brings
  back an older version (same content hash, e.g. a rule un-deprecated) shows it as current again.
  Backfilled with the newest run that evaluated each version.

Revision ID: 0004_rule_status
Revises: 0003
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0004_rule_status'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('rule_versions', sa.Column('status', sa.String(length=16), nullable=False,
                                             server_default='unrecorded'))
    op.add_column('rule_versions', sa.Column('current_since_run', sa.Integer(), nullable=True))
    op.execute("UPDATE rule_versions SET current_since_run = "
               "(SELECT MAX(run_rules.run_id) FROM run_rules WHERE run_rules.rule_version_id = rule_versions.id)")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN: a batch (copy-and-move) drop cannot run on SQLite while
    # run_rules rows point at rule_versions (foreign keys are on and cannot be turned off in the
    # migration's transaction).
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        raise RuntimeError("downgrading below 0004_rule_status needs SQLite 3.35 or later "
                           f"(this is {bind.dialect.dbapi.sqlite_version}); upgrade SQLite or keep 0004")
    op.drop_column('rule_versions', 'current_since_run')
    op.drop_column('rule_versions', 'status')
