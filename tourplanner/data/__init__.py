"""Package data: the factual Hanoi craft-village dataset (with its README) and the demo set."""
