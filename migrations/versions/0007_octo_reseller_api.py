"""OCTO reseller API

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00

Reservations and bookings made by resellers through /octo (the reseller's side: uuid, unit
items, contact, references, hold expiry, test mode; the village booking it became once
confirmed), and the webhooks agencies register for their booking updates.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('octo_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('test_mode', sa.Boolean(), nullable=False),
    sa.Column('experience_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('unit_items', sa.JSON(), nullable=False),
    sa.Column('contact', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('reseller_reference', sa.String(length=100), nullable=True),
    sa.Column('supplier_reference', sa.String(length=16), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancellation_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('places >= 0', name='ck_octo_bookings_places'),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id')
    )
    with op.batch_alter_table('octo_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octo_bookings_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_bookings_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_bookings_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_bookings_reseller_reference'), ['reseller_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_bookings_slot_id'), ['slot_id'], unique=False)
        batch_op.create_index('ix_octo_bookings_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_bookings_supplier_reference'), ['supplier_reference'], unique=True)
        batch_op.create_index(batch_op.f('ix_octo_bookings_uuid'), ['uuid'], unique=True)

    op.create_table('octo_webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=True),
    sa.Column('test_mode', sa.Boolean(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('octo_webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octo_webhooks_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_webhooks_uuid'), ['uuid'], unique=True)


def downgrade():
    with op.batch_alter_table('octo_webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_octo_webhooks_uuid'))
        batch_op.drop_index(batch_op.f('ix_octo_webhooks_agency_id'))

    op.drop_table('octo_webhooks')
    with op.batch_alter_table('octo_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_octo_bookings_uuid'))
        batch_op.drop_index(batch_op.f('ix_octo_bookings_supplier_reference'))
        batch_op.drop_index('ix_octo_bookings_status_expires_at')
        batch_op.drop_index(batch_op.f('ix_octo_bookings_slot_id'))
        batch_op.drop_index(batch_op.f('ix_octo_bookings_reseller_reference'))
        batch_op.drop_index(batch_op.f('ix_octo_bookings_created_at'))
        batch_op.drop_index(batch_op.f('ix_octo_bookings_api_key_id'))
        batch_op.drop_index(batch_op.f('ix_octo_bookings_agency_id'))

    op.drop_table('octo_bookings')
