"""tour routes and catalogue changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:30:00

The city's curated tour routes (ordered village/experience stops, draft until published), the
log of catalogue edits made in pages (author, source, approval), and the village facts the
plan's targets count (recognition year, craft at risk, restored year); products record when
they were digitised.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('catalogue_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalogue_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_changes_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_changes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_changes_entity'), ['entity'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_changes_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_changes_status'), ['status'], unique=False)

    op.create_table('tour_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('name_vi', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('theme_vi', sa.String(length=200), nullable=True),
    sa.Column('theme_en', sa.String(length=200), nullable=True),
    sa.Column('summary_vi', sa.Text(), nullable=True),
    sa.Column('summary_en', sa.Text(), nullable=True),
    sa.Column('season_vi', sa.Text(), nullable=True),
    sa.Column('season_en', sa.Text(), nullable=True),
    sa.Column('length', sa.String(length=20), nullable=False),
    sa.Column('travel_mode', sa.String(length=20), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('source_plan_id', sa.String(length=32), nullable=True),
    sa.Column('source_package_id', sa.Integer(), nullable=True),
    sa.Column('is_sample', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['source_package_id'], ['packages.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tour_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tour_routes_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tour_routes_slug'), ['slug'], unique=True)
        batch_op.create_index(batch_op.f('ix_tour_routes_status'), ['status'], unique=False)

    op.create_table('tour_route_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('experience_id', sa.Integer(), nullable=True),
    sa.Column('note_vi', sa.Text(), nullable=True),
    sa.Column('note_en', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'], ),
    sa.ForeignKeyConstraint(['route_id'], ['tour_routes.id'], ),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tour_route_stops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tour_route_stops_route_id'), ['route_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tour_route_stops_village_id'), ['village_id'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True),
                                      server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False))

    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recognised_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('craft_at_risk', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('craft_restored_year', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('created_at')

    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_column('craft_restored_year')
        batch_op.drop_column('craft_at_risk')
        batch_op.drop_column('recognised_year')

    with op.batch_alter_table('tour_route_stops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tour_route_stops_village_id'))
        batch_op.drop_index(batch_op.f('ix_tour_route_stops_route_id'))

    op.drop_table('tour_route_stops')
    with op.batch_alter_table('tour_routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tour_routes_status'))
        batch_op.drop_index(batch_op.f('ix_tour_routes_slug'))
        batch_op.drop_index(batch_op.f('ix_tour_routes_published_at'))

    op.drop_table('tour_routes')
    with op.batch_alter_table('catalogue_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_changes_status'))
        batch_op.drop_index(batch_op.f('ix_catalogue_changes_entity_id'))
        batch_op.drop_index(batch_op.f('ix_catalogue_changes_entity'))
        batch_op.drop_index(batch_op.f('ix_catalogue_changes_created_at'))
        batch_op.drop_index(batch_op.f('ix_catalogue_changes_author_id'))

    op.drop_table('catalogue_changes')
