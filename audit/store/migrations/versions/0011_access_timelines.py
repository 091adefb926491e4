"""Access timelines: one user's accesses to one record, for the CCU's view of an access alert (#19)

- access_timelines: for each (user, record) pair an access alert of a run cites, the rows of the
  records-system access log of that user for that record the run read (capped; the cited rows always
  kept), their count per day, and the dates the access log covered (audit.store.access_timeline).

Revision ID: 0011_access_timelines
Revises: 0010_ledger_sources
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011_access_timelines'
down_revision: Union[str, Sequence[str], None] = '0010_ledger_sources'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'access_timelines',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('person_key', sa.String(255), nullable=False),
        sa.Column('record_id', sa.String(255), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('per_day', sa.JSON(), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('window_from', sa.Date(), nullable=True),
        sa.Column('window_to', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'person_key', 'record_id'),
    )
    op.create_index(op.f('ix_access_timelines_run_id'), 'access_timelines', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_access_timelines_run_id'), table_name='access_timelines')
    op.drop_table('access_timelines')
