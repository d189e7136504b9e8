"""One applier per op, behind a registry keyed by op."""
