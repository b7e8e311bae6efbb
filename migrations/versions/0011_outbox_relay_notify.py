"""Wake the outbox relay when notification rows commit (PostgreSQL only)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:40:00

Every statement that inserts into ``notifications`` sends a NOTIFY on the channel
``tourplanner_outbox``; PostgreSQL delivers it when the transaction commits, and folds the
notifications of one transaction into one. The relay in the beat process (tasks/relay.py)
listens on it and hands the new rows to the workers, so the request that wrote them no longer
talks to the broker. SQLite has no NOTIFY: the embedded set-up delivers in-process.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION tourplanner_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('tourplanner_outbox', '');
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER notifications_wake_relay AFTER INSERT ON notifications "
        "FOR EACH STATEMENT EXECUTE FUNCTION tourplanner_outbox_notify()"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS notifications_wake_relay ON notifications")
    op.execute("DROP FUNCTION IF EXISTS tourplanner_outbox_notify()")
