"""The run lock: one collecting process per target, with a record of who holds it.

The lock itself is a kernel ``flock`` on ``checkpoint.json.lock`` taken through ``filelock``'s
``UnixFileLock``. Read from the installed filelock (4.x): it opens the lock file with
``O_RDWR | O_CREAT`` and never ``O_TRUNC``, and on Unix it leaves the file in place on release
(``preserve_lock_file=True`` makes that a promise). Its *soft* fallback (an existence marker on
file systems without flock) is switched off: a SIGKILLed holder's marker would block the next
collect, while the kernel drops a dead process's flock by itself.

Who holds the lock is written *beside* it, in ``checkpoint.json.lock.owner`` (pid, host, user,
command, start time, and the process's start time from ``/proc`` plus the boot id, which tell a
reused pid or a reboot from the original process). A SIGKILLed holder leaves that record behind;
it is then *stale* and simply overwritten by the next acquire. :func:`holder_state` and
:func:`break_lock` read it without ever taking the lock.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

import orjson
from filelock import Timeout, UnixFileLock

from gh_year_end.errors import CheckpointLocked, LockNotStale
from gh_year_end.storage.atomic import atomic_write_bytes, ensure_dir, storage_error, utc_now

log = logging.getLogger(__name__)

HolderState = Literal["free", "alive", "stale", "unknown"]

OWNER_SUFFIX: Final = ".owner"
# How long a contender waits for a just-started holder to write its owner record, so the
# CheckpointLocked message can name it. Well under the "fails at once" budget.
_OWNER_WAIT_STEPS: Final = 10
_OWNER_WAIT_SECONDS: Final = 0.02


def owner_path(lock_path: Path) -> Path:
    """Where the owner record of ``lock_path`` lives (``<lock>.owner``)."""
    return lock_path.with_name(lock_path.name + OWNER_SUFFIX)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _boot_id() -> str | None:
    return _read_text(Path("/proc/sys/kernel/random/boot_id"))


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    text = _read_text(Path(f"/proc/{pid}/stat"))
    if not text or ")" not in text:
        return None
    return text.rsplit(")", 1)[1].split()


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc field 22), if readable."""
    fields = _proc_stat(pid)
    # fields[0] is field 3 (state); field 22 (starttime) is therefore fields[19].
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return str(os.getuid())


def _default_command() -> str:
    args = sys.argv[1:2]
    return " ".join(["ghye", *args])


@dataclass(frozen=True)
class LockOwner:
    """Who holds (or held) a run lock."""

    pid: int
    host: str
    user: str
    command: str
    started_at: datetime
    process_start: int | None = None
    """Start time of ``pid`` in clock ticks since boot: a reused pid has another one."""
    boot_id: str | None = None
    """Kernel boot id at acquire: after a reboot every old pid is gone."""

    @classmethod
    def current(cls, command: str, clock: Callable[[], datetime] = utc_now) -> LockOwner:
        """A record describing this process."""
        pid = os.getpid()
        return cls(
            pid=pid,
            host=socket.gethostname(),
            user=_user(),
            command=command,
            started_at=clock().astimezone(UTC),
            process_start=process_start_ticks(pid),
            boot_id=_boot_id(),
        )

    def describe(self) -> str:
        """``pid 4123 on host-a since 2026-11-26 10:02 UTC (ghye collect)``."""
        since = self.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host} since {since}{what}"

    def to_json(self) -> bytes:
        """The record as stored beside the lock file."""
        data: dict[str, Any] = asdict(self)
        data["started_at"] = self.started_at.astimezone(UTC).isoformat()
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> LockOwner:
        """Parse a stored record; ValueError if it is not one."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            pid, host, user = data["pid"], data["host"], data["user"]
            command, started = data.get("command", ""), data["started_at"]
            process_start, boot_id = data.get("process_start"), data.get("boot_id")
        except KeyError as exc:
            raise ValueError(f"missing {exc.args[0]!r}") from None
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            raise ValueError(f"bad pid {pid!r}")
        if not all(isinstance(v, str) for v in (host, user, command, started)):
            raise ValueError("host, user, command and started_at must be strings")
        if process_start is not None and not isinstance(process_start, int):
            raise ValueError("process_start must be an integer")
        if boot_id is not None and not isinstance(boot_id, str):
            raise ValueError("boot_id must be a string")
        moment = datetime.fromisoformat(started)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(pid, host, user, command, moment, process_start, boot_id)


def read_owner(lock_path: Path) -> LockOwner | None:
    """The owner record beside ``lock_path``; None if there is none or it cannot be read."""
    path = owner_path(lock_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.debug("cannot read lock owner record %s: %s", path, exc)
        return None
    try:
        return LockOwner.from_json(raw)
    except ValueError as exc:
        log.debug("unreadable lock owner record %s: %s", path, exc)
        return None


def _flock_held(lock_path: Path) -> bool | None:
    """Whether any process holds a flock on the lock file, from /proc/locks (None: cannot tell)."""
    try:
        st = lock_path.stat()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as table:
            lines = table.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        fields = line.split()
        # "->" marks a waiter, not a holder.
        if "FLOCK" in fields and "->" not in fields and wanted in fields:
            return True
    return False


def _process_alive(owner: LockOwner) -> bool:
    """Whether ``owner``'s process still runs on this host (and is the same process)."""
    boot = _boot_id()
    if owner.boot_id and boot and owner.boot_id != boot:
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another account
    except OSError:
        return False
    fields = _proc_stat(owner.pid)
    if fields is not None:
        if fields[0] == "Z":  # a zombie has exited; the kernel dropped its flock
            return False
        if (
            owner.process_start is not None
            and process_start_ticks(owner.pid) != owner.process_start
        ):
            return False  # the pid was reused by another process
    return True


def holder_state(lock_path: Path) -> HolderState:
    """``free``, ``alive``, ``stale`` or ``unknown`` — without taking the lock.

    free: no holder and no owner record. alive: the recorded process runs here. stale: an owner
    record whose process is gone. unknown: the holder is on another host, or the lock is held
    by someone who has not (yet) recorded themself.
    """
    owner = read_owner(lock_path)
    held = _flock_held(lock_path)
    if owner is None:
        return "unknown" if held else "free"
    if owner.host != socket.gethostname():
        return "unknown"
    if _process_alive(owner):
        return "alive"
    return "unknown" if held else "stale"


def break_lock(lock_path: Path, *, force: bool) -> LockOwner | None:
    """Remove a stale owner record (``ghye unlock``); return the owner removed, if any.

    A live (or unknowable) holder is refused with :class:`LockNotStale` unless ``force``; forced,
    the lock file is removed too, so the next collect takes a fresh one.
    """
    state = holder_state(lock_path)
    owner = read_owner(lock_path)
    record = owner_path(lock_path)
    if state == "free":
        # An unreadable leftover, if anything. Only touch it when it is there: on a read-only
        # data folder, unlink() of a missing file fails with EROFS, not FileNotFoundError.
        if record.exists() or record.is_symlink():
            try:
                record.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise storage_error(exc, record, action="removing") from exc
        return None
    if state in ("alive", "unknown") and not force:
        if owner is None:
            raise LockNotStale(
                f"lock {lock_path} is held by a process that has not recorded itself — "
                "if you are sure no ghye is running, run `ghye unlock --force`"
            )
        if state == "alive":
            raise LockNotStale(
                f"the lock holder, {owner.describe()}, is still running — stop it first "
                "(Ctrl+C lets it save), or run `ghye unlock --force` if you are sure"
            )
        raise LockNotStale(
            f"cannot tell whether the lock holder, {owner.describe()}, is still running "
            f"(it is not on this host) — if you are sure it is gone, run `ghye unlock --force`"
        )
    try:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()
        if force and state != "stale":
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()
    except OSError as exc:
        raise storage_error(exc, record, action="removing") from exc
    return owner


class RunLock:
    """Exclusive, never-blocking run lock on ``lock_path`` with an owner record beside it."""

    def __init__(
        self,
        lock_path: Path,
        *,
        command: str = "",
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Prepare (not take) the lock; ``command`` is shown to whoever finds it taken."""
        self.lock_path = lock_path
        self.command = command or _default_command()
        self._clock = clock
        self._sleep = sleep
        self._lock: UnixFileLock | None = None
        self.owner: LockOwner | None = None
        """Our record while held."""
        self.replaced_owner: LockOwner | None = None
        """A stale record found (and replaced) at acquire: a previous run that did not release."""

    @property
    def held(self) -> bool:
        """Whether this instance holds the lock."""
        return self._lock is not None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`CheckpointLocked` naming the holder. Never waits."""
        if self._lock is not None:
            return
        ensure_dir(self.lock_path.parent)
        lock = UnixFileLock(
            self.lock_path,
            timeout=0,
            thread_local=False,  # the lock belongs to the run, not to the thread that took it
            blocking=False,
            fallback_to_soft=False,
            preserve_lock_file=True,
        )
        try:
            lock.acquire()
        except Timeout:
            raise self._locked_error() from None
        except OSError as exc:
            raise storage_error(exc, self.lock_path, action="locking") from exc
        try:
            self.replaced_owner = read_owner(self.lock_path)
            me = LockOwner.current(self.command, self._clock)
            atomic_write_bytes(owner_path(self.lock_path), me.to_json())
        except BaseException:
            lock.release()
            raise
        if self.replaced_owner is not None:
            log.info(
                "took over the run lock %s from a run that ended without releasing it (%s)",
                self.lock_path,
                self.replaced_owner.describe(),
            )
        self.owner = me
        self._lock = lock

    def _locked_error(self) -> CheckpointLocked:
        owner: LockOwner | None = None
        for attempt in range(_OWNER_WAIT_STEPS):
            owner = read_owner(self.lock_path)
            if owner is not None and (owner.host != socket.gethostname() or _process_alive(owner)):
                break
            if attempt < _OWNER_WAIT_STEPS - 1:
                self._sleep(_OWNER_WAIT_SECONDS)  # the holder may be writing its record right now
        if owner is None:
            return CheckpointLocked(
                f"checkpoint locked by another process that has not recorded itself in "
                f"{owner_path(self.lock_path)} — if no ghye is running, run `ghye unlock`"
            )
        return CheckpointLocked(
            f"checkpoint locked by {owner.describe()} — if that process is gone, run `ghye unlock`"
        )

    def release(self) -> None:
        """Remove our owner record, then drop the lock. Idempotent."""
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            current = read_owner(self.lock_path)
            if current is not None and self.owner is not None and current == self.owner:
                with contextlib.suppress(FileNotFoundError):
                    owner_path(self.lock_path).unlink()
        except OSError as exc:  # a leftover record is only stale, never harmful
            log.debug("could not remove lock owner record: %s", exc)
        finally:
            self.owner = None
            lock.release()

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
