"""`ghye status` as a library: real checkpoints built with the storage API, read lock-free."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from gh_year_end.config import Config, parse_config
from gh_year_end.errors import CheckpointCorrupt, NoCheckpoint
from gh_year_end.manage.status import SCHEMA_VERSION, StatusReport, build_status
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.lock import LockOwner, owner_path
from gh_year_end.storage.paths import PathManager
from harness import commit_page

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_config(root: Path, *, name: str = "acme", enable: str = "") -> Config:
    text = f"github:\n  target: {{mode: org, name: {name}}}\n  windows: {{year: 2025}}\n"
    if enable:
        text += f"collection:\n  enable: {{{enable}}}\n"
    return parse_config(text, source="cfg.yaml", cwd=root)


class Clock:
    """A settable UTC clock for checkpoint timestamps."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def open_checkpoint(
    config: Config, clock: Clock, *, compact_every: int = 2000
) -> CheckpointManager:
    paths = PathManager(config)
    return CheckpointManager(
        paths.checkpoint_path,
        paths.lock_path,
        journal_path=paths.journal_path,
        clock=clock,
        compact_every=compact_every,
        command="ghye collect",
    )


def build_sample(config: Config, clock: Clock) -> None:
    """Three repos × pulls+commits: complete, failed, unavailable and pending units."""
    with open_checkpoint(config, clock) as cm:
        cm.create_new(config)
        cm.set_current_phase("discovery")
        cm.update_repos(
            [{"full_name": "acme/api"}, {"full_name": "acme/web"}, {"full_name": "acme/docs"}]
        )
        cm.mark_phase_complete("discovery")
        cm.set_current_phase("pulls")
        clock.advance(10)
        commit_page(cm, PathManager(config), "acme/api", "pulls", 3, complete=False)
        clock.advance(10)
        commit_page(cm, PathManager(config), "acme/api", "pulls", 2, complete=True)
        clock.advance(10)
        commit_page(cm, PathManager(config), "acme/api", "commits", 4, complete=True)
        clock.advance(10)
        commit_page(cm, PathManager(config), "acme/web", "pulls", 5, complete=False)
        cm.mark_repo_endpoint_failed("acme/web", "pulls", "502 Bad Gateway (retries spent)", True)
        clock.advance(10)
        cm.mark_repo_endpoint_failed(
            "acme/web", "commits", "404 Not Found", False, unavailable=True
        )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(
        tmp_path,
        enable="pulls: true, issues: false, reviews: false, comments: false, commits: true",
    )


@pytest.fixture
def sample(config: Config) -> Clock:
    clock = Clock()
    build_sample(config, clock)
    return clock


def test_no_checkpoint_says_what_to_do(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with pytest.raises(NoCheckpoint) as info:
        build_status(config)
    target_dir = PathManager(config).target_dir
    assert (
        str(info.value)
        == f"no checkpoint for target acme at {target_dir} — run `ghye collect` first"
    )


def test_report_counts_repos_units_pages_and_records(config: Config, sample: Clock) -> None:
    report = build_status(config, clock=lambda: T0 + timedelta(hours=1))
    assert report.target == "acme"
    assert report.target_mode == "org"
    assert report.year == 2025
    assert report.since == datetime(2025, 1, 1, tzinfo=UTC)
    assert report.repos.total == 3
    assert (report.repos.complete, report.repos.failed, report.repos.pending) == (1, 1, 1)
    u = report.units
    assert (u.total, u.complete, u.unavailable, u.failed, u.in_progress, u.pending) == (
        6,
        2,
        1,
        1,
        0,
        2,
    )
    pulls, commits = report.endpoints
    assert (pulls.endpoint, pulls.units, pulls.complete, pulls.failed, pulls.pending) == (
        "pulls",
        3,
        1,
        1,
        1,
    )
    assert (pulls.pages, pulls.records) == (3, 10)
    assert (commits.endpoint, commits.unavailable, commits.pages, commits.records) == (
        "commits",
        1,
        1,
        4,
    )
    assert [
        (f.repo, f.endpoint, f.reason, f.retryable, f.unavailable) for f in report.failures
    ] == [
        ("acme/web", "pulls", "502 Bad Gateway (retries spent)", True, False),
        ("acme/web", "commits", "404 Not Found", False, True),
    ]
    assert report.phases == (("discovery", True), ("pulls", False), ("commits", False))
    assert report.current_phase == "pulls"
    assert report.config_changed == ()
    assert report.updated_at == T0 + timedelta(seconds=50)
    assert report.created_at == T0
    assert report.manifest_path is None
    assert report.lock.state == "free"
    assert not report.running


def test_pace_and_eta_come_from_unit_end_times(config: Config, sample: Clock) -> None:
    report = build_status(config)
    # Units ended at +20 (api pulls), +30 (api commits), +40 (web pulls), +50 (web commits):
    # 3 intervals in 30 s → 6 units/min; 2 pending units → 20 s.
    assert report.throughput.basis_units == 4
    assert report.throughput.span_seconds == 30
    assert report.throughput.units_per_minute == pytest.approx(6.0)
    assert report.throughput.records_per_minute == pytest.approx((4 + 5 + 0) / 30 * 60)
    assert report.eta_seconds == pytest.approx(20.0)


def test_pace_only_counts_recent_endings(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        enable="pulls: true, issues: false, reviews: false, comments: false, commits: false",
    )
    clock = Clock()
    with open_checkpoint(config, clock) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": f"acme/r{i}"} for i in range(5)])
        commit_page(cm, PathManager(config), "acme/r0", "pulls", 1, complete=True)
        clock.advance(3600)  # an hour later, a resume
        commit_page(cm, PathManager(config), "acme/r1", "pulls", 1, complete=True)
        report = build_status(config)
        assert report.throughput.units_per_minute is None  # one recent ending is not a pace
        assert report.eta_seconds is None
        clock.advance(60)
        commit_page(cm, PathManager(config), "acme/r2", "pulls", 1, complete=True)
    report = build_status(config)
    assert report.throughput.basis_units == 2
    assert report.throughput.units_per_minute == pytest.approx(1.0)
    assert report.eta_seconds == pytest.approx(120.0)


def test_status_reads_while_a_collect_holds_the_lock_and_sees_its_journal(config: Config) -> None:
    clock = Clock()
    paths = PathManager(config)
    with open_checkpoint(config, clock) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": "acme/api"}])
        commit_page(cm, PathManager(config), "acme/api", "pulls", 7, complete=False)
        assert paths.journal_path.stat().st_size > 0  # the commit is only in the journal
        before = {p: p.read_bytes() for p in (paths.checkpoint_path, paths.journal_path)}
        report = build_status(config)
        assert report.endpoints[0].records == 7
        assert report.units.in_progress == 1
        assert report.lock.state == "alive"
        assert report.lock.pid == os.getpid()
        assert report.lock.command == "ghye collect"
        assert report.running
        # Read-only: nothing written, the collect keeps its lock and can commit again.
        assert {p: p.read_bytes() for p in before} == before
        commit_page(cm, PathManager(config), "acme/api", "pulls", 1, complete=True)


def test_status_creates_no_files(config: Config, sample: Clock) -> None:
    target = PathManager(config).target_dir
    before = sorted(p.name for p in target.rglob("*"))
    build_status(config)
    assert sorted(p.name for p in target.rglob("*")) == before


def test_stale_lock_is_reported_with_its_owner(config: Config, sample: Clock) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    pid = int(dead.stdout)
    owner = LockOwner(
        pid=pid, host=socket.gethostname(), user="me", command="ghye resume", started_at=T0
    )
    owner_path(PathManager(config).lock_path).write_bytes(owner.to_json())
    report = build_status(config)
    assert report.lock.state == "stale"
    assert (report.lock.pid, report.lock.command, report.lock.started_at) == (
        pid,
        "ghye resume",
        T0,
    )
    assert not report.running


def test_manifest_and_changed_config_are_reported(
    config: Config, sample: Clock, tmp_path: Path
) -> None:
    paths = PathManager(config)
    paths.manifest_path.write_text("{}", encoding="utf-8")
    changed = make_config(
        tmp_path,
        enable="pulls: true, issues: false, reviews: false, comments: false, commits: false",
    )
    report = build_status(changed)
    assert report.manifest_path == paths.manifest_path
    assert report.config_changed == ("collection.enable.commits",)
    # What the checkpoint holds is still reported, endpoints and all.
    assert [e.endpoint for e in report.endpoints] == ["pulls", "commits"]


def test_a_damaged_checkpoint_is_an_error(config: Config, sample: Clock) -> None:
    PathManager(config).checkpoint_path.write_text("{torn", encoding="utf-8")
    with pytest.raises(CheckpointCorrupt):
        build_status(config)


def test_to_dict_follows_the_documented_schema(config: Config, sample: Clock) -> None:
    report = build_status(config, clock=lambda: T0 + timedelta(hours=1))
    data = orjson.loads(orjson.dumps(report.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema_version", "generated_at", "target", "window", "checkpoint", "phases",
        "repos", "units", "endpoints", "failures", "lock", "running", "throughput",
        "eta_seconds", "eta_basis", "estimate", "manifest", "refresh",
    }  # fmt: skip
    assert data["generated_at"] == "2026-03-01T13:00:00Z"
    assert data["target"] == {"mode": "org", "name": "acme", "dir": str(report.target_dir)}
    assert data["window"] == {
        "year": 2025,
        "since": "2025-01-01T00:00:00Z",
        "until": "2026-01-01T00:00:00Z",
    }
    assert data["checkpoint"] == {
        "path": str(report.checkpoint_path),
        "created_at": "2026-03-01T12:00:00Z",
        "updated_at": "2026-03-01T12:00:50Z",
        "config_matches": True,
        "changed_keys": [],
    }
    assert data["phases"] == {
        "current": "pulls",
        "list": [
            {"name": "discovery", "complete": True},
            {"name": "pulls", "complete": False},
            {"name": "commits", "complete": False},
        ],
    }
    assert data["repos"] == {"total": 3, "complete": 1, "in_progress": 0, "pending": 1, "failed": 1}
    assert data["units"] == {
        "total": 6, "complete": 2, "unavailable": 1, "failed": 1, "in_progress": 0, "pending": 2,
    }  # fmt: skip
    assert data["endpoints"]["pulls"] == {
        "units": 3, "complete": 1, "unavailable": 0, "failed": 1, "in_progress": 0, "pending": 1,
        "pages": 3, "records": 10,
        "current_as_of": {
            "oldest": {"at": "2026-03-01T12:00:20Z", "how": "collected"},
            "newest": {"at": "2026-03-01T12:00:20Z", "how": "collected"},
        },
    }  # fmt: skip
    assert data["refresh"] is None  # never refreshed
    assert data["failures"][1] == {
        "repo": "acme/web", "endpoint": "commits", "reason": "404 Not Found", "retryable": False,
        "unavailable": True, "http_status": None,
    }  # fmt: skip
    assert data["lock"] == {
        "state": "free", "pid": None, "host": None, "user": None, "command": None,
        "started_at": None,
    }  # fmt: skip
    assert data["running"] is False
    assert data["throughput"] == {
        "units_per_minute": 6.0, "records_per_minute": 18.0, "basis_units": 4, "span_seconds": 30.0,
        "pages_per_minute": 4.0,
    }  # fmt: skip
    assert data["eta_seconds"] == 20.0
    assert data["eta_basis"] == "units"  # no estimate.json: the units' pace
    assert data["estimate"] is None
    assert data["manifest"] == {"exists": False, "path": None}


def _big_checkpoint(config: Config, repos: int) -> None:
    clock = Clock()
    with open_checkpoint(config, clock, compact_every=1_000_000) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": f"acme/repo-{i:05d}"} for i in range(repos)])
        for i in range(0, repos, 4):
            clock.advance(1)
            cm.update_progress(
                f"acme/repo-{i:05d}", "pulls", 1, 10, offset=1000, lines=10, complete=True
            )
        for i in range(1, repos, 50):
            cm.mark_repo_endpoint_failed(
                f"acme/repo-{i:05d}", "issues", "404 Not Found", False, unavailable=True
            )


def test_status_of_10000_repos_counts_every_unit(tmp_path: Path) -> None:
    # How fast this is lives in bench/ (row f); here only what it reports.
    config = make_config(tmp_path)
    _big_checkpoint(config, 10_000)
    report: StatusReport = build_status(config)
    assert report.repos.total == 10_000
    assert report.units.total == 60_000
