"""complaint withdrawn: a complaint closed because its customer was erased (PIPL) is withdrawn, not resolved — it
keeps status 'resolved' (closed, for every queue, list, the sweep and the buttons), gets `withdrawn_at` and loses
`resolved_at`, so the reports no longer count it as resolved (tryout: an unanswered complaint erased after 30
minutes read resolution rate 100 %, within SLA 100 %).

Complaints an erasure closed before this revision are found as those whose `resolved_at` is their customer's
`erased_at` (the erasure wrote both with one moment) and are moved over. Downgrading gives them back their
`resolved_at`.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE complaint SET withdrawn_at = resolved_at, resolved_at = NULL "
               "WHERE status = 'resolved' AND resolved_at IS NOT NULL AND EXISTS (SELECT 1 FROM customer "
               "WHERE customer.id = complaint.customer_id AND customer.erased_at = complaint.resolved_at)")


def downgrade() -> None:
    op.execute("UPDATE complaint SET resolved_at = withdrawn_at WHERE withdrawn_at IS NOT NULL")
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
