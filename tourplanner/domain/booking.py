"""Booking rules: the state machine, reference codes, hold expiry and the cancellation policy.

Each booking item (one slot at one village) has its own state, because each village answers
for its own items::

    pending ──► confirmed ──► cancelled | completed | no_show
       │
       └──► declined | expired

Every other transition is refused with a 409 naming the current state. The booking's status is
a summary of its items (:func:`summary_status`). Plain Python: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from tourplanner.domain.errors import Conflict

PENDING = "pending"
CONFIRMED = "confirmed"
DECLINED = "declined"
EXPIRED = "expired"
CANCELLED = "cancelled"
COMPLETED = "completed"
NO_SHOW = "no_show"

STATES: tuple[str, ...] = (PENDING, CONFIRMED, DECLINED, EXPIRED, CANCELLED, COMPLETED, NO_SHOW)
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({CONFIRMED, DECLINED, EXPIRED}),
    CONFIRMED: frozenset({CANCELLED, COMPLETED, NO_SHOW}),
}
#: States whose places go back to the slot.
RELEASES_CAPACITY = frozenset({DECLINED, EXPIRED, CANCELLED})
#: Summary precedence: the first state present among the items is the booking's status.
SUMMARY_ORDER: tuple[str, ...] = (
    PENDING,
    CONFIRMED,
    COMPLETED,
    NO_SHOW,
    CANCELLED,
    DECLINED,
    EXPIRED,
)

#: Crockford's base 32 without the look-alikes I, L, O, U: easy to read out on the phone.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition(current: str, target: str) -> str:
    """Return ``target`` if the move is allowed; otherwise raise Conflict naming ``current``."""
    if not can_transition(current, target):
        raise Conflict(
            f"this booking is {current}; it cannot become {target}",
            code="invalid_transition",
            current_state=current,
            requested=target,
        )
    return target


def summary_status(states: Iterable[str]) -> str:
    """The booking's status from its items' states (pending while any village has to answer)."""
    present = set(states)
    for state in SUMMARY_ORDER:
        if state in present:
            return state
    raise ValueError("a booking has at least one item")


def new_reference(randbelow=secrets.randbelow) -> str:
    """A short reference such as ``TP-7K3Q9M`` (32⁶ ≈ 10⁹ codes; uniqueness checked by the db)."""
    code = "".join(REFERENCE_ALPHABET[randbelow(32)] for _ in range(REFERENCE_LENGTH))
    return f"TP-{code}"


def normalise_reference(text: str) -> str:
    """Accept ``tp-7k3q9m`` or ``TP7K3Q9M`` and the look-alikes O→0, I/L→1."""
    raw = text.strip().upper().replace("-", "").replace(" ", "")
    raw = raw.removeprefix("TP").translate(str.maketrans("OIL", "011"))
    return f"TP-{raw}"


def hold_expires_at(created: datetime, slot_start: datetime, hold_hours: int) -> datetime:
    """A hold lasts ``hold_hours`` but never past the session's start."""
    return min(created + timedelta(hours=hold_hours), slot_start)


def cancellation_fee(start: datetime, now: datetime, free_hours: int, total_vnd: int) -> int:
    """Free until ``free_hours`` before the start; afterwards the item's full price."""
    return 0 if start - now >= timedelta(hours=free_hours) else total_vnd


def check_cancellable(state: str, start: datetime, now: datetime) -> None:
    """A confirmed item can be cancelled until its session starts."""
    transition(state, CANCELLED)
    _check_not_started(state, start, now)


def check_withdrawable(state: str, start: datetime, now: datetime) -> None:
    """A request the village has not answered yet can be withdrawn until its session starts."""
    if state != PENDING:
        raise Conflict(
            f"this request is {state}; only a request still waiting can be withdrawn",
            code="invalid_transition",
            current_state=state,
            requested="withdrawn",
        )
    _check_not_started(state, start, now)


def _check_not_started(state: str, start: datetime, now: datetime) -> None:
    if now >= start:
        raise Conflict(
            "the session has already started",
            code="already_started",
            current_state=state,
            start=start.isoformat(),
        )
