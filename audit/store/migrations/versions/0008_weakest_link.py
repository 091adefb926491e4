"""alert_occurrences.weakest_link (additive, nullable)

The weakest entity link an alert rests on (audit.reliance): the link's fact, field, key, method,
score, strength and texts, and the level the alert was lowered from when the link is below strong.
Occurrences recorded before this migration have none (their digests in the trail are unchanged).

Revision ID: 0008_weakest_link
Revises: 0007_trail_digests
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008_weakest_link'
down_revision: Union[str, Sequence[str], None] = '0007_trail_digests'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # 0007 adds it first on a store whose trail it keys (its baseline reads today's models)
    if 'weakest_link' not in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('alert_occurrences')}:
        op.add_column('alert_occurrences', sa.Column('weakest_link', sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (see 0004_rule_status for why not a batch copy on SQLite).
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        raise RuntimeError("downgrading below 0008_weakest_link needs SQLite 3.35 or later "
                           f"(this is {bind.dialect.dbapi.sqlite_version}); upgrade SQLite or keep 0008")
    op.drop_column('alert_occurrences', 'weakest_link')
