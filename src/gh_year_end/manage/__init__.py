"""Reading and mending a collected dataset: verify (status, reset and unlock join it later)."""
