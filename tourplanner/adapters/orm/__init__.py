"""SQLAlchemy models. Importing this package registers every table with the metadata."""

from tourplanner.adapters.orm.catalogue import (
    Experience,
    Landmark,
    Product,
    Village,
)
from tourplanner.adapters.orm.plans import Plan

__all__ = ["Experience", "Landmark", "Plan", "Product", "Village"]
