"""sweep check: the partial index of stale escalation claims holds only claims neither posted nor queued in the
outbox (issue 14): the sweep's every-minute check finds it empty instead of walking the queued ones

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_notice_unposted')
        batch_op.create_index('ix_escalation_notice_unqueued', ['claimed_at'], unique=False,
                              sqlite_where=sa.text('posted_at IS NULL AND channel IS NULL'),
                              postgresql_where=sa.text('posted_at IS NULL AND channel IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_notice_unqueued')
        batch_op.create_index('ix_escalation_notice_unposted', ['claimed_at'], unique=False,
                              sqlite_where=sa.text('posted_at IS NULL'),
                              postgresql_where=sa.text('posted_at IS NULL'))
