"""outbox steps: a message may wait for another (`after_key`: a report's charts after its text, an update after
the post it updates) and keep the state of a step under way (`progress`: the file ids of an upload being completed)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('after_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('progress', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('progress')
        batch_op.drop_column('after_key')
