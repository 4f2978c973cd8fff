"""customer segments as the care plan last computed them

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segment_tier', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('segment_activity', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('segment_lifecycle', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('segmented_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('segmented_at')
        batch_op.drop_column('segment_lifecycle')
        batch_op.drop_column('segment_activity')
        batch_op.drop_column('segment_tier')
