"""What SQL a block of a test runs: the tests that count statements and commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tourplanner.extensions import db


@contextmanager
def statements_and_commits() -> Iterator[tuple[list[str], list[int]]]:
    """The SQL statements the block runs on the app's engine, and its commits, as
    ``(statements, commits)``: of this thread only (another app's background maintenance
    thread may commit meanwhile, on the session factory every app shares). The scoped session
    is removed after the block."""
    statements: list[str] = []
    commits: list[int] = []
    mine = threading.get_ident()

    def on_execute(_conn, _cursor, statement, *_args):
        if threading.get_ident() == mine:
            statements.append(statement)

    def on_commit(_session):
        if threading.get_ident() == mine:
            commits.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(db.session, "after_commit", on_commit)
    try:
        yield statements, commits
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(db.session, "after_commit", on_commit)
        db.session.remove()
