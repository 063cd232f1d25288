"""Who holds (or held) a run lock, and whether that process still runs — read without ever
taking the lock.

The owner record sits beside the lock file (``checkpoint.json.lock.owner``): pid, host, user,
command, start time, and the process's start time from ``/proc`` plus the kernel's boot id, which
tell a reused pid or a reboot from the original process. A SIGKILLed holder leaves its record
behind; it is then *stale*. :func:`holder_state` judges a lock from its record and ``/proc/locks``.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from gh_year_end.storage.atomic import utc_now

log = logging.getLogger(__name__)

HolderState = Literal["free", "alive", "stale", "unknown"]

OWNER_SUFFIX: Final = ".owner"


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


def default_command() -> str:
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


def process_alive(owner: LockOwner) -> bool:
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


def running_here(owner: LockOwner) -> bool:
    """Whether ``owner`` is another process than this one, alive on this host."""
    return owner.host == socket.gethostname() and owner.pid != os.getpid() and process_alive(owner)


def holder(lock_path: Path) -> tuple[HolderState, LockOwner | None]:
    """The holder's state and the owner record it was judged from (one read of the record)."""
    owner = read_owner(lock_path)
    held = _flock_held(lock_path)
    if owner is None:
        return ("unknown" if held else "free"), None
    if owner.host != socket.gethostname():
        return "unknown", owner
    if process_alive(owner):
        return "alive", owner
    return ("unknown" if held else "stale"), owner


def holder_state(lock_path: Path) -> HolderState:
    """``free``, ``alive``, ``stale`` or ``unknown`` — without taking the lock.

    free: no holder and no owner record. alive: the recorded process runs here (whether or not
    its lock file is still at the path). stale: an owner record whose process is gone. unknown:
    the holder is on another host, or the lock is held by someone who has not (yet) recorded
    themself.
    """
    return holder(lock_path)[0]


def still_running_message(owner: LockOwner) -> str:
    """Why ``ghye unlock`` refuses a holder that runs on this host (``--force`` or not)."""
    return (
        f"the lock holder, {owner.describe()}, is still running — stop it first "
        "(Ctrl+C lets it save its progress); a running holder is never unlocked"
    )


def locked_by_message(owner: LockOwner) -> str:
    """The CheckpointLocked message naming a recorded holder."""
    return f"checkpoint locked by {owner.describe()} — if that process is gone, run `ghye unlock`"
