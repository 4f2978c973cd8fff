"""morning list index: each owner's due callbacks counted, and each shown owner's first ones read, from one index
(team, status, owner, due time, id) instead of sorting the team's 75,000 due rows by owner (issue 14)

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_callback_team_owner_open_due', 'callback', ['team_id', 'status', 'owner_id', 'due_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_callback_team_owner_open_due', table_name='callback')
