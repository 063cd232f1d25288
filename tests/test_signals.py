"""SIGINT/SIGTERM/SIGHUP to a real ``ghye collect``: exit 130/143/129 within 2 s, progress
saved, lock released, and the next ``ghye resume`` ends with the exact dataset; a second SIGINT
leaves at once; a signal during a long rate-limit pause is not held up by it.

Signal moments are drawn from ``--torture-seed`` (random by default; shown on failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from gh_year_end.signals import StopSignal
from gh_year_end.storage.lock import holder_state, read_owner
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
    OutputWatcher,
    checkpoint_problems,
    compare_with_expected,
    data_bytes,
    manifest_problems,
    read_dataset,
    run_ghye,
    start_ghye,
    target_dir,
    write_config,
)

SETTINGS: Final = FakeSettings(
    repos=10,
    pulls=12,
    issues=10,
    issue_comments=110,
    review_comments=110,
    commits=110,
    latency=0.003,
    token=TEST_TOKEN,
)
INTERRUPTED: Final = "interrupted — progress saved; continue with `ghye resume`"
EXIT_CODES: Final = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
EXIT_BUDGET: Final = 2.0  # seconds from the signal to the process's end
RUN_TIMEOUT: Final = 60.0


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run: the expected ids, and the data size (to place signal moments)."""

    expected: dict[str, Any]
    total_bytes: int


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def reference(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    folder = tmp_path_factory.mktemp("reference")
    done = run_ghye(["collect", "--config", str(write_config(folder, fake.base_url))])
    assert done.returncode == 0, done.stderr
    expected = fake.expected(SINCE, UNTIL)
    target = target_dir(folder / "data")
    assert compare_with_expected(read_dataset(target), expected) == []
    return Reference(expected, data_bytes(target))


def _wait(proc_alive: Any, ready: Any, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc_alive(), "ghye ended before the moment the signal was meant for"
        assert time.monotonic() < deadline, "the moment for the signal never came"
        time.sleep(0.003)


def _start(folder: Path, api_url: str) -> tuple[OutputWatcher, Path]:
    """A collect of a fresh folder, its output watched; and its target folder.

    16 in flight, above the gate's slow start of 4: workers are waiting for a slot when the
    signal comes, and must end cancelled, not with an error."""
    config = write_config(folder, api_url, max_concurrency=16)
    return OutputWatcher(start_ghye(["collect", "--config", str(config)])), target_dir(
        folder / "data"
    )


def _reach_moment(
    watcher: OutputWatcher, target: Path, rng: random.Random, moment: str, ref: Reference
) -> str:
    """Wait for a random moment of the given kind; returns what was drawn."""
    proc = watcher.proc
    lock = target / "checkpoint.json.lock"

    def holds() -> bool:
        owner = read_owner(lock)
        return owner is not None and owner.pid == proc.pid

    def alive() -> bool:
        return proc.poll() is None

    # The handlers are installed before the lock is taken: from here on a signal is "ours".
    _wait(alive, holds)
    if moment == "early":  # checkpoint creation, discovery, the first requests
        drawn = rng.uniform(0.0, 0.03)
        time.sleep(drawn)
        return f"{drawn * 1000:.0f} ms after the lock"
    share = rng.uniform(0.05, 0.85)
    _wait(alive, lambda: data_bytes(target) >= share * ref.total_bytes)
    time.sleep(rng.uniform(0.0, 0.01))
    return f"{share:.0%} of the data written"


def _resume_ends_exact(folder: Path, target: Path, ref: Reference) -> None:
    config = folder / "config.yaml"
    done = run_ghye(["resume", "--config", str(config)], timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert compare_with_expected(read_dataset(target), ref.expected) == []
    assert checkpoint_problems(target, final=True) == []
    assert manifest_problems(target) == []


@pytest.mark.parametrize(
    "case",
    # SIGHUP: the terminal closed or the ssh session dropped — saved like SIGTERM.
    [(s, m) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) for m in ("early", "mid")],
    ids=lambda case: f"{case[0].name}-{case[1]}",
)
def test_signal_exits_with_its_code_saves_progress_releases_lock_and_resume_ends_exact(
    fake: FakeGitHub,
    reference: Reference,
    tmp_path: Path,
    torture_seed: int,
    case: tuple[signal.Signals, str],
) -> None:
    signum, moment = case
    rng = random.Random(f"{torture_seed}:{signum.name}:{moment}")
    watcher, target = _start(tmp_path, fake.base_url)
    with watcher:
        drawn = _reach_moment(watcher, target, rng, moment, reference)
        watcher.proc.send_signal(signum)
        sent = time.monotonic()
        exit_code = watcher.finish(timeout=RUN_TIMEOUT)
        took = time.monotonic() - sent
    where = f"{signum.name} at {drawn} (--torture-seed={torture_seed})"
    output = watcher.stdout + watcher.stderr

    assert exit_code == EXIT_CODES[signum], f"{where}: exit {exit_code}\n{output}"
    assert took <= EXIT_BUDGET, f"{where}: took {took:.2f} s to exit"
    assert INTERRUPTED in output.splitlines(), f"{where}:\n{output}"
    lock = target / "checkpoint.json.lock"
    assert holder_state(lock) == "free", f"{where}: lock {holder_state(lock)} after the exit"
    assert checkpoint_problems(target) == [], where
    _resume_ends_exact(tmp_path, target, reference)


def test_second_sigint_leaves_at_once_and_resume_still_ends_exact(
    fake: FakeGitHub, reference: Reference, tmp_path: Path, torture_seed: int
) -> None:
    rng = random.Random(f"{torture_seed}:double")
    watcher, target = _start(tmp_path, fake.base_url)
    with watcher:
        drawn = _reach_moment(watcher, target, rng, "mid", reference)
        where = f"SIGINT twice at {drawn} (--torture-seed={torture_seed})"
        watcher.proc.send_signal(signal.SIGINT)
        # The second once the first is being handled (sent before that, the kernel would merge
        # the two into one SIGINT).
        assert watcher.wait_for("SIGINT received", timeout=EXIT_BUDGET), where
        watcher.proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        exit_code = watcher.finish(timeout=RUN_TIMEOUT)
        took = time.monotonic() - sent
    output = watcher.stdout + watcher.stderr

    assert exit_code == 130, f"{where}: exit {exit_code}\n{output}"
    assert took <= 0.5, f"{where}: took {took:.2f} s after the second SIGINT"
    # Left at once: no graceful summary, and the owner record is left behind (stale) — the
    # kernel dropped the flock, so resume needs no `ghye unlock`.
    assert INTERRUPTED not in output, f"{where}: the second SIGINT waited for the save\n{output}"
    assert holder_state(target / "checkpoint.json.lock") == "stale", where
    assert checkpoint_problems(target) == [], where
    _resume_ends_exact(tmp_path, target, reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_a_long_rate_limit_pause_exits_within_2s(
    tmp_path: Path, torture_seed: int, signum: signal.Signals
) -> None:
    # 5 requests a minute: the collect soon pauses ~60 s for the window's reset.
    limited = FakeSettings(
        repos=4, pulls=5, issues=5, issue_comments=5, review_comments=5, commits=5,
        rate_limit=5, rate_window=60.0, token=TEST_TOKEN,
    )  # fmt: skip
    rng = random.Random(f"{torture_seed}:pause:{signum.name}")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(FakeGitHub(limited))
        config = write_config(tmp_path, server.base_url)
        target = target_dir(tmp_path / "data")
        watcher = stack.enter_context(
            OutputWatcher(start_ghye(["collect", "--config", str(config)]))
        )
        assert watcher.wait_for("waiting 00:0", timeout=20), watcher.stdout
        time.sleep(rng.uniform(0.0, 0.5))
        watcher.proc.send_signal(signum)
        sent = time.monotonic()
        exit_code = watcher.finish(timeout=RUN_TIMEOUT)
        took = time.monotonic() - sent
    output = watcher.stdout + watcher.stderr
    assert exit_code == EXIT_CODES[signum], output
    assert took <= EXIT_BUDGET, f"{signum.name} in the pause took {took:.2f} s to exit"
    assert INTERRUPTED in output.splitlines(), output
    assert holder_state(target / "checkpoint.json.lock") == "free"
    assert checkpoint_problems(target) == []


def test_a_signal_the_process_started_ignoring_stays_ignored() -> None:
    # `nohup ghye collect`: SIGHUP is ignored from the start and must not stop the run.
    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = StopSignal()
        stop.install(loop)
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.sleep(0.05)
            assert not stop.event.is_set()
        finally:
            stop.uninstall(loop)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        asyncio.run(main())
    finally:
        signal.signal(signal.SIGHUP, previous)
