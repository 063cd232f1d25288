"""The collect loop end to end, in process, against the fake GitHub over loopback."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gh_year_end.collect import run as collector
from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import Config, load_config
from gh_year_end.errors import (
    AuthenticationFailed,
    CheckpointLocked,
    ConfigChanged,
    DataFileMismatch,
    NoCheckpoint,
    StorageError,
    TargetNotFound,
    TokenMissing,
    UnknownRepo,
)
from gh_year_end.signals import StopSignal
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.lock import RunLock
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    TOKEN_ENV,
    UNTIL,
    compare_with_expected,
    file_sha256,
    read_dataset,
    write_config,
)

ENV = {TOKEN_ENV: TEST_TOKEN}
SMALL = FakeSettings(
    repos=6,
    pulls=12,
    issues=10,
    issue_comments=14,
    review_comments=10,
    commits=15,
    token=TEST_TOKEN,
)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SMALL).start() as server:
        yield server


def _config(tmp_path: Path, server: FakeGitHub, **kwargs: Any) -> Config:
    return load_config(write_config(tmp_path, server.base_url, **kwargs))


def _collect(
    config: Config, transport: httpx.AsyncBaseTransport | None = None, **request: Any
) -> Any:
    return run_collect(
        config,
        CollectRequest(**request),
        environ=ENV,
        events=NullEvents(),
        command="test",
        install_signals=False,
        transport=transport,
    )


def _problems(config: Config, server: FakeGitHub) -> list[str]:
    expected = server.expected(SINCE, UNTIL)
    return compare_with_expected(read_dataset(PathManager(config).target_dir), expected)


def test_collect_gets_exactly_the_windows_records(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    result = _collect(config)
    assert result.outcome == "complete"
    assert result.exit_code == 0
    assert _problems(config, fake) == []
    assert result.records_total == result.records_this_run > 0


def test_manifest_describes_every_file_exactly(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    paths = PathManager(config)
    manifest = orjson.loads(paths.manifest_path.read_bytes())
    files = manifest["files"]
    assert files
    for entry in files:
        path = paths.target_dir / entry["path"]
        assert entry["sha256"] == file_sha256(path)
        assert entry["bytes"] == path.stat().st_size
        assert entry["records"] == len(path.read_bytes().splitlines())


def test_a_runs_manifest_reads_no_file_again_at_the_end(
    tmp_path: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every file was hashed as its unit completed: building the manifest needs no hashing pool.
    def no_pool(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the manifest hashed a file again")

    monkeypatch.setattr("gh_year_end.storage.manifest.ThreadPoolExecutor", no_pool)
    config = _config(tmp_path, fake)
    assert _collect(config).outcome == "complete"
    paths = PathManager(config)
    files = orjson.loads(paths.manifest_path.read_bytes())["files"]
    assert files
    assert all(e["sha256"] == file_sha256(paths.target_dir / e["path"]) for e in files)


def test_second_collect_says_already_complete_without_a_request(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    before = fake.stats()["requests"]
    again = _collect(config)
    assert again.outcome == "already_complete"
    assert again.exit_code == 0
    assert fake.stats()["requests"] == before


def test_requests_in_flight_never_exceed_max_concurrency(tmp_path: Path) -> None:
    settings = replace(SMALL, latency=0.01)
    with FakeGitHub(settings).start() as server:
        config = _config(tmp_path, server, max_concurrency=3)
        _collect(config)
        assert server.stats()["max_inflight"] <= 3
        assert _problems(config, server) == []


def test_enterprise_path_prefix_works_end_to_end(tmp_path: Path) -> None:
    with FakeGitHub(replace(SMALL, prefix="/api/v3")).start() as server:
        assert server.base_url.endswith("/api/v3")
        config = _config(tmp_path, server)
        assert _collect(config).exit_code == 0
        assert _problems(config, server) == []


def test_user_target_that_is_the_token_owner_includes_private_repos(tmp_path: Path) -> None:
    with FakeGitHub(replace(SMALL, mode="user", owner="octo")).start() as server:
        config = _config(tmp_path, server, owner="octo", mode="user")
        assert _collect(config).exit_code == 0
        expected = server.expected(SINCE, UNTIL)
        planned = CheckpointManager.read_only(PathManager(config).checkpoint_path)
        planned.load()
        assert planned.repo_names() == expected["repos"]
        listed = [
            orjson.loads(line)["data"]
            for line in PathManager(config).repos_path.read_bytes().splitlines()
        ]
        assert [r["full_name"] for r in listed] == expected["repos"]
        assert any(r["private"] for r in listed)


def test_unavailable_repos_are_recorded_and_the_run_still_exits_0(tmp_path: Path) -> None:
    settings = replace(SMALL, not_found=(0,), blocked=(2,), forbidden=(4,), empty=(1,))
    with FakeGitHub(settings).start() as server:
        config = _config(tmp_path, server)
        result = _collect(config)
        assert result.exit_code == 0, result
        assert result.units_unavailable > 0
        assert all(f.unavailable for f in result.failures)
        assert _problems(config, server) == []


def test_retryable_failures_leave_units_resumable_and_resume_completes(tmp_path: Path) -> None:
    settings = replace(SMALL, fault_rate=0.5, fault_kinds=("500",))
    with FakeGitHub(settings).start() as server:
        config = _config(tmp_path, server, extra_rate_limit={"max_retries": 0})
        first = _collect(config)
        assert first.exit_code == 3
        assert any(f.retryable for f in first.failures)
        for _ in range(40):
            result = _collect(config, resume=True)
            if result.exit_code == 0:
                break
        assert result.exit_code == 0
        assert _problems(config, server) == []


def test_resume_without_a_checkpoint_is_refused(tmp_path: Path, fake: FakeGitHub) -> None:
    with pytest.raises(NoCheckpoint, match="run `ghye collect` first"):
        _collect(_config(tmp_path, fake), resume=True)


def test_resume_from_an_unknown_repo_lists_close_matches(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    with pytest.raises(UnknownRepo, match=r"did you mean acme/repo-00\d"):
        _collect(config, resume=True, from_repo="acme/repo-00")


def test_from_repo_skips_the_repos_before_it(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(
        tmp_path,
        fake,
        enable={"reviews": False, "issues": False, "comments": False, "commits": False},
    )
    paths = PathManager(config)
    # A first run that is stopped right after discovery: emulate it with a run of one repo.
    _collect(config)
    names = CheckpointManager.read_only(paths.checkpoint_path)
    names.load()
    repos = names.repo_names()
    with CheckpointManager(
        paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path
    ) as cp:
        cp.load()
        for repo in repos:
            cp.reset_endpoint(repo, "pulls")
    result = _collect(config, resume=True, from_repo=repos[2])
    assert result.exit_code == 3
    assert result.units_skipped == 2
    after = CheckpointManager.read_only(paths.checkpoint_path)
    after.load()
    assert [after.is_repo_endpoint_complete(r, "pulls") for r in repos] == [False, False] + [
        True
    ] * (len(repos) - 2)


def test_changed_dataset_config_is_refused_naming_the_keys(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    _collect(_config(tmp_path, fake))
    changed = _config(tmp_path, fake, discovery={"include_forks": True})
    with pytest.raises(ConfigChanged, match=r"github\.discovery\.include_forks"):
        _collect(changed)


def test_concurrency_change_keeps_the_checkpoint(tmp_path: Path, fake: FakeGitHub) -> None:
    _collect(_config(tmp_path, fake))
    assert _collect(_config(tmp_path, fake, max_concurrency=2)).outcome == "already_complete"


def test_force_starts_over_and_removes_the_earlier_data(tmp_path: Path, fake: FakeGitHub) -> None:
    _collect(_config(tmp_path, fake))
    changed = _config(tmp_path, fake, discovery={"include_forks": True})
    paths = PathManager(changed)
    stray = paths.target_dir / "pulls" / "acme__gone.jsonl"
    stray.write_text("{}\n")
    result = _collect(changed, force=True)
    assert result.exit_code == 0
    assert not stray.exists()
    expected = fake.expected(SINCE, UNTIL, include_forks=True)
    assert compare_with_expected(read_dataset(paths.target_dir), expected) == []


def test_missing_token_fails_before_anything_is_written(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    with pytest.raises(TokenMissing):
        run_collect(
            config,
            CollectRequest(),
            environ={},
            events=NullEvents(),
            command="t",
            install_signals=False,
        )
    assert not PathManager(config).target_dir.exists()
    assert fake.stats()["requests"] == 0


def test_rejected_token_ends_the_run_with_authentication_failed(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    with pytest.raises(AuthenticationFailed):
        run_collect(
            config,
            CollectRequest(),
            environ={TOKEN_ENV: "wrong"},
            events=NullEvents(),
            command="t",
            install_signals=False,
        )


def test_unknown_org_is_target_not_found(tmp_path: Path, fake: FakeGitHub) -> None:
    with pytest.raises(TargetNotFound, match=r"github\.target\.name"):
        _collect(_config(tmp_path, fake, owner="nobody"))


def test_a_held_lock_refuses_the_run(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    paths = PathManager(config)
    paths.target_dir.mkdir(parents=True)
    with (
        RunLock(paths.lock_path, command="other"),
        pytest.raises(CheckpointLocked, match="ghye unlock"),
    ):
        _collect(config)


def test_reviews_are_collected_per_pull_request_of_the_window(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    paths = PathManager(config)
    expected = fake.expected(SINCE, UNTIL)
    total = sum(len(u["reviews"]) for u in expected["units"].values())
    assert total > 0
    lines = [
        orjson.loads(line)
        for f in (paths.target_dir / "reviews").glob("*.jsonl")
        for line in f.read_bytes().splitlines()
    ]
    assert len(lines) == total
    assert {line["endpoint"] for line in lines} == {"reviews"}
    assert all(line["request_id"] for line in lines)


def test_a_resume_that_starts_work_first_removes_the_earlier_manifest(tmp_path: Path) -> None:
    settings = replace(SMALL, fault_rate=0.3, fault_kinds=("500",))
    with FakeGitHub(settings).start() as server:
        # REST reviews: the wrong token is then first refused by a unit's request, after the
        # run began to work (through GraphQL, the probe before any work is refused first, and
        # the data — so the manifest too — stays as it was).
        config = _config(tmp_path, server, extra_rate_limit={"max_retries": 0}, reviews_via="rest")
        first = _collect(config)
        assert first.exit_code == 3
        manifest = PathManager(config).manifest_path
        assert manifest.exists()  # every unit ended, some of them failed (retryable)
        with pytest.raises(AuthenticationFailed):
            run_collect(
                config,
                CollectRequest(resume=True),
                environ={TOKEN_ENV: "wrong"},
                events=NullEvents(),
                command="t",
                install_signals=False,
            )
        assert not manifest.exists()


def _one_repo_github(
    path: str, serve: Callable[[httpx.Request], httpx.Response]
) -> httpx.MockTransport:
    """A GitHub with org acme holding acme/r, whose ``path`` list ``serve`` answers."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/orgs/acme":
            return httpx.Response(200, json={"login": "acme"})
        if request.url.path == "/orgs/acme/repos":
            return httpx.Response(200, json=[{"full_name": "acme/r", "id": 1}])
        if request.url.path == path:
            return serve(request)
        return httpx.Response(404, json={"message": "Not Found"})

    return httpx.MockTransport(handler)


def _collect_from_mock(
    tmp_path: Path, transport: httpx.MockTransport, **enable: bool
) -> dict[str, list[Any]]:
    """Collect acme/r from a mock GitHub with only the given switches on; its ids per endpoint."""
    switches = {"pulls": False, "issues": False, "reviews": False, "comments": False,
                "commits": False, **enable}  # fmt: skip
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9", enable=switches))
    result = _collect(config, transport)
    assert result.exit_code == 0
    dataset = read_dataset(PathManager(config).target_dir)
    assert dataset.problems == ()
    return dataset.ids["acme/r"]


def _shifting_github(pages: dict[int, list[int]]) -> httpx.MockTransport:
    """A GitHub whose pulls list shifted between two pages: record 2 comes back on page 2."""

    def pull(number: int) -> dict[str, Any]:
        stamp = f"2025-06-{30 - number:02d}T00:00:00Z"
        return {"id": 1000 + number, "number": number, "created_at": stamp, "updated_at": stamp}

    def serve(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        headers = {}
        if page + 1 in pages:
            headers["link"] = f'<http://127.0.0.1:9/repos/acme/r/pulls?page={page + 1}>; rel="next"'
        return httpx.Response(200, json=[pull(n) for n in pages[page]], headers=headers)

    return _one_repo_github("/repos/acme/r/pulls", serve)


def test_a_record_seen_again_on_a_shifted_page_is_written_once(tmp_path: Path) -> None:
    ids = _collect_from_mock(tmp_path, _shifting_github({1: [1, 2], 2: [2, 3]}), pulls=True)
    assert sorted(ids["pulls"]) == [1001, 1002, 1003]


def test_a_pulls_file_cut_short_fails_only_the_reviews_that_need_it(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    paths = PathManager(config)
    victim = paths.raw_path("pulls", "acme/repo-000")
    victim.write_bytes(victim.read_bytes()[:10])
    with CheckpointManager(
        paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path
    ) as cp:
        cp.load()
        cp.reset_endpoint("acme/repo-000", "reviews")
        cp.reset_endpoint("acme/repo-001", "reviews")
    # The reviews of repo-000 fail alone; then the manifest cannot vouch for the damaged file.
    with pytest.raises(DataFileMismatch, match="ghye reset --repo acme/repo-000 --endpoint pulls"):
        _collect(config, resume=True)
    after = CheckpointManager.read_only(paths.checkpoint_path)
    after.load()
    failed = [(r, e) for r, e, p in after.units() if p.status.value == "failed"]
    assert failed == [("acme/repo-000", "reviews")]
    assert after.is_repo_endpoint_complete("acme/repo-001", "reviews")


def _live_comments_github() -> httpx.MockTransport:
    """Issue comments sorted by updated asc, two a page; the first one is edited after page 1."""
    comments = {n: f"2025-03-0{n}T00:00:00Z" for n in (1, 2, 3, 4)}
    served = {"pages": 0}

    def serve(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        served["pages"] += 1
        if served["pages"] == 2:
            comments[1] = "2025-03-09T00:00:00Z"  # edited: it moves to the end of the list
        since = request.url.params.get("since", "")
        page = int(request.url.params.get("page", "1"))
        listed = sorted((t, n) for n, t in comments.items() if t >= since)
        chunk = listed[(page - 1) * 2 : page * 2]
        headers = {}
        if page * 2 < len(listed):
            query = f"since={since}&sort=updated&direction=asc&per_page=2&page={page + 1}"
            headers["link"] = f'<http://127.0.0.1:9{path}?{query}>; rel="next"'
        body = [{"id": n, "created_at": "2025-03-01T00:00:00Z", "updated_at": t} for t, n in chunk]
        return httpx.Response(200, json=body, headers=headers)

    return _one_repo_github("/repos/acme/r/issues/comments", serve)


def test_an_edited_comment_does_not_push_another_past_the_page_boundary(tmp_path: Path) -> None:
    ids = _collect_from_mock(tmp_path, _live_comments_github(), comments=True)
    assert sorted(ids["issue_comments"]) == [1, 2, 3, 4]


def _live_pulls_github() -> httpx.MockTransport:
    """Pulls sorted by updated desc, two a page; an unseen one is updated after page 1."""
    pulls = {n: f"2025-05-0{n}T00:00:00Z" for n in range(1, 7)}
    served = {"pages": 0}

    def serve(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        served["pages"] += 1
        if served["pages"] == 2:
            pulls[2] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # jumps to the front
        page = int(request.url.params.get("page", "1"))
        listed = sorted(((t, n) for n, t in pulls.items()), reverse=True)
        chunk = listed[(page - 1) * 2 : page * 2]
        headers = {}
        if page * 2 < len(listed):
            headers["link"] = f'<http://127.0.0.1:9{path}?page={page + 1}>; rel="next"'
        body = [
            {"id": 100 + n, "number": n, "created_at": "2025-04-01T00:00:00Z", "updated_at": t}
            for t, n in chunk
        ]
        return httpx.Response(200, json=body, headers=headers)

    return _one_repo_github("/repos/acme/r/pulls", serve)


def test_a_pull_request_updated_while_paging_is_still_collected(tmp_path: Path) -> None:
    ids = _collect_from_mock(tmp_path, _live_pulls_github(), pulls=True)
    assert sorted(ids["pulls"]) == [101, 102, 103, 104, 105, 106]


def test_the_next_page_is_fetched_during_a_commit_but_written_only_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[tuple[str, int]] = []
    original = CheckpointManager.update_progress

    def slow_commit(self: CheckpointManager, repo: str, endpoint: str, page: int, *a: Any,
                    **k: Any) -> None:  # fmt: skip
        order.append(("commit begins", page))
        time.sleep(0.2)  # a slow disk: the next request must not wait for it
        original(self, repo, endpoint, page, *a, **k)
        order.append(("commit ends", page))

    monkeypatch.setattr(CheckpointManager, "update_progress", slow_commit)
    pages = {1: [1, 2], 2: [3, 4], 3: [5, 6]}
    github = _shifting_github(pages)
    handle = github.handle_async_request

    async def logged(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/pulls"):
            order.append(("request", int(request.url.params.get("page", "1"))))
        return await handle(request)

    github.handle_async_request = logged  # type: ignore[method-assign]
    ids = _collect_from_mock(tmp_path, github, pulls=True)
    assert ids["pulls"] == [1001, 1002, 1003, 1004, 1005, 1006]  # in page order, once each
    for page in (1, 2):
        assert order.index(("request", page + 1)) < order.index(("commit ends", page)), order
        assert order.index(("commit ends", page)) < order.index(("commit begins", page + 1))


def _issues_github(gone: list[bool]) -> httpx.MockTransport:
    """acme/r with two issues — or, once ``gone[0]`` is set, a 404 for them."""

    def serve(request: httpx.Request) -> httpx.Response:
        if gone[0]:
            return httpx.Response(404, json={"message": "Not Found"})
        stamp = "2025-06-10T00:00:00Z"
        issues = [{"id": n, "number": n, "created_at": stamp, "updated_at": stamp} for n in (1, 2)]
        return httpx.Response(200, json=issues)

    return _one_repo_github("/repos/acme/r/issues", serve)


def test_a_unit_that_ends_without_a_commit_still_cuts_an_uncommitted_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = [False]
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9", enable={
        "pulls": False, "reviews": False, "comments": False, "commits": False}))  # fmt: skip

    def power_cut(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # the page is fsynced, its commit never happens

    with monkeypatch.context() as patched:
        patched.setattr(CheckpointManager, "update_progress", power_cut)
        with pytest.raises(KeyboardInterrupt):
            _collect(config, _issues_github(gone))
    data_file = PathManager(config).raw_path("issues", "acme/r")
    assert data_file.stat().st_size > 0  # the uncommitted page is on disk
    gone[0] = True  # the resumed unit ends unavailable: no page is ever committed
    result = _collect(config, _issues_github(gone), resume=True)
    assert result.units_unavailable == 1
    assert data_file.stat().st_size == 0
    manifest = orjson.loads(PathManager(config).manifest_path.read_bytes())
    assert manifest["totals"]["records"] == 0


def test_a_failure_while_a_unit_ends_ends_the_run_instead_of_hanging_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = CheckpointManager.mark_phase_complete

    def disk_full(self: CheckpointManager, phase: str) -> None:
        if phase == "pulls":  # the unit's last commit is done; marking its phase fails
            raise StorageError("disk full")
        original(self, phase)

    monkeypatch.setattr(CheckpointManager, "mark_phase_complete", disk_full)
    outcome: list[BaseException | None] = []

    def collect() -> None:
        try:
            _collect_from_mock(tmp_path, _shifting_github({1: [1, 2]}), pulls=True)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=collect, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert outcome, "the run hung after a failure in a unit's last step"
    assert isinstance(outcome[0], StorageError)


def test_a_stop_while_units_are_queued_starts_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stops: list[Any] = []
    loops: list[asyncio.AbstractEventLoop] = []

    class Captured(StopSignal):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stops.append(self)
            loops.append(asyncio.get_running_loop())

    monkeypatch.setattr(collector, "StopSignal", Captured)
    original = CheckpointManager.mark_repo_endpoint_in_progress

    def mark(self: CheckpointManager, repo: str, endpoint: str) -> None:
        original(self, repo, endpoint)
        if endpoint == "pulls":  # Ctrl+C just as the first unit gets going
            loops[0].call_soon_threadsafe(stops[0].trigger, signal.SIGINT)

    monkeypatch.setattr(CheckpointManager, "mark_repo_endpoint_in_progress", mark)
    github = _shifting_github({1: [1]})
    serve = github.handler
    after_stop: list[str] = []

    def logged(request: httpx.Request) -> httpx.Response:
        if stops[0].event.is_set():
            after_stop.append(request.url.path)
        return serve(request)  # type: ignore[return-value]

    github.handler = logged
    enable = {"pulls": True, "issues": True, "reviews": False, "comments": False, "commits": False}
    config = load_config(
        write_config(tmp_path, "http://127.0.0.1:9", max_concurrency=1, enable=enable)
    )
    result = _collect(config, github)
    assert result.outcome == "interrupted"
    assert result.exit_code == 130
    assert after_stop == []
    progress = CheckpointManager.read_only(PathManager(config).checkpoint_path)
    assert progress.get_endpoint("acme/r", "issues").status is CheckpointStatus.PENDING


def test_a_repos_reviews_start_as_soon_as_its_pulls_complete(tmp_path: Path) -> None:
    # Reviews units are the long ones through REST: started late, they would leave a run waiting
    # on them. (Through GraphQL they run beside the workers and share queries: see
    # test_review_queries.py.)
    with FakeGitHub(SMALL).start() as server:
        _collect(_config(tmp_path, server, max_concurrency=1, reviews_via="rest"))
        targets = [str(entry["target"]) for entry in server.log()]
    first_reviews = next(i for i, t in enumerate(targets) if "/repo-000/" in t and "/reviews" in t)
    first_of_next_repo = next(i for i, t in enumerate(targets) if "/repo-001/" in t)
    assert first_reviews < first_of_next_repo


def test_reading_a_units_file_streams_it_line_by_line(tmp_path: Path) -> None:
    from gh_year_end.collect.unit import committed_records

    path = tmp_path / "big.jsonl"
    line = b'{"data":{"id":1}}\n'
    path.write_bytes(line * 3)
    records = committed_records(path, len(line) * 3)
    assert not isinstance(records, list)  # a generator: a huge pulls file is never held whole
    assert next(iter(records)) == {"id": 1}


@pytest.mark.parametrize(
    "link",
    [f"https://evil.example/x?access_token={TEST_TOKEN}", "https://evil.example/x?page=2"],
)
def test_a_next_link_to_another_host_or_carrying_the_token_never_reaches_the_checkpoint(
    tmp_path: Path, link: str
) -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[], headers={"link": f'<{link}>; rel="next"'})

    switches = {"pulls": False, "issues": True, "reviews": False, "comments": False,
                "commits": False}  # fmt: skip
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9", enable=switches))
    result = _collect(config, _one_repo_github("/repos/acme/r/issues", serve))
    assert result.exit_code == 3  # the unit failed: its list leads elsewhere
    target = PathManager(config).target_dir
    for path in target.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"evil.example/x" not in text, path  # its origin is named, the link is not
            assert TEST_TOKEN.encode() not in text, path
