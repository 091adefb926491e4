"""indexes for the review web app's read paths (owned by audit.web; models mirror them)

- alert_occurrences (alert_id, period): an alert's latest occurrence is the one of its
  last_period (the queue joins on it; alert_view looks it up) instead of a GROUP BY over all.
- audit_events (object, seq): an alert page's history (newest 50 events of one object) without
  walking the whole trail; (action, seq): the queue's change stamp and the sign-in rate limit.
- alert_links (key): related alerts by organisation key.
- people (line_manager_id): the line-management chain (take next, segregation of duties).

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (
    ('ix_alert_occurrences_alert_id_period', 'alert_occurrences', ['alert_id', 'period']),
    ('ix_audit_events_object_seq', 'audit_events', ['object', 'seq']),
    ('ix_audit_events_action_seq', 'audit_events', ['action', 'seq']),
    ('ix_alert_links_key', 'alert_links', ['key']),
    ('ix_people_line_manager_id', 'people', ['line_manager_id']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
