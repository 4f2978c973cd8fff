"""indexes for finding a team's customer by phone or email (import merges, issue 9)

Revision ID: 0006
Revises: 0011
"""
from alembic import op

revision = '0006'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_customer_team_phone', 'customer', ['team_id', 'phone'], unique=False)
    op.create_index('ix_customer_team_email', 'customer', ['team_id', 'email'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_customer_team_email', table_name='customer')
    op.drop_index('ix_customer_team_phone', table_name='customer')
