"""inbound_delivery: one row per effect of a request from Slack, UNIQUE key (issue 8)

Revision ID: 0005
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_delivery')),
    # exactly one effect per key, across replicas and restarts
    sa.UniqueConstraint('key', name=op.f('uq_inbound_delivery_key'))
    )
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_delivery_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_delivery_created_at')
    op.drop_table('inbound_delivery')
