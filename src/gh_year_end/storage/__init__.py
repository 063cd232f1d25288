"""Storage: checkpoint, run lock, JSONL writers, manifest and the data layout."""
