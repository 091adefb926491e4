"""Ledger seals: a keyed seal of each source's row ledger (ledger_sources.seal)

- ledger_sources.seal, seal_key_id, sealed_rows: the sum modulo 2**64 of a keyed hash of every ledger
  row of the source, the trail key id it was made with, and the rows it covers
  (audit.store.ledger_seal). A run checks it before it trusts the ledger; `audit verify` checks it too.
- The ledgers present now are sealed as they are, with INTEGRITY_AUDIT_TRAIL_KEY (or the development
  key): set the key before upgrading a real store. Edits made before the upgrade cannot be told
  apart from the runs' own writes.

Revision ID: 0012_ledger_seals
Revises: 0011_access_timelines
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012_ledger_seals'
down_revision: Union[str, Sequence[str], None] = '0011_access_timelines'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('ledger_sources', sa.Column('seal', sa.String(16), nullable=True))
    op.add_column('ledger_sources', sa.Column('seal_key_id', sa.String(16), nullable=True))
    op.add_column('ledger_sources', sa.Column('sealed_rows', sa.Integer(), nullable=True))
    from sqlalchemy.orm import Session

    from audit.store import ledger_seal

    with Session(bind=op.get_bind()) as s:
        ledger_seal.seal_existing(s)
        s.flush()


def downgrade() -> None:
    with op.batch_alter_table('ledger_sources') as batch:
        batch.drop_column('sealed_rows')
        batch.drop_column('seal_key_id')
        batch.drop_column('seal')
