"""`ghye plan`: what a collect would collect and cost, counted cheaply — checked against the fake
GitHub's own figures, a real collect's request counts, GitHub's schema, and `ghye status`'s ETA."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import NoDeprecatedCustomRule, parse, specified_rules, validate
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from clirun import assert_refused, cli
from gh_year_end.cli.render import plan as render_plan
from gh_year_end.collect.estimate import (
    KEPT,
    LISTINGS,
    Budget,
    Figure,
    Listing,
    budget_wait,
    make_estimate,
    resource_of,
    walk_pages,
)
from gh_year_end.collect.estimate_file import read_estimate, write_estimate
from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import Config, load_config
from gh_year_end.endpoints import BY_NAME, ENDPOINTS, Transport, Window
from gh_year_end.github.counts import REPOS_PER_QUERY, CountQuery, RepoCounts
from gh_year_end.github.ratelimit import CORE, GRAPHQL
from gh_year_end.manage.plan import SCHEMA_VERSION, PlanReport, build_plan
from gh_year_end.manage.reset import ResetRequest, reset_data
from gh_year_end.manage.status import build_status
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from gh_year_end.testing.fakegithub.graphql_api import fake_schema
from gh_year_end.testing.fakegithub.graphql_cost import QueryCost, query_cost
from github_schema import github_problems, github_schema
from harness import SINCE, TEST_TOKEN, TOKEN_ENV, UNTIL, commit_page, snapshot_files, write_config

ENV = {TOKEN_ENV: TEST_TOKEN}
#: Pull requests, issues and commits over several pages per repository; one empty repository
#: (its commits answer 409); nothing filtered out.
DATA = FakeSettings(
    repos=5, pulls=260, issues=150, issue_comments=30, review_comments=20, commits=260,
    reviews_per_pull=1.0, forks=(), archived=(), empty=(4,), token=TEST_TOKEN,
)  # fmt: skip
#: The REST endpoints the fake counts, by the estimate's names.
FAKE_NAMES = {
    "pulls": "pulls",
    "issues": "issues",
    "issue_comments": "issue_comments",
    "review_comments": "review_comments",
    "commits": "commits",
    "reviews": "reviews",
}


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(DATA).start() as server:
        yield server


def _config(tmp_path: Path, server: FakeGitHub, **kwargs: Any) -> Config:
    return load_config(write_config(tmp_path, server.base_url, max_concurrency=8, **kwargs))


def _plan(config: Config) -> PlanReport:
    return build_plan(config, environ=ENV)


def _collect(config: Config, **request: Any) -> Any:
    return run_collect(
        config,
        CollectRequest(**request),
        environ=ENV,
        events=NullEvents(),
        command="test",
        install_signals=False,
    )


# --- what it counts -----------------------------------------------------------------------------


def test_counts_equal_what_the_fake_says_the_window_holds(tmp_path: Path, fake: FakeGitHub) -> None:
    report = _plan(_config(tmp_path, fake))
    expected = fake.expected(SINCE, UNTIL)
    assert [r.name for r in report.repos] == expected["repos"]
    for repo in report.repos:
        units = expected["units"][repo.name]
        assert repo.counts is not None, repo
        assert repo.counts.pulls_in_window == len(units["pulls"])
        assert repo.counts.issues_in_window == len(units["issues"])
        assert repo.counts.commits_in_window == len(units["commits"])
    assert report.count_total("pulls_in_window") == sum(
        len(u["pulls"]) for u in expected["units"].values()
    )


@pytest.mark.parametrize("via", ["graphql", "rest"])
def test_the_estimate_matches_a_real_collects_requests(
    tmp_path: Path, fake: FakeGitHub, via: str
) -> None:
    config = _config(tmp_path, fake, reviews_via=via)
    report = _plan(config)
    fake.reset_stats()
    result = _collect(config)
    assert result.exit_code == 0
    sent: dict[str, int] = fake.stats()["by_endpoint"]
    # What the estimate calls exact is exact; a floor is never above what was sent.
    for name, figures in report.by_endpoint.items():
        for resource, figure in figures.items():
            actual = sent.get(FAKE_NAMES[name], 0) if resource == CORE else None
            if actual is None:
                continue
            assert figure.requests == actual if figure.exact else figure.requests <= actual, name
    for name in ("pulls", "commits"):
        assert report.by_endpoint[name][CORE].exact, name
    # Issues are walked by update time (a keyset): a continuation may repeat a record.
    assert not report.by_endpoint["issues"][CORE].exact
    assert report.before_units["discovery"][CORE] == Figure(sent["orgs"] + sent["repos_list"])
    # GraphQL: the probe (exact) and the reviews (a floor), and no count query: the collect
    # found the plan's estimate of its dataset.
    graphql = report.totals.get(GRAPHQL, Figure(0))
    assert not graphql.exact or via == "rest"
    assert graphql.requests <= sent.get("graphql", 0)
    if via == "graphql":
        assert report.before_units["reviews_probe"][GRAPHQL] == Figure(1)
        assert sent["graphql"] >= 1 + report.by_endpoint["reviews"][GRAPHQL].requests
    else:
        assert "graphql" not in sent
    assert report.totals[CORE].requests <= sum(
        n for name, n in sent.items() if name not in ("graphql", "rate_limit")
    )
    estimate = read_estimate(PathManager(config).estimate_path)
    assert estimate is not None
    assert estimate.written_by == "ghye plan"
    # Unit by unit, what status subtracts: the pages each unit committed.
    paths = PathManager(config)
    checkpoint = CheckpointManager.read_only(paths.checkpoint_path, journal_path=paths.journal_path)
    for repo, endpoint, state in checkpoint.units():
        unit = (estimate.units_of(repo) or {})[endpoint]
        if unit.exact:
            assert state.pages_collected == unit.pages, (repo, endpoint)
        else:
            assert state.pages_collected >= unit.pages, (repo, endpoint)


def test_pull_pages_follow_the_catch_up_walk() -> None:
    pulls = BY_NAME["pulls"]
    # (updated since the window began, every pull request) → pages of the walk, before the
    # pass from the front: the page holding the first record past the window ends it.
    cases = {(0, 0): 1, (0, 50): 1, (50, 50): 1, (100, 100): 1, (100, 150): 2, (150, 300): 2}
    cases |= {(200, 200): 2, (200, 250): 3, (250, 300): 3}
    for (listed, total), pages in cases.items():
        assert walk_pages(pulls, Listing(listed, total)) == pages, (listed, total)
    assert walk_pages(BY_NAME["commits"], Listing(0, 0)) == 1  # an empty list is one answer
    assert walk_pages(BY_NAME["issues"], Listing(201, 201)) == 3


def test_every_endpoint_of_the_table_is_estimated_from_its_transport() -> None:
    for ep in ENDPOINTS:
        if ep.transport is Transport.PER_PARENT:
            assert ep.depends_on in KEPT, ep.name
        elif ep.transport is Transport.GRAPHQL_BATCH:
            assert resource_of(ep, "rest") == "graphql", ep.name
        elif ep.transport is not Transport.KEYSET:
            assert ep.name in LISTINGS, ep.name


def test_a_repository_graphql_cannot_see_is_reported_not_counted_as_empty(tmp_path: Path) -> None:
    settings = replace(DATA, repos=4, empty=(), not_found=(1,), forbidden=(2,))
    with FakeGitHub(settings).start() as server:
        report = _plan(_config(tmp_path, server))
        unseen = {r.name: r.unseen.kind for r in report.unseen if r.unseen is not None}
        assert unseen == {"acme/repo-001": "NOT_FOUND", "acme/repo-002": "FORBIDDEN"}
        for repo in report.unseen:
            assert repo.counts is None
            assert not any(f.exact for f in repo.requests.values())
            assert sum(f.requests for f in repo.requests.values()) >= 1
        assert not report.by_endpoint["pulls"][CORE].exact  # a floor, with them in it
        data = report.to_dict()
        entry = next(e for e in data["per_repo"] if e["repo"] == "acme/repo-001")
        assert entry["counts"] is None
        assert entry["unseen"]["kind"] == "NOT_FOUND"
        server.reset_stats()
        assert _collect(load_config(tmp_path / "config.yaml")).exit_code == 0
        sent = server.stats()["by_endpoint"]
    for name, figures in report.by_endpoint.items():
        if CORE in figures:
            assert figures[CORE].requests <= sent.get(FAKE_NAMES[name], 0), name


# --- the query --------------------------------------------------------------------------------


def _window() -> Window:
    return Window(SINCE, UNTIL)


@pytest.mark.parametrize("repos", [1, REPOS_PER_QUERY])
def test_count_queries_are_valid_for_githubs_schema_without_deprecated_fields(repos: int) -> None:
    query = CountQuery(tuple(f"acme/repo-{i}" for i in range(repos)), _window())
    assert github_problems(query.document) == []
    errors = validate(
        github_schema(), parse(query.document), [*specified_rules, NoDeprecatedCustomRule]
    )
    assert [e.message for e in errors] == []


def test_a_full_count_query_costs_one_point_and_asks_for_no_node() -> None:
    query = CountQuery(tuple(f"acme/repo-{i}" for i in range(REPOS_PER_QUERY)), _window())
    cost = _cost(query)
    assert cost.requests == 7 * REPOS_PER_QUERY
    assert cost.nodes == 0
    assert cost.points == 1
    one_more = CountQuery(tuple(f"acme/r{i}" for i in range(REPOS_PER_QUERY + 1)), _window())
    assert _cost(one_more).points == 2


def _cost(query: CountQuery) -> QueryCost:
    """What the fake (GitHub's rules) charges for ``query``."""
    schema = fake_schema()
    document = parse(query.document)
    operation = get_operation_ast(document)
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or (), query.variables)
    assert not isinstance(coerced, list), coerced
    return query_cost(schema, document, operation, coerced)


def test_search_terms_come_as_variables_from_checked_names_only() -> None:
    query = CountQuery(("acme/web",), _window())
    assert "acme" not in query.document  # every value is a variable
    assert query.variables["q0_pulls_in_window"] == (
        "repo:acme/web is:pr created:<2026-01-01T00:00:00Z updated:>=2025-01-01T00:00:00Z"
    )
    assert query.variables["through"] == "2026-01-01T00:00:01Z"  # REST's until is inclusive
    with pytest.raises(ValueError, match="not GitHub repository names"):
        CountQuery(('acme/web" is:pr', "acme/ok"), _window())


def test_the_plans_measured_cost_is_a_point_per_score_of_repositories(tmp_path: Path) -> None:
    settings = replace(DATA, repos=2 * REPOS_PER_QUERY, pulls=5, issues=5, commits=5, empty=())
    with FakeGitHub(settings).start() as server:
        report = _plan(_config(tmp_path, server))
        stats = server.stats()
    assert (report.queries, report.cost_points) == (2, 2)
    assert stats["graphql_points"] == 2
    assert stats["by_endpoint"]["graphql"] == 2


# --- what it costs, and what it leaves alone ----------------------------------------------------


def test_plan_costs_no_rest_request_beyond_discovery(tmp_path: Path, fake: FakeGitHub) -> None:
    report = _plan(_config(tmp_path, fake))
    sent = fake.stats()["by_endpoint"]
    rest = {name: n for name, n in sent.items() if name not in ("graphql", "rate_limit")}
    assert rest == {"orgs": 1, "repos_list": 1}
    assert sent["rate_limit"] == 1  # free on GitHub: one per credential
    assert report.cost_rest == 2
    assert report.cost_free == 1
    assert report.before_units["discovery"][CORE] == Figure(2)


def test_plan_with_a_complete_checkpoint_asks_for_no_listing_again(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    assert _collect(config).exit_code == 0
    target = PathManager(config).target_dir
    before = snapshot_files(target)
    fake.reset_stats()
    report = _plan(config)
    sent = fake.stats()["by_endpoint"]
    assert set(sent) == {"graphql", "rate_limit"}
    assert report.source == "checkpoint"
    assert report.listed is None
    assert "discovery" not in report.before_units  # a collect would not list them again
    assert report.left is not None
    assert all(f.requests == 0 for f in report.left.values())  # every unit ended
    after = snapshot_files(target)
    assert {k: v for k, v in after.items() if k != "estimate.json"} == {
        k: v for k, v in before.items() if k != "estimate.json"
    }


def test_plan_never_creates_or_changes_a_checkpoint_or_a_data_file(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    paths = PathManager(config)
    _plan(config)
    assert sorted(snapshot_files(paths.target_dir)) == ["estimate.json"]
    assert not paths.checkpoint_path.exists()
    # A collect after it starts fresh: the estimate is not data (nothing to refuse).
    assert _collect(config).outcome == "complete"


def test_time_waits_for_resets_when_the_budget_is_short(tmp_path: Path) -> None:
    settings = replace(DATA, rate_limit=30)  # the plan leaves 28; a collect needs more
    with FakeGitHub(settings).start() as server:
        before = time.time()
        report = _plan(_config(tmp_path, server))
    core = next(r for r in report.resources if r.resource == CORE)
    assert core.needed.requests > core.remaining == 28
    assert core.needed.requests <= core.remaining + core.limit
    assert core.wait_seconds is not None
    assert core.first_reset is not None
    assert core.wait_seconds == pytest.approx(core.first_reset - before, abs=5)
    assert report.wait_seconds == core.wait_seconds
    graphql = next(r for r in report.resources if r.resource == GRAPHQL)
    assert graphql.wait_seconds == 0  # within the current budget


def test_budget_waits_add_up_credentials_and_count_whole_windows() -> None:
    now = 1_000_000.0
    one = Budget("a", limit=100, remaining=10, reset=now + 600)
    assert budget_wait(10, [one], now) == 0
    assert budget_wait(11, [one], now) == 600
    assert budget_wait(110, [one], now) == 600
    assert budget_wait(111, [one], now) == 600 + 3600
    two = Budget("b", limit=50, remaining=5, reset=now + 60)
    assert budget_wait(15, [one, two], now) == 0  # the remaining budgets add up
    assert budget_wait(65, [one, two], now) == 60  # b's reset refills enough
    assert budget_wait(66, [one, two], now) == 600
    assert budget_wait(165, [one, two], now) == 600
    assert budget_wait(166, [one, two], now) == 3660  # b's second window
    assert budget_wait(1, [], now) is None
    assert budget_wait(5, [Budget("x", 0, 0, now)], now) is None  # never refills


# --- status's ETA -----------------------------------------------------------------------------


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _status_config(root: Path) -> Config:
    path = root / "config.yaml"
    path.write_text(
        "github:\n  target: {mode: org, name: acme}\n  windows: {year: 2025}\n"
        "collection:\n  enable: {pulls: true, issues: false, reviews: false, comments: false,"
        " commits: true}\n"
        f"storage: {{root: '{root / 'data'}'}}\n",
        encoding="utf-8",
    )
    return load_config(path)


def _counts(pulls_updated: int, pulls_total: int, commits: int) -> RepoCounts:
    return RepoCounts(
        pulls_in_window=pulls_updated,
        pulls_updated=pulls_updated,
        pulls_total=pulls_total,
        issues_in_window=0,
        updated=pulls_updated,
        commits_in_window=commits,
        commits_listed=commits,
    )


def _checkpoint_halfway(config: Config, clock: Clock) -> None:
    """acme/a: pulls 2 of 4 pages, commits done (2); acme/b done; acme/c not started."""
    paths = PathManager(config)
    with CheckpointManager(
        paths.checkpoint_path, paths.lock_path, journal_path=paths.journal_path, clock=clock
    ) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": n} for n in ("acme/a", "acme/b", "acme/c")])
        cm.mark_phase_complete("discovery")
        commit_page(cm, paths, "acme/a", "pulls", 100, complete=False)
        commit_page(cm, paths, "acme/a", "pulls", 100, complete=False)
        commit_page(cm, paths, "acme/a", "commits", 100, complete=False)
        clock.advance(20)
        commit_page(cm, paths, "acme/a", "commits", 50, complete=True)
        clock.advance(10)
        commit_page(cm, paths, "acme/b", "pulls", 50, complete=True)
        clock.advance(10)
        commit_page(cm, paths, "acme/b", "commits", 0, complete=True)


def _estimate_for(config: Config, *, budgets: dict[str, tuple[Budget, ...]] | None = None) -> None:
    estimate = make_estimate(
        config_digest=config.digest,
        endpoints=config.enabled_endpoints,
        reviews_via=config.collection.reviews_via,
        found={
            "acme/a": _counts(250, 300, 150),  # pulls 3 pages + 1 to catch up; commits 2
            "acme/b": _counts(50, 50, 0),
            "acme/c": _counts(50, 50, 0),
        },
        written_at=T0,
        written_by="ghye plan",
        budgets=budgets,
    )
    write_estimate(PathManager(config).estimate_path, estimate)


def test_status_eta_comes_from_the_estimates_requests_left_at_the_pages_pace(
    tmp_path: Path,
) -> None:
    config = _status_config(tmp_path)
    clock = Clock()
    _checkpoint_halfway(config, clock)
    _estimate_for(config)
    report = build_status(config, clock=lambda: clock.now)
    assert report.eta_basis == "estimate"
    assert report.estimate is not None
    # Left: acme/a pulls 4 − 2, acme/c pulls 1 and commits 1.
    assert report.estimate.requests == {CORE: Figure(4)}
    # Ended at +20 (2 pages), +30 (1), +40 (1): 2 pages in 20 s after the first.
    assert report.throughput.pages_per_minute == pytest.approx(6.0)
    assert report.eta_seconds == pytest.approx(40.0)
    data = report.to_dict()
    assert data["eta_basis"] == "estimate"
    assert data["estimate"]["requests_left"] == {"core": {"requests": 4, "exact": True}}


def test_status_eta_waits_for_the_reset_the_recorded_budget_needs(tmp_path: Path) -> None:
    config = _status_config(tmp_path)
    clock = Clock()
    _checkpoint_halfway(config, clock)
    reset = (clock.now + timedelta(minutes=10)).timestamp()
    # One request was left when the estimate was made; six pages were committed since.
    _estimate_for(config, budgets={CORE: (Budget("t", 5, 1, reset),)})
    report = build_status(config, clock=lambda: clock.now)
    assert report.estimate is not None
    assert report.estimate.wait_seconds == pytest.approx(600.0)
    assert report.eta_seconds == pytest.approx(600.0)


def test_status_counts_units_without_an_estimate_of_its_dataset(tmp_path: Path) -> None:
    config = _status_config(tmp_path)
    clock = Clock()
    _checkpoint_halfway(config, clock)
    report = build_status(config, clock=lambda: clock.now)
    assert report.eta_basis == "units"
    assert report.estimate is None
    # 3 units ended in 20 s → 0.1 unit/s; 3 units not ended (a pulls, c pulls, c commits).
    assert report.eta_seconds == pytest.approx(30.0)
    other = replace(config, github=replace(config.github, api_url="https://ghes.example/api/v3"))
    _estimate_for(other)  # of another dataset: ignored
    assert build_status(config, clock=lambda: clock.now).eta_basis == "units"


def test_status_says_which_basis_its_eta_has(tmp_path: Path) -> None:
    config = _status_config(tmp_path)
    clock = Clock()
    _checkpoint_halfway(config, clock)
    config_file = str(tmp_path / "config.yaml")
    without = cli(["status", "--config", config_file], cwd=tmp_path)
    assert "counted in units: no estimate — `ghye plan` writes one" in _words(without.stdout)
    _estimate_for(config)
    ran = cli(["status", "--config", config_file], cwd=tmp_path)
    assert ran.code == 0, ran
    assert "from the estimate (ghye plan" in _words(ran.stdout)
    assert "4 REST requests left" in _words(ran.stdout)


def _words(text: str) -> str:
    """``text`` with every run of whitespace one space (a table cell wraps at 80 columns)."""
    return " ".join(text.split())


def test_a_damaged_estimate_reads_as_none(tmp_path: Path) -> None:
    config = _status_config(tmp_path)
    path = PathManager(config).estimate_path
    path.parent.mkdir(parents=True)
    for content in (b"{torn", b"[]", b'{"format": 99}', b'{"format": 1, "repos": {"x": 1}}'):
        path.write_bytes(content)
        assert read_estimate(path) is None


# --- a collect's estimate, and reset --------------------------------------------------------


def test_a_collect_without_a_plan_writes_the_estimate_right_after_discovery(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    assert _collect(config).exit_code == 0
    estimate = read_estimate(PathManager(config).estimate_path)
    assert estimate is not None
    assert estimate.written_by == "ghye collect"
    assert estimate.config_digest == config.digest
    assert estimate.covers(fake.expected(SINCE, UNTIL)["repos"])
    assert estimate.budgets[CORE]  # from the answers' headers: no request of its own
    fake.reset_stats()
    assert _collect(config, resume=True, retry_failed=True).exit_code == 0
    assert "graphql" not in fake.stats()["by_endpoint"]  # it matches: nothing counted again


def test_a_count_query_that_fails_never_fails_the_collect(tmp_path: Path) -> None:
    with FakeGitHub(replace(DATA, graphql=False)).start() as server:
        config = _config(tmp_path, server)
        result = _collect(config)
    assert result.outcome == "complete"
    assert result.exit_code == 0
    assert read_estimate(PathManager(config).estimate_path) is None


def test_reset_of_the_whole_target_removes_the_estimate_a_partial_one_keeps_it(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = _config(tmp_path, fake)
    _plan(config)
    assert _collect(config).exit_code == 0
    path = PathManager(config).estimate_path
    reset_data(config, ResetRequest(repo="acme/repo-000", endpoint="commits"))
    assert read_estimate(path) is not None  # the plan it describes is still the checkpoint's
    reset_data(config, ResetRequest())
    assert not path.exists()


# --- the command --------------------------------------------------------------------------------


def test_plan_json_is_one_object_of_the_documented_shape(tmp_path: Path, fake: FakeGitHub) -> None:
    config_file = write_config(tmp_path, fake.base_url)
    ran = cli(["plan", "--config", str(config_file), "--json"], cwd=tmp_path)
    assert ran.code == 0, ran
    assert ran.stdout.count("\n") == 1
    data = orjson.loads(ran.stdout)
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert set(data) == {
        "schema_version", "generated_at", "target", "window", "repos", "endpoints",
        "reviews_via", "per_repo", "requests", "budgets", "wait_seconds", "cost",
        "counting_problem", "estimate_file", "estimate_error", "checkpoint_note",
    }  # fmt: skip
    assert data["repos"]["count"] == len(data["per_repo"]) == 5
    assert data["repos"]["source"] == "listing"
    first = data["per_repo"][0]
    assert set(first) == {"repo", "counts", "unseen", "requests"}
    assert set(first["counts"]) == {
        "pulls_in_window", "pulls_updated", "pulls_total", "issues_in_window", "updated",
        "commits_in_window", "commits_listed",
    }  # fmt: skip
    assert first["requests"]["core"] == {"requests": first["requests"]["core"]["requests"],
                                         "exact": False}  # fmt: skip
    by_endpoint = data["requests"]["by_endpoint"]
    assert list(by_endpoint) == [
        "discovery", "reviews_probe", "pulls", "issues", "issue_comments", "review_comments",
        "reviews", "commits",
    ]  # fmt: skip
    assert by_endpoint["pulls"]["core"]["exact"] is True
    assert by_endpoint["issue_comments"]["core"] == {"requests": 5, "exact": False}
    assert set(data["budgets"]) == {"core", "graphql"}
    assert data["budgets"]["core"]["within_budget"] is True
    assert data["cost"] == {
        "rest_requests": 2, "rate_limit_requests": 1, "graphql_points": 1, "graphql_queries": 1,
    }  # fmt: skip
    assert data["estimate_file"].endswith("estimate.json")


def test_plan_prints_figures_floors_budgets_and_its_own_cost(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config_file = write_config(tmp_path, fake.base_url)
    ran = cli(["plan", "--config", str(config_file)], cwd=tmp_path)
    assert ran.code == 0, ran
    out = ran.stdout
    assert "plan — org acme" in out
    assert "5 repositories — 5 listed, 0 left out by the discovery filters" in out
    assert "requests a collect sends (≥: a floor)" in out
    assert "floor: a page a repo, uncounted" in out
    assert "within the current budget" in out
    assert "this plan cost 2 REST requests (discovery's listing) and 1 GraphQL point" in out
    assert "estimate saved:" in out


def test_plan_without_a_token_is_exit_5_before_any_request(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config_file = write_config(tmp_path, fake.base_url)
    ran = cli(["plan", "--config", str(config_file)], cwd=tmp_path, environ={})
    assert_refused(
        ran,
        5,
        f"error: no GitHub token: set {TOKEN_ENV} (the variable named by github.auth.token_env) "
        f"or GH_TOKEN — e.g. export {TOKEN_ENV}=…",
    )
    assert fake.stats()["requests"] == 0


def test_plan_that_cannot_reach_github_is_exit_3_advising_the_api_url(tmp_path: Path) -> None:
    config_file = write_config(tmp_path, "http://127.0.0.1:9", extra_rate_limit={"max_retries": 0})
    ran = cli(["plan", "--config", str(config_file)], cwd=tmp_path)
    assert ran.code == 3
    assert "check github.api_url" in ran.stderr
    assert "then run `ghye plan` again" in ran.stderr
    assert not (tmp_path / "data").exists()


def test_plan_without_graphql_says_so_and_saves_no_estimate(tmp_path: Path) -> None:
    with FakeGitHub(replace(DATA, graphql=False)).start() as server:
        config_file = write_config(tmp_path, server.base_url)
        ran = cli(["plan", "--config", str(config_file)], cwd=tmp_path)
    assert ran.code == 0, ran
    out = _words(ran.stdout)
    assert "5 repositories not counted: GitHub's GraphQL API did not answer the count query" in out
    assert "estimate not saved: no repository could be counted" in out
    assert read_estimate(PathManager(load_config(config_file)).estimate_path) is None


def test_several_credentials_budgets_add_up_and_each_is_read_for_free(tmp_path: Path) -> None:
    settings = replace(DATA, tokens={"ghye-second-token": "other-user"}, rate_limit=1000)
    env = {**ENV, "GHYE_SECOND_TOKEN": "ghye-second-token"}
    with FakeGitHub(settings).start() as server:
        config = load_config(
            write_config(
                tmp_path, server.base_url, auth={"token_env": [TOKEN_ENV, "GHYE_SECOND_TOKEN"]}
            )
        )
        report = build_plan(config, environ=env)
        assert server.stats()["by_endpoint"]["rate_limit"] == 2  # one per credential
        server.reset_stats()
        result = run_collect(
            config,
            CollectRequest(),
            environ=env,
            events=NullEvents(),
            command="test",
            install_signals=False,
        )
        sent = server.stats()["by_endpoint"]
    assert result.exit_code == 0
    core = next(r for r in report.resources if r.resource == CORE)
    assert [b.label for b in core.budgets] == [TOKEN_ENV, "GHYE_SECOND_TOKEN"]
    assert core.limit == 2000
    assert core.remaining == sum(b.remaining for b in core.budgets) > 1000
    # A collect with several tokens asks whose each one is: counted, and exact.
    assert report.before_units["accounts"][CORE] == Figure(2) == Figure(sent["user"])


def test_status_and_the_command_line_import_no_http_client_for_the_estimate() -> None:
    # `ghye status` is timed as a whole process (bench row f): the estimate's modules, which
    # import the github package, are imported only when there is an estimate to read.
    code = (
        "import sys, gh_year_end.cli.app, gh_year_end.manage.status; print('httpx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert (render_plan.CORE, render_plan.GRAPHQL) == (CORE, GRAPHQL)
