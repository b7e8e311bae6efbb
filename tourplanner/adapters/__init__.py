"""Adapters to the outside world: ORM models, travel times, notifiers, the task queue."""
