"""Shadow rules: shadow_rule_runs, shadow_findings, rule_promotions (additive, new tables only)

- shadow_rule_runs: each shadow rule a run evaluated (findings and distinct alerts), so a month
  in which it found nothing still counts as a month in shadow.
- shadow_findings: what the shadow rules found, apart from alerts (never queued, reported or exported).
- rule_promotions: the shadow rules an auditor promoted (`rules promote`); live from the next run.

Revision ID: 0009_shadow_rules
Revises: 0008_weakest_link
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009_shadow_rules'
down_revision: Union[str, Sequence[str], None] = '0008_weakest_link'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'shadow_rule_runs',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.String(64), nullable=False),
        sa.Column('rule_name', sa.String(255), nullable=False),
        sa.Column('rule_version', sa.String(64), nullable=False),
        sa.Column('period', sa.String(7), nullable=False),
        sa.Column('findings', sa.Integer(), nullable=False),
        sa.Column('alerts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', 'rule_id'),
    )
    op.create_index(op.f('ix_shadow_rule_runs_period'), 'shadow_rule_runs', ['period'], unique=False)
    op.create_table(
        'shadow_findings',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(7), nullable=False),
        sa.Column('rule_id', sa.String(64), nullable=False),
        sa.Column('rule_name', sa.String(255), nullable=False),
        sa.Column('rule_version', sa.String(64), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('subject', sa.String(255), nullable=True),
        sa.Column('as_of', sa.Date(), nullable=True),
        sa.Column('fact_ids', sa.JSON(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_shadow_findings_run_id'), 'shadow_findings', ['run_id'], unique=False)
    op.create_index(op.f('ix_shadow_findings_rule_id'), 'shadow_findings', ['rule_id'], unique=False)
    op.create_table(
        'rule_promotions',
        sa.Column('rule_id', sa.String(64), nullable=False),
        sa.Column('rule_name', sa.String(255), nullable=False),
        sa.Column('version', sa.String(64), nullable=False),
        sa.Column('promoted_by', sa.String(255), nullable=False),
        sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('rule_id'),
    )


def downgrade() -> None:
    op.drop_table('rule_promotions')
    op.drop_index(op.f('ix_shadow_findings_rule_id'), table_name='shadow_findings')
    op.drop_index(op.f('ix_shadow_findings_run_id'), table_name='shadow_findings')
    op.drop_table('shadow_findings')
    op.drop_index(op.f('ix_shadow_rule_runs_period'), table_name='shadow_rule_runs')
    op.drop_table('shadow_rule_runs')
