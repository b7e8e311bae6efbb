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
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
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


def column_values(table: Table, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of a new row of ``table`` but its id, from ``given`` (None where it has no
    value; the models' Python defaults where they have one, as a flush would apply them)."""
    values = {}
    for column in table.columns:
        if column.key == "id":
            continue
        value = given.get(column.key)
        default = column.default
        if value is None and default is not None and default.is_scalar:
            value = default.arg
        elif value is None and default is not None and default.is_callable:
            value = default.arg(None)  # wrapped to take the execution context; ours ignore it
        values[column.key] = value
    return values


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
    completes them, each keyed by column name (what ``jsonb_populate_recordset`` matches)."""
    return {
        "booking": _document([_named(_BOOKINGS, _values(_BOOKINGS, booking))]),
        "items": _document([_named(_ITEMS, _values(_ITEMS, item)) for item in items]),
        "rows": _document([_named(_ROWS, column_values(_ROWS, row)) for row in rows]),
    }


def _values(table: Table, obj: Any) -> dict[str, Any]:
    return {**column_values(table, obj.__dict__), "id": obj.id}


def _named(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    return {c.name: values[c.key] for c in table.columns if c.key in values}
