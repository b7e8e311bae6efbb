"""agencies and packages

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:10:00

Travel agencies with their clients and hashed API keys; multi-day packages (days with a start
point and hours, ordered stops with their planned start); users may belong to an agency;
bookings record their source, agency, client, package and date, net total and commission;
experiences get the instant-confirmation switch.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('licence_number', sa.String(length=60), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('commission_bp', sa.Integer(), server_default='1000', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('is_sample', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agencies_slug'), ['slug'], unique=True)

    op.create_table('agency_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agency_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_clients_agency_id'), ['agency_id'], unique=False)

    op.create_table('packages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('name_vi', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description_vi', sa.Text(), nullable=True),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('included_vi', sa.Text(), nullable=True),
    sa.Column('included_en', sa.Text(), nullable=True),
    sa.Column('travel_mode', sa.String(length=20), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('party', sa.JSON(), nullable=False),
    sa.Column('markup_kind', sa.String(length=10), nullable=False),
    sa.Column('markup_bp', sa.Integer(), nullable=False),
    sa.Column('retail_prices', sa.JSON(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_packages_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_packages_slug'), ['slug'], unique=True)
        batch_op.create_index(batch_op.f('ix_packages_status'), ['status'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('test_mode', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_keys_key_hash'), ['key_hash'], unique=True)

    op.create_table('package_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('start_label', sa.String(length=200), nullable=False),
    sa.Column('start_landmark', sa.String(length=80), nullable=True),
    sa.Column('start_lat', sa.Float(), nullable=False),
    sa.Column('start_lon', sa.Float(), nullable=False),
    sa.Column('day_start', sa.String(length=5), nullable=False),
    sa.Column('day_end', sa.String(length=5), nullable=False),
    sa.Column('lunch', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('package_id', 'number', name='uq_package_days_number')
    )
    with op.batch_alter_table('package_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_days_package_id'), ['package_id'], unique=False)

    op.create_table('package_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('experience_id', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['day_id'], ['package_days.id'], ),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('package_stops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_stops_day_id'), ['day_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_stops_experience_id'), ['experience_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='site', nullable=False))
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('package_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('package_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('net_total_vnd', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('commission_vnd', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_package_id'), ['package_id'], unique=False)
        batch_op.create_foreign_key('fk_bookings_agency_id', 'agencies', ['agency_id'], ['id'])
        batch_op.create_foreign_key('fk_bookings_client_id', 'agency_clients', ['client_id'], ['id'])
        batch_op.create_foreign_key('fk_bookings_package_id', 'packages', ['package_id'], ['id'])

    with op.batch_alter_table('experiences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instant_confirmation', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_agency_id'), ['agency_id'], unique=False)
        batch_op.create_foreign_key('fk_users_agency_id', 'agencies', ['agency_id'], ['id'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_agency_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_agency_id'))
        batch_op.drop_column('agency_id')

    with op.batch_alter_table('experiences', schema=None) as batch_op:
        batch_op.drop_column('instant_confirmation')

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint('fk_bookings_package_id', type_='foreignkey')
        batch_op.drop_constraint('fk_bookings_client_id', type_='foreignkey')
        batch_op.drop_constraint('fk_bookings_agency_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_package_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_agency_id'))
        batch_op.drop_column('notes')
        batch_op.drop_column('commission_vnd')
        batch_op.drop_column('net_total_vnd')
        batch_op.drop_column('package_date')
        batch_op.drop_column('package_id')
        batch_op.drop_column('client_id')
        batch_op.drop_column('agency_id')
        batch_op.drop_column('source')

    with op.batch_alter_table('package_stops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_stops_experience_id'))
        batch_op.drop_index(batch_op.f('ix_package_stops_day_id'))

    op.drop_table('package_stops')
    with op.batch_alter_table('package_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_days_package_id'))

    op.drop_table('package_days')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_key_hash'))
        batch_op.drop_index(batch_op.f('ix_api_keys_agency_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packages_status'))
        batch_op.drop_index(batch_op.f('ix_packages_slug'))
        batch_op.drop_index(batch_op.f('ix_packages_agency_id'))

    op.drop_table('packages')
    with op.batch_alter_table('agency_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_clients_agency_id'))

    op.drop_table('agency_clients')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agencies_slug'))

    op.drop_table('agencies')
