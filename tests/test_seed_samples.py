"""Every ```python sample of docs/checkpoint_system.md runs unchanged against the package.

Each sample is exec()'d in a namespace holding small stubs for the names it leaves undefined
(fetch_page, write_records, the error classes, a RestClient-like client, ``checkpoint`` …), in a
temporary folder with its own config/config.yaml, and its effect on the checkpoint is checked.
"""

from __future__ import annotations

import asyncio
import builtins
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

import orjson
import pytest

from gh_year_end.config import Config, load_config, parse_config
from gh_year_end.storage import AsyncJSONLWriter, CheckpointManager, CheckpointStatus
from gh_year_end.storage.lock import holder_state
from gh_year_end.storage.paths import PathManager

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC = REPO_ROOT / "docs" / "checkpoint_system.md"
SEED = REPO_ROOT.parent / "shared" / "seed" / "checkpoint_system.md"
SAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)

CONFIG_YAML = """\
github:
  target: {mode: org, name: sample-org}
  windows: {year: 2025}
storage:
  root: ./data
"""


def run_sample(index: int, namespace: dict[str, Any]) -> dict[str, Any]:
    code = compile(SAMPLES[index], f"{DOC.name} sample {index + 1}", "exec")
    exec(code, namespace)  # running the documentation is the point
    return namespace


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(CONFIG_YAML)
    return tmp_path


@pytest.fixture
def seed_config(workdir: Path) -> Config:
    return load_config(Path("config/config.yaml"))


@pytest.fixture
def seed_paths(seed_config: Config) -> PathManager:
    return PathManager(seed_config)


def view(paths: PathManager) -> CheckpointManager:
    return CheckpointManager.read_only(paths.checkpoint_path)


NOTE_TITLE = "\n## Where the code differs from this text\n"


def test_the_repo_copy_is_the_seed_verbatim() -> None:
    doc = DOC.read_bytes()
    if SEED.exists():
        seed = SEED.read_bytes()
        # The seed, untouched, then one note on where the code deliberately differs.
        assert doc.startswith(seed)
        assert doc[len(seed) :].startswith(NOTE_TITLE.encode())
    note = doc.decode("utf-8").split(NOTE_TITLE)[1]
    assert "```" not in note
    assert len(SAMPLES) == 8  # one test below per sample; a new sample needs a new test


# --- sample 1: basic usage -------------------------------------------------------------


class RateLimitError(Exception):
    """Stub for the sample's retryable error."""


class ForbiddenError(Exception):
    """Stub for the sample's permanent error."""


class Api:
    """fetch_page / write_records stubs: pages 1-2 hold three records each, then nothing."""

    def __init__(self, fail_at: int | None = None, error: type[Exception] = RateLimitError) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.written: list[dict[str, Any]] = []
        self.fail_at = fail_at
        self.error = error

    def fetch_page(self, repo: str, endpoint: str, page: int) -> list[dict[str, Any]]:
        self.calls.append((repo, endpoint, page))
        if page == self.fail_at:
            raise self.error(f"stub failure on page {page}")
        return [{"id": page * 10 + i} for i in range(3)] if page <= 2 else []

    def namespace(self) -> dict[str, Any]:
        return {
            "fetch_page": self.fetch_page,
            "write_records": self.written.extend,
            "RateLimitError": RateLimitError,
            "ForbiddenError": ForbiddenError,
        }


def run_basic(api: Api) -> CheckpointManager:
    namespace = api.namespace()
    try:
        run_sample(0, namespace)
    finally:
        checkpoint: CheckpointManager | None = namespace.get("checkpoint")
        if checkpoint is not None:
            installed = checkpoint.signal_handlers_installed
            checkpoint.close()  # also restores the signal handlers the sample installed
            assert installed
    assert checkpoint is not None
    return checkpoint


def test_sample_basic_usage_collects_then_resumes(
    seed_paths: PathManager, capsys: pytest.CaptureFixture[str]
) -> None:
    api = Api()
    run_basic(api)
    assert api.calls == [
        ("org/repo2", "pulls", 1),
        ("org/repo2", "pulls", 2),
        ("org/repo2", "pulls", 3),
    ]
    assert [r["id"] for r in api.written] == [10, 11, 12, 20, 21, 22]
    assert seed_paths.checkpoint_path.exists()
    state = view(seed_paths).get_endpoint("org/repo2", "pulls")
    assert (
        state.status,
        state.pages_collected,
        state.records_collected,
        state.last_page_written,
    ) == (CheckpointStatus.COMPLETE, 2, 6, 2)
    assert view(seed_paths).get_endpoint("org/repo1", "pulls").status is CheckpointStatus.PENDING
    assert view(seed_paths).get_stats()["total_repos"] == 2

    again = Api()
    run_basic(again)  # the checkpoint exists now: load, validate, skip what is complete
    assert again.calls == []
    assert "Skipping org/repo2/pulls - already complete" in capsys.readouterr().out


def test_sample_basic_usage_records_a_retryable_failure(seed_paths: PathManager) -> None:
    run_basic(Api(fail_at=2, error=RateLimitError))
    state = view(seed_paths).get_endpoint("org/repo2", "pulls")
    assert (state.status, state.retryable, state.pages_collected) == (
        CheckpointStatus.FAILED,
        True,
        1,
    )
    assert state.error == "stub failure on page 2"
    assert view(seed_paths).get_resume_page("org/repo2", "pulls") == 2


def test_sample_basic_usage_records_a_permanent_failure(seed_paths: PathManager) -> None:
    run_basic(Api(fail_at=1, error=ForbiddenError))
    state = view(seed_paths).get_endpoint("org/repo2", "pulls")
    assert (state.status, state.retryable) == (CheckpointStatus.FAILED, False)
    assert view(seed_paths).get_stats()["repos_failed"] == 1


# --- sample 2: context manager ---------------------------------------------------------


class ObservedRepos(list[dict[str, str]]):
    """The sample's ``repos``: notes whether the run lock is held while they are read."""

    def __init__(self, items: list[dict[str, str]], lock_path: Path) -> None:
        super().__init__(items)
        self.lock_path = lock_path
        self.lock_states: list[str] = []

    def __iter__(self) -> Iterator[dict[str, str]]:
        self.lock_states.append(holder_state(self.lock_path))
        return super().__iter__()


def test_sample_context_manager_holds_the_lock_and_plans(
    seed_paths: PathManager, seed_config: Config
) -> None:
    def namespace(repos: ObservedRepos) -> dict[str, Any]:
        return {
            "CheckpointManager": CheckpointManager,
            "checkpoint_path": seed_paths.checkpoint_path,
            "lock_path": seed_paths.lock_path,
            "config": seed_config,
            "repos": repos,
        }

    repos = ObservedRepos([{"full_name": "org/a"}, {"full_name": "org/b"}], seed_paths.lock_path)
    run_sample(1, namespace(repos))
    assert repos.lock_states == ["alive"]
    assert holder_state(seed_paths.lock_path) == "free"
    assert view(seed_paths).repo_names() == ["org/a", "org/b"]

    with CheckpointManager(seed_paths.checkpoint_path) as cp:
        cp.load()
        cp.update_progress("org/a", "pulls", 1, 4)
    repos = ObservedRepos([{"full_name": "org/a"}, {"full_name": "org/c"}], seed_paths.lock_path)
    run_sample(1, namespace(repos))  # exists now: the load() branch
    assert repos.lock_states == ["alive"]
    assert view(seed_paths).repo_names() == ["org/a", "org/c"]
    assert view(seed_paths).get_endpoint("org/a", "pulls").records_collected == 4


# --- samples 3 and 4: phases and statistics ----------------------------------------------


@pytest.fixture
def checkpoint(seed_paths: PathManager, seed_config: Config) -> Iterator[CheckpointManager]:
    cp = CheckpointManager(seed_paths.checkpoint_path, seed_paths.lock_path)
    cp.create_new(seed_config)
    yield cp
    cp.close()


def test_sample_phase_tracking(
    checkpoint: CheckpointManager, seed_paths: PathManager, capsys: pytest.CaptureFixture[str]
) -> None:
    run_sample(2, {"checkpoint": checkpoint})
    assert capsys.readouterr().out == "Discovery already done\n"
    assert view(seed_paths).is_phase_complete("discovery")
    assert view(seed_paths).is_phase_complete("pulls")
    assert view(seed_paths).current_phase == "pulls"


def test_sample_statistics(
    checkpoint: CheckpointManager, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint.update_repos([{"full_name": f"org/r{i}"} for i in range(1, 5)], endpoints=["pulls"])
    checkpoint.mark_repo_endpoint_complete("org/r1", "pulls")
    checkpoint.mark_repo_endpoint_in_progress("org/r2", "pulls")
    checkpoint.mark_repo_endpoint_failed("org/r3", "pulls", "403", retryable=False)
    run_sample(3, {"checkpoint": checkpoint})
    assert capsys.readouterr().out == (
        "Total repos: 4\nComplete: 1\nIn progress: 1\nPending: 1\nFailed: 1\n"
    )


# --- sample 5: the async pull request collector ---------------------------------------------


class RestClient:
    """RestClient-like stub: two pages of pulls per repo, then an empty page."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    async def get_pulls(self, repo: str, page: int = 1, per_page: int = 100) -> SimpleNamespace:
        self.calls.append((repo, page, per_page))
        count = {1: 2, 2: 1}.get(page, 0)
        return SimpleNamespace(data=[{"id": f"{repo}#{page}.{i}"} for i in range(count)])


def test_sample_collector_writes_jsonl_and_commits_pages(
    checkpoint: CheckpointManager, seed_paths: PathManager
) -> None:
    repos = [{"full_name": "org/one"}, {"full_name": "org/two"}]
    checkpoint.update_repos(repos, endpoints=["pulls"])

    def sum_stub(values: Any, start: int = 0) -> Any:
        # The sample returns `sum(...)`: its `...` stands for the records collected.
        if values is Ellipsis:
            return checkpoint.get_stats()["records_collected"]
        return builtins.sum(values, start)

    namespace = run_sample(
        4,
        {
            "RestClient": RestClient,
            "PathManager": PathManager,
            "CheckpointManager": CheckpointManager,
            "AsyncJSONLWriter": AsyncJSONLWriter,
            "sum": sum_stub,
        },
    )
    client = RestClient()
    collect = namespace["collect_pulls_with_checkpoint"]
    result = asyncio.run(collect(repos, client, seed_paths, checkpoint))
    assert result == {"pulls_collected": 6}
    assert client.calls == [
        ("org/one", 1, 100),
        ("org/one", 2, 100),
        ("org/one", 3, 100),
        ("org/two", 1, 100),
        ("org/two", 2, 100),
        ("org/two", 3, 100),
    ]
    for repo in ("org/one", "org/two"):
        lines = seed_paths.pulls_raw_path(repo).read_bytes().splitlines()
        assert [orjson.loads(x)["data"]["id"] for x in lines] == [
            f"{repo}#1.0",
            f"{repo}#1.1",
            f"{repo}#2.0",
        ]
        assert {orjson.loads(x)["endpoint"] for x in lines} == {"pulls"}
        state = view(seed_paths).get_endpoint(repo, "pulls")
        assert (state.status, state.pages_collected, state.records_collected) == (
            CheckpointStatus.COMPLETE,
            2,
            3,
        )
    # Run again: nothing is left to collect.
    assert asyncio.run(collect(repos, RestClient(), seed_paths, checkpoint)) == {
        "pulls_collected": 6
    }


# --- sample 6: configuration changes ----------------------------------------------------


def test_sample_config_change_starts_fresh(
    seed_paths: PathManager, seed_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    old = CheckpointManager(seed_paths.checkpoint_path)
    old_config = parse_config(CONFIG_YAML.replace("2025", "2024"), source="old.yaml")
    old.create_new(old_config)
    old.update_repos([{"full_name": "org/old"}])
    old.update_progress("org/old", "pulls", 1, 9)
    old.close()

    checkpoint = CheckpointManager(seed_paths.checkpoint_path)
    run_sample(5, {"checkpoint": checkpoint, "config": seed_config})
    assert capsys.readouterr().out == "Configuration changed - starting fresh collection\n"
    assert checkpoint.validate_config(seed_config)
    assert view(seed_paths).repo_names() == []

    unchanged = CheckpointManager(seed_paths.checkpoint_path)
    run_sample(5, {"checkpoint": unchanged, "config": seed_config})
    assert capsys.readouterr().out == ""
    assert unchanged.loaded


# --- sample 7: `with checkpoint:` around a commit ------------------------------------------


class FillIn:
    """The sample's ``checkpoint``: the real manager; its ``update_progress(...)`` placeholder
    becomes one page of org/repo1 pulls, committed while the sample holds the lock."""

    def __init__(self, manager: CheckpointManager, lock_path: Path) -> None:
        self.manager = manager
        self.lock_path = lock_path
        self.lock_states: list[str] = []

    def __enter__(self) -> FillIn:
        self.manager.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.manager.__exit__(exc_type, exc, tb)

    def update_progress(self, *args: Any, **kwargs: Any) -> None:
        assert args == (Ellipsis,)
        assert not kwargs
        self.lock_states.append(holder_state(self.lock_path))
        self.manager.update_progress("org/repo1", "pulls", 1, 5)


def test_sample_with_checkpoint_holds_the_lock_around_commits(
    checkpoint: CheckpointManager, seed_paths: PathManager
) -> None:
    # Commits go to planned units only: the fill-in's unit is planned first.
    checkpoint.update_repos([{"full_name": "org/repo1"}], endpoints=["pulls"])
    fill_in = FillIn(checkpoint, seed_paths.lock_path)
    run_sample(6, {"checkpoint": fill_in})
    assert fill_in.lock_states == ["alive"]
    assert holder_state(seed_paths.lock_path) == "free"
    assert view(seed_paths).get_endpoint("org/repo1", "pulls").records_collected == 5
    assert checkpoint.journal_path.read_bytes() == b""  # exit folded it into checkpoint.json


# --- sample 8: troubleshooting ---------------------------------------------------------------


def test_sample_troubleshooting_prints_stats(
    checkpoint: CheckpointManager, seed_paths: PathManager, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint.update_repos([{"full_name": "org/stuck"}], endpoints=["pulls"])
    checkpoint.mark_repo_endpoint_in_progress("org/stuck", "pulls")
    fresh = CheckpointManager(seed_paths.checkpoint_path)
    namespace = run_sample(7, {"checkpoint": fresh})
    assert namespace["stats"]["repos_in_progress"] == 1
    assert namespace["stats"] == checkpoint.get_stats()
    assert capsys.readouterr().out == f"{namespace['stats']}\n"
    fresh.close()
