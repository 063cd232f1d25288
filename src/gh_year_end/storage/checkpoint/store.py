"""Where a checkpoint is kept durably, behind one small interface.

A :class:`CheckpointStore` holds a snapshot and a journal of the changes since it. The manager
only ever asks it to load, to append one change (durable when the call returns), to fold (a new
snapshot, atomically, then an empty journal), to start afresh, and to delete — so a store that
several machines share (a database) can replace :class:`LocalStore`, the two files beside each
other on local disk:

- ``checkpoint.json`` — the snapshot, replaced atomically (temp → fsync → rename → fsync folder);
- ``checkpoint.journal`` — one line per change since that snapshot.

Folding writes the snapshot *then* empties the journal, so a crash between the two leaves lines
the snapshot already holds, which replay skips by their seq. Nothing damaged is ever deleted or
overwritten to "repair" it: it is :class:`~gh_year_end.errors.CheckpointCorrupt`, naming the file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from gh_year_end.errors import CheckpointCorrupt, CheckpointVersionUnsupported, NoCheckpoint
from gh_year_end.storage.atomic import (
    TEMP_SUFFIX,
    atomic_write_bytes,
    fsync_dir,
    storage_error,
    temp_prefix,
)
from gh_year_end.storage.checkpoint import codec, migrate
from gh_year_end.storage.checkpoint.journal import Journal, JournalDamaged, replay
from gh_year_end.storage.checkpoint.state import CheckpointState, JournalEntry

log = logging.getLogger(__name__)

JOURNAL_SUFFIX: Final = ".journal"


@dataclass(frozen=True)
class LoadedState:
    """What :meth:`CheckpointStore.load` hands back."""

    state: CheckpointState
    """Snapshot + every journal entry after it (``state.seq`` is the last one's)."""
    snapshot_seq: int
    """The seq the stored snapshot holds (below ``state.seq`` while the journal holds more)."""
    pending: int
    """Journal entries not yet folded into the snapshot."""


class CheckpointStore(Protocol):
    """Durable storage of one checkpoint: a snapshot and a journal of changes since it.

    Calls are serialised by the caller (one at a time per store). Errors: NoCheckpoint,
    CheckpointCorrupt and CheckpointVersionUnsupported from :meth:`load`; StorageError from
    any call that writes.
    """

    def exists(self) -> bool:
        """Whether a snapshot is stored."""
        ...

    def load(self) -> LoadedState:
        """The snapshot with the journal replayed onto it. A writable store also tidies up
        what a crash may have left (a torn last journal entry, a half-written snapshot) and
        upgrades an older format, durably, before returning."""
        ...

    def append(self, entry: JournalEntry) -> None:
        """Record one change after the others: durable when this returns; on failure nothing
        of it is kept."""
        ...

    def fold(self, state: CheckpointState) -> None:
        """Store ``state`` as the snapshot, atomically, then empty the journal."""
        ...

    def create(self, state: CheckpointState) -> None:
        """Start afresh with ``state``: the old journal is emptied first, so none of its
        entries can ever be replayed onto the new snapshot."""
        ...

    def delete(self) -> None:
        """Remove the snapshot and the journal (nothing stored: nothing to do)."""
        ...

    def close(self) -> None:
        """Release what the store holds open (it reopens on the next write)."""
        ...


class LocalStore:
    """checkpoint.json + checkpoint.journal in one folder.

    ``read_only``: :meth:`load` touches no file (no cut, no upgrade, no cleanup) and reads both
    files again if a writer folded in between; the writing methods are not to be called.
    """

    def __init__(
        self,
        checkpoint_path: Path,
        journal_path: Path | None = None,
        *,
        clock: Callable[[], datetime],
        read_only: bool = False,
    ) -> None:
        """Nothing is read or written until a method is called."""
        self.checkpoint_path = checkpoint_path
        self.journal_path = (
            journal_path
            if journal_path is not None
            else checkpoint_path.with_suffix(JOURNAL_SUFFIX)
        )
        self.read_only = read_only
        self._clock = clock
        self._journal = Journal(self.journal_path)

    def exists(self) -> bool:
        """Whether checkpoint.json exists."""
        return self.checkpoint_path.is_file()

    def load(self) -> LoadedState:
        """checkpoint.json + the journal replayed (see :class:`CheckpointStore`)."""
        raw, journal = self._read_files()
        try:
            state, upgraded_from = migrate.read_snapshot(raw, self._clock)
        except codec.FormatError as exc:
            raise self._corrupt(exc.detail) from None
        except codec.NewerFormat as exc:
            raise CheckpointVersionUnsupported(
                f"checkpoint {self.checkpoint_path} was written by a newer ghye "
                f"(format {exc.version}); upgrade ghye or run `ghye reset`"
            ) from None
        snapshot_seq = state.seq
        try:
            replayed = replay(journal, state)
        except JournalDamaged as exc:
            raise CheckpointCorrupt(
                f"checkpoint journal {self.journal_path} is damaged at line {exc.line_no} "
                f"({exc.detail}) — move it aside to resume from the last snapshot (pages "
                "committed since are fetched again), or restore it from a backup"
            ) from None
        loaded = LoadedState(state, snapshot_seq, replayed.applied)
        if self.read_only:
            return loaded
        self._journal.reopened()
        self._cleanup_temps()
        if upgraded_from is not None:
            backup = self.checkpoint_path.with_name(
                f"{self.checkpoint_path.name}.v{upgraded_from}.bak"
            )
            atomic_write_bytes(backup, raw)
            log.info("checkpoint upgraded from format %s (kept as %s)", upgraded_from, backup)
            state.meta.updated_at = self._clock()
            self.fold(state)
            return LoadedState(state, state.seq, 0)
        if replayed.torn or (replayed.applied == 0 and journal):
            # A torn line left in place would sit in front of the next commit's line.
            self._journal.truncate(replayed.good_end if replayed.applied else 0)
        return loaded

    def append(self, entry: JournalEntry) -> None:
        """One journal line, fdatasynced (see :meth:`Journal.append`)."""
        self._journal.append(codec.encode_entry(entry) + b"\n")

    def fold(self, state: CheckpointState) -> None:
        """checkpoint.json replaced atomically by ``state``, then the journal emptied."""
        atomic_write_bytes(self.checkpoint_path, codec.encode_snapshot(state))
        self._journal.truncate(0)

    def create(self, state: CheckpointState) -> None:
        """The old journal emptied, then ``state`` written as checkpoint.json."""
        self._journal.close()
        self._journal.truncate(0)
        self._journal.reopened()
        self.fold(state)

    def delete(self) -> None:
        """Remove the journal, then checkpoint.json, then leftover temp files."""
        self._journal.close()
        removed = False
        # Journal first: a crash in between leaves the snapshot alone, an older valid state.
        for path in (self.journal_path, self.checkpoint_path):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise storage_error(exc, path, action="deleting") from exc
        self._cleanup_temps()
        if removed:
            fsync_dir(self.checkpoint_path.parent)
        self._journal.reopened()

    def close(self) -> None:
        """Close the journal file."""
        self._journal.close()

    def _corrupt(self, detail: str) -> CheckpointCorrupt:
        return CheckpointCorrupt(
            f"checkpoint {self.checkpoint_path} is damaged ({detail}) — move it aside and run "
            "`ghye collect --force` to start over, or restore it from a backup"
        )

    def _read_files(self) -> tuple[bytes, bytes]:
        attempts = 0
        while True:
            before = self._stat_snapshot()
            try:
                raw = self.checkpoint_path.read_bytes()
            except FileNotFoundError:
                raise NoCheckpoint(
                    f"no checkpoint at {self.checkpoint_path} — run `ghye collect` to start one"
                ) from None
            except OSError as exc:
                raise storage_error(exc, self.checkpoint_path, action="reading") from exc
            journal = self._journal.read()
            attempts += 1
            # A writer may fold the journal between our two reads; then read both again.
            if not self.read_only or attempts >= 5 or self._stat_snapshot() == before:
                return raw, journal

    def _stat_snapshot(self) -> tuple[int, int, int] | None:
        try:
            st = self.checkpoint_path.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _cleanup_temps(self) -> None:
        folder = self.checkpoint_path.parent
        for leftover in folder.glob(f"{temp_prefix(self.checkpoint_path)}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()


__all__ = ["JOURNAL_SUFFIX", "CheckpointStore", "LoadedState", "LocalStore"]
