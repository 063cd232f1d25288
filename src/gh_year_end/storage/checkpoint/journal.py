"""checkpoint.journal: one line per change since the snapshot, appended and fdatasynced before
the change counts.

Each line holds the unit's ABSOLUTE new state and a sequence number, so replaying a line twice
changes nothing and a page commit costs the same for 10 repos or 10,000. :func:`replay` applies
the lines newer than the snapshot; a torn LAST line is a write that never returned (ignored
here, cut off by a writer's load); damage anywhere else, or a gap in the numbers, is
:class:`JournalDamaged` naming the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gh_year_end.storage.atomic import datasync, fsync_dir, storage_error, write_all
from gh_year_end.storage.checkpoint.codec import FormatError, decode_entry
from gh_year_end.storage.checkpoint.state import CheckpointState, apply_entry


class JournalDamaged(Exception):
    """Line ``line_no`` (1-based) of the journal is damaged: ``detail`` says how."""

    def __init__(self, line_no: int, detail: str) -> None:
        super().__init__(f"line {line_no}: {detail}")
        self.line_no = line_no
        self.detail = detail


@dataclass(frozen=True)
class Replayed:
    """What :func:`replay` found."""

    applied: int
    """Entries newer than the snapshot, now applied (0: the snapshot holds every line)."""
    good_end: int
    """Where the last whole, valid line ends (a writer cuts the journal back to it)."""
    torn: bool
    """Whether a last line that never finished was found (and ignored)."""


def replay(raw: bytes, state: CheckpointState) -> Replayed:
    """Apply the journal lines in ``raw`` whose seq is above ``state.seq`` (the snapshot's).

    Lines at or below it were folded already: a crash between writing the snapshot and
    emptying the journal leaves them. Once one line is applied, every next one must be
    numbered one more.
    """
    base = last = state.seq
    pos = good_end = line_no = applied = 0
    torn = False
    while pos < len(raw):
        newline = raw.find(b"\n", pos)
        line_no += 1
        if newline == -1:
            torn = True  # the write of this line never finished
            break
        try:
            entry = decode_entry(raw[pos:newline])
        except FormatError as exc:
            if newline + 1 == len(raw):
                torn = True  # a last line whose bytes never all reached the disk
                break
            raise JournalDamaged(line_no, exc.detail) from None
        if entry.seq > base or applied:
            if entry.seq != last + 1:
                raise JournalDamaged(line_no, f"sequence jumps from {last} to {entry.seq}")
            apply_entry(state, entry)
            last = entry.seq
            applied += 1
        pos = good_end = newline + 1
    return Replayed(applied=applied, good_end=good_end, torn=torn)


class Journal:
    """The journal file: appends made durable one by one, never a partial line left behind.

    Not thread-safe: the manager's lock serialises every call.
    """

    def __init__(self, path: Path) -> None:
        """Nothing is opened until the first :meth:`append`."""
        self.path = path
        self._fd: int | None = None
        self._size = 0
        self._broken: str | None = None

    def read(self) -> bytes:
        """The whole file (empty when there is none)."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise storage_error(exc, self.path, action="reading") from exc

    def append(self, line: bytes) -> None:
        """Append ``line`` (ending in a newline) and fdatasync it: durable when this returns.

        On any failure (ENOSPC, EIO, KeyboardInterrupt…) the file is cut back to where it was,
        so no partial line ever sits in front of the next one; if even that fails, every later
        append is refused until the journal is loaded or replaced again.
        """
        if self._broken is not None:
            raise storage_error(OSError(0, self._broken), self.path)
        fd = self._open()
        start = self._size
        try:
            self._size = start + len(line)
            write_all(fd, line)
            datasync(fd)
        except BaseException as exc:
            self._size = start
            try:
                os.ftruncate(fd, start)
            except OSError as cut_error:
                self._broken = f"could not undo a failed journal write ({cut_error.strerror})"
            if isinstance(exc, OSError):
                raise storage_error(exc, self.path) from exc
            raise

    def truncate(self, size: int) -> None:
        """Cut the file to ``size`` bytes, durably (no file: nothing to do)."""
        if self._fd is not None:
            self._cut(self._fd, size)
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error(exc, self.path) from exc
        try:
            self._cut(fd, size)
        finally:
            os.close(fd)

    def reopened(self) -> None:
        """The file was (re)read by a load: forget a past failure, take its size as it is."""
        self._broken = None
        if self._fd is not None:
            self._size = os.fstat(self._fd).st_size

    def close(self) -> None:
        """Close the file (the next append opens it again)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _cut(self, fd: int, size: int) -> None:
        try:
            os.ftruncate(fd, size)
            if fd == self._fd:
                # The next append starts here even when the sync below fails: a stale, larger
                # size would make a failed append's undo pad the file instead of cutting it.
                self._size = size
            datasync(fd)
        except OSError as exc:
            raise storage_error(exc, self.path) from exc

    def _open(self) -> int:
        if self._fd is None:
            created = not self.path.exists()
            try:
                fd = os.open(
                    self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
                )
            except OSError as exc:
                raise storage_error(exc, self.path, action="opening") from exc
            if created:
                # A journal whose directory entry could vanish would take its commits with it.
                try:
                    fsync_dir(self.path.parent)
                except BaseException:
                    os.close(fd)
                    raise
            self._fd = fd
            self._size = os.fstat(fd).st_size
        return self._fd


__all__ = ["Journal", "JournalDamaged", "Replayed", "replay"]
