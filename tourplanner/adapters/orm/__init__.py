"""SQLAlchemy models. Importing this package registers every table with the metadata."""

from tourplanner.adapters.orm.accounts import AuditEvent, User
from tourplanner.adapters.orm.agencies import (
    Agency,
    AgencyClient,
    ApiKey,
    Package,
    PackageDay,
    PackageStop,
)
from tourplanner.adapters.orm.booking import Booking, BookingItem, Notification, Slot
from tourplanner.adapters.orm.catalogue import (
    Experience,
    Landmark,
    Product,
    Village,
)
from tourplanner.adapters.orm.city import CatalogueChange, TourRoute, TourRouteStop
from tourplanner.adapters.orm.photos import Photo
from tourplanner.adapters.orm.plans import Plan

__all__ = [
    "Agency",
    "AgencyClient",
    "ApiKey",
    "AuditEvent",
    "Booking",
    "BookingItem",
    "CatalogueChange",
    "Experience",
    "Landmark",
    "Notification",
    "Package",
    "PackageDay",
    "PackageStop",
    "Photo",
    "Plan",
    "Product",
    "Slot",
    "TourRoute",
    "TourRouteStop",
    "User",
    "Village",
]
