"""`ghye collect --refresh`: a collected dataset brought to what a fresh collect would give now,
each record once in its latest version, with unchanged units answered 304 (free)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from clirun import cli
from gh_year_end.collect.events import CollectResult, NullEvents
from gh_year_end.collect.pagers import KeysetPager
from gh_year_end.collect.paging import Seen
from gh_year_end.collect.refresh import PHASE, generation_in_progress
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import Config, load_config
from gh_year_end.endpoints import BY_NAME, Window
from gh_year_end.github.answers import Page, PageMeta
from gh_year_end.manage.verify import verify
from gh_year_end.storage.checkpoint import CheckpointManager, EndpointProgress, Refreshed
from gh_year_end.storage.jsonl import envelope_line
from gh_year_end.storage.paths import PathManager
from gh_year_end.storage.rewrite import refreshed_path, write_refreshed
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import TEST_TOKEN, TOKEN_ENV, write_config

ENV = {TOKEN_ENV: TEST_TOKEN}
_WINDOW = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
# The fake's data runs to 2026-06-30 and its changes happen now: the 2026 window is still open.
YEAR = 2026
SMALL = FakeSettings(
    repos=5,
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


def _config(folder: Path, server: FakeGitHub, **kwargs: Any) -> Config:
    return load_config(write_config(folder, server.base_url, year=YEAR, **kwargs))


def _collect(config: Config, **request: Any) -> CollectResult:
    return run_collect(
        config,
        CollectRequest(**request),
        environ=ENV,
        events=NullEvents(),
        command="test",
        install_signals=False,
    )


Records = dict[tuple[str, str, Any], dict[str, Any]]


def _records(config: Config) -> Records:
    """Every record of the dataset by (endpoint, file, id); a repeated id fails the test."""
    found: Records = {}
    root = PathManager(config).target_dir
    for path in sorted(root.glob("*/*.jsonl")):
        for line in path.read_bytes().splitlines():
            data = orjson.loads(line)["data"]
            key = (path.parent.name, path.name, data.get("sha") or data["id"])
            assert key not in found, f"{key} twice"
            found[key] = data
    return found


def _deleted(summary: dict[str, Any]) -> set[Any]:
    return {
        record_id
        for changes in summary["endpoints"].values()
        for record_id in changes.get("deleted", [])
    }


def test_a_refresh_of_an_unchanged_dataset_is_answered_304_and_spends_no_core_budget(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    assert _collect(config).outcome == "complete"
    before = _records(config)
    fake.reset_stats()
    result = _collect(config, refresh=True)
    stats = fake.stats()
    assert result.outcome == "complete"
    assert result.exit_code == 0
    assert result.refresh is not None
    assert result.refresh.complete
    assert result.refresh.changed == 0
    # Every unit's first page and the listing's pages were asked with their ETags: all 304.
    assert stats["core_spent"] == 0
    assert stats["not_modified"] == stats["by_status"].get("304") > 0
    assert result.refresh.not_modified == result.refresh.units - len(
        {r for r, _ in _units(config) if _ == "reviews"}
    )
    assert _records(config) == before
    assert verify(config).holds


def _units(config: Config) -> list[tuple[str, str]]:
    checkpoint = CheckpointManager.read_only(PathManager(config).checkpoint_path)
    return [(repo, endpoint) for repo, endpoint, _ in checkpoint.units()]


@pytest.mark.parametrize("seed", [1, 2])
def test_after_edits_additions_and_new_repositories_a_refresh_equals_a_fresh_collect(
    tmp_path: Path, fake: FakeGitHub, seed: int
) -> None:
    config = _config(tmp_path / "a", fake)
    assert _collect(config).outcome == "complete"
    fake.mutate(seed=seed, edits=2, adds=2, new_repos=1)
    result = _collect(config, refresh=True)
    assert result.outcome == "complete", result
    assert result.refresh is not None
    assert result.refresh.changed > 0
    assert result.refresh.added > 0
    assert result.refresh.replaced > 0
    fresh = _config(tmp_path / "b", fake)
    assert _collect(fresh).outcome == "complete"
    assert _records(config) == _records(fresh)
    assert verify(config).holds


def test_a_record_deleted_on_github_stays_after_a_refresh_and_only_such_records_differ(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # A refresh reads what changed; a deletion leaves nothing to read (docs/refresh.md).
    config = _config(tmp_path / "a", fake)
    _collect(config)
    summary = fake.mutate(seed=3, edits=1, deletes=1)
    assert _collect(config, refresh=True).outcome == "complete"
    fresh = _config(tmp_path / "b", fake)
    _collect(fresh)
    refreshed, collected = _records(config), _records(fresh)
    only_refreshed = {key[2] for key in set(refreshed) - set(collected)}
    assert set(collected) <= set(refreshed)
    assert only_refreshed
    assert only_refreshed <= _deleted(summary)
    assert all(refreshed[k] == collected[k] for k in collected)


def test_a_review_added_without_its_pull_request_moving_is_missed_as_the_docs_say(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path / "a", fake)
    _collect(config)
    summary = fake.mutate(seed=4, adds=1, kinds=("reviews",), bump_pull_on_review=False)
    added = _planned(config, summary["endpoints"]["reviews"]["added"])
    assert added
    assert _collect(config, refresh=True).outcome == "complete"
    have = {key[2] for key in _records(config) if key[0] == "reviews"}
    assert not added & have
    # With GitHub's usual behaviour (the pull request's updated_at moves) they are read.
    summary = fake.mutate(seed=5, adds=1, kinds=("reviews",))
    assert _collect(config, refresh=True).outcome == "complete"
    have = {key[2] for key in _records(config) if key[0] == "reviews"}
    added = _planned(config, summary["endpoints"]["reviews"]["added"])
    assert added
    assert added <= have


def _planned(config: Config, review_ids: list[int]) -> set[int]:
    """The review ids of repositories in the plan (the fake's ids carry the repo's index)."""
    planned = {int(repo.rsplit("-", 1)[1]) for repo, _ in _units(config)}
    return {i for i in review_ids if (i // 1_000_000) % 1000 in planned}


def test_a_second_refresh_after_a_change_is_again_answered_304(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    fake.mutate(seed=6, edits=1, adds=1)
    first = _collect(config, refresh=True)
    assert first.refresh is not None
    assert first.refresh.generation == 1
    fake.reset_stats()
    second = _collect(config, refresh=True)
    assert second.refresh is not None
    assert second.refresh.generation == 2
    assert second.refresh.changed == 0
    assert fake.stats()["core_spent"] == 0


def test_collect_of_an_open_window_says_a_refresh_brings_it_up_to_date(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = write_config(tmp_path, fake.base_url, year=YEAR)
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path, environ=ENV)
    assert ran.code == 0
    assert "the window is still open: `ghye collect --refresh` brings" in ran.stdout
    ran = cli(["collect", "--config", str(config), "--json"], cwd=tmp_path, environ=ENV)
    assert orjson.loads(ran.stdout)["open_window"] is True


def test_refresh_with_force_is_refused_as_a_usage_error(tmp_path: Path, fake: FakeGitHub) -> None:
    config = write_config(tmp_path, fake.base_url, year=YEAR)
    ran = cli(
        ["collect", "--config", str(config), "--refresh", "--force"], cwd=tmp_path, environ=ENV
    )
    assert ran.code == 2
    assert "--refresh keeps the collected data and --force removes it" in ran.stderr


def test_refresh_without_a_checkpoint_collects_the_dataset(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    result = _collect(config, refresh=True)
    assert result.outcome == "complete"
    assert result.refresh is None  # nothing collected before: nothing to bring up to date
    assert verify(config).holds


def _a_changed_unit(config: Config) -> tuple[str, str, Path]:
    paths = PathManager(config)
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path)
    for repo, endpoint, state in checkpoint.units():
        if endpoint == "issues" and state.lines > 1:
            return repo, endpoint, paths.raw_path(endpoint, repo)
    raise AssertionError("no issues unit with records")


def _stage_a_switch(config: Config, *, commit: bool) -> tuple[Path, bytes]:
    """What a refresh killed after writing its refreshed file leaves (with ``commit``: after
    its checkpoint commit too, before the rename)."""
    repo, endpoint, path = _a_changed_unit(config)
    paths = PathManager(config)
    with CheckpointManager(paths.checkpoint_path, journal_path=paths.journal_path) as checkpoint:
        checkpoint.load()
        state = checkpoint.get_endpoint(repo, endpoint)
        first = orjson.loads(path.read_bytes().splitlines()[0])["data"]
        edited = {**first, "title": "edited behind a kill"}
        line = envelope_line(
            timestamp="2026-11-30T00:00:00Z",
            source="github_rest",
            endpoint=endpoint,
            repo=repo,
            page=None,
            request_id=None,
            data=edited,
        )
        rewritten = write_refreshed(path, state.offset, "id", {first["id"]: (edited, line)})
        assert rewritten is not None
        if commit:
            checkpoint.restart_phase(PHASE, generation=1)
            paths.manifest_path.unlink()  # as a refresh's beginning does
            checkpoint.commit_refresh(
                repo,
                endpoint,
                Refreshed(
                    1,
                    state.updated_at or checkpoint.created_at or _now(),
                    None,
                    offset=rewritten.offset,
                    lines=rewritten.lines,
                    switch=rewritten.name,
                ),
            )
    return path, refreshed_path(path).read_bytes()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_refresh_killed_between_its_commit_and_the_rename_is_finished_by_the_next_run(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    path, staged = _stage_a_switch(config, commit=True)
    assert verify(config).holds  # the refreshed file is what the checkpoint vouches for
    result = _collect(config, resume=True)
    assert result.outcome == "complete"
    assert not refreshed_path(path).exists()
    assert path.read_bytes() == staged or b"edited behind a kill" in path.read_bytes()
    paths = PathManager(config)
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path)
    assert all(state.switch is None for _, _, state in checkpoint.units())
    assert generation_in_progress(checkpoint) is None  # the resumed refresh ended
    assert verify(config).holds


def test_a_refreshed_file_no_commit_vouches_for_is_removed_and_the_data_is_untouched(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    _, _, path = _a_changed_unit(config)
    before = path.read_bytes()
    _stage_a_switch(config, commit=False)
    assert refreshed_path(path).exists()
    assert _collect(config, refresh=True).outcome == "complete"
    assert not refreshed_path(path).exists()
    assert path.read_bytes() == before  # nothing changed on GitHub
    assert verify(config).holds


def test_resume_continues_a_refresh_under_way_and_ends_it(tmp_path: Path, fake: FakeGitHub) -> None:
    config = _config(tmp_path, fake)
    _collect(config)
    paths = PathManager(config)
    with CheckpointManager(paths.checkpoint_path, journal_path=paths.journal_path) as checkpoint:
        checkpoint.load()
        checkpoint.restart_phase(PHASE, generation=1)
    fake.mutate(seed=7, edits=1)
    result = _collect(config, resume=True)
    assert result.refresh is not None
    assert result.refresh.generation == 1
    assert result.refresh.complete
    assert result.refresh.changed > 0
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path)
    assert generation_in_progress(checkpoint) is None
    assert all(state.refresh_generation == 1 for _, _, state in checkpoint.units())


# --- the rewrite itself -------------------------------------------------------------------------


def _line(record: dict[str, Any]) -> bytes:
    return envelope_line(
        timestamp="t",
        source="github_rest",
        endpoint="issues",
        repo="acme/web",
        page=1,
        request_id=None,
        data=record,
    )


def test_a_rewrite_replaces_records_in_place_appends_new_ones_and_keeps_equal_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acme__web.jsonl"
    old = [{"id": 1, "v": 1}, {"id": 2, "v": 1}, {"id": 3, "v": 1}]
    path.write_bytes(b"".join(_line(r) for r in old) + b"past the commit")
    committed = sum(len(_line(r)) for r in old)
    updates = {
        2: ({"id": 2, "v": 2}, b"two\n"),
        3: ({"id": 3, "v": 1}, b"three, unchanged\n"),
        9: ({"id": 9, "v": 1}, b"nine\n"),
    }
    rewritten = write_refreshed(path, committed, "id", updates)
    assert rewritten is not None
    assert (rewritten.replaced, rewritten.added, rewritten.lines) == (1, 1, 4)
    staged = refreshed_path(path).read_bytes()
    assert staged == _line(old[0]) + b"two\n" + _line(old[2]) + b"nine\n"
    assert rewritten.offset == len(staged)
    assert os.stat(path).st_size == committed + len(b"past the commit")  # untouched


def test_a_rewrite_that_changes_nothing_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "acme__web.jsonl"
    record = {"id": 1, "v": 1}
    path.write_bytes(_line(record))
    assert write_refreshed(path, len(_line(record)), "id", {1: (record, b"x\n")}) is None
    assert not refreshed_path(path).exists()


# --- what a first review of the refresh found -----------------------------------------------------


class _Refusing(httpx.AsyncBaseTransport):
    """Answers ``status`` to the GETs whose path matches ``pattern`` (while ``on``); the rest
    go to the fake."""

    def __init__(self, pattern: str, status: int, *, first: int = 0) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.pattern, self.status, self.first = re.compile(pattern), status, first
        self.allowed: list[str] = []
        self.on = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self.on and self.pattern.search(path):
            if path not in self.allowed and len(self.allowed) < self.first:
                self.allowed.append(path)
            if path not in self.allowed:
                return httpx.Response(
                    self.status, json={"message": "refused by the test"}, request=request
                )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the connections of this run (each run has its own event loop)."""
        await self.inner.aclose()
        self.inner = httpx.AsyncHTTPTransport()


def _run(config: Config, transport: httpx.AsyncBaseTransport, **request: Any) -> CollectResult:
    return run_collect(
        config,
        CollectRequest(**request),
        environ=ENV,
        events=NullEvents(),
        command="test",
        install_signals=False,
        transport=transport,
    )


def test_a_refresh_stays_open_while_a_unit_is_left_and_its_reviews_are_read_on_resume(
    tmp_path: Path,
) -> None:
    # The reviews unit fails (a 502 that may pass) before and during the refresh: the refresh
    # must stay under way, so that once `ghye resume` collects reviews they are refreshed with
    # the pull requests the refresh found changed.
    settings = replace(SMALL, repos=1, pulls=150)
    with FakeGitHub(settings).start() as fake:
        config = _config(tmp_path / "a", fake, reviews_via="rest")
        flaky = _Refusing(r"/pulls/\d+/reviews$", 502, first=30)
        assert _run(config, flaky).exit_code == 3
        summary = fake.mutate(seed=3, adds=20, kinds=("reviews",), repos=1)
        refreshed = _run(config, flaky, refresh=True)
        assert refreshed.exit_code == 3
        assert refreshed.refresh is not None
        assert not refreshed.refresh.complete
        flaky.on = False
        assert _run(config, flaky, resume=True).exit_code == 0
        have = {key[2] for key in _records(config) if key[0] == "reviews"}
        assert set(summary["endpoints"]["reviews"]["added"]) <= have
        checkpoint = CheckpointManager.read_only(PathManager(config).checkpoint_path)
        assert checkpoint.refresh_under_way() is None


def test_a_unit_whose_refresh_fails_for_good_is_recorded_failed_and_later_refreshes_go_on(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path / "a", fake)
    _collect(config)
    refusing = _Refusing(r"/repos/acme/repo-001/commits$", 422)
    for week in (1, 2):
        fake.mutate(seed=week, edits=2, kinds=("issues", "pulls"))
        result = _run(config, refusing, refresh=True)
        assert result.exit_code == 3
        assert result.refresh is not None
        assert result.refresh.generation == week  # the refresh ended: the next is a new one
        assert result.refresh.complete
        assert [f.endpoint for f in result.failures] == ["commits"]
        assert result.refresh.changed > 0
    fresh = _config(tmp_path / "b", fake)
    _collect(fresh)
    collected = _records(fresh)
    refreshed = _records(config)
    assert {k: v for k, v in refreshed.items() if k[0] != "commits"} == {
        k: v for k, v in collected.items() if k[0] != "commits"
    }


def test_an_issues_walk_begun_newest_first_by_an_older_ghye_starts_again_from_the_front() -> None:
    ep = BY_NAME["issues"]
    old = EndpointProgress(
        next_url="https://api/repositories/1/issues?state=all&since=2025-01-01T00%3A00%3A00Z"
        "&per_page=100&page=3",
        pages_collected=2,
    )
    pager = KeysetPager("acme/web", ep, _WINDOW, old, Seen())
    first = pager.first()
    assert first is not None
    assert (first.url, first.params) == ("/repos/acme/web/issues", ep.params(_WINDOW))
    ours = EndpointProgress(next_url="/x?since=a&sort=updated&direction=asc&page=2")
    first = KeysetPager("acme/web", ep, _WINDOW, ours, Seen()).first()
    assert first is not None
    assert first.url == "/x?since=a&sort=updated&direction=asc&page=2"


def test_a_record_met_again_in_a_newer_version_leaves_the_probe_without_its_etag() -> None:
    # Edited while the walk went: the file holds the older version, so a 304 must not vouch
    # for the unit; the next refresh reads again from the probe.
    ep = BY_NAME["issue_comments"]
    seen = Seen({7: "2025-02-01T00:00:00Z"})
    pager = KeysetPager("acme/web", ep, _WINDOW, EndpointProgress(), seen)
    assert pager.first() is not None
    records = [
        {"id": 8, "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-03-01T00:00:00Z"},
        {"id": 7, "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-04-01T00:00:00Z"},
    ]
    step = pager.advance(Page(records, None, PageMeta(200, "u", None, None, 'W/"e"')))
    assert [r["id"] for r in step.kept] == [8]
    assert step.probe is not None
    assert step.probe.etag is None
    same = Seen({7: "2025-04-01T00:00:00Z"})  # the boundary repeat of a keyset: same version
    pager = KeysetPager("acme/web", ep, _WINDOW, EndpointProgress(), same)
    assert pager.first() is not None
    step = pager.advance(Page(records, None, PageMeta(200, "u", None, None, 'W/"e"')))
    assert step.probe is not None
    assert step.probe.etag == 'W/"e"'


def test_a_review_read_again_only_for_the_pull_requests_that_changed(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake, reviews_via="rest")
    _collect(config)
    summary = fake.mutate(seed=9, edits=1, kinds=("pulls",), repos=1)
    fake.reset_stats()
    result = _collect(config, refresh=True)
    assert result.refresh is not None
    edited = len(summary["endpoints"]["pulls"]["edited"])
    assert 0 < fake.stats()["by_endpoint"].get("reviews", 0) <= edited
