"""plan batches: the nightly run records how far it planned, so a run whose process died is taken over and goes
on after the last customer planned (issue 14)

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_through', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('plan_run', schema=None) as batch_op:
        batch_op.drop_column('planned_through')
