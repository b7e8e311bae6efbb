"""products and data 1.2: villages without a position, 2025 communes, OCOP products, sales

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00

Villages: lat/lon become nullable (a village whose position is not known is listed, never
mapped), the 2025 commune with its note and sources, the recognition detail, notable products,
display space, sales points and e-commerce links. Products: the village becomes optional (an
OCOP row may name a place that is not in the catalogue), producer, descriptions, OCOP year,
level, status and decision, where to buy, the review status of staff entries, and a list of
sources instead of one source (existing values are kept as the first source).
"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NOW = sa.text('CURRENT_TIMESTAMP')


def upgrade():
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.alter_column('lat', existing_type=sa.Float(), nullable=True)
        batch_op.alter_column('lon', existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column('commune_2025', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('commune_2025_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('commune_2025_sources', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('recognition_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('notable_products', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('display_space', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('sales_points', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('shop_links', sa.JSON(), nullable=False,
                                      server_default='[]'))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.alter_column('village_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('category', existing_type=sa.String(length=40), nullable=True)
        batch_op.add_column(sa.Column('village_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('description_vi', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('description_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('producer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('ocop_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ocop_level', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('ocop_status', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('ocop_decision', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('craft_village', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('where_to_buy', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sources', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('review_status', sa.String(length=20), nullable=False,
                                      server_default='published'))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                      server_default=NOW))
        batch_op.create_index(batch_op.f('ix_products_ocop_stars'), ['ocop_stars'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_review_status'), ['review_status'],
                              unique=False)

    # The one source of each existing product becomes its first source.
    connection = op.get_bind()
    products = sa.table('products', sa.column('id', sa.Integer), sa.column('source', sa.Text),
                        sa.column('sources', sa.JSON))
    for row in connection.execute(sa.select(products.c.id, products.c.source)).all():
        if row.source:
            connection.execute(products.update().where(products.c.id == row.id)
                               .values(sources=[row.source]))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('source')


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))

    connection = op.get_bind()
    products = sa.table('products', sa.column('id', sa.Integer), sa.column('source', sa.Text),
                        sa.column('sources', sa.JSON), sa.column('village_id', sa.Integer))
    for row in connection.execute(sa.select(products.c.id, products.c.sources)).all():
        sources = row.sources if isinstance(row.sources, list) else json.loads(row.sources or '[]')
        if sources:
            connection.execute(products.update().where(products.c.id == row.id)
                               .values(source=sources[0]))
    # Rows the old schema cannot hold: products without a village, villages without a position.
    connection.execute(products.delete().where(products.c.village_id.is_(None)))
    villages = sa.table('villages', sa.column('id', sa.Integer), sa.column('lat', sa.Float))
    unplaced = sa.select(villages.c.id).where(villages.c.lat.is_(None))
    for table in ('products', 'experiences'):
        child = sa.table(table, sa.column('village_id', sa.Integer))
        connection.execute(child.delete().where(child.c.village_id.in_(unplaced)))
    connection.execute(villages.delete().where(villages.c.lat.is_(None)))
    connection.execute(sa.text("UPDATE products SET category = 'other' WHERE category IS NULL"))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_review_status'))
        batch_op.drop_index(batch_op.f('ix_products_ocop_stars'))
        for name in ('updated_at', 'review_note', 'review_status', 'sources', 'notes',
                     'where_to_buy', 'craft_village', 'ocop_decision', 'ocop_status',
                     'ocop_level', 'ocop_year', 'producer', 'description_en', 'description_vi',
                     'village_name'):
            batch_op.drop_column(name)
        batch_op.alter_column('category', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('village_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('villages', schema=None) as batch_op:
        for name in ('shop_links', 'sales_points', 'display_space', 'notable_products',
                     'recognition_detail', 'commune_2025_sources', 'commune_2025_note',
                     'commune_2025'):
            batch_op.drop_column(name)
        batch_op.alter_column('lon', existing_type=sa.Float(), nullable=False)
        batch_op.alter_column('lat', existing_type=sa.Float(), nullable=False)
