"""row_ledger (what each run has seen of every source row) and alert_occurrences.late

- row_ledger: per source row, its natural key, content and material hashes, material values and the
  periods of the runs that first saw it, last saw it and found it altered or gone
  (audit.store.ledger). It lets a run report entries that arrived after their month, and entries
  altered or deleted after they were audited.
- alert_occurrences.late: why a finding of an earlier month was raised by this run (NULL otherwise).

Revision ID: 0005_row_ledger
Revises: 0004_rule_status
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005_row_ledger'
down_revision: Union[str, Sequence[str], None] = '0004_rule_status'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'row_ledger',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('source', sa.String(255), nullable=False),
        sa.Column('register', sa.String(64), nullable=False),
        sa.Column('natural_key', sa.Text(), nullable=False),
        sa.Column('content_hash', sa.String(16), nullable=False),
        sa.Column('material_hash', sa.String(16), nullable=False),
        sa.Column('material', sa.Text(), nullable=False),
        sa.Column('event_date', sa.Date(), nullable=True),
        sa.Column('first_period', sa.String(7), nullable=False),
        sa.Column('first_run', sa.Integer(), nullable=False),
        sa.Column('content_period', sa.String(7), nullable=False),
        sa.Column('last_period', sa.String(7), nullable=False),
        sa.Column('last_run', sa.Integer(), nullable=False),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('changed_period', sa.String(7), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('gone_period', sa.String(7), nullable=True),
        sa.Column('returned_period', sa.String(7), nullable=True),
        sa.Column('returned_since', sa.String(7), nullable=True),
    )
    op.create_index('ix_row_ledger_source_key', 'row_ledger', ['source', 'natural_key'])
    op.add_column('alert_occurrences', sa.Column('late', sa.JSON(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        raise RuntimeError("downgrading below 0005_row_ledger needs SQLite 3.35 or later")
    op.drop_column('alert_occurrences', 'late')
    op.drop_index('ix_row_ledger_source_key', table_name='row_ledger')
    op.drop_table('row_ledger')
