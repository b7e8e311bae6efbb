"""Party composition and prices per participant category, in integer VND."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


# --- package prices ------------------------------------------------------------------------
#
# A package's net price per participant category is what the villages are paid: the sum of
# its priced stops' prices for that category (stops without an adult price, such as free
# visits, add nothing). The fallback rule is party_price's: a senior without a senior price
# pays the adult price; a child cannot be priced when any priced stop lacks a child price.
#
# Rounding (the one rule, integer VND throughout):
# * a percent markup gives retail = net x (10000 + markup_bp) / 10000 rounded UP to the next
#   whole 1,000 VND (exact thousands stay); a fixed retail price is used as the agency sets it
#   (a senior without one pays the adult retail price, as for net prices);
# * margin = retail - net (negative when a fixed price is below the net cost);
# * the platform's commission = commission_bp of retail, rounded half up to the whole VND: per
#   person for the per-category figures, and once on the party's retail total for a party.

PRICE_CATEGORIES: tuple[str, ...] = ("adult", "child", "senior")
RETAIL_STEP_VND = 1_000


def package_net(stop_prices: Sequence[Mapping[str, int | None]]) -> dict[str, int | None]:
    """Net VND per person for each category over the stops' ``{"adult", "child", "senior"}``.

    >>> package_net([{"adult": 100_000, "child": 60_000, "senior": None},
    ...              {"adult": 50_000, "child": None, "senior": 40_000}])
    {'adult': 150000, 'child': None, 'senior': 140000}
    """
    net: dict[str, int | None] = {"adult": 0, "child": 0, "senior": 0}
    for prices in stop_prices:
        adult = prices.get("adult")
        if adult is None:
            continue  # not a priced stop
        child, senior = prices.get("child"), prices.get("senior")
        net["adult"] = _add(net["adult"], adult)
        net["senior"] = _add(net["senior"], adult if senior is None else senior)
        net["child"] = None if child is None else _add(net["child"], child)
    return net


def _add(total: int | None, price: int) -> int | None:
    return None if total is None else total + price


def round_up_retail(amount: int) -> int:
    """Up to the next whole RETAIL_STEP_VND (1,000 VND); an exact multiple stays."""
    return -(-amount // RETAIL_STEP_VND) * RETAIL_STEP_VND


def share_bp(amount: int, bp: int) -> int:
    """``bp`` basis points of ``amount``, rounded half up to the whole VND."""
    return (amount * bp + 5_000) // 10_000


def retail_price(
    net: int | None, kind: str, markup_bp: int, fixed: int | None, fixed_adult: int | None = None
) -> int | None:
    """Retail VND per person of one category; None when that category cannot be sold."""
    if net is None:
        return None
    if kind == "fixed":
        return fixed if fixed is not None else fixed_adult
    # Whole VND up first, then up to the thousand: the same as one ceiling to the thousand.
    return round_up_retail(-(-net * (10_000 + markup_bp) // 10_000))


@dataclass(frozen=True)
class PackagePrices:
    """Per person and category (``adult``, ``child``, ``senior``): net, retail, margin and
    commission in VND; None for a category the package cannot be sold to."""

    net: dict[str, int | None]
    retail: dict[str, int | None]
    margin: dict[str, int | None]
    commission: dict[str, int | None]
    commission_bp: int

    def party_totals(self, party: Party) -> dict[str, int] | None:
        """Totals for ``party``; None when a category it has cannot be priced."""
        counts = {"adult": party.adults, "child": party.children, "senior": party.seniors}
        net = retail = 0
        for key, count in counts.items():
            if not count:
                continue
            unit_net, unit_retail = self.net[key], self.retail[key]
            if unit_net is None or unit_retail is None:
                return None
            net += count * unit_net
            retail += count * unit_retail
        commission = share_bp(retail, self.commission_bp)
        return {
            "net_vnd": net,
            "retail_vnd": retail,
            "margin_vnd": retail - net,
            "commission_vnd": commission,
        }


def package_prices(
    stop_prices: Sequence[Mapping[str, int | None]],
    *,
    markup_kind: str,
    markup_bp: int,
    retail_prices: Mapping[str, int | None] | None,
    commission_bp: int,
) -> PackagePrices:
    """Net, retail, margin and commission per category (rounding: see above)."""
    net = package_net(stop_prices)
    fixed = retail_prices or {}
    retail = {
        key: retail_price(
            net[key],
            markup_kind,
            markup_bp,
            fixed.get(key),
            fixed.get("adult") if key == "senior" else None,
        )
        for key in PRICE_CATEGORIES
    }
    margin = {
        key: None if retail[key] is None or net[key] is None else retail[key] - net[key]
        for key in PRICE_CATEGORIES
    }
    commission = {
        key: None if retail[key] is None else share_bp(retail[key], commission_bp)
        for key in PRICE_CATEGORIES
    }
    return PackagePrices(net, retail, margin, commission, commission_bp)
