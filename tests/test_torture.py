"""Crash torture: SIGKILL a real ``ghye collect`` at random moments, continue, and repeat.

Each round starts in a fresh folder, kills the collect (then ``resume`` or ``collect``) at a
random moment — during interpreter start, lock and discovery, page writes and commits, or the
final manifest and checkpoint save — up to MAX_KILLS times, then lets a run finish. After every
kill the checkpoint on disk must describe an exact prefix of each file and the lock must be free
or stale (the next run proceeds without ``ghye unlock``); at the end the dataset must hold every
expected record exactly once, and the checkpoint and manifest must match the files.

``--torture-rounds=N`` sets the number of rounds (``make torture`` runs 100); a failing round
prints its seed, and ``--torture-seed=S`` replays the same draw.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.lock import holder_state, read_owner
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
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

# 8 kept repos (repo 3 is a fork, 5 archived), ~1,400 records of the window: two pages per
# listing unit and one page per pull request for reviews — ~120 page commits, 1-2 s of work.
SETTINGS: Final = FakeSettings(
    repos=10,
    pulls=16,
    issues=12,
    issue_comments=110,
    review_comments=110,
    commits=110,
    latency=0.002,
    token=TEST_TOKEN,
)
EVERY: Final = {"hygiene": True, "commit_stats": True}
"""Every endpoint on: repository health and commit sizes (read through GraphQL) too."""
MAX_KILLS: Final = 6  # a round's cap is drawn from 1..MAX_KILLS; then a run may finish
MAX_RESTARTS: Final = 3  # a round whose first run outran its kill starts again (see below)
PARALLEL: Final = 2  # rounds run two at a time: most of a run is waiting, not computing
RUN_TIMEOUT: Final = 60.0  # one run of a few seconds; past this it hangs
POLL: Final = 0.005
# How a kill moment is chosen: weight, then name.
MODES: Final = (
    (0.10, "startup"),  # a random time after spawn: imports, config, lock, discovery
    (0.10, "locked"),  # just after the lock is taken: checkpoint creation, discovery, first pages
    (0.55, "pages"),  # once a random share of the remaining data is on disk: writes and commits
    (0.25, "late"),  # once (nearly) all data is on disk: completion, manifest, final save
)


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run: what a correct dataset holds, and how large it is."""

    expected: dict[str, Any]
    records: int
    total_bytes: int


@dataclass
class Round:
    """What one round did and found."""

    number: int
    seed: str
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    kills: int = 0
    restarts: int = 0
    stale_takeovers: int = 0
    moments: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def reference(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted collect: it must itself be exact; it sizes the kill moments."""
    folder = tmp_path_factory.mktemp("reference")
    config = write_config(folder, fake.base_url, enable=EVERY)
    done = run_ghye(["collect", "--config", str(config)], timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    expected = fake.expected(SINCE, UNTIL, extra=("repo_health", "commit_stats"))
    target = target_dir(folder / "data")
    assert compare_with_expected(read_dataset(target), expected) == []
    records = sum(len(ids) for unit in expected["units"].values() for ids in unit.values())
    assert records > 1000
    return Reference(expected, records, data_bytes(target))


def _wait_for(proc: subprocess.Popen[str], ready: Any, deadline: float) -> bool:
    """Poll until ``ready()`` or the process ends; False if it ended (or the deadline passed)."""
    while proc.poll() is None:
        if ready():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return False


def _holds(lock: Path, pid: int) -> bool:
    owner = read_owner(lock)
    return owner is not None and owner.pid == pid


def _kill_at_random_moment(
    proc: subprocess.Popen[str], rng: random.Random, target: Path, ref: Reference, *, late: bool
) -> str:
    """Wait for a randomly chosen moment and SIGKILL ``proc`` (unless it ends first).

    Without ``late`` the moment is one the run cannot outrun, so the round surely crashes once:
    a startup kill comes at its drawn time or as soon as the run holds the lock, whichever is
    first (a run cannot end before it took the lock and wrote its data); a pages kill comes,
    without jitter, once at most 90% of what is left is on disk.
    """
    modes = [(w, m) for w, m in MODES if late or m != "late"]
    mode = rng.choices([m for _, m in modes], weights=[w for w, _ in modes])[0]
    deadline = time.monotonic() + RUN_TIMEOUT
    lock = target / "checkpoint.json.lock"
    if mode == "startup":
        at = time.monotonic() + rng.uniform(0.0, 1.0)
        if late:
            reached = _wait_for(proc, lambda: time.monotonic() >= at, deadline)
        else:
            reached = _wait_for(
                proc, lambda: time.monotonic() >= at or _holds(lock, proc.pid), deadline
            )
        jitter = 0.0
    elif mode == "locked":
        reached = _wait_for(proc, lambda: _holds(lock, proc.pid), deadline)
        jitter = rng.uniform(0.0, 0.02)
    else:
        # Progress is measured from the moment this run holds the lock (it may first cut off
        # an uncommitted tail), as a share of what is left to write.
        reached = _wait_for(proc, lambda: _holds(lock, proc.pid), deadline)
        start = data_bytes(target)
        share = rng.random() if mode == "pages" else 0.99
        if not late:
            share *= 0.9
        goal = start + share * max(0, ref.total_bytes - start)
        reached = reached and _wait_for(proc, lambda: data_bytes(target) >= goal, deadline)
        jitter = rng.uniform(0.0, 0.01) if mode == "pages" else rng.uniform(0.0, 0.25)
        if not late:
            jitter = 0.0
    if reached and jitter:
        time.sleep(jitter)
    hung = time.monotonic() > deadline
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return f"{mode}:HUNG" if hung else mode


def _moment_hit(target: Path, total_records: int) -> str:
    """Where the killed run was, as far as the disk tells: for the printed tally."""
    if not (target / "checkpoint.json").exists():
        return "before-checkpoint"
    checkpoint = CheckpointManager.read_only(
        target / "checkpoint.json", journal_path=target / "checkpoint.journal"
    )
    if not checkpoint.is_phase_complete("discovery"):
        return "discovery"
    if (target / "manifest.json").exists():
        return "after-manifest"
    records = checkpoint.get_stats()["records_collected"]
    if records >= total_records:
        return "all-committed"
    return f"pages-{min(9, 10 * records // max(1, total_records))}0%"


def _one_round(number: int, seed: str, folder: Path, fake: FakeGitHub, ref: Reference) -> Round:
    rng = random.Random(seed)
    record = Round(number, seed)
    config = write_config(folder, fake.base_url, enable=EVERY)
    target = target_dir(folder / "data")
    lock = target / "checkpoint.json.lock"
    cap = rng.randint(1, MAX_KILLS)
    killed: list[int] = []
    command = "collect"
    while True:
        finishing = record.kills >= cap
        began = time.monotonic()
        proc = start_ghye([command, "--config", str(config)])
        if finishing:
            mode = "finish"
            try:
                out, err = proc.communicate(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                mode = "finish:HUNG"
        else:
            mode = _kill_at_random_moment(proc, rng, target, ref, late=record.kills > 0)
            out, err = proc.communicate()
        code = proc.returncode
        record.steps.append(f"{command}/{mode}→{code}@{time.monotonic() - began:.1f}")
        if code == 0 and not finishing and record.kills == 0 and record.restarts < MAX_RESTARTS:
            # The run outran its first kill (a very slow poll): the round starts again afresh,
            # so that every round surely crashes a run at least once.
            record.restarts += 1
            shutil.rmtree(folder / "data", ignore_errors=True)
            command = "collect"
            continue
        if mode.endswith(":HUNG"):
            record.problems.append(f"{command} still ran after {RUN_TIMEOUT:.0f} s:\n{out[-2000:]}")
            return record
        if code == 0:
            break
        if code != -signal.SIGKILL:
            record.problems.append(
                f"{command} exited {code} (expected 0 or SIGKILL):\n{err[-2000:]}{out[-1000:]}"
            )
            return record
        record.kills += 1
        killed.append(proc.pid)
        # The kernel dropped the dead holder's flock: free, or a stale record — never "alive".
        state = holder_state(lock)
        if state not in ("free", "stale"):
            record.problems.append(f"after SIGKILL #{record.kills} the lock is {state!r}")
            return record
        if state == "stale":
            stale = read_owner(lock)
            if stale is None or stale.pid not in killed:
                record.problems.append(f"stale owner record {stale} is of no killed run {killed}")
                return record
            record.stale_takeovers += 1
        record.moments.append(_moment_hit(target, ref.records))
        broken = checkpoint_problems(target)
        if broken:
            where = f"after SIGKILL #{record.kills} ({mode})"
            record.problems.append(f"{where}: " + "; ".join(broken[:5]))
            return record
        has_checkpoint = (target / "checkpoint.json").exists()
        command = "resume" if has_checkpoint and rng.random() < 0.5 else "collect"
    for label, found in (
        ("dataset", compare_with_expected(read_dataset(target), ref.expected)),
        ("checkpoint", checkpoint_problems(target, final=True)),
        ("manifest", manifest_problems(target)),
    ):
        if found:
            record.problems.append(f"{label}: " + "; ".join(found[:8]))
    if holder_state(lock) != "free":
        record.problems.append(f"the lock is {holder_state(lock)!r} after the final run")
    return record


def _guarded_round(number: int, seed: str, folder: Path, fake: FakeGitHub, ref: Reference) -> Round:
    """A round whose unexpected exception is a finding of that round, not the end of all."""
    try:
        return _one_round(number, seed, folder, fake, ref)
    except Exception:  # reported with its round and seed, like any other finding
        return Round(number, seed, problems=[traceback.format_exc()])


def test_sigkill_at_random_moments_then_continue_ends_with_every_record_once(
    fake: FakeGitHub,
    reference: Reference,
    tmp_path: Path,
    torture_rounds: int,
    torture_seed: int,
) -> None:
    began = time.monotonic()
    rounds: list[Round] = []
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="torture") as pool:
        futures = [
            pool.submit(
                _guarded_round,
                number,
                f"{torture_seed}:{number}",
                tmp_path / f"round-{number:03d}",
                fake,
                reference,
            )
            for number in range(1, torture_rounds + 1)
        ]
        for future in as_completed(futures):
            result = future.result()
            rounds.append(result)
            verdict = "held" if not result.problems else "BROKE"
            print(
                f"torture round {result.number}/{torture_rounds} (seed {result.seed}): "
                f"{verdict} — {' '.join(result.steps)}"
            )
    rounds.sort(key=lambda r: r.number)
    held = sum(1 for r in rounds if not r.problems)
    kills = sum(r.kills for r in rounds)
    stale = sum(r.stale_takeovers for r in rounds)
    moments = Counter(m for r in rounds for m in r.moments)
    print(
        f"torture: {held}/{len(rounds)} rounds held ({kills} SIGKILLs, {stale} stale locks "
        f"taken over without `ghye unlock`, {time.monotonic() - began:.1f} s, "
        f"seed {torture_seed})"
    )
    print("torture: kills landed at " + ", ".join(f"{k} ×{n}" for k, n in sorted(moments.items())))
    broken = [r for r in rounds if r.problems]
    assert not broken, "\n".join(
        f"round {r.number} (replay: --torture-seed={torture_seed}; round seed {r.seed}; "
        f"steps {' '.join(r.steps)}):\n  " + "\n  ".join(r.problems)
        for r in broken
    )
    # Every round really crashed a run, and runs left stale lock records that the next run took
    # over by itself (else this test proved nothing about SIGKILL).
    assert all(r.kills >= 1 for r in rounds)
    assert stale >= 1
