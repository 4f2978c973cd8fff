"""customer data protection (issue 9): personal data encrypted, blind indexes, consent, erasure, audit

Columns holding personal data become TEXT (they hold AES-GCM ciphertext, storage/crypto.py); rows written
before this migration read as they are until `carebot keys rotate` seals them and fills the hashes.
Downgrading below this revision keeps ciphertext in those columns (birthdays are dropped): decrypt first.

Revision ID: 0007
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0010'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('customer_search_token',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                            name=op.f('fk_customer_search_token_customer_id_customer')),
    sa.PrimaryKeyConstraint('customer_id', 'token', name=op.f('pk_customer_search_token'))
    )
    op.create_index('ix_customer_search_token_lookup', 'customer_search_token',
                    ['team_id', 'token', 'customer_id'], unique=False)
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_audit_event_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_index('ix_audit_event_customer_at', 'audit_event', ['customer_id', 'at'], unique=False)
    op.create_index('ix_audit_event_team_at', 'audit_event', ['team_id', 'at'], unique=False)
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_team_name')
        batch_op.drop_index('ix_customer_team_phone')  # 0006's, on what is now ciphertext: the hashes replace them
        batch_op.drop_index('ix_customer_team_email')
        batch_op.alter_column('name', existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)
        batch_op.alter_column('phone', existing_type=sa.String(length=32), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('email', existing_type=sa.String(length=254), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('birthday', existing_type=sa.Date(), type_=sa.Text(), existing_nullable=True,
                              postgresql_using='birthday::text')
        batch_op.add_column(sa.Column('phone_hash', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('email_hash', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consent_at', TS, nullable=True))
        batch_op.add_column(sa.Column('consent_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('erased_at', TS, nullable=True))
        batch_op.create_index('ix_customer_team_phone_hash', ['team_id', 'phone_hash'], unique=False)
        batch_op.create_index('ix_customer_team_email_hash', ['team_id', 'email_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_team_email_hash')
        batch_op.drop_index('ix_customer_team_phone_hash')
        batch_op.drop_column('erased_at')
        batch_op.drop_column('consent_source')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('email_hash')
        batch_op.drop_column('phone_hash')
        batch_op.alter_column('birthday', existing_type=sa.Text(), type_=sa.Date(), existing_nullable=True,
                              postgresql_using="CASE WHEN left(birthday, 3) = 'c1.' THEN NULL ELSE birthday::date END")
        batch_op.alter_column('email', existing_type=sa.Text(), type_=sa.String(length=254), existing_nullable=True)
        batch_op.alter_column('phone', existing_type=sa.Text(), type_=sa.String(length=32), existing_nullable=True)
        batch_op.alter_column('name', existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
        batch_op.create_index('ix_customer_team_name', ['team_id', 'name'], unique=False)
        batch_op.create_index('ix_customer_team_phone', ['team_id', 'phone'], unique=False)
        batch_op.create_index('ix_customer_team_email', ['team_id', 'email'], unique=False)
    op.drop_index('ix_audit_event_team_at', table_name='audit_event')
    op.drop_index('ix_audit_event_customer_at', table_name='audit_event')
    op.drop_table('audit_event')
    op.drop_index('ix_customer_search_token_lookup', table_name='customer_search_token')
    op.drop_table('customer_search_token')
