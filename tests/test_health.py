"""Repository health (``repo_health``) and commit sizes (``commit_stats``): read through GraphQL,
25 repositories a query, records checked against the fake GitHub's data; what a credential may
not see recorded as such; refreshed; documents valid for GitHub's published schema."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import NoDeprecatedCustomRule, parse, specified_rules, validate

from gh_year_end.collect.events import CollectResult, NullEvents
from gh_year_end.collect.health import NOT_VISIBLE, trees
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import Config, HygieneConfig, load_config
from gh_year_end.errors import ConfigInvalid
from gh_year_end.github.repo_query import HEALTH_REPOS_PER_QUERY, HealthQuery, HistoryQuery, Repo
from gh_year_end.manage.verify import verify
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from github_schema import github_schema
from harness import TEST_TOKEN, TOKEN_ENV, write_config

ENV = {TOKEN_ENV: TEST_TOKEN}
YEAR = 2026
SETTINGS = FakeSettings(
    repos=8,
    pulls=6,
    issues=4,
    issue_comments=4,
    review_comments=4,
    commits=130,  # two history pages in some repositories
    empty=(6,),
    token=TEST_TOKEN,
)
ON = {"hygiene": True, "commit_stats": True}


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


def _config(folder: Path, server: FakeGitHub, *, enable: dict[str, bool] | None = None) -> Config:
    switches = {**ON, **(enable or {})}
    return load_config(write_config(folder, server.base_url, year=YEAR, enable=switches))


def _collect(config: Config, **request: Any) -> CollectResult:
    return run_collect(
        config,
        CollectRequest(**request),
        environ=ENV,
        events=NullEvents(),
        command="test",
        install_signals=False,
    )


def _unit(config: Config, endpoint: str) -> dict[str, list[dict[str, Any]]]:
    """The records of every unit of ``endpoint``, by repository."""
    root = PathManager(config).target_dir / endpoint
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.glob("*.jsonl")):
        repo = path.stem.replace("__", "/", 1)
        found[repo] = [orjson.loads(line)["data"] for line in path.read_bytes().splitlines()]
    return found


@pytest.mark.parametrize(
    "document",
    [
        HealthQuery((Repo("acme", "a"), Repo("acme", "b")), trees(HygieneConfig())).document,
        HistoryQuery(
            (Repo("acme", "a"), Repo("acme", "b", "c")), "2026-01-01T00:00:00Z", "2027-01-01"
        ).document,
    ],
    ids=["health", "history"],
)
def test_the_documents_are_valid_for_githubs_schema_and_read_no_deprecated_field(
    document: str,
) -> None:
    errors = validate(github_schema(), parse(document), [*specified_rules, NoDeprecatedCustomRule])
    assert [e.message for e in errors] == []


def test_commit_sizes_cover_every_window_commit_in_a_query_per_25_repositories(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    fake.reset_stats()
    result = _collect(config)
    assert result.outcome == "complete", result.failures
    commits = _unit(config, "commits")
    stats = _unit(config, "commit_stats")
    for repo, records in commits.items():
        assert [s["sha"] for s in stats.get(repo, [])] == [c["sha"] for c in records], repo
    sizes = [s for records in stats.values() for s in records]
    assert sizes
    assert all(isinstance(s["additions"], int) and isinstance(s["deletions"], int) for s in sizes)
    assert verify(config).holds


def test_every_repository_has_one_health_record_and_unseen_fields_say_so(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    assert _collect(config).outcome == "complete"
    health = _unit(config, "repo_health")
    planned = set(_unit(config, "pulls")) | set(health)
    assert set(health) == planned
    for repo, records in health.items():
        assert len(records) == 1, repo
        record = records[0]
        assert record["full_name"] == repo
        assert set(record["files"]) == set(HygieneConfig().paths)
        listed = _listing(config)[repo]
        if listed["permissions"]["admin"]:
            assert record["branch_protection"] != NOT_VISIBLE
            assert isinstance(record["security"]["vulnerability_alerts"], bool)
        else:
            assert record["branch_protection"] == NOT_VISIBLE
            assert record["security"]["vulnerability_alerts"] == NOT_VISIBLE
            assert record["security"]["secret_scanning"] == NOT_VISIBLE
    empty = [r[0] for r in health.values() if r[0]["empty"]]
    assert empty
    assert all(r["default_branch"] is None and r["files"]["README"] == [] for r in empty)


def _listing(config: Config) -> dict[str, dict[str, Any]]:
    raw = PathManager(config).repos_path.read_bytes()
    records = [orjson.loads(line)["data"] for line in raw.splitlines()]
    return {r["full_name"]: r for r in records}


def test_health_and_sizes_cost_a_query_per_25_repositories_and_per_page_of_100(
    tmp_path: Path,
) -> None:
    settings = FakeSettings(repos=60, pulls=1, issues=1, issue_comments=1, review_comments=1,
                            commits=30, token=TEST_TOKEN)  # fmt: skip
    with FakeGitHub(settings).start() as server:
        off = dict.fromkeys(("pulls", "reviews", "comments", "issues"), False)
        config = _config(tmp_path, server, enable=off)
        server.reset_stats()
        assert _collect(config).outcome == "complete"
        queries = server.stats()["by_endpoint"].get("graphql", 0)
    repos = len(_unit(config, "repo_health"))
    commits = sum(len(r) for r in _unit(config, "commit_stats").values())
    # Health: a query per 25 repositories; sizes: a query per 100 commits, however few each
    # repository has; plus the check that GraphQL serves the run and the estimate's counts.
    health_and_sizes = queries - 1 - math.ceil(repos / 21)
    assert health_and_sizes <= math.ceil(repos / HEALTH_REPOS_PER_QUERY) + math.ceil(commits / 100)


def test_a_refresh_reads_health_again_and_sizes_only_where_commits_changed(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path / "a", fake)
    _collect(config)
    fake.mutate(seed=2, adds=2, kinds=("commits",), repos=1)
    result = _collect(config, refresh=True)
    assert result.outcome == "complete", result
    fresh = _config(tmp_path / "b", fake)
    _collect(fresh)
    for endpoint, key in (
        ("commits", "sha"),
        ("commit_stats", "sha"),
        ("repo_health", "full_name"),
    ):
        assert _by_id(config, endpoint, key) == _by_id(fresh, endpoint, key), endpoint
    assert verify(config).holds


def _by_id(config: Config, endpoint: str, key: str) -> dict[str, dict[Any, Any]]:
    return {repo: {r[key]: r for r in records} for repo, records in _unit(config, endpoint).items()}


def test_a_configured_folder_is_found_like_a_file_and_a_pattern_is_refused(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    doc = orjson.loads(write_config(tmp_path, fake.base_url, year=YEAR, enable=ON).read_bytes())
    doc["collection"]["hygiene"] = {"paths": [".github/workflows", "README"]}
    path = tmp_path / "config.yaml"
    path.write_bytes(orjson.dumps(doc))
    config = load_config(path)
    assert _collect(config).outcome == "complete"
    records = [r[0] for r in _unit(config, "repo_health").values()]
    with_workflows = [r for r in records if r["workflows"]]
    assert with_workflows  # the folder is there: recorded present, like a file
    assert all(r["files"][".github/workflows"] == [".github/workflows"] for r in with_workflows)
    doc["collection"]["hygiene"] = {"paths": ["*.md"]}
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(ConfigInvalid, match="give a name, not a pattern"):
        load_config(path)
