"""Domain logic in plain Python: no Flask, SQLAlchemy, Celery or geopy imports."""
