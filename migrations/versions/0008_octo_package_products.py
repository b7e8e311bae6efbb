"""OCTO: published packages as products

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00

A reseller's reservation of a package (product ``package:<slug>``) holds every session of the
package at once: the package and its first date on the OCTO booking, the prices it was
reserved at, and one row per held session with its places.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('octo_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('package_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('package_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('package_terms', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_octo_bookings_package_id'), ['package_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_octo_bookings_package_id_packages', 'packages', ['package_id'], ['id']
        )

    op.create_table('octo_booking_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('octo_booking_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.CheckConstraint('places >= 0', name='ck_octo_booking_sessions_places'),
    sa.ForeignKeyConstraint(['octo_booking_id'], ['octo_bookings.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('octo_booking_id', 'slot_id', name='uq_octo_booking_sessions_slot')
    )
    with op.batch_alter_table('octo_booking_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_octo_booking_sessions_octo_booking_id'), ['octo_booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_octo_booking_sessions_slot_id'), ['slot_id'], unique=False)


def downgrade():
    with op.batch_alter_table('octo_booking_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_octo_booking_sessions_slot_id'))
        batch_op.drop_index(batch_op.f('ix_octo_booking_sessions_octo_booking_id'))

    op.drop_table('octo_booking_sessions')
    with op.batch_alter_table('octo_bookings', schema=None) as batch_op:
        batch_op.drop_constraint('fk_octo_bookings_package_id_packages', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_octo_bookings_package_id'))
        batch_op.drop_column('package_terms')
        batch_op.drop_column('package_date')
        batch_op.drop_column('package_id')
