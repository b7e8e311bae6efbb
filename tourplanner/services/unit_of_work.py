"""A unit of work over the Flask-SQLAlchemy session: commit on success, roll back otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tourplanner.extensions import db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Yield the session; commit when the block ends normally, roll back on any exception."""
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
