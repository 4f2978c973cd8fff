"""insight: NPS on a call, report claims, metric thresholds, period indexes (issue 13)

Revision ID: 0011
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0004'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nps', sa.Integer(), nullable=True))
        batch_op.create_index('ix_call_log_team_called', ['team_id', 'called_at'], unique=False)
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index('ix_callback_team_due', ['team_id', 'due_at'], unique=False)
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_team_opened', ['team_id', 'opened_at'], unique=False)
    op.create_table('report_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', TS, nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_report_post_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_post')),
    sa.UniqueConstraint('team_id', 'kind', 'period', name=op.f('uq_report_post_team_id'))
    )
    op.create_table('team_insight',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('nps_min_answers', sa.Integer(), nullable=False),
    sa.Column('reopen_days', sa.Integer(), nullable=False),
    sa.Column('repeat_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_insight_team_id_team')),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_insight'))
    )


def downgrade() -> None:
    op.drop_table('team_insight')
    op.drop_table('report_post')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_team_opened')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_team_due')
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.drop_index('ix_call_log_team_called')
        batch_op.drop_column('nps')
