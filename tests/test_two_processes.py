"""Two processes on one target: a real ``ghye collect`` holds the run lock while another
``ghye`` tries to collect, unlock, or read the status.

The holder is kept busy by one commits request the fake stalls for minutes (every other unit
runs to its end), so it is alive and mid-run for as long as a test needs.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson
import pytest

from gh_year_end.storage.lock import holder_state, read_owner
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
    OutputWatcher,
    checkpoint_problems,
    compare_with_expected,
    manifest_problems,
    read_dataset,
    run_ghye,
    start_ghye,
    target_dir,
    write_config,
)

SETTINGS: Final = FakeSettings(
    repos=6,
    pulls=10,
    issues=10,
    issue_comments=40,
    review_comments=40,
    commits=40,
    latency=0.002,
    slow_seconds=300.0,
    token=TEST_TOKEN,
)
LOCKED_BUDGET: Final = 1.0  # seconds a refused collect may take beyond a plain start


@dataclass(frozen=True)
class Holder:
    """A running collect that holds the lock."""

    watcher: OutputWatcher
    fake: FakeGitHub
    config: Path
    target: Path

    @property
    def pid(self) -> int:
        return self.watcher.proc.pid

    @property
    def lock(self) -> Path:
        return self.target / "checkpoint.json.lock"

    def alive(self) -> bool:
        return self.watcher.proc.poll() is None


def _start_holder(folder: Path, fake: FakeGitHub) -> Iterator[Holder]:
    # The stalled request must not time out in the client while the tests run.
    config = write_config(folder, fake.base_url, extra_rate_limit={"request_timeout_seconds": 600})
    fake.inject("slow", match="/commits", times=1)
    target = target_dir(folder / "data")
    with OutputWatcher(start_ghye(["collect", "--config", str(config)])) as watcher:
        holder = Holder(watcher, fake, config, target)
        deadline = time.monotonic() + 30
        # Alive, recorded as the owner, and stuck in the stalled request (so the stall is used
        # up: the next collect on this fake runs freely).
        while not (
            _owner_pid(holder.lock) == holder.pid and fake.stats()["faults"].get("slow", 0) >= 1
        ):
            assert holder.alive(), watcher.stdout + watcher.stderr
            assert time.monotonic() < deadline, "the holder never reached the stalled request"
            time.sleep(0.01)
        yield holder


def _owner_pid(lock: Path) -> int | None:
    owner = read_owner(lock)
    return owner.pid if owner is not None else None


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Holder]:
    """One live holder shared by the tests that only look at it."""
    with FakeGitHub(SETTINGS).start() as fake:
        yield from _start_holder(tmp_path_factory.mktemp("held"), fake)


@pytest.fixture
def own_holder(tmp_path: Path) -> Iterator[Holder]:
    """A holder of the test's own, for the tests that kill it."""
    with FakeGitHub(SETTINGS).start() as fake:
        yield from _start_holder(tmp_path, fake)


def _timed(args: list[str]) -> tuple[float, int, str]:
    began = time.monotonic()
    done = run_ghye(args, timeout=60)
    return time.monotonic() - began, done.returncode, done.stdout + done.stderr


def test_second_collect_exits_4_at_once_naming_the_holder(holder: Holder, tmp_path: Path) -> None:
    # "At once" is measured against what starting ghye costs on this machine right now: the
    # same command path up to the lock, on a target nobody holds (no checkpoint there, so it
    # exits 2 right after taking the lock), timed before and after.
    free = write_config(tmp_path, holder.fake.base_url)
    plain_before, plain_code, plain_out = _timed(["resume", "--config", str(free)])
    assert plain_code == 2, plain_out

    took, code, output = _timed(["collect", "--config", str(holder.config)])

    plain_after, _, _ = _timed(["resume", "--config", str(free)])
    plain = max(plain_before, plain_after)
    assert code == 4, output
    assert f"checkpoint locked by pid {holder.pid} on {socket.gethostname()}" in output
    assert "ghye unlock" in output
    assert took - plain <= LOCKED_BUDGET, f"refused after {took:.2f} s (plain start {plain:.2f} s)"
    assert holder.alive()
    assert _owner_pid(holder.lock) == holder.pid


def test_unlock_refuses_while_the_holder_lives(holder: Holder) -> None:
    done = run_ghye(["unlock", "--config", str(holder.config)])

    assert done.returncode == 4, done.stdout + done.stderr
    assert f"pid {holder.pid}" in done.stderr
    assert "still running" in done.stderr
    assert holder.alive()
    assert holder_state(holder.lock) == "alive"
    assert _owner_pid(holder.lock) == holder.pid


def test_forced_unlock_never_removes_a_running_collect(holder: Holder) -> None:
    # The bug: `ghye unlock --force` removed this lock (and its refusal suggested doing so); the
    # next collect then ran beside the holder and wrote its records a second time.
    owner = read_owner(holder.lock)
    assert owner is not None
    assert owner.pid == holder.pid
    inode = holder.lock.stat().st_ino

    done = run_ghye(["unlock", "--force", "--config", str(holder.config)])

    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr == (
        f"error: the lock holder, {owner.describe()}, is still running — stop it first "
        "(Ctrl+C lets it save its progress); a running holder is never unlocked\n"
    )
    assert done.stdout == ""
    assert holder.alive()
    assert holder.lock.stat().st_ino == inode  # the lock file is still the holder's
    assert read_owner(holder.lock) == owner


# A second writer that only takes the run lock (what every collect does first).
SECOND = """
import sys
from pathlib import Path
from gh_year_end.errors import CheckpointLocked
from gh_year_end.storage.lock import RunLock
try:
    RunLock(Path(sys.argv[1]), command="ghye resume").acquire()
except CheckpointLocked as exc:
    print(exc)
    sys.exit(exc.exit_code)
print("acquired")
"""


def test_removing_the_lock_file_under_a_running_collect_lets_no_second_writer_in(
    own_holder: Holder,
) -> None:
    owner = read_owner(own_holder.lock)
    assert owner is not None
    assert owner.pid == own_holder.pid
    own_holder.lock.unlink()  # `rm checkpoint.json.lock` while the collect runs
    refused = (
        f"checkpoint locked by {owner.describe()} — if that process is gone, run `ghye unlock`"
    )

    second = subprocess.run(
        [sys.executable, "-c", SECOND, str(own_holder.lock)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    collect = run_ghye(["collect", "--config", str(own_holder.config)], timeout=60)
    forced = run_ghye(["unlock", "--force", "--config", str(own_holder.config)])

    assert (second.returncode, second.stdout) == (4, refused + "\n"), second.stderr
    assert collect.returncode == 4, collect.stdout + collect.stderr
    assert collect.stderr == f"error: {refused}\n"
    assert forced.returncode == 4, forced.stdout + forced.stderr
    assert "a running holder is never unlocked" in forced.stderr
    assert own_holder.alive()
    assert read_owner(own_holder.lock) == owner
    assert holder_state(own_holder.lock) == "alive"


def test_status_reads_without_the_lock_and_shows_the_holder_alive(holder: Holder) -> None:
    as_json = run_ghye(["status", "--json", "--config", str(holder.config)])
    human = run_ghye(["status", "--config", str(holder.config)])

    assert as_json.returncode == 0, as_json.stderr
    report = orjson.loads(as_json.stdout)
    assert report["lock"]["state"] == "alive"
    assert report["lock"]["pid"] == holder.pid
    assert report["lock"]["command"] == "ghye collect"
    kept = len(holder.fake.expected(SINCE, UNTIL)["repos"])
    assert report["units"]["total"] == kept * 6  # the plan, read mid-run from the journal
    assert report["units"]["complete"] < report["units"]["total"]
    assert human.returncode == 0, human.stderr
    assert f"held by pid {holder.pid}" in human.stdout
    # Reading took nothing from the holder.
    assert holder.alive()
    assert _owner_pid(holder.lock) == holder.pid


def test_after_sigkill_of_the_holder_the_next_collect_proceeds_without_unlock(
    own_holder: Holder,
) -> None:
    own_holder.watcher.proc.send_signal(signal.SIGKILL)
    assert own_holder.watcher.finish(timeout=10) == -signal.SIGKILL
    assert holder_state(own_holder.lock) == "stale"
    assert checkpoint_problems(own_holder.target) == []

    done = run_ghye(["collect", "--config", str(own_holder.config)], timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "continuing the run" in done.stdout
    expected = own_holder.fake.expected(SINCE, UNTIL)
    assert compare_with_expected(read_dataset(own_holder.target), expected) == []
    assert checkpoint_problems(own_holder.target, final=True) == []
    assert manifest_problems(own_holder.target) == []
    assert holder_state(own_holder.lock) == "free"


def test_unlock_of_a_stale_record_says_whose_it_was_and_exits_0(own_holder: Holder) -> None:
    pid = own_holder.pid
    own_holder.watcher.proc.send_signal(signal.SIGKILL)
    own_holder.watcher.finish(timeout=10)
    assert holder_state(own_holder.lock) == "stale"

    done = run_ghye(["unlock", "--config", str(own_holder.config)])

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"removed the lock of pid {pid} on {socket.gethostname()} (ghye collect, since" in (
        done.stdout
    )
    assert holder_state(own_holder.lock) == "free"
    again = run_ghye(["unlock", "--config", str(own_holder.config)])
    assert again.returncode == 0
    assert "nothing to unlock" in again.stdout
