"""A new booking written in one PostgreSQL statement: its row, its items' rows, its outbox
rows and, for a booking of one slot, the conditional capacity UPDATE.

Each of those was a statement of its own: four round trips and four passes through
SQLAlchemy's execution, together a fifth of the web's CPU per booking (docs/performance.md,
sixth pass). One data-modifying ``WITH`` does the same work in one. Every id but the outbox
rows' is known before the statement (drawn from the tables' sequences by the booking's slot
query), so no sub-statement needs another's ``RETURNING``.

The rows go as three JSON documents that ``jsonb_populate_recordset`` turns into rows of the
tables' own types: the statement's text is the same for every booking (a parameter per
column made a text too long for psycopg's cache of parsed queries, parsed again each time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import Table, TextClause, text

from tourplanner.adapters.orm.booking import Booking, BookingItem, Notification

_BOOKINGS: Table = Booking.__table__  # type: ignore[assignment]
_ITEMS: Table = BookingItem.__table__  # type: ignore[assignment]
_ROWS: Table = Notification.__table__  # type: ignore[assignment]
#: The capacity UPDATE of ``take`` (:mod:`tourplanner.services.booking`), as the first
#: sub-statement: the rows are inserted only if it took the places, so a full slot writes
#: nothing.
_TOOK = (
    "took AS (UPDATE slots SET taken = taken + :places "
    "WHERE id = :slot_id AND taken + :places <= capacity RETURNING id), "
)


def _insert(name: str, table: Table, parameter: str, where: str) -> str:
    """``name AS (INSERT INTO table ... SELECT ... FROM jsonb_populate_recordset(...))``."""
    # The outbox rows' ids come from their sequence (an explicit NULL would not), and only
    # theirs are answered.
    outbox = table is _ROWS
    columns = ", ".join(f'"{c.name}"' for c in table.columns if not (outbox and c.key == "id"))
    rows = f"jsonb_populate_recordset(NULL::{table.name}, CAST(:{parameter} AS jsonb))"
    returning = " RETURNING id, channel" if outbox else ""
    return (
        f"{name} AS (INSERT INTO {table.name} ({columns}) "
        f"SELECT {columns} FROM {rows}{where}{returning})"
    )


@cache
def statement(take: bool) -> TextClause:
    """The one statement of a booking: parameters ``booking``, ``items`` and ``rows`` (see
    :func:`parameters`); with ``take``, ``slot_id`` and ``places`` take the one slot's
    places first. Answers the outbox rows' ``(id, channel)``: none when the slot was full (a
    booking always has the tourist's row)."""
    where = " WHERE EXISTS (SELECT FROM took)" if take else ""
    ctes = ", ".join(
        _insert(name, table, parameter, where)
        for name, table, parameter in (
            ("new_booking", _BOOKINGS, "booking"),
            ("new_items", _ITEMS, "items"),
            ("new_rows", _ROWS, "rows"),
        )
    )
    sql = f"WITH {_TOOK if take else ''}{ctes} SELECT id, channel FROM new_rows ORDER BY id"
    return text(sql)


@cache
def _fields(table: Table) -> tuple[tuple[str, str, Callable[[], Any] | None], ...]:
    """``(attribute key, column name, default)`` of every column of ``table`` but its id, read
    once: ``default`` makes the model's Python default, as a flush would apply it (None: the
    column has none)."""
    fields = []
    for column in table.columns:
        if column.key == "id":
            continue
        default = column.default
        make = None
        if default is not None and default.is_scalar:
            make = partial(_same, default.arg)  # type: ignore[attr-defined]
        elif default is not None and default.is_callable:
            # Wrapped by SQLAlchemy to take the execution context; ours ignore it.
            make = partial(default.arg, None)  # type: ignore[attr-defined]
        fields.append((column.key, column.name, make))
    return tuple(fields)


def _same(value: Any) -> Any:
    return value


def column_values(table: Table, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of a new row of ``table`` but its id, by attribute key, from ``given``
    (None where it has no value; the models' Python defaults where they have one)."""
    return {key: _given(given, key, make) for key, _, make in _fields(table)}


def _by_name(table: Table, given: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`column_values` keyed by column name (what ``jsonb_populate_recordset`` matches)."""
    return {name: _given(given, key, make) for key, name, make in _fields(table)}


def _given(given: Mapping[str, Any], key: str, make: Callable[[], Any] | None) -> Any:
    value = given.get(key)
    return make() if value is None and make is not None else value


def _stored_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # as AwareDateTime refuses them
            raise ValueError("naive datetime: times must be timezone-aware")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored as JSON")


def _document(rows: Any) -> str:
    return json.dumps(rows, default=_stored_value, ensure_ascii=False)


def parameters(booking: Any, items: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> dict:
    """The values of :func:`statement`: every column of the new ``booking`` and its ``items``
    (objects with their ids given) and of the outbox ``rows``, as :func:`column_values`
    completes them, each keyed by column name."""
    return {
        "booking": _document([{**_by_name(_BOOKINGS, booking.__dict__), "id": booking.id}]),
        "items": _document([{**_by_name(_ITEMS, i.__dict__), "id": i.id} for i in items]),
        "rows": _document([_by_name(_ROWS, row) for row in rows]),
    }
