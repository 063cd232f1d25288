"""Real `ghye` processes against a misbehaving fake GitHub: whatever the network does, the run
ends (after `ghye resume` while the exit code is 3) with exactly the window's records, every
checkpoint offset an exact prefix of its file, and never more requests in flight than
``rate_limit.max_concurrency``.

Faults: 500/502/503, connection resets, truncated bodies, invalid JSON, responses slower than
the request timeout, a secondary limit below the configured concurrency, and a primary limit
of 20 requests a second. The data is small (a few seconds a case) but every unit kind pages,
and reviews make dozens of short units.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gh_year_end.collect.review_probe import PROBE
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    UNTIL,
    checkpoint_problems,
    compare_with_expected,
    manifest_problems,
    read_dataset,
    run_until_done,
    target_dir,
    write_config,
)

MAX_CONCURRENCY = 4
MAX_RUNS = 10
# Two repos; commits and issue comments take two pages each, pulls one, reviews one request per
# pull request of the window (~25 per repo). The latency keeps several requests in flight at once,
# so the concurrency bound is really exercised.
DATA = FakeSettings(
    repos=2,
    pulls=50,
    issues=30,
    issue_comments=200,
    review_comments=30,
    commits=260,
    reviews_per_pull=0.5,
    forks=(),
    archived=(),
    token=TEST_TOKEN,
    latency=0.01,
)
# Paths of the discovery phase: asked again by a resume whose discovery did not finish.
DISCOVERY_PREFIXES = ("/orgs/", "/users/", "/user")
#: The fake log's body_digest of the GraphQL probe each run begins with (see reviews_api).
PROBE_DIGEST = hashlib.sha256(orjson.dumps({"query": PROBE, "variables": {}})).hexdigest()[:16]


@dataclass(frozen=True)
class Outcome:
    """What a collect-then-resume sequence left behind."""

    runs: list[subprocess.CompletedProcess[str]]
    stats: dict[str, Any]
    log: list[dict[str, Any]]
    folder: Path
    expected: dict[str, Any]

    @property
    def codes(self) -> list[int]:
        return [run.returncode for run in self.runs]


def collect_through(
    tmp_path: Path,
    settings: FakeSettings,
    *,
    rate: dict[str, Any] | None = None,
    prepare: Callable[[FakeGitHub], None] | None = None,
) -> Outcome:
    """Start a fake with ``settings``; run ghye collect, then resume while it exits 3."""
    with FakeGitHub(settings).start() as fake:
        if prepare is not None:
            prepare(fake)
        config = write_config(
            tmp_path, fake.base_url, max_concurrency=MAX_CONCURRENCY, extra_rate_limit=rate
        )
        runs = run_until_done(config, max_runs=MAX_RUNS)
        return Outcome(
            runs=runs,
            stats=fake.stats(),
            log=fake.log(),
            folder=target_dir(tmp_path / "data"),
            expected=fake.expected(SINCE, UNTIL),
        )


def assert_exact_dataset(outcome: Outcome) -> None:
    """The sequence ended with exit 0 and exactly the expected records, once each."""
    for run in outcome.runs:
        assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert outcome.codes[-1] == 0, (outcome.codes, outcome.runs[-1].stdout[-3000:])
    assert set(outcome.codes[:-1]) <= {3}, outcome.codes
    assert compare_with_expected(read_dataset(outcome.folder), outcome.expected) == []
    assert checkpoint_problems(outcome.folder, final=True) == []
    assert manifest_problems(outcome.folder) == []


def assert_concurrency_bounded(outcome: Outcome) -> None:
    """Never more than max_concurrency requests at the server — and several at times, so the
    bound was really tested."""
    assert outcome.stats["max_inflight"] <= MAX_CONCURRENCY, outcome.stats
    assert outcome.stats["max_inflight"] >= 2, outcome.stats


def assert_no_page_served_twice(outcome: Outcome) -> None:
    """Resume continues at the exact page: no unit page (or GraphQL batch, told apart by its
    body) was answered well twice across runs. Each run's GraphQL probe is no page."""
    served = Counter(
        (entry["target"], entry.get("body_digest"))
        for entry in outcome.log
        if entry["status"] == 200
        and entry["fault"] is None
        and not entry["target"].startswith(DISCOVERY_PREFIXES)
        and entry.get("body_digest") != PROBE_DIGEST
    )
    assert len(outcome.log) < DATA.log_size  # the log holds every request
    again = {target: n for target, n in served.items() if n > 1}
    assert again == {}


@pytest.mark.parametrize(
    "kinds",
    [("500", "502", "503"), ("reset",), ("truncate",), ("badjson",)],
    ids=["server-errors", "connection-resets", "truncated-bodies", "invalid-json"],
)
def test_faults_on_a_fifth_of_requests_still_end_with_exactly_the_expected_dataset(
    tmp_path: Path, kinds: tuple[str, ...]
) -> None:
    outcome = collect_through(
        tmp_path, replace(DATA, fault_rate=0.2, fault_kinds=kinds), rate={"max_retries": 3}
    )
    assert_exact_dataset(outcome)
    assert_concurrency_bounded(outcome)
    assert_no_page_served_twice(outcome)
    injected = outcome.stats["faults"]
    assert set(injected) <= set(kinds)
    assert sum(injected.values()) >= 0.1 * outcome.stats["requests"], injected


def test_units_out_of_retries_are_resumed_at_the_exact_page_until_the_dataset_is_exact(
    tmp_path: Path,
) -> None:
    # One retry only, every network fault kind on a fifth of the requests, and page 2 of one
    # repo's commits refused twice in a row: the first run cannot finish that unit, and resume
    # must go on from page 2 (asking for page 1 again would show in the fake's log).
    kinds = ("500", "502", "503", "reset", "truncate", "badjson")

    def refuse_a_page_2(fake: FakeGitHub) -> None:
        counts = fake.expected(SINCE, UNTIL)["units"]
        name = next(r for r, units in counts.items() if len(units["commits"]) > 100)
        # Page 2 is the Link header's URL, which GitHub and the fake write /repositories/<id>/.
        repo = httpx.get(
            fake.url(f"/repos/{name}"), headers={"Authorization": f"Bearer {TEST_TOKEN}"}
        ).json()
        fake.inject("502", match=f"/repositories/{repo['id']}/commits", times=2)

    outcome = collect_through(
        tmp_path,
        replace(DATA, fault_rate=0.2, fault_kinds=kinds, seed=7),
        rate={"max_retries": 1},
        prepare=refuse_a_page_2,
    )
    refused = [e for e in outcome.log if e["fault"] == "502" and "&page=2" in e["target"]]
    assert len(refused) >= 2
    assert outcome.codes[0] == 3
    assert "continue with `ghye resume`" in outcome.runs[0].stdout
    assert len(outcome.runs) >= 2
    assert_exact_dataset(outcome)
    assert_concurrency_bounded(outcome)
    assert_no_page_served_twice(outcome)


def test_responses_slower_than_the_timeout_are_abandoned_and_asked_again(tmp_path: Path) -> None:
    outcome = collect_through(
        tmp_path,
        replace(DATA, fault_rate=0.3, fault_kinds=("slow",), slow_seconds=0.5),
        rate={"request_timeout_seconds": 0.25, "max_retries": 3},
    )
    assert_exact_dataset(outcome)
    slow = [e for e in outcome.log if e["fault"] == "slow"]
    assert len(slow) >= 5
    # A slow answer that was waited for would not be asked again: each one timed out.
    for entry in slow:
        assert any(
            later["target"] == entry["target"] and later["no"] > entry["no"]
            for later in outcome.log
        ), entry


def test_requests_abandoned_after_a_timeout_keep_server_concurrency_within_max_concurrency(
    tmp_path: Path,
) -> None:
    settings = replace(
        DATA, pulls=20, commits=120, issue_comments=60, fault_rate=0.4, fault_kinds=("slow",),
        slow_seconds=1.5,
    )  # fmt: skip
    with FakeGitHub(settings).start() as fake:
        config = write_config(
            tmp_path,
            fake.base_url,
            max_concurrency=MAX_CONCURRENCY,
            extra_rate_limit={"request_timeout_seconds": 0.2, "max_retries": 8},
            enable={"reviews": False},
        )
        run_until_done(config, max_runs=1)
        stats = fake.stats()
    assert stats["faults"].get("slow", 0) >= 5
    assert stats["max_inflight"] <= MAX_CONCURRENCY, stats


def test_a_secondary_limit_below_max_concurrency_is_waited_out(tmp_path: Path) -> None:
    # 50 ms answers: the first requests of the four units that start together surely overlap.
    settings = replace(DATA, pulls=30, max_concurrent=3, secondary_retry_after=1, latency=0.05)
    outcome = collect_through(tmp_path, settings)
    assert outcome.stats["secondary_limited"] >= 1  # the limit really was met
    assert_exact_dataset(outcome)
    assert_concurrency_bounded(outcome)
    assert_no_page_served_twice(outcome)


def test_a_primary_limit_of_6_a_second_is_waited_for_not_overrun(tmp_path: Path) -> None:
    settings = replace(DATA, pulls=30, rate_limit=6, rate_window=1.0)
    outcome = collect_through(tmp_path, settings)
    assert outcome.stats["requests"] > 2 * 6  # the budget ran out at least twice
    # ghye reads x-ratelimit-remaining and pauses until the reset: at most the requests already
    # in flight when the budget hit zero may be refused.
    assert outcome.stats["rate_limited"] <= MAX_CONCURRENCY, outcome.stats
    assert_exact_dataset(outcome)
    assert_concurrency_bounded(outcome)
    assert_no_page_served_twice(outcome)
