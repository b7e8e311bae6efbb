"""Indexes for the per-contact hold check

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:20:00

Every booking counts the places its contact already holds, matched by e-mail in any case or
by phone number without separators (services/booking.py places_held_by_contact). Without an
index on those two expressions the check scans the whole bookings table, a cost that grows
with every booking ever made. The expressions are exactly the query's, or no planner uses
them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _digits(column: str) -> str:
    for mark in (" ", ".", "-", "(", ")", "+"):
        column = f"replace({column}, '{mark}', '')"
    return column


def upgrade():
    op.create_index(
        "ix_bookings_contact_email_lower", "bookings", [sa.text("lower(contact_email)")]
    )
    op.create_index(
        "ix_bookings_contact_phone_digits", "bookings", [sa.text(_digits("contact_phone"))]
    )


def downgrade():
    op.drop_index("ix_bookings_contact_phone_digits", table_name="bookings")
    op.drop_index("ix_bookings_contact_email_lower", table_name="bookings")
