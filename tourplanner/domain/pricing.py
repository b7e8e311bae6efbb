"""Party composition and prices per participant category, in integer VND."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = ("adults", "children", "seniors")
#: People per category: more than any workshop holds, and far from integer overflow.
MAX_PER_CATEGORY = 100
PRICE_KEY = {"adults": "adult", "children": "child", "seniors": "senior"}


@dataclass(frozen=True)
class Party:
    """Who is travelling. Children and seniors are counted apart because they pay apart."""

    adults: int = 0
    children: int = 0
    seniors: int = 0

    def __post_init__(self) -> None:
        for name in CATEGORIES:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"party.{name} must be a whole number of at least 0")
            if value > MAX_PER_CATEGORY:
                raise ValueError(f"party.{name} must be at most {MAX_PER_CATEGORY}")
        if self.size == 0:
            raise ValueError("the party needs at least one person")

    @property
    def size(self) -> int:
        return self.adults + self.children + self.seniors

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Party:
        """Build from ``{"adults": 2, "children": 1}``; unknown keys raise ValueError."""
        unknown = set(data) - set(CATEGORIES)
        if unknown:
            raise ValueError(
                f"unknown party category {sorted(unknown)[0]!r}; use {', '.join(CATEGORIES)}"
            )
        return cls(**{k: data.get(k, 0) for k in CATEGORIES})  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in CATEGORIES}


def party_price(prices: Mapping[str, int | None], party: Party) -> int | None:
    """Total VND for ``party`` given per-category prices ``{"adult", "child", "senior"}``.

    A category with no published price falls back to the adult price for seniors only (the
    common practice when no concession is listed); children without a child price cannot be
    priced, so the result is None, as it is when there is no adult price at all.

    >>> party_price({"adult": 100_000, "child": 60_000, "senior": None}, Party(2, 1, 1))
    360000
    """
    adult = prices.get("adult")
    if adult is None:
        return None
    child = prices.get("child")
    senior = prices.get("senior")
    if party.children and child is None:
        return None
    senior_price = adult if senior is None else senior
    return party.adults * adult + party.children * (child or 0) + party.seniors * senior_price
