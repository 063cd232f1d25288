"""Durable file primitives: atomic replace, directory fsync, OSError → StorageError, UTC clock.

Every file ghye writes goes through here, so the durability rules live in one place:

- a file is *replaced* by writing a temp file in the same folder, flushing and fsyncing it,
  ``os.replace``-ing it over the target and fsyncing the folder (so the rename itself survives a
  power cut);
- a file or folder that is *created* has its parent folder fsynced, so a committed checkpoint
  never points into a file whose directory entry could still vanish.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from gh_year_end.errors import StorageError

# fdatasync flushes the data and the metadata needed to read it back (the size), which is all an
# append-only file needs; it skips the mtime update fsync would also force out.
datasync = getattr(os, "fdatasync", os.fsync)

_DISK_FULL: Final = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_NOT_WRITABLE: Final = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def utc_now() -> datetime:
    """The current time, aware, in UTC (the default clock of every storage class)."""
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """``2026-11-26T10:02:03.123456Z``: ISO-8601 in UTC with a ``Z`` (naive taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def storage_error(exc: OSError, path: Path, *, action: str = "writing") -> StorageError:
    """A one-line :class:`StorageError` for an OSError met while ``action``-ing ``path``."""
    if exc.errno in _DISK_FULL:
        return StorageError(
            f"disk full while {action} {path} — free space, then run `ghye resume`; "
            "nothing committed was lost"
        )
    if exc.errno in _NOT_WRITABLE:
        return StorageError(
            f"cannot write {path}: read-only or permission denied — make the folder writable "
            "(or point storage.root elsewhere), then run `ghye resume`"
        )
    reason = exc.strerror or type(exc).__name__
    return StorageError(
        f"cannot finish {action} {path}: {reason} — fix that, then run `ghye resume`; "
        "nothing committed was lost"
    )


def fsync_dir(path: Path) -> None:
    """fsync a folder so the names created, renamed or removed in it are durable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise storage_error(exc, path, action="syncing") from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems refuse fsync on a directory; the data itself is already synced.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise storage_error(exc, path, action="syncing") from exc
    finally:
        os.close(fd)


# Folders whose own entry (in their parent) this process has made durable, or created itself.
# A folder found already there may have been made by a run killed before it fsynced the parent:
# the first time this process needs it, its parent is fsynced once.
_durable_dirs: set[Path] = set()


def ensure_durable_dir(path: Path) -> None:
    """:func:`ensure_dir`, and make sure ``path``'s own entry in its parent is durable.

    For folders data is committed into: a folder a killed run created, but whose parent it never
    fsynced, could lose its name in a power cut while the checkpoint vouches for its files.
    Costs one fsync per folder per process, nothing after.
    """
    if not path.is_dir():
        ensure_dir(path)  # creates it and fsyncs its parent
    elif path not in _durable_dirs:
        fsync_dir(path.parent)
    _durable_dirs.add(path)


def ensure_dir(path: Path) -> None:
    """Create ``path`` and missing parents; fsync the parent of every folder created."""
    if path.is_dir():
        return
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, folder, action="creating") from exc
        fsync_dir(folder.parent)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a regular file may take a short write)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def temp_prefix(path: Path) -> str:
    """Prefix of the temp files :func:`atomic_write_bytes` leaves behind if killed mid-write."""
    return f".{path.stem}_"


TEMP_SUFFIX: Final = ".tmp"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably.

    temp file in the same folder → write → flush → fsync → ``os.replace`` → fsync the folder.
    A reader sees the old content or the new one, never a mix; after a crash the worst left
    behind is a ``.<stem>_*.tmp`` file. OSError → :class:`StorageError` naming ``path``.
    """
    ensure_dir(path.parent)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise storage_error(exc, path) from exc
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as exc:
        raise storage_error(exc, path) from exc
    temp = Path(temp_name)
    try:
        try:
            write_all(fd, data)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise storage_error(exc, path) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)
