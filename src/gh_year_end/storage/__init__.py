"""Storage: checkpoint, run lock, JSONL writers, manifest and the data layout."""

from __future__ import annotations

from gh_year_end.storage.checkpoint import (
    CheckpointManager,
    CheckpointStatus,
    EndpointProgress,
    RepoProgress,
)
from gh_year_end.storage.jsonl import AsyncJSONLWriter, JSONLWriter

__all__ = [
    "AsyncJSONLWriter",
    "CheckpointManager",
    "CheckpointStatus",
    "EndpointProgress",
    "JSONLWriter",
    "RepoProgress",
]
