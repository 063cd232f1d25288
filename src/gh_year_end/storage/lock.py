"""The run lock: one collecting process per target, with a record of who holds it.

The lock itself is a kernel ``flock`` on ``checkpoint.json.lock``, taken here directly with
``os.open`` + ``fcntl.flock(LOCK_EX | LOCK_NB)`` (see :class:`RunLock` for why not through
``filelock``). The file is opened ``O_RDWR | O_CREAT | O_CLOEXEC`` (mode 0o644), never truncated,
and left in place on release, so every contender locks the same inode. A dead process's flock is
dropped by the kernel.

A flock protects an *inode*, not a name: if the file is removed (``rm``, or an old
``ghye unlock --force``) while a collect holds it, the next collect would create a new file,
lock that one, and run beside it. So :meth:`RunLock.acquire` (1) checks, once it holds the flock,
that the file it locked is still the one at the path (same device and inode) and otherwise
locks again, and (2) refuses when the owner record names another process still alive on this
host: that process holds a lock on a file deleted under it. :func:`break_lock` never removes a
holder that is running on this host, ``force`` or not.

Who holds the lock is written *beside* it, in ``checkpoint.json.lock.owner`` (pid, host, user,
command, start time, and the process's start time from ``/proc`` plus the boot id, which tell a
reused pid or a reboot from the original process). A SIGKILLed holder leaves that record behind;
it is then *stale* and simply overwritten by the next acquire. :func:`holder_state` and
:func:`break_lock` read it without ever taking the lock.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from gh_year_end.errors import CheckpointLocked, LockNotStale
from gh_year_end.storage.atomic import atomic_write_bytes, ensure_dir, storage_error, utc_now
from gh_year_end.storage.lockowner import (
    HolderState,
    LockOwner,
    default_command,
    holder,
    holder_state,
    locked_by_message,
    owner_path,
    process_alive,
    process_start_ticks,
    read_owner,
    running_here,
    still_running_message,
)

log = logging.getLogger(__name__)

# How long a contender waits for a just-started holder to write its owner record, so the
# CheckpointLocked message can name it. Well under the "fails at once" budget.
_OWNER_WAIT_STEPS: Final = 10
_OWNER_WAIT_SECONDS: Final = 0.02
# Never O_TRUNC: the file's bytes are nobody's business but the holder's. O_NOFOLLOW: a symlink
# planted at the lock path is refused rather than followed.
_LOCK_OPEN_FLAGS: Final = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
_LOCK_FILE_MODE: Final = 0o644
# Some file systems report EACCES for a contended flock.
_CONTENDED: Final = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES})
# How many times acquire locks again when the file it locked was no longer the one at the path.
RELOCK_ATTEMPTS: Final = 5


# The RunLocks this process holds now, so that acquire also sees a holder in this very process
# whose lock file was deleted under it (its record names our own pid).
_HELD_HERE: Final[weakref.WeakSet[RunLock]] = weakref.WeakSet()


def _held_in_this_process(owner: LockOwner, lock_path: Path) -> bool:
    where = os.path.abspath(lock_path)
    return any(
        held.owner == owner and os.path.abspath(held.lock_path) == where
        for held in list(_HELD_HERE)
    )


@dataclass(frozen=True)
class LockBreak:
    """What :func:`clear_lock` found and removed."""

    state: HolderState
    """The holder as judged before anything was removed: free, stale, or (forced) unknown."""
    owner: LockOwner | None
    """The owner record judged (and removed); None when there was none, or it was unreadable."""
    record_removed: bool
    """The owner record (or an unreadable leftover of one) was removed."""
    lock_file_removed: bool
    """The lock file itself was removed: only for a forced unknown holder."""


def _remove(path: Path) -> bool:
    """Unlink ``path`` if it is there; True if this call removed it."""
    # Only touch it when it is there: on a read-only data folder, unlink() of a missing file
    # fails with EROFS, not FileNotFoundError.
    if not (path.exists() or path.is_symlink()):
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise storage_error(exc, path, action="removing") from exc
    return True


def clear_lock(lock_path: Path, *, force: bool) -> LockBreak:
    """``ghye unlock``: remove what a holder that is gone left behind, and say what that was.

    - free: an unreadable leftover record, if any, is removed.
    - stale (the recorded process is gone, nobody holds the flock): the record is removed; the
      lock file stays (the next collect locks it).
    - alive (the recorded process runs on this host): always refused with :class:`LockNotStale`,
      ``force`` or not. Removing its lock would let a second collect run beside it.
    - unknown (the holder is on another host, or holds the flock without a record): refused
      unless ``force``; forced, the record *and* the lock file go, so the next collect does not
      wait on a flock nobody here can release.

    Just before removing, the record is read again: if it changed (a new holder recorded itself
    meanwhile), nothing is removed and :class:`LockNotStale` says so.
    """
    state, owner = holder(lock_path)
    record = owner_path(lock_path)
    if state == "free":
        return LockBreak("free", None, record_removed=_remove(record), lock_file_removed=False)
    if state == "alive":
        assert owner is not None  # "alive" is only ever judged from a record
        raise LockNotStale(still_running_message(owner))
    if state == "unknown" and not force:
        if owner is None:
            raise LockNotStale(
                f"lock {lock_path} is held by a process that has not recorded itself — "
                "if you are sure no ghye is running, run `ghye unlock --force`"
            )
        if owner.host != socket.gethostname():
            raise LockNotStale(
                f"cannot tell whether the lock holder, {owner.describe()}, is still running "
                f"(it is not on this host) — if you are sure it is gone, run `ghye unlock --force`"
            )
        raise LockNotStale(
            f"lock {lock_path} is held by a process that has not recorded itself (the record "
            f"names {owner.describe()}, which has exited) — if you are sure no ghye is running, "
            "run `ghye unlock --force`"
        )
    now = read_owner(lock_path)
    if now != owner:
        if now is None and state == "stale":
            # Removed meanwhile (another unlock, or the next collect took over and finished).
            return LockBreak(state, owner, record_removed=False, lock_file_removed=False)
        if now is not None and running_here(now):
            raise LockNotStale(still_running_message(now))
        who = now.describe() if now is not None else "no record"
        raise LockNotStale(
            f"the lock of {lock_path} changed hands while unlocking (now: {who}) — "
            "run `ghye unlock` again to see who holds it"
        )
    record_removed = _remove(record)
    lock_file_removed = _remove(lock_path) if state == "unknown" else False
    return LockBreak(state, owner, record_removed, lock_file_removed)


def break_lock(lock_path: Path, *, force: bool) -> LockOwner | None:
    """:func:`clear_lock`, returning only the owner whose record was removed, if any."""
    result = clear_lock(lock_path, force=force)
    return result.owner if result.record_removed or result.lock_file_removed else None


def locks_the_path(fd: int, lock_path: Path) -> bool:
    """Whether the file open at ``fd`` is still the one at ``lock_path`` (same device and inode).

    False when the path was removed, or replaced by another file, since ``fd`` was opened. While
    ``fd`` is open its inode cannot be freed, so its number cannot have been reused by the file
    now at the path. OSError other than a missing path propagates.
    """
    try:
        at_path = os.stat(lock_path)
    except FileNotFoundError:
        return False
    locked = os.fstat(fd)
    return (locked.st_dev, locked.st_ino) == (at_path.st_dev, at_path.st_ino)


def _unlock_and_close(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)  # closing drops it too; explicit in case fd was shared
    except OSError as exc:
        log.debug("could not unlock run lock descriptor %d: %s", fd, exc)
    finally:
        os.close(fd)


class RunLock:
    """Exclusive, never-blocking run lock on ``lock_path`` with an owner record beside it.

    The flock is taken directly (``os.open`` + ``fcntl.flock``) rather than through
    ``filelock.UnixFileLock``: acquire must compare the locked descriptor with the file at the
    path, and filelock keeps that descriptor in a private attribute whose place and meaning
    differ across the versions ``pyproject.toml`` allows (3.13 to 4.x), so reading it could
    silently check nothing after an upgrade. With the descriptor our own, the check is exact,
    and none of filelock's machinery (soft markers, leases, fork handling, per-path singletons)
    is needed for one lock per process.
    """

    def __init__(
        self,
        lock_path: Path,
        *,
        command: str = "",
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        after_flock: Callable[[], None] | None = None,
    ) -> None:
        """Prepare (not take) the lock; ``command`` is shown to whoever finds it taken.

        ``after_flock`` is called each time the flock is taken, just before checking that the
        locked file is still the one at the path: a test replaces the path there, in the window
        a racing ``rm`` would hit.
        """
        self.lock_path = lock_path
        self.command = command or default_command()
        self._clock = clock
        self._sleep = sleep
        self._after_flock = after_flock
        self._fd: int | None = None
        self.owner: LockOwner | None = None
        """Our record while held."""
        self.replaced_owner: LockOwner | None = None
        """A stale record found (and replaced) at acquire: a previous run that did not release."""

    @property
    def held(self) -> bool:
        """Whether this instance holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`CheckpointLocked` naming the holder. Never waits.

        Refused too when the owner record names another process alive on this host: that
        process still runs on a lock file that was deleted under it.
        """
        if self._fd is not None:
            return
        ensure_dir(self.lock_path.parent)
        fd = self._lock_the_file_at_the_path()
        try:
            found = read_owner(self.lock_path)
            if found is not None and (
                running_here(found) or _held_in_this_process(found, self.lock_path)
            ):
                log.info(
                    "the run lock %s was locked, but its owner record names %s, still running: "
                    "its lock file was removed under it",
                    self.lock_path,
                    found.describe(),
                )
                raise CheckpointLocked(locked_by_message(found))
            me = LockOwner.current(self.command, self._clock)
            atomic_write_bytes(owner_path(self.lock_path), me.to_json())
        except BaseException:
            _unlock_and_close(fd)
            raise
        self.replaced_owner = found
        if found is not None:
            log.info(
                "took over the run lock %s from a run that ended without releasing it (%s)",
                self.lock_path,
                found.describe(),
            )
        self.owner = me
        self._fd = fd
        _HELD_HERE.add(self)

    def _lock_the_file_at_the_path(self) -> int:
        """A descriptor holding the flock of the file that is at the path now."""
        for _attempt in range(RELOCK_ATTEMPTS):
            fd = self._open_and_flock()
            try:
                if self._after_flock is not None:
                    self._after_flock()
                current = locks_the_path(fd, self.lock_path)
            except OSError as exc:
                _unlock_and_close(fd)
                raise storage_error(exc, self.lock_path, action="locking") from exc
            except BaseException:
                _unlock_and_close(fd)
                raise
            if current:
                return fd
            # Removed or replaced between our open and our flock: the lock we hold guards a
            # file nobody else will open. Lock whatever is at the path now.
            _unlock_and_close(fd)
            log.info(
                "the run lock file %s was replaced while locking it; locking again", self.lock_path
            )
        raise CheckpointLocked(
            f"the lock file {self.lock_path} was removed or replaced {RELOCK_ATTEMPTS} times "
            "while this process locked it — make sure no other ghye is running, then try again"
        )

    def _open_and_flock(self) -> int:
        try:
            fd = os.open(self.lock_path, _LOCK_OPEN_FLAGS, _LOCK_FILE_MODE)
        except OSError as exc:
            raise storage_error(exc, self.lock_path, action="locking") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _CONTENDED:
                raise self._locked_error() from None
            raise storage_error(exc, self.lock_path, action="locking") from exc
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _locked_error(self) -> CheckpointLocked:
        owner: LockOwner | None = None
        for attempt in range(_OWNER_WAIT_STEPS):
            owner = read_owner(self.lock_path)
            if owner is not None and (owner.host != socket.gethostname() or process_alive(owner)):
                break
            if attempt < _OWNER_WAIT_STEPS - 1:
                self._sleep(_OWNER_WAIT_SECONDS)  # the holder may be writing its record right now
        if owner is None:
            return CheckpointLocked(
                f"checkpoint locked by another process that has not recorded itself in "
                f"{owner_path(self.lock_path)} — if no ghye is running, run `ghye unlock`"
            )
        return CheckpointLocked(locked_by_message(owner))

    def release(self) -> None:
        """Remove our owner record, then drop the lock (the lock file stays). Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _HELD_HERE.discard(self)
        try:
            current = read_owner(self.lock_path)
            if current is not None and self.owner is not None and current == self.owner:
                owner_path(self.lock_path).unlink(missing_ok=True)
        except OSError as exc:  # a leftover record is only stale, never harmful
            log.debug("could not remove lock owner record: %s", exc)
        finally:
            self.owner = None
            _unlock_and_close(fd)

    def __del__(self) -> None:
        # A lock nobody references can never be released by its owner: release it, as
        # filelock's finalizer did. Never raises (it may run at interpreter shutdown).
        try:
            if getattr(self, "_fd", None) is not None:
                self.release()
        except Exception:  # noqa: BLE001, S110 — a finalizer must not raise
            pass

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


__all__ = [
    "RELOCK_ATTEMPTS",
    "HolderState",
    "LockBreak",
    "LockOwner",
    "RunLock",
    "break_lock",
    "clear_lock",
    "holder_state",
    "locks_the_path",
    "owner_path",
    "process_start_ticks",
    "read_owner",
]
