"""Row k: what do repository health (``repo_health``) and commit sizes (``commit_stats``) cost
in requests, and is each collected exactly once?

Issue 14's goal: on the fake org of ``make bench``, health for every repository and the size of
every window commit cost at most one request per 25 repositories and one per 100 commits. Both
are read only through GitHub's GraphQL API (docs/health.md): health 25 repositories a query
(``HEALTH_REPOS_PER_QUERY``), sizes 100 commits per history page and 100 repositories' pages a
query (``HISTORY_REPOS_PER_QUERY``, src/gh_year_end/github/repo_query.py).

Three orgs, each served by one fake GitHub (its own process), the 2025 window:

* ``16``: row g's org (the fake's default data, 16 repositories; its fork and its archived repo
  filtered out, as every bench config does: 14 kept);
* ``200``: 200 repositories of modest data (rows c and j: 20 pull requests, 10 issues, 20 issue
  comments, 10 review comments, 40 commits per repository; none a fork or archived);
* ``deep``: 30 repositories of 600 commits (about 240 in the window each: three history pages
  a repository, so the pages of one query continue after cursors).

ghye collects each org three times, into three folders, every other endpoint on (reviews through
GraphQL, the default): ``off`` (health and sizes off), ``health`` (``collection.enable.hygiene``),
``both`` (``hygiene`` and ``commit_stats``). The fake logs each GraphQL request with its
query's operation name (``operation``), so the queries are counted by name: health's are
``RepoHealth``, the history pages' ``CommitSizes`` (reviews ``Reviews``, the plan's estimate
``Counts``, the GraphQL availability probe ``Probe``). Checked: every run's log is complete (its
entries = the fake's request count) and names every GraphQL request; ``off`` sent no
``RepoHealth`` or ``CommitSizes``, ``health`` no ``CommitSizes``.

Goals: the ``both`` run's ``RepoHealth`` queries <= ceil(repositories / 25) and its
``CommitSizes`` queries <= ceil(window commits / 100); no REST request beyond ``off``'s. The
``Probe`` queries each run sent are reported (one a run expected: with reviews through GraphQL,
health and sizes rely on the reviews' probe instead of sending their own). Checks: every kept
repository has exactly one ``repo_health`` record and every window commit exactly one
``commit_stats`` record, the whole ``both`` dataset equal to the fake's expected ids
(``extra=repo_health,commit_stats``), ``ghye verify`` exits 0, every run exits 0.

    .venv/bin/python bench/health_run.py [--orgs 16,200,deep]

``run(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import math
import shlex
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _common import FakeProcess, count_records, ghye_argv, measure_process

from harness import (
    compare_with_expected,
    ghye_env,
    read_dataset,
    run_ghye,
    target_dir,
    write_config,
)

YEAR = 2025
HEALTH = "repo_health"
STATS = "commit_stats"
REPOS_PER_QUERY = 25
COMMITS_PER_QUERY = 100
PROBE = "Probe"
"""The operation name of ghye's GraphQL availability probe."""
HEALTH_QUERY = "RepoHealth"
HISTORY_QUERY = "CommitSizes"
LOG_SIZE = 1_000_000
ORGS: dict[str, tuple[str, ...]] = {
    "16": ("--repos", "16"),  # row g's org: the fake's default data
    "200": (
        "--repos", "200",
        "--pulls", "20",
        "--issues", "10",
        "--issue-comments", "20",
        "--review-comments", "10",
        "--commits", "40",
        "--forks", "", "--archived", "",
    ),
    "deep": (
        "--repos", "30",
        "--pulls", "5",
        "--issues", "5",
        "--issue-comments", "5",
        "--review-comments", "5",
        "--commits", "600",
        "--forks", "", "--archived", "",
    ),
}  # fmt: skip
RUNS: dict[str, dict[str, bool]] = {
    "off": {"hygiene": False, "commit_stats": False},
    "health": {"hygiene": True, "commit_stats": False},
    "both": {"hygiene": True, "commit_stats": True},
}


@dataclass(frozen=True)
class Counts:
    """One ghye collect, as the fake counted and logged it (stats reset before the run)."""

    exit_code: int
    wall: float
    requests: int
    graphql_queries: int
    graphql_points: int
    by_endpoint: dict[str, int]
    operations: list[str | None]
    """The operation names of the run's GraphQL requests, in the order the fake got them (None:
    one the fake could not name)."""
    log_complete: bool
    """The fake's log holds every request of the run (its entries = its request count)."""

    @property
    def rest(self) -> int:
        """Requests other than GraphQL queries."""
        return self.requests - self.graphql_queries

    def sent(self, operation: str | None) -> int:
        """The run's GraphQL requests named ``operation``."""
        return self.operations.count(operation)

    @property
    def probes(self) -> int:
        """ghye's GraphQL availability probes."""
        return self.sent(PROBE)

    @property
    def by_operation(self) -> dict[str, int]:
        """The run's GraphQL requests by operation name (``?``: unnamed), most first."""
        return dict(Counter(op or "?" for op in self.operations).most_common())

    @property
    def counted(self) -> bool:
        """The log holds every request of the run and names each GraphQL one."""
        return (
            self.log_complete
            and len(self.operations) == self.graphql_queries
            and None not in self.operations
        )

    def line(self) -> str:
        """The counts in a line."""
        return (
            f"{self.requests} requests ({self.rest} REST, {self.graphql_queries} GraphQL queries"
            f" / {self.graphql_points} points); {self.wall:.2f} s, exit {self.exit_code}"
        )


#: The queries a run must not send: health's and the history pages' without those endpoints.
NOT_SENT: dict[str, tuple[str, ...]] = {
    "off": (HEALTH_QUERY, HISTORY_QUERY),
    "health": (HISTORY_QUERY,),
    "both": (),
}


@dataclass(frozen=True)
class OrgResult:
    """One org: the three runs, their queries counted by name, the ``both`` dataset checked."""

    label: str
    fake_args: tuple[str, ...]
    repos: int
    """Repositories kept (the fake's expected units; none unavailable here)."""
    records: int
    """Records of the ``both`` dataset."""
    window_commits: int
    health_once: int
    """Kept repositories with exactly one ``repo_health`` record (its id the repository)."""
    stats_once: int
    """Window commits with exactly one ``commit_stats`` record."""
    problems: list[str]
    """The ``both`` dataset against the fake's expected ids (empty: equal)."""
    verify_exit: int
    runs: dict[str, Counts] = field(default_factory=dict)

    @property
    def health_queries(self) -> int:
        """The ``both`` run's health queries (``RepoHealth``)."""
        return self.runs["both"].sent(HEALTH_QUERY)

    @property
    def history_queries(self) -> int:
        """The ``both`` run's history-page queries (``CommitSizes``)."""
        return self.runs["both"].sent(HISTORY_QUERY)

    @property
    def probes(self) -> dict[str, int]:
        """The GraphQL availability probes each run sent."""
        return {name: run.probes for name, run in self.runs.items()}

    @property
    def strays(self) -> list[str]:
        """Queries a run sent though its endpoints were off (``off``: health's or history's;
        ``health``: history's), as "run: n operation"; empty expected."""
        return [
            f"{name}: {run.sent(op)} {op}"
            for name, run in self.runs.items()
            for op in NOT_SENT.get(name, ())
            if run.sent(op)
        ]

    @property
    def clean(self) -> bool:
        """Every run's log complete and naming each GraphQL request, and no stray query."""
        return all(r.counted for r in self.runs.values()) and not self.strays

    @property
    def rest_added(self) -> int:
        """REST requests of ``both`` (and ``health``) beyond ``off``: 0 when health and sizes
        ask none (the larger of the two differences)."""
        off = self.runs["off"].rest
        return max((self.runs[n].rest - off for n in ("health", "both")), key=abs)

    @property
    def one_point_each(self) -> bool:
        """Every GraphQL query of the ``both`` run cost one point (points = queries; a query
        costs at least one), so its health and history queries cost one point each."""
        both = self.runs["both"]
        return both.graphql_points == both.graphql_queries

    @property
    def goal_health(self) -> int:
        """ceil(repositories / 25)."""
        return math.ceil(self.repos / REPOS_PER_QUERY)

    @property
    def goal_history(self) -> int:
        """ceil(window commits / 100)."""
        return math.ceil(self.window_commits / COMMITS_PER_QUERY)

    @property
    def exact(self) -> bool:
        """One health record per repository, one size record per window commit, the dataset
        equal to the expected one, ``ghye verify`` and every run exited 0."""
        return (
            self.health_once == self.repos
            and self.stats_once == self.window_commits
            and not self.problems
            and self.verify_exit == 0
            and all(r.exit_code == 0 for r in self.runs.values())
        )

    @property
    def met(self) -> bool:
        """Counted from a complete log without strays, both goals, no REST request added,
        exact."""
        return (
            self.clean
            and self.health_queries <= self.goal_health
            and self.history_queries <= self.goal_history
            and self.rest_added == 0
            and self.exact
        )

    def figure(self) -> str:
        """The org's part of the row's figure: repositories/commits: health + history queries
        (their goals)."""
        return (
            f"{self.repos}/{self.window_commits:,}: {self.health_queries} +"
            f" {self.history_queries} (<= {self.goal_health} + {self.goal_history})"
        )


@dataclass(frozen=True)
class HealthResult:
    """Every org."""

    orgs: list[OrgResult]

    @property
    def met(self) -> bool:
        """Every org met its goals and is exact."""
        return all(o.met for o in self.orgs)


def _collect(fake: FakeProcess, config: Path, name: str) -> Counts:
    """``ghye collect --json`` with the fake's stats reset before; what it cost, and the
    operation names of its GraphQL queries (from the fake's log: entries numbered after the last
    one before the run)."""
    before = fake.log()
    last = before[-1]["no"] if before else 0
    fake.reset_stats()
    measured = measure_process(
        ghye_argv("collect", "--json", "--config", str(config)),
        env=ghye_env(),
        folder=config.parent,
        name=name,
        timeout=300,
    )
    stats = fake.stats()
    entries = [e for e in fake.log() if e["no"] > last]
    if measured.returncode != 0:
        print(f"{name}: ghye collect exited {measured.returncode}")
        print(measured.stdout[-2000:], measured.stderr[-2000:])
    by_endpoint = {str(k): int(v) for k, v in stats["by_endpoint"].items()}
    return Counts(
        exit_code=measured.returncode,
        wall=measured.wall,
        requests=int(stats["requests"]),
        graphql_queries=by_endpoint.get("graphql", 0),
        graphql_points=int(stats["graphql_points"]),
        by_endpoint=by_endpoint,
        operations=[
            str(op) if (op := e.get("operation")) is not None else None
            for e in entries
            if e.get("endpoint") == "graphql"
        ],
        log_complete=len(entries) == int(stats["requests"]),
    )


def _verify(config: Path) -> int:
    """``ghye verify``'s exit code (its output printed when it is not 0)."""
    done = run_ghye(["verify", "--config", str(config)], env=ghye_env(), timeout=300)
    if done.returncode != 0:
        print(f"ghye verify exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return done.returncode


def _expected(fake: FakeProcess) -> dict[str, Any]:
    """The fake's expected ids of the window, health and sizes included."""
    params = {
        "since": f"{YEAR}-01-01T00:00:00Z",
        "until": f"{YEAR + 1}-01-01T00:00:00Z",
        "extra": f"{HEALTH},{STATS}",
    }
    answer = httpx.get(f"{fake.base_url}/_fake/expected", params=params, timeout=60)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def run_org(work: Path, label: str, fake_args: tuple[str, ...]) -> OrgResult:
    """Collect one org three times (off, health, both); count the queries; check ``both``."""
    runs: dict[str, Counts] = {}
    with FakeProcess(work / "fake", *fake_args, "--log-size", str(LOG_SIZE)) as fake:
        configs = {
            name: write_config(
                work / name, fake.base_url, max_concurrency=8, year=YEAR, enable=enable
            )
            for name, enable in RUNS.items()
        }
        for name, config in configs.items():
            runs[name] = _collect(fake, config, name)
        verify_exit = _verify(configs["both"])
        expected = _expected(fake)
    data = target_dir(work / "both" / "data", year=YEAR)
    dataset = read_dataset(data)
    units: dict[str, dict[str, list[Any]]] = expected["units"]
    health_once = stats_once = window_commits = 0
    for repo, want in units.items():
        got = dataset.ids.get(repo, {})
        if got.get(HEALTH, []) == [repo] and want.get(HEALTH) == [repo]:
            health_once += 1
        shas = Counter(map(str, got.get(STATS, [])))
        window_commits += len(want.get(STATS, []))
        stats_once += sum(1 for sha in want.get(STATS, []) if shas[str(sha)] == 1)
    return OrgResult(
        label=label,
        fake_args=fake_args,
        repos=len(units),
        records=count_records(data),
        window_commits=window_commits,
        health_once=health_once,
        stats_once=stats_once,
        problems=compare_with_expected(dataset, expected),
        verify_exit=verify_exit,
        runs=runs,
    )


def run(orgs: tuple[str, ...] = tuple(ORGS)) -> HealthResult:
    """Every org asked for (keys of :data:`ORGS`)."""
    with tempfile.TemporaryDirectory(prefix="ghye-bench-health-") as tmp:
        return HealthResult(
            [run_org(Path(tmp) / f"org-{label}", label, ORGS[label]) for label in orgs]
        )


def main() -> int:
    """Print the figures; exit 1 when a goal or a check is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orgs", default=",".join(ORGS), help="which orgs, e.g. 16,deep")
    args = parser.parse_args()
    r = run(tuple(o.strip() for o in args.orgs.split(",") if o.strip()))
    for o in r.orgs:
        print(f"org {o.label}: {shlex.join(o.fake_args)}; {YEAR} window")
        print(
            f"  {o.repos} repositories kept, {o.window_commits:,} window commits,"
            f" {o.records:,} records with health and sizes"
        )
        for name, counts in o.runs.items():
            named = ", ".join(f"{op} {n}" for op, n in counts.by_operation.items())
            print(f"  {name:<7} {counts.line()}; GraphQL by operation: {named or 'none'}")
        print(
            f"  health queries ({HEALTH_QUERY}) {o.health_queries} (goal <="
            f" ceil({o.repos}/{REPOS_PER_QUERY}) = {o.goal_health}); history queries"
            f" ({HISTORY_QUERY}) {o.history_queries} (goal <="
            f" ceil({o.window_commits}/{COMMITS_PER_QUERY}) = {o.goal_history})"
        )
        print(
            "  GraphQL probes: "
            + ", ".join(f"{name} {n}" for name, n in o.probes.items())
            + f"; stray queries: {'; '.join(o.strays) or 'none'}"
        )
        print(
            f"  logs complete, every query named, no stray: {'yes' if o.clean else 'NO'};"
            f" one point a query: {'yes' if o.one_point_each else 'no'}; REST requests added"
            f" {o.rest_added:+d}"
        )
        print(
            f"  exactly once: health {o.health_once}/{o.repos} repositories, sizes"
            f" {o.stats_once:,}/{o.window_commits:,} commits; dataset vs expected:"
            f" {len(o.problems)} problems; ghye verify exit {o.verify_exit}"
        )
        for line in o.problems[:20]:
            print("    ", line)
        print(f"  {'OK' if o.met else 'GOAL MISSED'}")
    print("OK" if r.met else "GOAL MISSED")
    return 0 if r.met else 1


if __name__ == "__main__":
    raise SystemExit(main())
