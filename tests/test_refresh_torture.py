"""Refresh torture: SIGKILL a real ``ghye collect --refresh`` at random moments, continue (with
``ghye resume`` or ``collect --refresh`` again), and compare the end with an uninterrupted
refresh of the same data.

Once per module: the fake's data is collected into a template folder; then the fake's data
changes (edits, additions, deletions, a new repository) and a copy of the template is refreshed
without interruption — the reference. Each round copies the template, kills the refresh up to
MAX_KILLS times at a random moment (a time drawn within the reference refresh's duration: the
discovery, the 304s, the walks, the rewrites and their switches), then lets a run finish. After
every kill the checkpoint must describe each unit's data exactly (a refreshed file whose
switch is pending included); the run that continues is ``ghye resume`` (half the time) once the
refresh has begun, else ``collect --refresh`` again. At the end the dataset must equal the
reference record for record (each id once, in its latest version), with no refreshed file left
over, the manifest exact and ``ghye verify`` holding.

``--torture-rounds=N`` sets the rounds (``make torture`` runs 100 of these too); a failing
round prints its seed, and ``--torture-seed=S`` replays the same draw.
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

import orjson
import pytest

from gh_year_end.collect.refresh import generation_in_progress
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.lock import holder_state
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    TEST_TOKEN,
    checkpoint_problems,
    manifest_problems,
    record_id,
    run_ghye,
    start_ghye,
    target_dir,
    write_config,
)

YEAR: Final = 2026  # the fake's data runs to mid-2026 and changes now: an open window
SETTINGS: Final = FakeSettings(
    repos=10,
    pulls=16,
    issues=40,
    issue_comments=60,
    review_comments=40,
    commits=60,
    latency=0.004,
    token=TEST_TOKEN,
)
CHANGES: Final[dict[str, Any]] = {"seed": 11, "edits": 3, "adds": 3, "deletes": 1, "new_repos": 1}
EVERY: Final = {"hygiene": True, "commit_stats": True}
"""Every endpoint on: repository health and commit sizes (read through GraphQL) too."""
MAX_KILLS: Final = 4
PARALLEL: Final = 2
RUN_TIMEOUT: Final = 60.0

Records = dict[tuple[str, str, str], bytes]


@dataclass(frozen=True)
class Reference:
    """The template (collected before the change) and an uninterrupted refresh's result."""

    template: Path
    records: Records
    seconds: float


@dataclass
class Round:
    """What happened in one round."""

    number: int
    seed: str
    kills: int = 0
    moments: list[str] = field(default_factory=list)
    """Where each kill landed: before the refresh began, during it, or at a pending switch."""
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _records(target: Path) -> Records:
    """Each unit file's records by (endpoint, file, id) → the record's JSON (the envelope's
    fetch time left out: it says when, not what)."""
    found: Records = {}
    for path in sorted(target.glob("*/*.jsonl")):
        for line in path.read_bytes().splitlines():
            data = orjson.loads(line)["data"]
            key = (path.parent.name, path.name, str(record_id(path.parent.name, data)))
            if key in found:
                raise AssertionError(f"{key} twice")
            found[key] = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return found


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def reference(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    template = tmp_path_factory.mktemp("template")
    config = write_config(template, fake.base_url, year=YEAR, enable=EVERY)
    done = run_ghye(["collect", "--config", str(config)], timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    fake.mutate(**CHANGES)
    copy = tmp_path_factory.mktemp("reference") / "work"
    shutil.copytree(template, copy)
    config = write_config(copy, fake.base_url, year=YEAR, enable=EVERY)
    began = time.monotonic()
    done = run_ghye(["collect", "--refresh", "--config", str(config)], timeout=RUN_TIMEOUT)
    seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr + done.stdout
    assert "changed" in done.stdout
    target = target_dir(copy / "data", year=YEAR)
    assert checkpoint_problems(target, final=True) == []
    return Reference(template, _records(target), seconds)


def _one_round(number: int, seed: str, folder: Path, fake: FakeGitHub, ref: Reference) -> Round:
    rng = random.Random(seed)
    record = Round(number, seed)
    shutil.copytree(ref.template, folder)
    config = write_config(folder, fake.base_url, year=YEAR, enable=EVERY)
    target = target_dir(folder / "data", year=YEAR)
    cap = rng.randint(1, MAX_KILLS)
    args = ["collect", "--refresh"]
    while True:
        finishing = record.kills >= cap
        proc = start_ghye([*args, "--config", str(config)])
        if finishing:
            try:
                out, err = proc.communicate(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                record.problems.append(f"{' '.join(args)} hung:\n{out[-2000:]}")
                return record
        else:
            # Python's start-up is ~0.3 s of the run; the refresh's own work follows it.
            delay = rng.uniform(0.2, max(0.4, ref.seconds * 1.1))
            try:
                out, err = proc.communicate(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                out, err = proc.communicate()
        code = proc.returncode
        record.steps.append(f"{' '.join(args)}→{code}")
        if code == 0:
            break
        if code != -signal.SIGKILL:
            record.problems.append(f"{' '.join(args)} exited {code}:\n{err[-2000:]}{out[-800:]}")
            return record
        record.kills += 1
        record.moments.append(_moment(target))
        broken = checkpoint_problems(target)
        if broken:
            record.problems.append(f"after SIGKILL #{record.kills}: " + "; ".join(broken[:5]))
            return record
        # `ghye resume` continues a refresh that has begun (its number committed); killed
        # before that, only `collect --refresh` says a refresh is wanted.
        args = ["resume"] if _under_way(target) and rng.random() < 0.5 else ["collect", "--refresh"]
    got = _records(target)
    if got != ref.records:
        only_got = sorted(set(got) - set(ref.records))[:3]
        only_ref = sorted(set(ref.records) - set(got))[:3]
        differ = [k for k in set(got) & set(ref.records) if got[k] != ref.records[k]][:3]
        record.problems.append(
            f"dataset differs from the uninterrupted refresh: only here {only_got}, "
            f"missing {only_ref}, other content {differ}"
        )
    for label, found in (
        ("checkpoint", checkpoint_problems(target, final=True)),
        ("manifest", manifest_problems(target)),
    ):
        if found:
            record.problems.append(f"{label}: " + "; ".join(found[:8]))
    verified = run_ghye(["verify", "--config", str(config)], timeout=RUN_TIMEOUT)
    if verified.returncode != 0:
        record.problems.append(f"verify: {verified.stdout[-1500:]}")
    if holder_state(target / "checkpoint.json.lock") != "free":
        record.problems.append("the lock is held after the final run")
    return record


def _moment(target: Path) -> str:
    if not (target / "checkpoint.json").exists() or not _under_way(target):
        return "before the refresh began"
    checkpoint = CheckpointManager.read_only(
        target / "checkpoint.json", journal_path=target / "checkpoint.journal"
    )
    if any(state.switch is not None for _, _, state in checkpoint.units()):
        return "between a commit and its rename"
    return "during the refresh"


def _under_way(target: Path) -> bool:
    checkpoint = CheckpointManager.read_only(
        target / "checkpoint.json", journal_path=target / "checkpoint.journal"
    )
    return generation_in_progress(checkpoint) is not None


def _guarded_round(number: int, seed: str, folder: Path, fake: FakeGitHub, ref: Reference) -> Round:
    try:
        return _one_round(number, seed, folder, fake, ref)
    except Exception:  # reported with its round and seed, like any other finding
        return Round(number, seed, problems=[traceback.format_exc()])


def test_sigkill_during_a_refresh_then_continue_ends_as_an_uninterrupted_refresh(
    fake: FakeGitHub,
    reference: Reference,
    tmp_path: Path,
    torture_rounds: int,
    torture_seed: int,
) -> None:
    began = time.monotonic()
    rounds: list[Round] = []
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="refresh-torture") as pool:
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
                f"refresh torture round {result.number}/{torture_rounds} (seed {result.seed}): "
                f"{verdict} — {' '.join(result.steps)}"
            )
    rounds.sort(key=lambda r: r.number)
    held = sum(1 for r in rounds if not r.problems)
    kills = sum(r.kills for r in rounds)
    print(
        f"refresh torture: {held}/{len(rounds)} rounds held ({kills} SIGKILLs, reference refresh "
        f"{reference.seconds:.1f} s, {time.monotonic() - began:.1f} s, seed {torture_seed})"
    )
    moments = Counter(m for r in rounds for m in r.moments)
    print("refresh torture: kills landed " + ", ".join(f"{k} ×{n}" for k, n in moments.items()))
    broken = [r for r in rounds if r.problems]
    assert not broken, "\n".join(
        f"round {r.number} (replay: --torture-seed={torture_seed}; round seed {r.seed}; "
        f"steps {' '.join(r.steps)}):\n  " + "\n  ".join(r.problems)
        for r in broken
    )
    assert kills >= 1
