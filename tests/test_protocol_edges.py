"""Where GitHub (or a network, or a hostile server) answers oddly: nothing is ever taken as the
end of a list that is not, no loop runs for ever, no malformed item ends the whole run, and no
name from the API becomes a path outside the target's folder.

Each case runs the real command line against the fake GitHub, which produces the odd answer
(its fault kinds and switches), and checks the outcome, the exit code and the dataset.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clirun import cli
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
    checkpoint_problems,
    compare_with_expected,
    read_dataset,
    target_dir,
    write_config,
)

# Three repos; commits take three pages (250 in the window), comments two.
SETTINGS = FakeSettings(
    repos=3, pulls=10, issues=10, issue_comments=150, review_comments=10, commits=300,
    reviews_per_pull=0.5, forks=(), archived=(), token=TEST_TOKEN,
)  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


def repo_id(fake: FakeGitHub, name: str) -> int:
    answer = httpx.get(
        fake.url(f"/repos/{name}"), headers={"Authorization": f"Bearer {TEST_TOKEN}"}
    )
    return int(answer.json()["id"])


def exact(fake: FakeGitHub, folder: Path) -> list[str]:
    return compare_with_expected(read_dataset(folder), fake.expected(SINCE, UNTIL)) + (
        checkpoint_problems(folder, final=True)
    )


def unit(folder: Path, repo: str, endpoint: str) -> object:
    view = CheckpointManager.read_only(folder / "checkpoint.json", folder / "checkpoint.journal")
    return view.get_endpoint(repo, endpoint)


def requests_to(fake: FakeGitHub, *parts: str) -> int:
    return sum(1 for e in fake.log() if all(p in e["target"] for p in parts))


# --- 1. an odd 2xx answer is never the end of a list ----------------------------------------


@pytest.mark.parametrize("kind", ["empty", "null", "202", "204", "eof"])
def test_an_odd_answer_on_page_2_of_3_is_retried_never_taken_as_the_last_page(
    tmp_path: Path, fake: FakeGitHub, kind: str
) -> None:
    rid = repo_id(fake, "acme/repo-000")
    fake.inject(kind, match=f"/repositories/{rid}/commits", times=1)
    config = write_config(tmp_path, fake.base_url, extra_rate_limit={"max_retries": 0})
    folder = target_dir(tmp_path / "data")
    first = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert first.code == 3, first
    state = unit(folder, "acme/repo-000", "commits")
    assert state.status is CheckpointStatus.FAILED  # type: ignore[attr-defined]
    assert state.retryable  # type: ignore[attr-defined]
    assert state.pages_collected == 1  # type: ignore[attr-defined]
    assert state.next_url  # type: ignore[attr-defined]  # the next link was kept
    assert "where a list of records belongs" in first.stdout
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, folder) == []


def test_with_retries_left_an_odd_answer_costs_one_retry_and_nothing_else(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    rid = repo_id(fake, "acme/repo-001")
    fake.inject("null", match=f"/repositories/{rid}/commits", times=1)
    config = write_config(tmp_path, fake.base_url)
    assert cli(["collect", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, target_dir(tmp_path / "data")) == []


# --- 2. a rate-limit message is a rate limit, whatever the headers say -----------------------


def test_a_primary_limit_without_rate_headers_is_waited_out_not_taken_for_a_refusal(
    tmp_path: Path,
) -> None:
    settings = FakeSettings(
        repos=3, pulls=10, issues=10, issue_comments=20, review_comments=10, commits=30,
        forks=(), archived=(), token=TEST_TOKEN, rate_headers=False, rate_limit=12,
        rate_window=1.0,
    )  # fmt: skip
    with FakeGitHub(settings).start() as server:
        config = write_config(tmp_path, server.base_url)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
        assert ran.code == 0, ran
        assert server.stats()["rate_limited"] > 0
        found = re.search(r"units: [\d,]+ complete, ([\d,]+) unavailable", ran.stdout)
        assert found is not None, ran.stdout
        assert found.group(1) == "0"  # no refusal: every 403 was a limit, waited out
        assert exact(server, target_dir(tmp_path / "data")) == []


# --- 3. a list that loops ends its unit after a bounded number of requests --------------------


def test_a_next_link_back_to_page_one_fails_the_unit_and_the_run_goes_on(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    fake.inject("cycle", match="/commits?", times=10_000)
    config = write_config(tmp_path, fake.base_url)
    folder = target_dir(tmp_path / "data")
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "leads back to a page already read" in ran.stdout
    for name in ("acme/repo-000", "acme/repo-001", "acme/repo-002"):
        assert unit(folder, name, "commits").status is CheckpointStatus.FAILED  # type: ignore[attr-defined]
        assert unit(folder, name, "pulls").status is CheckpointStatus.COMPLETE  # type: ignore[attr-defined]
    # Per repository: page 1, page 1 again by its Link URL (the next link says page 1), then
    # that same URL once more — read before: the unit stops.
    assert requests_to(fake, "/commits?") <= 3 * 3
    fake.clear_faults()
    assert cli(["resume", "--retry-failed", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, folder) == []


def test_keyset_paging_that_makes_no_progress_fails_the_unit(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # The server ignores `since` and `page`: the keyset URL computed from the last record comes
    # out the same every time.
    fake.inject("stuck", match="/issues/comments", times=10_000)
    config = write_config(tmp_path, fake.base_url)
    folder = target_dir(tmp_path / "data")
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert unit(folder, "acme/repo-000", "issue_comments").status is CheckpointStatus.FAILED  # type: ignore[attr-defined]
    assert requests_to(fake, "/issues/comments") <= 3 * 3
    fake.clear_faults()
    assert cli(["resume", "--retry-failed", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, folder) == []


def test_a_repository_listing_that_loops_stops_discovery_with_one_line(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    fake.inject("cycle", match="/repos?type=all", times=10_000)
    config = write_config(tmp_path, fake.base_url)
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "the repository listing's next link leads back to a page already read" in ran.stderr
    assert requests_to(fake, "/repos?type=all") <= 3
    fake.clear_faults()
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, target_dir(tmp_path / "data")) == []


# --- 4. request_timeout_seconds bounds the whole request ---------------------------------------


def test_a_body_trickling_a_byte_at_a_time_is_abandoned_and_retried(tmp_path: Path) -> None:
    settings = FakeSettings(
        repos=2, pulls=5, issues=5, issue_comments=5, review_comments=5, commits=5,
        forks=(), archived=(), token=TEST_TOKEN, trickle_seconds=0.3,
    )  # fmt: skip
    with FakeGitHub(settings).start() as server:
        server.inject("trickle", match="/issues?", times=1)  # a body of kilobytes: ~hours
        config = write_config(
            tmp_path, server.base_url, extra_rate_limit={"request_timeout_seconds": 1}
        )
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
        assert ran.code == 0, ran
        trickled = [e for e in server.log() if e["fault"] == "trickle"]
        assert len(trickled) == 1
        assert trickled[0]["answered"] - trickled[0]["received"] < 30  # abandoned, not read
        assert exact(server, target_dir(tmp_path / "data")) == []


# --- 5. ghye backs off its own concurrency under a secondary limit -----------------------------


def test_under_a_concurrency_limit_ghye_settles_below_it_and_finishes(tmp_path: Path) -> None:
    settings = FakeSettings(
        repos=30, pulls=12, issues=10, issue_comments=20, review_comments=10, commits=20,
        forks=(), archived=(), token=TEST_TOKEN, latency=0.05, max_concurrent=10,
        secondary_retry_after=1,
    )  # fmt: skip
    with FakeGitHub(settings).start() as server:
        config = write_config(tmp_path, server.base_url, max_concurrency=64)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
        assert ran.code == 0, ran
        stats = server.stats()
        # Without backing off, a third of all requests came back 403 and units failed. Now slow
        # start and halving meet the limit in a couple of episodes at the start — each one wave
        # of the requests already in flight, then a pause of Retry-After — and not again.
        refused = sorted(e["received"] for e in server.log() if e["status"] == 403)
        episodes = 1 + sum(1 for a, b in itertools.pairwise(refused) if b - a > 0.5)
        assert len(refused) >= 1
        assert episodes <= 4, (episodes, stats)
        assert stats["secondary_limited"] <= stats["requests"] // 5, stats
        assert stats["max_inflight"] <= 2 * 10, stats
        assert exact(server, target_dir(tmp_path / "data")) == []


# --- 6. a malformed item fails its unit, naming the URL -----------------------------------------


@pytest.mark.parametrize("kind", ["null-item", "string-item", "list-id"])
def test_a_malformed_item_fails_its_unit_and_the_others_are_collected(
    tmp_path: Path, fake: FakeGitHub, kind: str
) -> None:
    fake.inject(kind, match="/repos/acme/repo-001/issues?", times=10_000)
    config = write_config(tmp_path, fake.base_url, extra_rate_limit={"max_retries": 1})
    folder = target_dir(tmp_path / "data")
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    state = unit(folder, "acme/repo-001", "issues")
    assert state.status is CheckpointStatus.FAILED  # type: ignore[attr-defined]
    assert "/repos/acme/repo-001/issues" in (state.error or "")  # type: ignore[attr-defined]
    assert unit(folder, "acme/repo-002", "issues").status is CheckpointStatus.COMPLETE  # type: ignore[attr-defined]
    fake.clear_faults()
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, folder) == []


def test_a_malformed_item_in_the_repository_listing_ends_with_one_line_naming_it(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    fake.inject("null-item", match="/orgs/acme/repos", times=10_000)
    config = write_config(tmp_path, fake.base_url, extra_rate_limit={"max_retries": 1})
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "Traceback" not in ran.stderr
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "/orgs/acme/repos" in lines[0]
    assert "with null as item 1 where a list of records belongs" in lines[0]
    fake.clear_faults()
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0


# --- 8. names from the API never become paths outside the target -----------------------------


def test_a_hostile_repository_name_is_refused_and_nothing_is_written_outside(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    fake.inject("hostile-name", match="/orgs/acme/repos", times=10_000)
    config = write_config(tmp_path, fake.base_url)
    folder = target_dir(tmp_path / "data")
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "'acme/../../escape', which is not a GitHub repository name" in ran.stdout
    escaped = [p for p in tmp_path.rglob("*") if "escape" in p.name]
    assert escaped == []
    view = CheckpointManager.read_only(folder / "checkpoint.json", folder / "checkpoint.journal")
    assert len(view.repo_names()) == 2  # the other repositories were collected in full
    assert "acme/../../escape" not in view.repo_names()
    assert checkpoint_problems(folder, final=True) == []
