"""Reviews through GraphQL and through REST, end to end against the fake GitHub: the same
records field by field, far fewer requests, and REST whenever GraphQL cannot serve them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import load_config
from gh_year_end.github.counts import REPOS_PER_QUERY
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    TOKEN_ENV,
    UNTIL,
    compare_with_expected,
    read_dataset,
    write_config,
)

ENV = {TOKEN_ENV: TEST_TOKEN}
DATA = FakeSettings(
    repos=4, pulls=30, issues=5, issue_comments=5, review_comments=5, commits=5,
    reviews_per_pull=2.0, forks=(), archived=(), token=TEST_TOKEN,
)  # fmt: skip


class Messages(NullEvents):
    """An event sink that keeps the run's messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def _collect(folder: Path, server: FakeGitHub, via: str, events: Messages | None = None) -> Path:
    config = load_config(write_config(folder, server.base_url, reviews_via=via))
    result = run_collect(
        config,
        CollectRequest(),
        environ=ENV,
        events=events or Messages(),
        command="test",
        install_signals=False,
    )
    assert result.exit_code == 0, result
    return PathManager(config).target_dir


def _reviews(target: Path) -> dict[int, tuple[str, dict[str, Any]]]:
    """Every review of a dataset: id → (envelope source, record)."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    for path in sorted((target / "reviews").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            envelope = orjson.loads(line)
            assert envelope["data"]["id"] not in found
            found[envelope["data"]["id"]] = (envelope["source"], envelope["data"])
    return found


def test_both_apis_write_the_same_reviews_field_by_field(tmp_path: Path) -> None:
    with FakeGitHub(DATA).start() as server:
        rest = _reviews(_collect(tmp_path / "rest", server, "rest"))
        graphql = _reviews(_collect(tmp_path / "graphql", server, "graphql"))
    assert rest
    assert rest.keys() == graphql.keys()
    bots = 0
    for review_id, (source, record) in rest.items():
        assert source == "github_rest"
        other_source, other = graphql[review_id]
        assert other_source == "github_graphql"
        for key in (*record, *other):
            assert other.get(key) == record.get(key), (review_id, key)
        bots += record["user"] is not None and record["user"]["type"] == "Bot"
    assert bots > 0  # the fake's bots were met: their login differs between the two APIs


def test_graphql_reviews_cost_one_query_per_hundred_pull_requests(tmp_path: Path) -> None:
    counts: dict[str, Counter[str]] = {}
    with FakeGitHub(DATA).start() as server:
        for via in ("rest", "graphql"):
            server.reset_stats()
            target = _collect(tmp_path / via, server, via)
            dataset = read_dataset(target)
            assert compare_with_expected(dataset, server.expected(SINCE, UNTIL)) == []
            counts[via] = Counter(server.stats()["by_endpoint"])
    pulls = sum(len(per["pulls"]) for per in dataset.ids.values())
    assert counts["rest"]["reviews"] == pulls  # REST: one request per collected pull request
    assert counts["graphql"]["reviews"] == 0
    # Each run counts its repositories for its estimate (a query per REPOS_PER_QUERY of them);
    # then a probe, and queries of a hundred pull requests, shared by the repositories (at
    # worst, when their pulls complete far apart, one query per repository).
    planned = len(server.expected(SINCE, UNTIL)["repos"])
    counting = math.ceil(planned / REPOS_PER_QUERY)
    assert counts["rest"]["graphql"] == counting
    queries = counts["graphql"]["graphql"] - counting - 1
    assert math.ceil(pulls / 100) <= queries <= DATA.repos
    rest_total, graphql_total = counts["rest"].total(), counts["graphql"].total()
    assert graphql_total == rest_total - counts["rest"]["reviews"] + 1 + queries


def test_a_pull_request_with_more_than_a_hundred_reviews_is_continued_exactly(
    tmp_path: Path,
) -> None:
    many = replace(DATA, repos=1, pulls=6, reviews_per_pull=90.0)
    with FakeGitHub(many).start() as server:
        expected = server.expected(SINCE, UNTIL)
        target = _collect(tmp_path, server, "graphql")
        assert compare_with_expected(read_dataset(target), expected) == []
        queries = server.stats()["by_endpoint"]["graphql"]
    per_pull = Counter(record["pull_request_url"] for _, record in _reviews(target).values())
    assert max(per_pull.values()) > 100  # one of them really needed its own cursor
    assert queries > 2  # the probe, the first batch, and the continuations


def test_a_batch_github_gives_up_on_is_halved_until_it_is_answered(tmp_path: Path) -> None:
    heavy = replace(DATA, repos=2, pulls=40, graphql_heavy_nodes=1500)
    with FakeGitHub(heavy).start() as server:
        target = _collect(tmp_path, server, "graphql")
        assert compare_with_expected(read_dataset(target), server.expected(SINCE, UNTIL)) == []
        statuses = Counter(
            entry["status"] for entry in server.log() if entry["target"] == "/graphql"
        )
    assert statuses[502] >= 1  # the full batches were refused …
    assert statuses[200] > 1 + heavy.repos  # … and smaller ones answered


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (replace(DATA, graphql=False), "this GitHub has no GraphQL API (404"),
    ],
)
def test_reviews_go_through_rest_saying_why_when_graphql_cannot_serve_them(
    tmp_path: Path, settings: FakeSettings, why: str
) -> None:
    events = Messages()
    with FakeGitHub(settings).start() as server:
        target = _collect(tmp_path, server, "graphql", events)
        assert compare_with_expected(read_dataset(target), server.expected(SINCE, UNTIL)) == []
        assert server.stats()["by_endpoint"]["reviews"] > 0
    said = [line for line in events.lines if line.startswith("reviews:")]
    assert len(said) == 1, events.lines
    assert why in said[0]
    assert said[0].endswith("reading them through REST instead (one request per pull request)")
    assert {source for source, _ in _reviews(target).values()} == {"github_rest"}


def test_the_probe_asks_for_every_field_the_reviews_query_reads() -> None:
    from gh_year_end.collect.review_probe import NEEDED

    assert NEEDED["PullRequestReview"] >= {"fullDatabaseId", "author", "commit", "submittedAt"}
    assert NEEDED["User"] == {"databaseId", "id", "isSiteAdmin"}
    assert NEEDED["Bot"] == {"databaseId", "id"}
    assert NEEDED["Commit"] == {"oid"}


def test_a_github_whose_schema_lacks_a_field_ghye_reads_sends_reviews_through_rest() -> None:
    import asyncio

    from gh_year_end.collect.review_probe import NEEDED, graphql_problem
    from gh_year_end.github.answers import PageMeta
    from gh_year_end.github.graphql import GraphQLAnswer

    class OldGitHub:
        async def graphql(self, document: str, variables: dict[str, Any]) -> GraphQLAnswer:
            data = {
                f"t{i}": {"fields": [{"name": n} for n in names if n != "isSiteAdmin"]}
                for i, names in enumerate(NEEDED.values())
            }
            return GraphQLAnswer(data, (), PageMeta(200, "u", None, None))

    why = asyncio.run(graphql_problem(OldGitHub()))  # type: ignore[arg-type]
    assert why == "this GitHub's GraphQL User lacks isSiteAdmin (an older GitHub Enterprise Server)"
