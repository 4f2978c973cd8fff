"""complaint SLA clocks and escalation (issue 4)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('team_escalation',
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('manager_user_id', sa.String(length=32), nullable=True),
    sa.Column('manager_channel', sa.String(length=64), nullable=True),
    sa.Column('sla_rules', sa.Text(), nullable=True),
    sa.Column('sla_rules_set_by', sa.String(length=64), nullable=True),
    sa.Column('sla_rules_set_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_escalation_team_id_team')),
    sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_escalation'))
    )
    op.create_table('complaint_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('paused_at', TS, nullable=False),
    sa.Column('resumed_at', TS, nullable=True),
    sa.Column('paused_by', sa.String(length=32), nullable=True),
    sa.Column('resumed_by', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_pause_complaint_id_complaint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_pause'))
    )
    with op.batch_alter_table('complaint_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_pause_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_sla',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('attention_at', TS, nullable=True),
    sa.Column('acknowledged_at', TS, nullable=True),
    sa.Column('acknowledged_by', sa.String(length=32), nullable=True),
    sa.Column('snoozed_until', TS, nullable=True),
    sa.Column('snoozed_by', sa.String(length=32), nullable=True),
    sa.Column('announce', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_sla_complaint_id_complaint')),
    sa.PrimaryKeyConstraint('complaint_id', name=op.f('pk_complaint_sla'))
    )
    with op.batch_alter_table('complaint_sla', schema=None) as batch_op:
        # the sweep's query: complaints whose attention_at has come
        batch_op.create_index(batch_op.f('ix_complaint_sla_attention_at'), ['attention_at'], unique=False)

    op.create_table('escalation_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_escalation_audit_complaint_id_complaint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_audit'))
    )
    with op.batch_alter_table('escalation_audit', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_audit_complaint_at', ['complaint_id', 'at'], unique=False)

    op.create_table('escalation_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('step_key', sa.String(length=160), nullable=False),
    sa.Column('clock', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('claimed_at', TS, nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.Column('posted_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_escalation_notice_complaint_id_complaint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_notice')),
    # exactly once per complaint x clock x level x round, across replicas and restarts
    sa.UniqueConstraint('step_key', name=op.f('uq_escalation_notice_step_key'))
    )
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_notice_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_escalation_notice_post', ['channel', 'message_ts'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalation_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_notice_post')
        batch_op.drop_index(batch_op.f('ix_escalation_notice_complaint_id'))
    op.drop_table('escalation_notice')
    with op.batch_alter_table('escalation_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_audit_complaint_at')
    op.drop_table('escalation_audit')
    with op.batch_alter_table('complaint_sla', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_sla_attention_at'))
    op.drop_table('complaint_sla')
    with op.batch_alter_table('complaint_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_pause_complaint_id'))
    op.drop_table('complaint_pause')
    op.drop_table('team_escalation')
