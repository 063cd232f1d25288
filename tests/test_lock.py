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
    RELOCK_ATTEMPTS,
    LockBreak,
    LockOwner,
    RunLock,
    break_lock,
    clear_lock,
    holder_state,
    locks_the_path,
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
    assert lock.exists()  # the file stays: waiters share one inode
    assert holder_state(lock) == "free"


def test_the_lock_file_is_neither_truncated_nor_deleted(tmp_path: Path) -> None:
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


def still_running(pid: int, command: str = "ghye collect") -> str:
    return (
        f"the lock holder, pid {pid} on {HOST} since 2026-11-26 10:02 UTC ({command}), is still "
        "running — stop it first (Ctrl+C lets it save its progress); a running holder is never "
        "unlocked"
    )


def test_break_lock_never_removes_a_running_holder_even_forced(tmp_path: Path) -> None:
    # The bug: --force removed the lock of a holder proven alive, and a second collect ran.
    lock = lock_file(tmp_path)
    with RunLock(lock, command="ghye collect", clock=clock) as held:
        for force in (False, True):
            with pytest.raises(LockNotStale) as info:
                break_lock(lock, force=force)
            assert str(info.value) == still_running(os.getpid())
            assert "--force" not in str(info.value)
        assert read_owner(lock) == held.owner
        assert lock.exists()
        assert holder_state(lock) == "alive"
        with pytest.raises(CheckpointLocked):
            RunLock(lock, command="ghye resume").acquire()
        assert held.held


def test_forced_unlock_of_a_holder_on_another_host_removes_record_and_lock_file(
    tmp_path: Path,
) -> None:
    lock = lock_file(tmp_path)
    elsewhere = LockOwner(1, "elsewhere.example", "ana", "ghye collect", SINCE)
    write_owner(lock, elsewhere)
    lock.touch()
    assert clear_lock(lock, force=True) == LockBreak("unknown", elsewhere, True, True)
    assert not owner_path(lock).exists()
    assert not lock.exists()
    assert holder_state(lock) == "free"


def test_a_dead_record_beside_an_unrecorded_flock_is_unknown_and_says_so(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    dead = LockOwner(dead_pid(), HOST, "ana", "ghye collect", SINCE)
    write_owner(lock, dead)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held by someone who has not recorded themself (yet)
    try:
        assert holder_state(lock) == "unknown"
        with pytest.raises(LockNotStale) as info:
            break_lock(lock, force=False)
        assert str(info.value) == (
            f"lock {lock} is held by a process that has not recorded itself (the record names "
            f"{dead.describe()}, which has exited) — if you are sure no ghye is running, run "
            "`ghye unlock --force`"
        )
        assert read_owner(lock) == dead
    finally:
        os.close(fd)


def test_locks_the_path_compares_device_and_inode(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    lock.parent.mkdir(parents=True)
    lock.touch()
    fd = os.open(lock, os.O_RDWR)
    try:
        assert locks_the_path(fd, lock)
        lock.unlink()
        assert not locks_the_path(fd, lock)  # removed
        lock.touch()
        assert not locks_the_path(fd, lock)  # replaced by a new file
        other = lock.with_name("other")
        other.touch()
        os.replace(other, lock)
        assert not locks_the_path(fd, lock)  # renamed over
    finally:
        os.close(fd)


def replace_path(lock: Path) -> None:
    """What a racing `rm` (or an old `ghye unlock --force`) followed by a new open does."""
    lock.unlink()
    lock.touch()


def test_acquire_locks_again_when_the_path_was_replaced_after_its_flock(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    lock.parent.mkdir(parents=True)
    lock.touch()
    old_fd = os.open(lock, os.O_RDWR)  # keeps the first inode, to look at it afterwards
    calls: list[int] = []

    def hook() -> None:
        calls.append(os.stat(lock).st_ino)
        if len(calls) == 1:
            replace_path(lock)

    try:
        with RunLock(lock, command="ghye collect", after_flock=hook):
            assert len(calls) == 2
            assert calls[0] != calls[1]
            # The lock is on the file now at the path, not on the one that was removed.
            probe = os.open(lock, os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(probe)
            fcntl.flock(old_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the old inode was let go
            fcntl.flock(old_fd, fcntl.LOCK_UN)
    finally:
        os.close(old_fd)


def test_acquire_refuses_when_another_process_took_the_replacing_file(tmp_path: Path) -> None:
    # The race, made deterministic: we hold the flock of the old file; the path is removed and
    # another process creates a new file there, locks it and records itself. Without the inode
    # check both would run.
    lock = lock_file(tmp_path)
    holders: list[subprocess.Popen[str]] = []

    def hook() -> None:
        if holders:
            return
        lock.unlink()
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"

    try:
        with pytest.raises(CheckpointLocked) as info:
            RunLock(lock, command="ghye resume", after_flock=hook).acquire()
        (holder,) = holders
        assert str(info.value).startswith(f"checkpoint locked by pid {holder.pid} on {HOST} ")
        owner = read_owner(lock)
        assert owner is not None
        assert owner.pid == holder.pid
        assert holder_state(lock) == "alive"
    finally:
        for holder in holders:
            holder.kill()
            holder.communicate()  # reaps it and closes its pipes


def test_acquire_gives_up_when_the_path_keeps_being_replaced(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    calls: list[None] = []

    def hook() -> None:
        calls.append(None)
        replace_path(lock)

    with pytest.raises(CheckpointLocked) as info:
        RunLock(lock, command="ghye collect", after_flock=hook).acquire()
    assert str(info.value) == (
        f"the lock file {lock} was removed or replaced 5 times while this process locked it — "
        "make sure no other ghye is running, then try again"
    )
    assert len(calls) == RELOCK_ATTEMPTS == 5
    assert not owner_path(lock).exists()
    with RunLock(lock, command="ghye collect"):  # nothing was left locked
        pass


def test_a_holder_in_this_process_keeps_the_target_when_its_lock_file_is_removed(
    tmp_path: Path,
) -> None:
    lock = lock_file(tmp_path)
    first = RunLock(lock, command="ghye collect", clock=clock)
    first.acquire()
    try:
        lock.unlink()
        with pytest.raises(CheckpointLocked) as info:
            RunLock(lock, command="ghye resume").acquire()
        assert str(info.value) == (
            f"checkpoint locked by pid {os.getpid()} on {HOST} since 2026-11-26 10:02 UTC "
            "(ghye collect) — if that process is gone, run `ghye unlock`"
        )
        assert read_owner(lock) == first.owner
    finally:
        first.release()
    with RunLock(lock, command="ghye resume"):
        pass


def test_the_lock_file_is_created_with_mode_0644(tmp_path: Path) -> None:
    lock = lock_file(tmp_path)
    previous = os.umask(0)
    try:
        with RunLock(lock, command="c"):
            pass
    finally:
        os.umask(previous)
    assert lock.stat().st_mode & 0o777 == 0o644


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


def test_a_holder_in_another_process_survives_a_forced_unlock_and_the_rm_of_its_lock_file(
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
        owner = read_owner(lock)
        assert owner is not None
        assert owner.pid == holder.pid
        inode = lock.stat().st_ino

        with pytest.raises(LockNotStale) as info:
            break_lock(lock, force=True)
        assert str(info.value) == (
            f"the lock holder, {owner.describe()}, is still running — stop it first (Ctrl+C "
            "lets it save its progress); a running holder is never unlocked"
        )
        assert lock.stat().st_ino == inode
        assert read_owner(lock) == owner

        for how in ("removed", "replaced"):
            lock.unlink(missing_ok=True)  # `rm checkpoint.json.lock` under the live holder
            if how == "replaced":
                lock.touch()
            with pytest.raises(CheckpointLocked) as locked:
                RunLock(lock, command="ghye resume").acquire()
            assert str(locked.value) == (
                f"checkpoint locked by {owner.describe()} — if that process is gone, run "
                "`ghye unlock`"
            )
            assert read_owner(lock) == owner  # its record was left alone
            assert holder_state(lock) == "alive"
            with pytest.raises(LockNotStale):
                break_lock(lock, force=True)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder_state(lock) == "stale"
    with RunLock(lock, command="ghye resume") as taken:
        assert taken.replaced_owner == owner
