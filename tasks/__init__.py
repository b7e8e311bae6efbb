"""Celery tasks: thin wrappers that call services by id. The worker entry is ``tasks.worker``."""
