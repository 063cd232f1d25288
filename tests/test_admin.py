"""`ghye reset` and `ghye unlock` as library functions, on real checkpoints in tmp folders."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from gh_year_end.cli import render_unlock_result
from gh_year_end.config import Config, parse_config
from gh_year_end.errors import (
    CheckpointLocked,
    ConfirmationRequired,
    LockNotStale,
    NoCheckpoint,
    UnknownEndpoint,
    UnknownRepo,
)
from gh_year_end.manage.reset import ResetPlan, ResetRequest, plan_reset, reset_data
from gh_year_end.manage.unlock import UnlockResult, unlock_target
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.jsonl import JSONLWriter
from gh_year_end.storage.lock import LockOwner, RunLock, holder_state, owner_path, read_owner
from gh_year_end.storage.paths import PathManager

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REPOS = ("acme/api", "acme/web", "acme/docs")


def make_config(root: Path) -> Config:
    text = (
        "github:\n  target: {mode: org, name: acme}\n  windows: {year: 2025}\n"
        "collection:\n  enable: {pulls: true, issues: false, reviews: true, comments: false,"
        " commits: true}\n"
    )
    return parse_config(text, source="cfg.yaml", cwd=root)


def manager(config: Config) -> CheckpointManager:
    paths = PathManager(config)
    return CheckpointManager(
        paths.checkpoint_path,
        paths.lock_path,
        journal_path=paths.journal_path,
        command="ghye collect",
    )


def commit(
    cm: CheckpointManager, config: Config, repo: str, endpoint: str, records: int, *, complete: bool
) -> None:
    state = cm.get_endpoint(repo, endpoint)
    path = PathManager(config).raw_path(endpoint, repo)
    with JSONLWriter(
        path, repo=repo, committed_offset=state.offset, committed_lines=state.lines
    ) as writer:
        for i in range(records):
            writer.write(source="github_rest", endpoint=endpoint, data={"id": i, "number": i + 1})
        offset, lines = writer.flush()
    cm.update_progress(
        repo,
        endpoint,
        state.last_page_written + 1,
        records,
        next_url=None if complete else "https://api.github.com/next",
        offset=offset,
        lines=lines,
        complete=complete,
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """api: pulls+reviews+commits complete; web: pulls in progress, commits failed; docs: pending;
    plus repos.jsonl and a manifest."""
    config = make_config(tmp_path)
    paths = PathManager(config)
    with manager(config) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": r} for r in REPOS])
        commit(cm, config, "acme/api", "pulls", 3, complete=True)
        commit(cm, config, "acme/api", "reviews", 2, complete=True)
        commit(cm, config, "acme/api", "commits", 4, complete=True)
        commit(cm, config, "acme/web", "pulls", 5, complete=False)
        commit(cm, config, "acme/web", "commits", 1, complete=False)
        cm.mark_repo_endpoint_failed("acme/web", "commits", "502 Bad Gateway", True)
    paths.repos_path.write_text('{"full_name": "acme/api"}\n', encoding="utf-8")
    paths.manifest_path.write_text("{}\n", encoding="utf-8")
    return config


def read(config: Config) -> CheckpointManager:
    paths = PathManager(config)
    return CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)


def raw(config: Config, endpoint: str, repo: str) -> Path:
    return PathManager(config).raw_path(endpoint, repo)


def all_files(config: Config) -> list[str]:
    target = PathManager(config).target_dir
    return sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())


# --- plans ----------------------------------------------------------------------------------


def test_whole_target_plan_lists_every_file_but_the_lock(config: Config) -> None:
    before = all_files(config)
    plan = plan_reset(config, ResetRequest())
    target = PathManager(config).target_dir
    assert plan.whole_target
    assert [p.relative_to(target).as_posix() for p in plan.files] == [
        "checkpoint.journal",
        "checkpoint.json",
        "commits/acme__api.jsonl",
        "commits/acme__web.jsonl",
        "manifest.json",
        "pulls/acme__api.jsonl",
        "pulls/acme__web.jsonl",
        "repos.jsonl",
        "reviews/acme__api.jsonl",
    ]
    assert "checkpoint.json.lock" not in {p.name for p in plan.files}
    assert plan.bytes == sum(p.stat().st_size for p in plan.files)
    assert all_files(config) == before  # a plan changes nothing


def test_repo_plan_cascades_pulls_to_reviews(config: Config) -> None:
    plan = plan_reset(config, ResetRequest(repo="acme/api", endpoint="pulls"))
    assert [(u.repo, u.endpoint, u.status, u.records, u.note) for u in plan.units] == [
        ("acme/api", "pulls", "complete", 3, None),
        ("acme/api", "reviews", "complete", 2, "reviews are read from the pulls file"),
    ]
    assert [p.name for p in plan.files] == ["manifest.json", "acme__api.jsonl", "acme__api.jsonl"]
    assert plan.scope == "units of repo acme/api of endpoint pulls"


def test_failed_plan_takes_only_failed_units(config: Config) -> None:
    plan = plan_reset(config, ResetRequest(failed=True))
    assert [(u.repo, u.endpoint, u.status) for u in plan.units] == [
        ("acme/web", "commits", "failed")
    ]


def test_pristine_units_are_left_out(config: Config) -> None:
    plan = plan_reset(config, ResetRequest(repo="acme/docs"))
    assert plan.is_empty
    assert plan.files == ()


def test_unknown_repo_suggests_close_matches(config: Config) -> None:
    with pytest.raises(UnknownRepo) as info:
        plan_reset(config, ResetRequest(repo="acme/wbe"))
    assert (
        str(info.value)
        == "repo acme/wbe is not in the plan of target acme — did you mean acme/web, acme/api?"
    )


def test_repo_names_match_case_insensitively(config: Config) -> None:
    plan = plan_reset(config, ResetRequest(repo="ACME/Web"))
    assert {u.repo for u in plan.units} == {"acme/web"}


def test_unknown_endpoint_suggests_a_close_match(config: Config) -> None:
    with pytest.raises(UnknownEndpoint) as info:
        plan_reset(config, ResetRequest(endpoint="pull"))
    assert str(info.value) == (
        "unknown endpoint 'pull' — did you mean 'pulls'? (endpoints: pulls, issues, "
        "issue_comments, review_comments, reviews, commits, repo_health, commit_stats)"
    )


def test_partial_reset_without_checkpoint_is_no_checkpoint(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with pytest.raises(
        NoCheckpoint, match=r"no checkpoint for target acme at .* run `ghye collect` first"
    ):
        plan_reset(config, ResetRequest(failed=True))
    with pytest.raises(NoCheckpoint):
        reset_data(config, ResetRequest(repo="acme/api"))


def test_whole_reset_of_nothing_is_empty(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    result = reset_data(config, ResetRequest())
    assert result.plan.is_empty
    assert not PathManager(config).target_dir.exists()  # not even created for the lock


# --- applying -------------------------------------------------------------------------------


def test_reset_one_repo_removes_its_files_and_sends_units_to_pending(config: Config) -> None:
    seen: list[ResetPlan] = []

    def confirm(plan: ResetPlan) -> bool:
        seen.append(plan)
        return True

    result = reset_data(config, ResetRequest(repo="acme/web"), confirm=confirm)
    assert result.applied
    assert result.reset_units == 2
    assert result.manifest_removed
    assert result.removed_files == 3  # manifest, pulls, commits
    assert seen == [result.plan]
    assert not raw(config, "pulls", "acme/web").exists()
    assert not raw(config, "commits", "acme/web").exists()
    assert not PathManager(config).manifest_path.exists()
    assert raw(config, "pulls", "acme/api").exists()
    cm = read(config)
    for endpoint in ("pulls", "commits"):
        state = cm.get_endpoint("acme/web", endpoint)
        assert state.status is CheckpointStatus.PENDING
        assert (state.pages_collected, state.records_collected, state.offset, state.lines) == (
            0,
            0,
            0,
            0,
        )
        assert state.error is None
    assert cm.get_endpoint("acme/api", "pulls").status is CheckpointStatus.COMPLETE
    # The lock was released: a collect can start.
    with manager(config) as cm2:
        cm2.load()


def test_reset_one_endpoint_across_repos(config: Config) -> None:
    result = reset_data(config, ResetRequest(endpoint="commits"))
    assert {(u.repo, u.endpoint) for u in result.plan.units} == {
        ("acme/api", "commits"),
        ("acme/web", "commits"),
    }
    assert list(PathManager(config).endpoint_dir("commits").iterdir()) == []
    assert read(config).get_endpoint("acme/api", "pulls").status is CheckpointStatus.COMPLETE


def test_reset_failed_units_only(config: Config) -> None:
    reset_data(config, ResetRequest(failed=True))
    cm = read(config)
    assert cm.get_endpoint("acme/web", "commits").status is CheckpointStatus.PENDING
    assert cm.get_endpoint("acme/web", "pulls").status is CheckpointStatus.IN_PROGRESS
    assert raw(config, "pulls", "acme/web").exists()


def test_reset_unit_can_be_collected_again(config: Config) -> None:
    reset_data(config, ResetRequest(repo="acme/api", endpoint="commits"))
    with manager(config) as cm:
        cm.load()
        commit(cm, config, "acme/api", "commits", 2, complete=True)
        assert cm.get_endpoint("acme/api", "commits").lines == 2
    assert raw(config, "commits", "acme/api").read_bytes().count(b"\n") == 2


def test_reset_whole_target(config: Config) -> None:
    paths = PathManager(config)
    result = reset_data(config, ResetRequest())
    assert result.applied
    assert result.manifest_removed
    assert result.removed_files == len(result.plan.files)
    assert all_files(config) == ["checkpoint.json.lock"]
    assert not paths.checkpoint_path.exists()
    assert not paths.endpoint_dir("pulls").exists()
    assert holder_state(paths.lock_path) == "free"


def test_declined_confirmation_changes_nothing(config: Config) -> None:
    before = {p: p.read_bytes() for p in PathManager(config).target_dir.rglob("*") if p.is_file()}
    result = reset_data(config, ResetRequest(repo="acme/api"), confirm=lambda _plan: False)
    assert not result.applied
    assert result.removed_files == 0
    after = {p: p.read_bytes() for p in PathManager(config).target_dir.rglob("*") if p.is_file()}
    assert after == before


def test_a_refusing_confirmation_propagates_and_releases_the_lock(config: Config) -> None:
    def refuse(plan: ResetPlan) -> bool:
        raise ConfirmationRequired(
            f"reset would remove {plan.file_count} files; rerun with --yes to confirm"
        )

    with pytest.raises(ConfirmationRequired, match="reset would remove 9 files"):
        reset_data(config, ResetRequest(), confirm=refuse)
    assert PathManager(config).checkpoint_path.exists()
    assert holder_state(PathManager(config).lock_path) == "free"


@pytest.mark.parametrize("request_", [ResetRequest(), ResetRequest(repo="acme/api")])
def test_reset_refuses_while_a_collect_holds_the_lock(
    config: Config, request_: ResetRequest
) -> None:
    with manager(config) as cm:
        cm.load()
        with pytest.raises(
            CheckpointLocked, match=r"checkpoint locked by pid \d+ on .* \(ghye collect\)"
        ):
            reset_data(config, request_)
    assert PathManager(config).checkpoint_path.exists()


def test_dry_run_plan_works_while_locked(config: Config) -> None:
    with manager(config) as cm:
        cm.load()
        plan = plan_reset(config, ResetRequest(repo="acme/api"))
    assert len(plan.units) == 3


# --- unlock ---------------------------------------------------------------------------------


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(done.stdout)


def test_unlock_with_nothing_to_unlock(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    result = unlock_target(config)
    assert not result.removed
    assert result.owner is None
    assert result.state == "free"


def test_unlock_removes_a_stale_lock_and_says_whose(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lock_path = PathManager(config).lock_path
    lock_path.parent.mkdir(parents=True)
    lock_path.touch()
    pid = dead_pid()
    owner = LockOwner(
        pid=pid, host=socket.gethostname(), user="me", command="ghye collect", started_at=T0
    )
    owner_path(lock_path).write_bytes(owner.to_json())
    result = unlock_target(config)
    assert result.removed
    assert result.state == "stale"
    assert result.owner == owner
    assert not result.was_alive
    assert not result.lock_file_removed
    assert lock_path.exists()  # a stale lock's file stays: the next collect locks it
    assert read_owner(lock_path) is None
    assert holder_state(lock_path) == "free"


def test_unlock_never_removes_a_live_holder_even_forced(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lock_path = PathManager(config).lock_path
    lock = RunLock(lock_path, command="ghye collect")
    lock.acquire()
    try:
        for force in (False, True):
            with pytest.raises(LockNotStale) as info:
                unlock_target(config, force=force)
            assert lock.owner is not None
            assert str(info.value) == (
                f"the lock holder, {lock.owner.describe()}, is still running — stop it first "
                "(Ctrl+C lets it save its progress); a running holder is never unlocked"
            )
        assert read_owner(lock_path) == lock.owner
        assert lock_path.exists()
        assert holder_state(lock_path) == "alive"
    finally:
        lock.release()


def test_forced_unlock_of_a_holder_on_another_host_says_it_may_still_run(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lock_path = PathManager(config).lock_path
    lock_path.parent.mkdir(parents=True)
    lock_path.touch()
    owner = LockOwner(
        pid=1, host="elsewhere.example", user="me", command="ghye collect", started_at=T0
    )
    owner_path(lock_path).write_bytes(owner.to_json())
    with pytest.raises(LockNotStale, match="it is not on this host"):
        unlock_target(config)
    result = unlock_target(config, force=True)
    assert result == UnlockResult(
        lock_path=lock_path,
        state="unknown",
        owner=owner,
        removed=True,
        was_alive=True,
        lock_file_removed=True,
    )
    assert not lock_path.exists()
    assert read_owner(lock_path) is None
    out = io.StringIO()
    render_unlock_result(Console(file=out, width=80), result)
    assert out.getvalue() == (
        "removed the lock of pid 1 on elsewhere.example (ghye collect, since "
        "2026-03-01 12:00:00 UTC) — its holder could not be checked from here, so --force "
        "removed its record and lock file\n"
    )


def test_unlock_of_an_unreadable_leftover_record_says_what_it_removed(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lock_path = PathManager(config).lock_path
    lock_path.parent.mkdir(parents=True)
    owner_path(lock_path).write_bytes(b"\x00garbage")
    result = unlock_target(config)
    assert (result.state, result.owner, result.removed, result.was_alive) == (
        "free",
        None,
        True,
        False,
    )
    assert not owner_path(lock_path).exists()
    out = io.StringIO()
    render_unlock_result(Console(file=out, width=80), result)
    assert out.getvalue() == (
        f"no lock held on {lock_path}; removed an unreadable owner record beside it\n"
    )


def test_whole_reset_works_on_a_damaged_checkpoint(config: Config) -> None:
    # `ghye reset` is the way out of CheckpointCorrupt / CheckpointVersionUnsupported.
    paths = PathManager(config)
    paths.checkpoint_path.write_text('{"format_version": 99}', encoding="utf-8")
    result = reset_data(config, ResetRequest())
    assert result.applied
    assert not paths.checkpoint_path.exists()
