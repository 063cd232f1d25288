"""Reading and mending a collected dataset, and sizing one before it is collected: plan, status,
verify, reset and unlock, each a library function the CLI calls."""
