"""Key the audit trail and record a baseline of the rows it proves (data only, no schema change)

On a store whose trail has events (written before the trail was keyed): a `trail.key` marker event
starts the keyed part of the chain (HMAC-SHA256 with INTEGRITY_AUDIT_TRAIL_KEY, or the development
key with a warning), followed by `trail.baseline` events holding the digest of every alert,
occurrence with its evidence, disposition, suppression, delivery, run and web user present now
(audit.store.digests), so `audit verify` proves them from here on. Set the key before upgrading a
real store. An empty store needs nothing: its first event starts the keyed chain.

The earlier, unkeyed events stay as they were and still verify (sha256). Nothing is undone on
downgrade: the trail is append-only (code older than this migration cannot verify keyed events).

Revision ID: 0007_trail_digests
Revises: 0006_run_published
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007_trail_digests'
down_revision: Union[str, Sequence[str], None] = '0006_run_published'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM audit_events LIMIT 1")).first() is None:
        return  # a new store: its first event starts the keyed chain
    from audit.store import trail

    # The baseline reads the rows through today's models, which hold columns of later migrations:
    # add them first (each later migration adds its column only if it is missing).
    if 'weakest_link' not in {c['name'] for c in sa.inspect(bind).get_columns('alert_occurrences')}:
        op.add_column('alert_occurrences', sa.Column('weakest_link', sa.JSON(), nullable=True))  # 0008's
    trail.key_existing_trail(bind)


def downgrade() -> None:
    pass  # the audit trail is append-only
