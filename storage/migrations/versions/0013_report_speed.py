"""report speed: a covering index of a team's calls by time with the customer and the outcome, so the report's
last-contact query (churn risk) reads the index alone (issue 13)

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.create_index('ix_call_log_team_called_reach', ['team_id', 'called_at', 'customer_id', 'outcome'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.drop_index('ix_call_log_team_called_reach')
