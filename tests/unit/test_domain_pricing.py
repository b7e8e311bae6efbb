"""Party composition and per-category prices in integer VND (tourplanner/domain/pricing.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tourplanner.domain.pricing import Party, party_price

PRICES = {"adult": 150_000, "child": 100_000, "senior": 120_000}


def test_party_size_and_dict():
    party = Party(adults=2, children=1, seniors=1)
    assert party.size == 4
    assert party.as_dict() == {"adults": 2, "children": 1, "seniors": 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"adults": -1}, "party.adults must be a whole number of at least 0"),
        ({"children": 1.5}, "party.children must be a whole number"),
        ({"seniors": True}, "party.seniors must be a whole number"),
        ({"adults": "2"}, "party.adults must be a whole number"),
        ({}, "the party needs at least one person"),
        ({"adults": 0, "children": 0}, "the party needs at least one person"),
    ],
)
def test_party_refuses_bad_counts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Party(**kwargs)


def test_party_from_mapping():
    assert Party.from_mapping({"adults": 2, "children": 1}) == Party(2, 1, 0)
    with pytest.raises(ValueError, match="unknown party category 'infants'; use adults, "):
        Party.from_mapping({"adults": 1, "infants": 1})
    with pytest.raises(ValueError, match="at least one person"):
        Party.from_mapping({})


def test_party_is_immutable_and_hashable():
    party = Party(1)
    with pytest.raises(AttributeError):
        party.adults = 3  # type: ignore[misc]
    assert {party: 1}[Party(1)] == 1


@pytest.mark.parametrize(
    ("party", "total"),
    [
        (Party(2, 1, 1), 2 * 150_000 + 100_000 + 120_000),
        (Party(1), 150_000),
        (Party(0, 2), 200_000),
        (Party(0, 0, 3), 360_000),
    ],
)
def test_party_price_sums_each_category(party, total):
    assert party_price(PRICES, party) == total


def test_seniors_without_a_concession_pay_the_adult_price():
    assert party_price({"adult": 100_000, "child": 60_000, "senior": None}, Party(1, 0, 2)) == (
        300_000
    )
    assert party_price({"adult": 100_000}, Party(0, 0, 1)) == 100_000


def test_children_without_a_child_price_cannot_be_priced():
    assert party_price({"adult": 100_000, "child": None}, Party(1, 1)) is None
    assert party_price({"adult": 100_000}, Party(2)) == 200_000  # no children: fine


def test_no_adult_price_means_no_price():
    assert party_price({"adult": None, "child": 50_000}, Party(0, 1)) is None
    assert party_price({}, Party(1)) is None


def test_free_is_a_price():
    assert party_price({"adult": 0, "child": 0, "senior": 0}, Party(2, 2, 2)) == 0


@given(
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.integers(0, 10**7),
)
def test_price_is_an_integer_linear_in_the_party(a, c, s, adult, child, senior):
    if a + c + s == 0:
        return
    total = party_price({"adult": adult, "child": child, "senior": senior}, Party(a, c, s))
    assert isinstance(total, int)
    assert total == a * adult + c * child + s * senior
