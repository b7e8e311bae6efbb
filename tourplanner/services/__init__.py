"""Use cases. Services take primitives, own the transaction and return plain data."""
