"""speed: a partial index of escalation claims never posted, so the sweep's stale-claim check is a lookup (issue 14)

Revision ID: 0012
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_notice_unposted', ['claimed_at'], unique=False,
                              sqlite_where=sa.text('posted_at IS NULL'),
                              postgresql_where=sa.text('posted_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_notice_unposted')
