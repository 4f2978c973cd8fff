"""care plan engine (issue 3): team rules override, nightly plan-run claims, planning indexes

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_time', sa.String(length=5), nullable=False, server_default='02:00'))

    op.create_table('team_rules',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=True),
    sa.Column('set_at', TS, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_rules_team_id_team')),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_rules'))
    )
    op.create_table('plan_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('claimed_at', TS, nullable=False),
    sa.Column('finished_at', TS, nullable=True),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_plan_run_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_run')),
    sa.UniqueConstraint('team_id', 'local_date', name=op.f('uq_plan_run_team_id'))
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index('ix_callback_team_customer', ['team_id', 'customer_id'], unique=False)
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_customer_opened', ['customer_id', 'opened_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_customer_opened')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index('ix_callback_team_customer')
    op.drop_table('plan_run')
    op.drop_table('team_rules')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_column('plan_time')
