"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 17:52:06.223558
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('digest_channel', sa.String(length=64), nullable=True),
    sa.Column('supervisor_channel', sa.String(length=64), nullable=True),
    sa.Column('supervisor_group', sa.String(length=64), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('digest_time', sa.String(length=5), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team'))
    )
    op.create_table('digest_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_digest_post_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_post')),
    sa.UniqueConstraint('channel', 'local_date', name=op.f('uq_digest_post_channel'))
    )
    op.create_table('staff',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('locale_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_staff_team_id_team')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_staff'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_team_id'), ['team_id'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=True),
    sa.Column('first_purchase_on', sa.Date(), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('annual_spend', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('needs_follow_up', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.user_id'], name=op.f('fk_customer_owner_id_staff')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_customer_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('team_id', 'code', name=op.f('uq_customer_team_id'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_customer_team_name', ['team_id', 'name'], unique=False)

    op.create_table('callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_callback_customer_id_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.user_id'], name=op.f('fk_callback_owner_id_staff')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_callback_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback')),
    sa.UniqueConstraint('customer_id', 'dedupe_key', name=op.f('uq_callback_customer_id'))
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index('ix_callback_owner_open_due', ['owner_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_callback_team_open_due', ['team_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('uq_callback_open_kind', ['customer_id', 'kind'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('source_link', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_complaint_customer_id_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.user_id'], name=op.f('fk_complaint_owner_id_staff')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_complaint_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_owner_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index('ix_complaint_team_status', ['team_id', 'status'], unique=False)

    op.create_table('call_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('callback_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('next_on', sa.Date(), nullable=True),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['callback_id'], ['callback.id'], name=op.f('fk_call_log_callback_id_callback')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_call_log_customer_id_customer')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.user_id'], name=op.f('fk_call_log_staff_id_staff')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_call_log_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_log'))
    )
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.create_index('ix_call_log_customer_called', ['customer_id', 'called_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_log', schema=None) as batch_op:
        batch_op.drop_index('ix_call_log_customer_called')

    op.drop_table('call_log')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_team_status')
        batch_op.drop_index('ix_complaint_owner_status')

    op.drop_table('complaint')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index('uq_callback_open_kind', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_callback_team_open_due')
        batch_op.drop_index('ix_callback_owner_open_due')

    op.drop_table('callback')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_team_name')
        batch_op.drop_index(batch_op.f('ix_customer_owner_id'))

    op.drop_table('customer')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_team_id'))

    op.drop_table('staff')
    op.drop_table('digest_post')
    op.drop_table('team')
