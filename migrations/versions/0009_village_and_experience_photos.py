"""Photos of villages and experiences, with credit, licence and alt text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:10:00

One row per photo; its bytes are in the media store (collection "photos"). A photo without a
credit or a licence is kept but not shown to the public.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('experience_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('renditions', sa.JSON(), nullable=False),
    sa.Column('credit', sa.String(length=200), nullable=True),
    sa.Column('licence', sa.String(length=40), nullable=True),
    sa.Column('alt_vi', sa.Text(), nullable=True),
    sa.Column('alt_en', sa.Text(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_experience_id'), ['experience_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photos_village_id'), ['village_id'], unique=False)


def downgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photos_village_id'))
        batch_op.drop_index(batch_op.f('ix_photos_experience_id'))

    op.drop_table('photos')
