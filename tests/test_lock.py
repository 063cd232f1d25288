"""Run lock: never blocks, names its holder, survives SIGKILL of the holder, breaks only stale."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gh_year_end.errors import CheckpointLocked, LockNotStale
from gh_year_end.storage.lock import (
    LockOwner,
    RunLock,
    break_lock,
    holder_state,
    owner_path,
    process_start_ticks,
    read_owner,
)

SINCE = datetime(2026, 11, 26, 10, 2, 59, tzinfo=UTC)
HOST = socket.gethostname()


def clock() -> datetime:
    return SINCE


def lock_file(tmp_path: Path) -> Path:
    return tmp_path / "target" / "checkpoint.json.lock"


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def write_owner(lock: Path, owner: LockOwner) -> None:
    lock.parent.mkdir(parents=True, exist_ok=True)
    owner_path(lock).write_bytes(owner.to_json())


def test_owner_describes_itself_as_the_message_needs() -> None:
    owner = LockOwner(4123, "host-a", "ana", "ghye collect", SINCE)
    assert owner.describe() == "pid 4123 on host-a since 2026-11-26 10:02 UTC (ghye collect)"
    assert replace(owner, command="").describe() == "pid 4123 on host-a since 2026-11-26 10:02 UTC"


def test_owner_record_round_trips_and_rejects_garbage() -> None:
    owner = LockOwner(4123, "host-a", "ana", "ghye collect", SINCE, 123456, "boot-1")
    assert LockOwner.from_json(owner.to_json()) == owner
    for bad in (b"", b"[]", b'{"pid": "x"}', b'{"pid": 1, "host": "h"}', b"\xff"):
        with pytest.raises(ValueError):
            LockOwner.from_json(bad)


def test_acquire_records_the_owner_beside_the_lock_and_release_removes_it(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    run_lock = RunLock(lock, command="ghye collect", clock=clock)
    with run_lock:
        assert run_lock.held
        owner = read_owner(lock)
        assert owner is not None
        assert (owner.pid, owner.host, owner.command, owner.started_at) == (
            os.getpid(),
            HOST,
            "ghye collect",
            SINCE,
        )
        assert owner.process_start == process_start_ticks(os.getpid())
        assert holder_state(lock) == "alive"
    assert not run_lock.held
    assert not owner_path(lock).exists()
    assert lock.exists()  # filelock keeps the file: waiters share one inode
    assert holder_state(lock) == "free"


def test_filelock_neither_truncates_nor_deletes_the_lock_file(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    lock.parent.mkdir(parents=True)
    lock.write_bytes(b"kept")
    with RunLock(lock, command="x"):
        assert lock.read_bytes() == b"kept"
    assert lock.read_bytes() == b"kept"


def test_second_acquire_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    with RunLock(lock, command="ghye collect", clock=clock):
        start = time.monotonic()
        with pytest.raises(CheckpointLocked) as info:
            RunLock(lock, command="ghye resume").acquire()
        assert time.monotonic() - start < 1.0
    assert str(info.value) == (
        f"checkpoint locked by pid {os.getpid()} on {HOST} since 2026-11-26 10:02 UTC "
        "(ghye collect) — if that process is gone, run `ghye unlock`"
    )


def test_holder_without_a_record_is_reported_after_a_short_wait(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # someone holds the flock but never wrote an owner record
    waits: list[float] = []
    try:
        with pytest.raises(CheckpointLocked) as info:
            RunLock(lock, command="c", sleep=waits.append).acquire()
        assert holder_state(lock) == "unknown"
    finally:
        os.close(fd)
    assert str(info.value) == (
        f"checkpoint locked by another process that has not recorded itself in "
        f"{owner_path(lock)} — if no ghye is running, run `ghye unlock`"
    )
    assert waits == [0.02] * 9  # ~0.2 s at most, injected here
    assert holder_state(lock) == "free"


def test_a_stale_record_is_replaced_by_the_next_acquire(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    stale = LockOwner(dead_pid(), HOST, "ana", "ghye collect", SINCE)
    write_owner(lock, stale)
    assert holder_state(lock) == "stale"
    run_lock = RunLock(lock, command="ghye resume")
    with run_lock:
        assert run_lock.replaced_owner == stale
        owner = read_owner(lock)
        assert owner is not None
        assert owner.pid == os.getpid()


def test_reused_pid_or_reboot_makes_a_record_stale(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    me = LockOwner.current("ghye collect")
    assert me.process_start is not None
    write_owner(lock, replace(me, process_start=me.process_start + 1))
    assert holder_state(lock) == "stale"
    write_owner(lock, replace(me, boot_id="another-boot"))
    assert holder_state(lock) == "stale"
    write_owner(lock, me)
    assert holder_state(lock) == "alive"  # record only; our own pid is alive


def test_holder_on_another_host_is_unknown(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    write_owner(lock, LockOwner(1, "elsewhere.example", "ana", "ghye collect", SINCE))
    assert holder_state(lock) == "unknown"
    with pytest.raises(LockNotStale) as info:
        break_lock(lock, force=False)
    assert str(info.value) == (
        "cannot tell whether the lock holder, pid 1 on elsewhere.example since 2026-11-26 "
        "10:02 UTC (ghye collect), is still running (it is not on this host) — if you are sure "
        "it is gone, run `ghye unlock --force`"
    )


def test_break_lock_removes_only_stale_records(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    assert break_lock(lock, force=False) is None  # free: nothing to do
    stale = LockOwner(dead_pid(), HOST, "ana", "ghye collect", SINCE)
    write_owner(lock, stale)
    assert break_lock(lock, force=False) == stale
    assert not owner_path(lock).exists()
    assert holder_state(lock) == "free"


def test_break_lock_refuses_a_live_holder_unless_forced(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    with RunLock(lock, command="ghye collect", clock=clock) as held:
        with pytest.raises(LockNotStale) as info:
            break_lock(lock, force=False)
        assert str(info.value) == (
            f"the lock holder, pid {os.getpid()} on {HOST} since 2026-11-26 10:02 UTC "
            "(ghye collect), is still running — stop it first (Ctrl+C lets it save), or run "
            "`ghye unlock --force` if you are sure"
        )
        assert owner_path(lock).exists()
        assert break_lock(lock, force=True) == held.owner
        assert not owner_path(lock).exists()
        assert not lock.exists()  # forced: the next collect takes a fresh lock file


def test_unreadable_record_counts_as_no_record(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    lock.parent.mkdir(parents=True)
    owner_path(lock).write_bytes(b"\x00garbage")
    assert read_owner(lock) is None
    assert holder_state(lock) == "free"
    assert break_lock(lock, force=False) is None
    assert not owner_path(lock).exists()


def test_release_is_idempotent_and_works_from_another_thread(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    run_lock = RunLock(lock, command="c")
    run_lock.acquire()
    run_lock.acquire()  # already held: no-op
    worker = threading.Thread(target=run_lock.release)
    worker.start()
    worker.join()
    run_lock.release()
    assert holder_state(lock) == "free"
    with RunLock(lock, command="again"):
        pass


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gh_year_end.storage.lock import RunLock
    lock = RunLock(Path(sys.argv[1]), command="ghye collect")
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.read()  # hold until the parent closes stdin (or kills us)
    """
)


def test_two_processes_second_fails_at_once_then_succeeds_after_holder_is_killed(
    tmp_path: Path,
) -> None:
    lock = lock_file(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        with pytest.raises(CheckpointLocked) as info:
            RunLock(lock, command="ghye resume").acquire()
        assert time.monotonic() - start < 1.0
        assert str(info.value).startswith(f"checkpoint locked by pid {holder.pid} on {HOST} since ")
        assert str(info.value).endswith(
            "(ghye collect) — if that process is gone, run `ghye unlock`"
        )
        assert holder_state(lock) == "alive"
        with pytest.raises(LockNotStale):
            break_lock(lock, force=False)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder_state(lock) == "stale"  # the kernel dropped the flock; the record stayed
    run_lock = RunLock(lock, command="ghye resume")
    with run_lock:
        assert run_lock.replaced_owner is not None
        assert run_lock.replaced_owner.pid == holder.pid
