"""Training machinery behind `Model`: compile containers, data adapters and the loops."""
