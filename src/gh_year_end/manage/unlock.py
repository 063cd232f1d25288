"""`ghye unlock` as a library function: remove what a crashed run's lock left, say whose it was.

A holder running on this host is never removed (see :func:`~gh_year_end.storage.lock.clear_lock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gh_year_end.config import Config
from gh_year_end.storage.lock import HolderState, LockOwner, clear_lock
from gh_year_end.storage.paths import PathManager


@dataclass(frozen=True)
class UnlockResult:
    """What `ghye unlock` found and did."""

    lock_path: Path
    state: HolderState
    """The holder as found: free, stale, or unknown (removed with --force). A holder alive on
    this host is never removed: that raises LockNotStale instead."""
    owner: LockOwner | None
    """Whose lock it was; None when free, or held by a process that never recorded itself."""
    removed: bool
    """Something was removed: the owner record, and with --force the lock file."""
    was_alive: bool
    """The holder might still have been running: true only when --force removed a holder whose
    liveness cannot be checked from here (another host, or no record)."""
    lock_file_removed: bool = False
    """The lock file itself was removed (--force on an unknown holder)."""


def unlock_target(config: Config, *, force: bool = False) -> UnlockResult:
    """Remove a lock left by a run that is gone.

    A holder running on this host is always refused (LockNotStale), ``force`` or not: removing
    its lock would let a second collect write beside it. ``force`` only removes a holder whose
    liveness cannot be checked from here (another host, or a lock held without a record).
    """
    lock_path = PathManager(config).lock_path
    done = clear_lock(lock_path, force=force)
    return UnlockResult(
        lock_path=lock_path,
        state=done.state,
        owner=done.owner,
        removed=done.record_removed or done.lock_file_removed,
        was_alive=done.state == "unknown",
        lock_file_removed=done.lock_file_removed,
    )
