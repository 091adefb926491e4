"""Ledger: the latest run that advanced each source (ledger_sources)

A present ledger row was seen by its source's latest advancing run, so runs no longer rewrite
`row_ledger.last_period` / `last_run` of every row they see; a row's own values count once it is
gone. Filled from the rows: each source's latest period and run.

Revision ID: 0010_ledger_sources
Revises: 0009_shadow_rules
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010_ledger_sources'
down_revision: Union[str, Sequence[str], None] = '0009_shadow_rules'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'ledger_sources',
        sa.Column('source', sa.String(255), nullable=False),
        sa.Column('last_period', sa.String(7), nullable=False),
        sa.Column('last_run', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('source'),
    )
    op.execute("INSERT INTO ledger_sources (source, last_period, last_run) "
               "SELECT source, MAX(last_period), MAX(last_run) FROM row_ledger GROUP BY source")


def downgrade() -> None:
    # the rows' own last_period / last_run again say when each present row was last seen
    op.execute("UPDATE row_ledger SET last_period = (SELECT s.last_period FROM ledger_sources s "
               "WHERE s.source = row_ledger.source), last_run = (SELECT s.last_run FROM ledger_sources s "
               "WHERE s.source = row_ledger.source) WHERE state = 'present' AND source IN "
               "(SELECT source FROM ledger_sources)")
    op.drop_table('ledger_sources')
