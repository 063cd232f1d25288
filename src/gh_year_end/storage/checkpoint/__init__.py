"""The checkpoint: what has been collected, durable at every page.

Its one invariant: at every instant the checkpoint describes an exact prefix of each unit's
JSONL file (committed offset and line count), so a SIGKILL at any instant followed by a resume
ends with every record exactly once. One job per module:

- :mod:`.model` — the public records (:class:`EndpointProgress`, :class:`RepoProgress`,
  :class:`Cursor`, :class:`Probe`, :class:`CheckpointStatus`);
- :mod:`.state` — the in-memory state and the pure functions that change and read it;
- :mod:`.codec` — the snapshot and journal-line formats (msgspec), validation included;
- :mod:`.migrate` — older snapshot formats → the current one;
- :mod:`.journal` — the append-only journal file and its replay;
- :mod:`.store` — durability behind :class:`CheckpointStore` (:class:`LocalStore`: two files);
- :mod:`.manager` — :class:`CheckpointManager`, the API the collector and the commands use.
"""

from __future__ import annotations

from gh_year_end.storage.checkpoint.codec import FORMAT_VERSION
from gh_year_end.storage.checkpoint.manager import CheckpointManager
from gh_year_end.storage.checkpoint.model import (
    CheckpointStatus,
    Cursor,
    EndpointProgress,
    Probe,
    RepoProgress,
    derive_status,
)
from gh_year_end.storage.checkpoint.state import Refreshed, unit_is_left
from gh_year_end.storage.checkpoint.store import CheckpointStore, LoadedState, LocalStore

__all__ = [
    "FORMAT_VERSION",
    "CheckpointManager",
    "CheckpointStatus",
    "CheckpointStore",
    "Cursor",
    "EndpointProgress",
    "LoadedState",
    "LocalStore",
    "Probe",
    "Refreshed",
    "RepoProgress",
    "derive_status",
    "unit_is_left",
]
