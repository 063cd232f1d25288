"""CheckpointManager: seed semantics, page-exact durable commits, journal, corruption, locking."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINTS
from gh_year_end.errors import (
    CheckpointCorrupt,
    CheckpointLocked,
    CheckpointVersionUnsupported,
    NoCheckpoint,
    StorageError,
    UnknownEndpoint,
    UnknownRepo,
)
from gh_year_end.storage import CheckpointManager, CheckpointStatus, EndpointProgress
from gh_year_end.storage.checkpoint import (
    FORMAT_VERSION,
    Cursor,
    RepoProgress,
    derive_status,
    unit_is_left,
)
from gh_year_end.storage.lock import holder_state

ALL_ENDPOINTS = [e.name for e in ENDPOINTS if not e.opt_in]  # what a default config plans
REPOS = [{"full_name": f"acme/repo{i}", "id": i} for i in range(1, 4)]


class Clock:
    """A clock that ticks one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "target=acme"
    return folder / "checkpoint.json", folder / "checkpoint.json.lock"


@pytest.fixture
def manager(paths: tuple[Path, Path], config: Config) -> CheckpointManager:
    cp = CheckpointManager(paths[0], paths[1], clock=Clock())
    cp.create_new(config)
    cp.update_repos(REPOS)
    return cp


def journal_lines(cp: CheckpointManager) -> list[dict[str, Any]]:
    if not cp.journal_path.exists():
        return []
    return [json.loads(line) for line in cp.journal_path.read_bytes().splitlines()]


def interrupt_self(signum: int) -> None:
    """Send ``signum`` to this process; Python runs the handler at a bytecode boundary."""
    os.kill(os.getpid(), signum)
    for _ in range(1000):
        time.sleep(0)


def reloaded(cp: CheckpointManager) -> CheckpointManager:
    return CheckpointManager.read_only(cp.checkpoint_path)


# --- creating and planning -------------------------------------------------------------


def test_create_new_writes_a_format_2_snapshot_and_an_empty_journal(
    paths: tuple[Path, Path], config: Config
) -> None:
    cp = CheckpointManager(paths[0], paths[1])
    assert not cp.exists()
    cp.create_new(config)
    assert cp.exists()
    data = json.loads(paths[0].read_text())
    assert data["format_version"] == FORMAT_VERSION == 4
    assert data["config_digest"] == config.digest
    assert data["dataset"] == config.dataset_keys()
    assert data["target"] == {"mode": "org", "name": "acme"}
    assert (data["plan"], data["repos"], data["phases"]) == ([], {}, {})
    assert data["seq"] == 0
    assert journal_lines(cp) == []


def test_update_repos_plans_every_enabled_endpoint_in_order(manager: CheckpointManager) -> None:
    assert manager.repo_names() == ["acme/repo1", "acme/repo2", "acme/repo3"]
    repo = manager.get_repo("acme/repo1")
    assert repo is not None
    assert list(repo.endpoints) == ALL_ENDPOINTS
    assert repo.repo == {"full_name": "acme/repo1", "id": 1}
    assert manager.get_stats()["units_pending"] == 18
    # durable at once: the plan is in the snapshot
    assert json.loads(manager.checkpoint_path.read_text())["plan"] == manager.repo_names()


def test_update_repos_keeps_progress_and_reorders(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo2", "pulls", 1, 10)
    manager.update_repos(
        [
            {"full_name": "acme/repo3"},
            {"full_name": "acme/repo2", "x": 1},
            {"full_name": "acme/repo3"},
            {"full_name": "acme/new"},
        ]
    )
    assert manager.repo_names() == ["acme/repo3", "acme/repo2", "acme/new"]
    assert manager.get_endpoint("acme/repo2", "pulls").records_collected == 10
    assert manager.get_repos_to_process()[1] == {"full_name": "acme/repo2", "x": 1}
    # a repo dropped from the plan keeps its progress but is no longer worked on
    assert manager.get_repo("acme/repo1") is not None
    assert manager.get_stats()["total_repos"] == 3


def test_update_repos_with_explicit_endpoints(manager: CheckpointManager) -> None:
    manager.update_repos([{"full_name": "acme/only"}], endpoints=["commits"])
    repo = manager.get_repo("acme/only")
    assert repo is not None
    assert list(repo.endpoints) == ["commits"]


def test_update_repos_rejects_entries_without_full_name(manager: CheckpointManager) -> None:
    with pytest.raises(ValueError, match="full_name"):
        manager.update_repos([{"name": "repo1"}])


def test_mutations_before_load_are_refused(paths: tuple[Path, Path]) -> None:
    cp = CheckpointManager(paths[0])
    with pytest.raises(RuntimeError, match="load"):
        cp.update_progress("acme/x", "pulls", 1, 1)


# --- page commits ----------------------------------------------------------------------


def test_update_progress_is_durable_when_it_returns(manager: CheckpointManager) -> None:
    manager.mark_repo_endpoint_in_progress("acme/repo1", "pulls")
    manager.update_progress(
        "acme/repo1",
        "pulls",
        1,
        30,
        next_url="https://x/2",
        offset=1000,
        lines=30,
        cursor=Cursor(started_at="2026-11-26T09:59:00Z"),
    )
    manager.update_progress(
        "acme/repo1", "pulls", 2, 20, next_url="https://x/3", offset=1700, lines=50
    )
    # No save(): another reader already sees both commits (journal replay).
    state = reloaded(manager).get_endpoint("acme/repo1", "pulls")
    assert (state.pages_collected, state.records_collected, state.last_page_written) == (2, 50, 2)
    assert (state.next_url, state.offset, state.lines, state.cursor) == (
        "https://x/3",
        1700,
        50,
        Cursor(started_at="2026-11-26T09:59:00Z"),
    )
    assert state.status is CheckpointStatus.IN_PROGRESS
    assert manager.get_resume_page("acme/repo1", "pulls") == 3
    lines = journal_lines(manager)
    assert [entry["seq"] for entry in lines] == [1, 2, 3]
    assert lines[-1]["state"]["offset"] == 1700  # absolute state, not a delta


def test_complete_in_the_same_commit(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5, offset=10, lines=5, complete=True)
    assert manager.is_repo_endpoint_complete("acme/repo1", "pulls")
    assert len(journal_lines(manager)) == 1
    assert reloaded(manager).is_repo_endpoint_complete("acme/repo1", "pulls")


def test_offset_going_backwards_is_refused_and_nothing_is_recorded(
    manager: CheckpointManager,
) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5, offset=100, lines=5)
    with pytest.raises(ValueError, match="behind the committed 100"):
        manager.update_progress("acme/repo1", "pulls", 2, 5, offset=50, lines=10)
    assert len(journal_lines(manager)) == 1
    assert manager.get_endpoint("acme/repo1", "pulls").offset == 100


def test_get_endpoint_returns_copies_and_defaults(manager: CheckpointManager) -> None:
    cursor = Cursor(pr_index=3)
    manager.update_progress("acme/repo1", "reviews", 1, 1, cursor=cursor)
    cursor.pr_index = 7  # the caller's cursor is not the one committed
    copy = manager.get_endpoint("acme/repo1", "reviews")
    copy.cursor.pr_index = 99
    copy.records_collected = 1000
    assert manager.get_endpoint("acme/repo1", "reviews").cursor == Cursor(pr_index=3)
    assert manager.get_endpoint("acme/nope", "pulls") == EndpointProgress()
    assert manager.get_resume_page("acme/nope", "pulls") == 1
    assert not manager.is_repo_endpoint_complete("acme/repo1", "nonexistent")


def test_a_commit_to_an_unplanned_repo_is_refused_and_nothing_is_written(
    manager: CheckpointManager,
) -> None:
    before = manager.journal_path.read_bytes() if manager.journal_path.exists() else b""
    with pytest.raises(UnknownRepo) as info:
        manager.update_progress("acme/repo", "pulls", 1, 50)
    assert str(info.value) == (
        "repo acme/repo is not in the checkpoint's plan — did you mean acme/repo3, acme/repo2, "
        "acme/repo1? (`ghye status` lists the planned repos)"
    )
    marks: tuple[Callable[[], None], ...] = (
        lambda: manager.mark_repo_endpoint_in_progress("acme/newrepo", "pulls"),
        lambda: manager.mark_repo_endpoint_complete("acme/newrepo", "pulls"),
        lambda: manager.mark_repo_endpoint_failed("acme/newrepo", "pulls", "x", True),
    )
    for mark in marks:
        with pytest.raises(UnknownRepo, match=r"^repo acme/newrepo is not in the checkpoint's"):
            mark()
    assert manager.repo_names() == ["acme/repo1", "acme/repo2", "acme/repo3"]
    assert manager.get_repo("acme/newrepo") is None
    after = manager.journal_path.read_bytes() if manager.journal_path.exists() else b""
    assert after == before
    assert reloaded(manager).repo_names() == ["acme/repo1", "acme/repo2", "acme/repo3"]


def test_a_commit_to_an_endpoint_not_planned_for_the_repo_is_refused(
    manager: CheckpointManager,
) -> None:
    manager.update_repos([*REPOS, {"full_name": "acme/only"}], endpoints=["commits"])
    commits: tuple[Callable[[], None], ...] = (
        lambda: manager.update_progress("acme/only", "pulls", 1, 5),
        lambda: manager.mark_repo_endpoint_in_progress("acme/only", "pulls"),
        lambda: manager.mark_repo_endpoint_complete("acme/only", "pulls"),
        lambda: manager.mark_repo_endpoint_failed("acme/only", "nonsense", "x", False),
    )
    for commit in commits:
        with pytest.raises(UnknownEndpoint, match=r"^endpoint \w+ is not planned for acme/only"):
            commit()
    with pytest.raises(UnknownEndpoint) as info:
        manager.update_progress("acme/only", "pulls", 1, 5)
    assert str(info.value) == "endpoint pulls is not planned for acme/only (its endpoints: commits)"
    repo = manager.get_repo("acme/only")
    assert repo is not None
    assert list(repo.endpoints) == ["commits"]
    assert journal_lines(manager) == []
    manager.update_progress("acme/only", "commits", 1, 5)  # its planned unit commits as ever
    assert reloaded(manager).get_endpoint("acme/only", "commits").records_collected == 5


def test_mark_failed_unavailable_and_complete(manager: CheckpointManager) -> None:
    manager.mark_repo_endpoint_failed(
        "acme/repo1", "pulls", "404 Not Found", False, unavailable=True
    )
    state = reloaded(manager).get_endpoint("acme/repo1", "pulls")
    assert (state.status, state.error, state.retryable, state.unavailable) == (
        CheckpointStatus.FAILED,
        "404 Not Found",
        False,
        True,
    )
    repo = manager.get_repo("acme/repo1")
    assert repo is not None
    assert repo.error == {
        "endpoint": "pulls",
        "message": "404 Not Found",
        "retryable": False,
        "unavailable": True,
    }
    manager.mark_repo_endpoint_complete("acme/repo1", "pulls")
    state = manager.get_endpoint("acme/repo1", "pulls")
    assert (state.status, state.error, state.retryable, state.unavailable) == (
        CheckpointStatus.COMPLETE,
        None,
        None,
        False,
    )


def test_reset_endpoint_zeroes_the_unit(manager: CheckpointManager) -> None:
    manager.update_progress(
        "acme/repo1",
        "pulls",
        1,
        5,
        next_url="u",
        offset=9,
        lines=5,
        cursor=Cursor(started_at="2026-01-01T00:00:00Z", catch_up_from="2026-01-02T00:00:00Z"),
    )
    manager.reset_endpoint("acme/repo1", "pulls")
    state = reloaded(manager).get_endpoint("acme/repo1", "pulls")
    assert state.status is CheckpointStatus.PENDING
    assert (state.pages_collected, state.offset, state.lines, state.next_url, state.cursor) == (
        0,
        0,
        0,
        None,
        Cursor(),
    )


def test_reset_of_unknown_repo_or_endpoint_is_refused(manager: CheckpointManager) -> None:
    with pytest.raises(UnknownRepo) as info:
        manager.reset_endpoint("acme/repo", "pulls")
    assert str(info.value) == (
        "--repo acme/repo is not in the checkpoint's plan — did you mean acme/repo3, "
        "acme/repo2, acme/repo1? (`ghye status` lists the planned repos)"
    )
    with pytest.raises(UnknownEndpoint, match="--endpoint pull is not one ghye collects"):
        manager.reset_endpoint("acme/repo1", "pull")


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "pending"),
        (["pending", "pending"], "pending"),
        (["complete", "complete"], "complete"),
        (["complete", "pending"], "in_progress"),
        (["in_progress", "failed"], "in_progress"),
        (["failed", "complete"], "failed"),
        (["failed", "pending"], "failed"),
    ],
)
def test_repo_status_derives_from_its_endpoints(statuses: list[str], expected: str) -> None:
    endpoints = {
        str(i): EndpointProgress(status=CheckpointStatus(s)) for i, s in enumerate(statuses)
    }
    assert derive_status(endpoints) is CheckpointStatus(expected)


def test_repo_timestamps_follow_the_status(manager: CheckpointManager) -> None:
    manager.update_repos([{"full_name": "acme/solo"}], endpoints=["pulls", "issues"])
    manager.mark_repo_endpoint_in_progress("acme/solo", "pulls")
    repo = manager.get_repo("acme/solo")
    assert repo is not None
    assert repo.started_at is not None
    assert repo.completed_at is None
    manager.mark_repo_endpoint_complete("acme/solo", "pulls")
    manager.mark_repo_endpoint_complete("acme/solo", "issues")
    repo = manager.get_repo("acme/solo")
    assert repo is not None
    assert repo.status is CheckpointStatus.COMPLETE
    assert repo.completed_at is not None
    assert reloaded(manager).get_repo("acme/solo") == repo


# --- what to process -------------------------------------------------------------------


def test_get_repos_to_process_skips_complete_and_failed(manager: CheckpointManager) -> None:
    for endpoint in ALL_ENDPOINTS:
        manager.mark_repo_endpoint_complete("acme/repo1", endpoint)
    for endpoint in ALL_ENDPOINTS[1:]:
        manager.mark_repo_endpoint_complete("acme/repo2", endpoint)
    manager.mark_repo_endpoint_failed("acme/repo2", ALL_ENDPOINTS[0], "403", False)
    assert manager.get_repos_to_process() == [{"full_name": "acme/repo3", "id": 3}]
    assert [r["full_name"] for r in manager.get_repos_to_process(retry_failed=True)] == [
        "acme/repo2",
        "acme/repo3",
    ]


def test_a_permanent_failure_skips_that_unit_not_the_repo(manager: CheckpointManager) -> None:
    # acme/repo2: one unit failed for good, the others untried; acme/repo3: one retryable
    # failure, the others complete. Both still have a unit left without --retry-failed.
    manager.mark_repo_endpoint_failed("acme/repo2", "pulls", "403", False)
    for endpoint in ALL_ENDPOINTS[1:]:
        manager.mark_repo_endpoint_complete("acme/repo3", endpoint)
    manager.mark_repo_endpoint_failed("acme/repo3", "pulls", "502", True)
    repo2 = manager.get_repo("acme/repo2")
    assert repo2 is not None
    assert repo2.status is CheckpointStatus.FAILED
    names = [r["full_name"] for r in manager.get_repos_to_process()]
    assert names == ["acme/repo1", "acme/repo2", "acme/repo3"]
    assert reloaded(manager).get_repos_to_process() == manager.get_repos_to_process()


@pytest.mark.parametrize(
    ("status", "retryable", "left", "left_with_retry_failed"),
    [
        ("pending", None, True, True),
        ("in_progress", None, True, True),
        ("complete", None, False, False),
        ("failed", True, True, True),
        ("failed", False, False, True),
        ("failed", None, False, True),
    ],
)
def test_unit_is_left_is_the_one_rule(
    status: str, retryable: bool | None, left: bool, left_with_retry_failed: bool
) -> None:
    unit = EndpointProgress(status=CheckpointStatus(status), retryable=retryable)
    assert unit_is_left(unit, retry_failed=False) is left
    assert unit_is_left(unit, retry_failed=True) is left_with_retry_failed


def test_from_repo_starts_at_that_repo_in_plan_order(manager: CheckpointManager) -> None:
    names = [r["full_name"] for r in manager.get_repos_to_process(from_repo="acme/repo2")]
    assert names == ["acme/repo2", "acme/repo3"]


def test_unknown_from_repo_lists_close_matches(manager: CheckpointManager) -> None:
    with pytest.raises(UnknownRepo) as info:
        manager.get_repos_to_process(from_repo="acme/repo4")
    assert str(info.value) == (
        "--from-repo acme/repo4 is not in the checkpoint's plan — did you mean acme/repo3, "
        "acme/repo2, acme/repo1? (`ghye status` lists the planned repos)"
    )
    with pytest.raises(UnknownRepo, match=r"--from-repo zzz is not in the checkpoint's plan \("):
        manager.get_repos_to_process(from_repo="zzz")


# --- phases, stats, config -------------------------------------------------------------


def test_phases_are_tracked_and_durable(manager: CheckpointManager) -> None:
    manager.set_current_phase("discovery")
    assert not manager.is_phase_complete("discovery")
    manager.mark_phase_complete("discovery")
    manager.set_current_phase("pulls")
    manager.set_current_phase("discovery")  # re-entering a complete phase keeps it complete
    view = reloaded(manager)
    assert view.is_phase_complete("discovery")
    assert not view.is_phase_complete("pulls")
    assert view.current_phase == "discovery"
    assert not view.is_phase_complete("nonexistent")


def test_get_stats_counts_repos_units_pages_and_records(manager: CheckpointManager) -> None:
    for endpoint in ALL_ENDPOINTS:
        manager.update_progress("acme/repo1", endpoint, 1, 10, complete=True)
    manager.update_progress("acme/repo2", "pulls", 1, 7)
    manager.mark_repo_endpoint_failed("acme/repo3", "commits", "gone", False, unavailable=True)
    stats = manager.get_stats()
    assert stats == {
        "total_repos": 3,
        "repos_complete": 1,
        "repos_in_progress": 1,
        "repos_pending": 0,
        "repos_failed": 1,
        "total_units": 18,
        "units_complete": 6,
        "units_in_progress": 1,
        "units_pending": 10,
        "units_failed": 1,
        "units_unavailable": 1,
        "pages_collected": 7,
        "records_collected": 67,
    }
    assert reloaded(manager).get_stats() == stats


def test_validate_config_and_changed_keys(
    manager: CheckpointManager, config: Config, make_config: Callable[..., Config]
) -> None:
    assert manager.validate_config(config)
    assert manager.changed_keys(config) == []
    other = make_config(name="acme", year=2024)
    assert not manager.validate_config(other)
    assert manager.changed_keys(other) == ["github.windows.since", "github.windows.until"]


# --- journal and snapshot --------------------------------------------------------------


def test_journal_is_folded_every_compact_every_commits(
    paths: tuple[Path, Path], config: Config
) -> None:
    cp = CheckpointManager(paths[0], compact_every=3)
    cp.create_new(config)
    cp.update_repos([{"full_name": "acme/a"}])
    for page in (1, 2):
        cp.update_progress("acme/a", "pulls", page, 1)
    assert len(journal_lines(cp)) == 2
    cp.update_progress("acme/a", "pulls", 3, 1)
    assert journal_lines(cp) == []
    assert json.loads(paths[0].read_text())["seq"] == 3
    cp.update_progress("acme/a", "pulls", 4, 1)
    assert [e["seq"] for e in journal_lines(cp)] == [4]
    cp.save()
    assert journal_lines(cp) == []
    mtime = paths[0].stat().st_mtime_ns
    cp.save()  # nothing new: no rewrite
    assert paths[0].stat().st_mtime_ns == mtime
    assert reloaded(cp).get_endpoint("acme/a", "pulls").pages_collected == 4


def test_crash_between_snapshot_and_journal_truncate_is_harmless(
    manager: CheckpointManager,
) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5)
    manager.update_progress("acme/repo1", "pulls", 2, 5)
    journal = manager.journal_path.read_bytes()
    manager.save()
    manager.journal_path.write_bytes(journal)  # as if the truncate never happened
    writer = CheckpointManager(manager.checkpoint_path)
    writer.load()
    assert writer.get_endpoint("acme/repo1", "pulls").records_collected == 10  # not 20
    assert manager.journal_path.read_bytes() == b""  # folded lines cleared
    writer.update_progress("acme/repo1", "pulls", 3, 5)
    assert reloaded(writer).get_endpoint("acme/repo1", "pulls").records_collected == 15
    writer.close()


def test_torn_last_line_is_ignored_and_cut_by_a_writer(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5, offset=50, lines=5)
    good = manager.journal_path.read_bytes()
    with manager.journal_path.open("ab") as handle:
        handle.write(b'{"seq":2,"op":"unit","repo":"acme/repo1","endpoint":"pul')
    view = reloaded(manager)  # a reader ignores it and modifies nothing
    assert view.get_endpoint("acme/repo1", "pulls").offset == 50
    assert manager.journal_path.read_bytes().startswith(good)
    assert len(manager.journal_path.read_bytes()) > len(good)
    writer = CheckpointManager(manager.checkpoint_path)
    writer.load()
    assert manager.journal_path.read_bytes() == good
    writer.update_progress("acme/repo1", "pulls", 2, 5, offset=100, lines=10)
    assert [e["seq"] for e in journal_lines(writer)] == [1, 2]
    writer.close()


def test_unparsable_last_line_with_newline_is_also_uncommitted(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5)
    with manager.journal_path.open("ab") as handle:
        handle.write(b"\x00\x00\x00\n")
    assert reloaded(manager).get_endpoint("acme/repo1", "pulls").pages_collected == 1


def test_damage_before_the_last_journal_line_is_corrupt(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5)
    manager.update_progress("acme/repo1", "pulls", 2, 5)
    lines = manager.journal_path.read_bytes().splitlines(keepends=True)
    damaged = b"garbage\n" + lines[1]
    manager.journal_path.write_bytes(damaged)
    with pytest.raises(CheckpointCorrupt) as info:
        CheckpointManager(manager.checkpoint_path).load()
    assert str(info.value).startswith(
        f"checkpoint journal {manager.journal_path} is damaged at line 1 (not valid JSON: "
    )
    assert str(info.value).endswith(
        "— move it aside to resume from the last snapshot (pages committed since are fetched "
        "again), or restore it from a backup"
    )
    assert manager.journal_path.read_bytes() == damaged  # never repaired behind your back


def test_a_gap_in_the_journal_sequence_is_corrupt(manager: CheckpointManager) -> None:
    for page in (1, 2, 3):
        manager.update_progress("acme/repo1", "pulls", page, 5)
    lines = manager.journal_path.read_bytes().splitlines(keepends=True)
    manager.journal_path.write_bytes(lines[0] + lines[2])
    with pytest.raises(CheckpointCorrupt, match=r"line 2 \(sequence jumps from 1 to 3\)"):
        CheckpointManager(manager.checkpoint_path).load()


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "the file is empty"),
        (b'{"format_version": 4, "seq": 0, "repos": {', "not valid JSON: "),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not valid JSON: "),
        (b"[1, 2]", "expected a JSON object, found list"),
        (b'{"seq": 0}', "no format_version"),
        (b'{"format_version": "two"}', "format_version 'two' is not a version number"),
        (
            b'{"format_version": 4, "seq": 0, "repos": []}',
            "Expected `object`, got `array` - at `$.repos`",
        ),
        (b'{"format_version": 4, "seq": -1}', "Expected `int` >= 0 - at `$.seq`"),
        (b'{"format_version": 4, "plan": ["a/b"], "repos": {}}', "plan names a/b"),
        (
            b'{"format_version": 4, "repos": {"a/b": {"endpoints": {"pulls": {"status": "x"}}}}}',
            """Invalid enum value 'x' - at `$.repos["a/b"].endpoints["pulls"].status`""",
        ),
        (
            b'{"format_version": 4, "repos": {"a/b": {"endpoints": {"pulls": {"offset": -3}}}}}',
            """Expected `int` >= 0 - at `$.repos["a/b"].endpoints["pulls"].offset`""",
        ),
        (
            b'{"format_version": 4, "phases": {"pulls": {"status": "done"}}}',
            """Invalid enum value 'done' - at `$.phases["pulls"].status`""",
        ),
    ],
)
def test_damaged_snapshot_is_corrupt_names_the_file_and_is_left_alone(
    paths: tuple[Path, Path], content: bytes, detail: str
) -> None:
    path = paths[0]
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(CheckpointCorrupt) as info:
        CheckpointManager(path).load()
    message = str(info.value)
    assert message.startswith(f"checkpoint {path} is damaged ({detail}")
    assert message.endswith(
        ") — move it aside and run `ghye collect --force` to start over, or restore it from a "
        "backup"
    )
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.json"]


def test_checkpoint_from_a_newer_ghye_is_refused(paths: tuple[Path, Path]) -> None:
    path = paths[0]
    path.parent.mkdir(parents=True)
    path.write_text('{"format_version": 5, "whatever": true}')
    with pytest.raises(CheckpointVersionUnsupported) as info:
        CheckpointManager(path).load()
    assert str(info.value) == (
        f"checkpoint {path} was written by a newer ghye (format 5); upgrade ghye or run "
        "`ghye reset`"
    )
    assert path.read_text() == '{"format_version": 5, "whatever": true}'


SEED_V1 = {
    "version": "1.0",
    "created_at": "2025-06-01T10:00:00+00:00",
    "updated_at": "2025-06-01T11:00:00+00:00",
    "config_digest": "abc",
    "target": {"mode": "org", "name": "acme"},
    "year": 2025,
    "phases": {"discovery": {"status": "complete"}},
    "current_phase": "pulls",
    "repos": {
        "acme/done": {
            "status": "complete",
            "started_at": "2025-06-01T10:01:00+00:00",
            "completed_at": "2025-06-01T10:05:00+00:00",
            "endpoints": {
                "pulls": {
                    "status": "complete",
                    "pages_collected": 3,
                    "records_collected": 250,
                    "last_page_written": 3,
                }
            },
            "error": None,
        },
        "acme/half": {
            "status": "in_progress",
            "started_at": "2025-06-01T10:06:00+00:00",
            "completed_at": None,
            "endpoints": {
                "pulls": {
                    "status": "in_progress",
                    "pages_collected": 2,
                    "records_collected": 200,
                    "last_page_written": 2,
                }
            },
            "error": None,
        },
        "acme/bad": {
            "status": "failed",
            "started_at": None,
            "completed_at": None,
            "endpoints": {
                "pulls": {
                    "status": "failed",
                    "pages_collected": 0,
                    "records_collected": 0,
                    "last_page_written": 0,
                }
            },
            "error": {"message": "403 Forbidden", "retryable": False},
        },
    },
}


def test_seed_version_1_checkpoint_is_upgraded_on_load(paths: tuple[Path, Path]) -> None:
    path = paths[0]
    path.parent.mkdir(parents=True)
    original = json.dumps(SEED_V1).encode()
    path.write_bytes(original)
    cp = CheckpointManager(path)
    cp.load()
    assert cp.repo_names() == ["acme/done", "acme/half", "acme/bad"]
    done = cp.get_endpoint("acme/done", "pulls")
    assert (done.status, done.records_collected, done.lines) == (
        CheckpointStatus.COMPLETE,
        250,
        250,
    )
    # v1 kept no byte offset: the part-way unit restarts from page 1 (its file is cut to 0).
    half = cp.get_endpoint("acme/half", "pulls")
    assert (half.status, half.pages_collected, half.offset) == (CheckpointStatus.PENDING, 0, 0)
    assert cp.get_resume_page("acme/half", "pulls") == 1
    bad = cp.get_endpoint("acme/bad", "pulls")
    assert (bad.status, bad.error, bad.retryable) == (
        CheckpointStatus.FAILED,
        "403 Forbidden",
        False,
    )
    assert cp.is_phase_complete("discovery")
    assert [r["full_name"] for r in cp.get_repos_to_process()] == ["acme/half"]
    assert json.loads(path.read_text())["format_version"] == FORMAT_VERSION
    assert path.with_name("checkpoint.json.v1.bak").read_bytes() == original
    assert reloaded(cp).get_endpoint("acme/done", "pulls") == done


def test_missing_checkpoint_is_no_checkpoint(paths: tuple[Path, Path]) -> None:
    with pytest.raises(NoCheckpoint, match="run `ghye collect` to start one"):
        CheckpointManager(paths[0]).load()


def test_writer_load_removes_leftover_temp_files_reader_does_not(
    manager: CheckpointManager,
) -> None:
    leftover = manager.checkpoint_path.parent / ".checkpoint_abc123.tmp"
    leftover.write_bytes(b'{"half": ')
    reloaded(manager)
    assert leftover.exists()
    CheckpointManager(manager.checkpoint_path).load()
    assert not leftover.exists()


def test_read_only_view_refuses_changes_and_touches_nothing(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5)
    with manager.journal_path.open("ab") as handle:
        handle.write(b'{"torn')
    before = {p.name: p.read_bytes() for p in manager.checkpoint_path.parent.iterdir()}
    view = reloaded(manager)
    with pytest.raises(RuntimeError, match="read-only"):
        view.update_progress("acme/repo1", "pulls", 2, 5)
    with pytest.raises(RuntimeError, match="read-only"):
        view.create_new(None)  # type: ignore[arg-type]
    view.save()
    view.close()
    assert {p.name: p.read_bytes() for p in manager.checkpoint_path.parent.iterdir()} == before


def test_delete_if_exists_removes_snapshot_and_journal(manager: CheckpointManager) -> None:
    manager.update_progress("acme/repo1", "pulls", 1, 5)
    manager.delete_if_exists()
    assert not manager.exists()
    assert not manager.journal_path.exists()
    assert not manager.loaded
    manager.delete_if_exists()  # idempotent


def test_create_new_never_replays_an_old_journal(
    manager: CheckpointManager, config: Config
) -> None:
    for page in (1, 2):
        manager.update_progress("acme/repo1", "pulls", page, 5)
    manager.create_new(config)
    manager.update_repos([{"full_name": "acme/repo1"}])
    manager.update_progress("acme/repo1", "pulls", 1, 1)
    view = reloaded(manager)
    assert view.get_endpoint("acme/repo1", "pulls").records_collected == 1
    assert view.repo_names() == ["acme/repo1"]


# --- locking, exit, signals --------------------------------------------------------------


def test_context_manager_holds_the_lock_and_folds_on_exit(
    paths: tuple[Path, Path], config: Config
) -> None:
    with CheckpointManager(*paths, command="ghye collect") as cp:
        assert holder_state(paths[1]) == "alive"
        cp.create_new(config)
        cp.update_repos([{"full_name": "acme/a"}])
        cp.update_progress("acme/a", "pulls", 1, 3)
        assert len(journal_lines(cp)) == 1
    assert holder_state(paths[1]) == "free"
    assert journal_lines(cp) == []
    assert json.loads(paths[0].read_text())["seq"] == 1


def test_context_manager_folds_and_unlocks_even_on_error(
    paths: tuple[Path, Path], config: Config
) -> None:
    def run() -> None:
        with CheckpointManager(*paths) as cp:
            cp.create_new(config)
            cp.update_repos([{"full_name": "acme/a"}])
            cp.update_progress("acme/a", "pulls", 1, 3)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run()
    assert holder_state(paths[1]) == "free"
    assert json.loads(paths[0].read_text())["seq"] == 1


def test_second_manager_in_the_same_process_is_locked_out(
    paths: tuple[Path, Path], config: Config
) -> None:
    with CheckpointManager(*paths, command="ghye collect"):
        with pytest.raises(CheckpointLocked, match=f"checkpoint locked by pid {os.getpid()} "):
            CheckpointManager(*paths).__enter__()


HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gh_year_end.storage import CheckpointManager
    with CheckpointManager(Path(sys.argv[1]), Path(sys.argv[2]), command="ghye collect"):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_second_process_gets_checkpoint_locked_at_once(
    paths: tuple[Path, Path], config: Config
) -> None:
    with CheckpointManager(paths[0]) as cp:
        cp.create_new(config)
        cp.update_repos([{"full_name": "acme/a"}])
        cp.update_progress("acme/a", "pulls", 1, 3)
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(paths[0]), str(paths[1])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline() == "locked\n"
        start = time.monotonic()
        with pytest.raises(CheckpointLocked) as info:
            CheckpointManager(*paths).__enter__()
        assert time.monotonic() - start < 1.0
        assert f"checkpoint locked by pid {holder.pid} on " in str(info.value)
        assert "(ghye collect) — if that process is gone, run `ghye unlock`" in str(info.value)
        # Loading for writing without the lock is refused too; reading is fine.
        with pytest.raises(CheckpointLocked, match=f"checkpoint locked by pid {holder.pid} "):
            CheckpointManager(*paths).load()
        assert reloaded(cp).get_endpoint("acme/a", "pulls").records_collected == 3
        holder.stdin.close()
        assert holder.wait() == 0
    with CheckpointManager(*paths):
        pass


def test_signal_handler_saves_logs_and_raises_keyboard_interrupt(
    manager: CheckpointManager, caplog: pytest.LogCaptureFixture
) -> None:
    before = signal.getsignal(signal.SIGINT)
    manager.install_signal_handlers()
    manager.install_signal_handlers()  # twice: no-op
    assert manager.signal_handlers_installed
    try:
        manager.update_progress("acme/repo1", "pulls", 1, 5)
        with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
            interrupt_self(signal.SIGINT)
        assert journal_lines(manager) == []  # folded into the snapshot
        assert [r.getMessage() for r in caplog.records] == [
            f"SIGINT received — checkpoint saved ({manager.checkpoint_path}); run `ghye resume` "
            "to continue"
        ]
    finally:
        manager.restore_signal_handlers()
    assert signal.getsignal(signal.SIGINT) is before
    assert not manager.signal_handlers_installed


def test_signal_during_a_commit_lets_the_commit_finish_first(
    paths: tuple[Path, Path], config: Config
) -> None:
    fired: list[bool] = []
    armed: list[bool] = []
    base = Clock()

    def clock() -> datetime:
        # The clock is read inside the commit's critical section: interrupt right there.
        if armed and not fired:
            fired.append(True)
            interrupt_self(signal.SIGTERM)
        return base()

    cp = CheckpointManager(paths[0], clock=clock)
    cp.create_new(config)
    cp.update_repos([{"full_name": "acme/a"}])
    cp.install_signal_handlers()
    armed.append(True)
    try:
        with pytest.raises(KeyboardInterrupt):
            cp.update_progress("acme/a", "pulls", 1, 5, offset=10, lines=5)
    finally:
        cp.restore_signal_handlers()
    assert fired == [True]
    assert reloaded(cp).get_endpoint("acme/a", "pulls").offset == 10
    cp.close()


# --- concurrency and failures ------------------------------------------------------------


def test_commits_from_many_threads_stay_consistent(
    paths: tuple[Path, Path], config: Config
) -> None:
    cp = CheckpointManager(paths[0], compact_every=13)
    cp.create_new(config)
    units = [(f"acme/r{i}", endpoint) for i in range(4) for endpoint in ("pulls", "issues")]
    cp.update_repos([{"full_name": f"acme/r{i}"} for i in range(4)], endpoints=["pulls", "issues"])
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(units) + 1)

    def work(repo: str, endpoint: str) -> None:
        try:
            barrier.wait()
            for page in range(1, 41):
                cp.update_progress(repo, endpoint, page, 2, offset=page * 10, lines=page * 2)
            cp.set_current_phase(endpoint)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=unit) for unit in units]
    for thread in threads:
        thread.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    assert errors == []
    view = reloaded(cp)
    for repo, endpoint in units:
        state = view.get_endpoint(repo, endpoint)
        assert (state.pages_collected, state.offset, state.lines) == (40, 400, 80)
        assert state == cp.get_endpoint(repo, endpoint)
    assert view.get_stats() == cp.get_stats()
    seqs = [e["seq"] for e in journal_lines(cp)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # 328 commits, folded every 13
    cp.close()


EFBIG_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from gh_year_end.config import parse_config
    from gh_year_end.errors import StorageError
    from gh_year_end.storage import CheckpointManager
    config = parse_config(
        "github:\\n  target: {mode: org, name: acme}\\n  windows: {year: 2025}\\n"
    )
    cp = CheckpointManager(Path(sys.argv[1]))
    cp.create_new(config)
    cp.update_repos([{"full_name": "acme/a"}])
    cp.update_progress("acme/a", "pulls", 1, 5, offset=10, lines=5)
    size = cp.journal_path.stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # Files may not grow past 100 bytes beyond the journal: the next line is written half.
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
    try:
        cp.update_progress("acme/a", "pulls", 2, 5, offset=20, lines=10)
        outcome = "committed"
    except StorageError as exc:
        outcome = str(exc)
    print(json.dumps({"outcome": outcome, "before": size,
                      "after": cp.journal_path.stat().st_size,
                      "offset": cp.get_endpoint("acme/a", "pulls").offset}))
    """
)


def test_failed_journal_write_is_cut_back_and_leaves_state_unchanged(
    paths: tuple[Path, Path],
) -> None:
    paths[0].parent.mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-c", EFBIG_SCRIPT, str(paths[0])],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    journal = paths[0].with_suffix(".journal")
    assert report["outcome"].startswith(f"cannot finish writing {journal}: File too large")
    assert report["after"] == report["before"]  # the half line was cut away
    assert report["offset"] == 10
    view = CheckpointManager.read_only(paths[0])
    assert view.get_endpoint("acme/a", "pulls").offset == 10
    assert [json.loads(x)["seq"] for x in journal.read_bytes().splitlines()] == [1]


def test_folding_failure_never_fails_the_commit(
    paths: tuple[Path, Path], config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    manager = CheckpointManager(paths[0], compact_every=2)
    manager.create_new(config)
    manager.update_repos([{"full_name": "acme/repo1"}])
    # checkpoint.json replaced by a folder: every fold fails, every commit still succeeds.
    manager.checkpoint_path.unlink()
    manager.checkpoint_path.mkdir()
    with caplog.at_level(logging.WARNING):
        for page in (1, 2, 3):
            manager.update_progress("acme/repo1", "pulls", page, 1)
    assert [e["seq"] for e in journal_lines(manager)] == [1, 2, 3]
    assert "could not fold the checkpoint journal" in caplog.text
    with pytest.raises(StorageError):
        manager.save()
    manager.checkpoint_path.rmdir()
    manager.save()
    assert reloaded(manager).get_endpoint("acme/repo1", "pulls").pages_collected == 3


def test_repo_progress_round_trips() -> None:
    repo = RepoProgress(
        status=CheckpointStatus.FAILED,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        endpoints={
            "pulls": EndpointProgress(
                status=CheckpointStatus.FAILED,
                error="x",
                retryable=True,
                cursor=Cursor(pr_index=2),
            )
        },
        error={"endpoint": "pulls", "message": "x", "retryable": True, "unavailable": False},
        repo={"full_name": "acme/a"},
    )
    assert msgspec.json.decode(msgspec.json.encode(repo), type=RepoProgress) == repo


@pytest.mark.parametrize("older", [2, 3])
def test_an_older_format_checkpoint_is_read_as_it_is_and_kept_beside_the_upgrade(
    paths: tuple[Path, Path], older: int
) -> None:
    # Format 3 added what a format-2 ghye would drop (a reviews cursor's "continuing"), format 4
    # a unit's refresh state: an older ghye refuses the newer format, and this one reads the
    # older ones unchanged.
    path = paths[0]
    path.parent.mkdir(parents=True)
    original = json.dumps(
        {
            "format_version": older,
            "seq": 0,
            "plan": ["acme/web"],
            "repos": {
                "acme/web": {
                    "status": "in_progress",
                    "endpoints": {
                        "reviews": {"status": "in_progress", "cursor": {"pr_index": 7}},
                    },
                }
            },
        }
    ).encode()
    path.write_bytes(original)
    with CheckpointManager(path) as cp:
        cp.load()
        assert cp.get_endpoint("acme/web", "reviews").cursor.pr_index == 7
    assert json.loads(path.read_text())["format_version"] == FORMAT_VERSION
    assert path.with_name(f"checkpoint.json.v{older}.bak").read_bytes() == original
