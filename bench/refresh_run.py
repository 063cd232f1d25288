"""Row j: what does ``ghye collect --refresh`` cost on an org where nothing changed, and does a
refresh after changes give what a fresh collect gives?

The fake GitHub (its own process) serves 200 repositories of modest data (row c's shape, none
of them a fork or archived) with ETags, and answers ``304 Not Modified`` to a GET whose
``If-None-Match`` names the page's ETag — a 304 spends no "core" budget, as on GitHub. The 2026
window (open: the data runs to 2026-06-30), reviews through GraphQL (the default).

1. ``ghye collect`` into folder A: the fake's requests, core budget spent, GraphQL points;
2. ``ghye collect --refresh`` on A, nothing changed: requests, 304s, core budget spent, GraphQL
   queries and points; ``ghye verify`` on A.

Figures: the share of the refresh's requests answered 304 (goal >= 90%), and the requests it
had counted against the budget over the fresh collect's (goal <= 5%) — "counted" being the
core budget spent plus the GraphQL points (core alone is printed too).

3. (correctness, not timed) the fake's data changes (``POST /_fake/mutate``: edits, adds and
   deletes in 20 repos, 2 new repos); ``ghye collect --refresh`` on A again, then a fresh
   ``ghye collect`` into folder B; every record of A and B compared (each JSONL file, the repo
   listing included: endpoint, repo, id — sha for commits — → the record's ``data``). The only
   difference allowed: the records the mutation deleted that A held stay in A (a refresh does
   not see a deletion). Nothing only in B, no content differing, ``ghye verify`` holds on A.

    .venv/bin/python bench/refresh_run.py [--repos 200]

``run(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import FakeProcess, count_records, ghye_argv, measure_process

from harness import ghye_env, record_id, run_ghye, target_dir, write_config

GOAL_NOT_MODIFIED = 0.90
GOAL_COUNTED = 0.05
YEAR = 2026
DATA_ARGS = (
    "--pulls", "20",
    "--issues", "10",
    "--issue-comments", "20",
    "--review-comments", "10",
    "--commits", "20",
    "--forks", "", "--archived", "",
)  # fmt: skip
MUTATION: dict[str, int] = {
    "seed": 1,
    "edits": 2,
    "adds": 2,
    "deletes": 1,
    "new_repos": 2,
    "repos": 20,
}

Key = tuple[str, str, Any]
"""(endpoint, repo, id) of one record."""


@dataclass(frozen=True)
class Counts:
    """One ghye run, as the fake counted it (its stats, reset before the run)."""

    exit_code: int
    wall: float
    requests: int
    not_modified: int
    core_spent: int
    graphql_queries: int
    graphql_points: int
    by_endpoint: dict[str, int]
    summary: dict[str, Any] = field(default_factory=dict)
    """ghye's own ``--json`` result (its ``refresh`` tally included)."""

    @property
    def counted(self) -> int:
        """Counted against the budgets: core units spent + GraphQL points."""
        return self.core_spent + self.graphql_points

    @property
    def not_modified_share(self) -> float:
        """Share of the requests answered 304."""
        return self.not_modified / self.requests if self.requests else 0.0

    def line(self) -> str:
        """The counts in a line."""
        return (
            f"{self.requests} requests, {self.not_modified} answered 304"
            f" ({self.not_modified_share:.1%}), core spent {self.core_spent},"
            f" GraphQL {self.graphql_queries} queries / {self.graphql_points} points"
            f" -> counted {self.counted}; {self.wall:.2f} s, exit {self.exit_code}"
        )


@dataclass(frozen=True)
class Comparison:
    """A (refreshed) against B (collected fresh), record by record."""

    records_a: int
    records_b: int
    differing: list[str]
    only_a: set[Key]
    only_b: set[Key]
    deleted_in_window: set[Key]
    """What the mutation deleted that A held before it."""
    deleted_elsewhere: int
    """What the mutation deleted that A never held (outside the window)."""

    @property
    def exact(self) -> bool:
        """Equal but for the deleted records A keeps."""
        return not self.differing and not self.only_b and self.only_a == self.deleted_in_window


@dataclass(frozen=True)
class RefreshResult:
    """The fresh collect, the unchanged refresh, and the check after a mutation."""

    repos: int
    records: int
    fresh: Counts
    refresh: Counts
    verify_exit: int
    mutation: dict[str, Any]
    after_mutation: Counts
    fresh_b: Counts
    verify_exit_after: int
    comparison: Comparison

    @property
    def counted_ratio(self) -> float:
        """The unchanged refresh's counted requests / the fresh collect's."""
        return self.refresh.counted / self.fresh.counted

    @property
    def core_ratio(self) -> float:
        """The same for the core budget alone."""
        return self.refresh.core_spent / self.fresh.core_spent

    @property
    def runs_ok(self) -> bool:
        """Every ghye run and verify exited 0."""
        runs = (self.fresh, self.refresh, self.after_mutation, self.fresh_b)
        return (
            all(r.exit_code == 0 for r in runs) and self.verify_exit == self.verify_exit_after == 0
        )

    @property
    def met(self) -> bool:
        """Both goals, every run clean, A equal to B but for the deletions."""
        return (
            self.refresh.not_modified_share >= GOAL_NOT_MODIFIED
            and self.counted_ratio <= GOAL_COUNTED
            and self.runs_ok
            and self.comparison.exact
        )


def _collect(fake: FakeProcess, config: Path, name: str, *extra: str) -> Counts:
    """``ghye collect --json [extra]`` with the fake's stats reset before; what it cost."""
    fake.reset_stats()
    measured = measure_process(
        ghye_argv("collect", "--json", "--config", str(config), *extra),
        env=ghye_env(),
        folder=config.parent,
        name=name,
        timeout=300,
    )
    stats = fake.stats()
    try:
        summary: dict[str, Any] = orjson.loads(measured.stdout)
    except orjson.JSONDecodeError:
        summary = {}
    if measured.returncode != 0:
        print(f"{name}: ghye collect {' '.join(extra)} exited {measured.returncode}")
        print(measured.stdout[-2000:], measured.stderr[-2000:])
    by_endpoint = {str(k): int(v) for k, v in stats["by_endpoint"].items()}
    return Counts(
        exit_code=measured.returncode,
        wall=measured.wall,
        requests=int(stats["requests"]),
        not_modified=int(stats["not_modified"]),
        core_spent=int(stats["core_spent"]),
        graphql_queries=by_endpoint.get("graphql", 0),
        graphql_points=int(stats["graphql_points"]),
        by_endpoint=by_endpoint,
        summary=summary,
    )


def _verify(config: Path) -> int:
    """``ghye verify``'s exit code (its output printed when it is not 0)."""
    done = run_ghye(["verify", "--config", str(config)], env=ghye_env(), timeout=300)
    if done.returncode != 0:
        print(f"ghye verify exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return done.returncode


def _records(target: Path) -> dict[Key, Any]:
    """(endpoint, repo, id) → ``data``, for every JSONL file of a dataset (the repo listing
    included)."""
    found: dict[Key, Any] = {}
    for path in sorted([*target.glob("*.jsonl"), *target.glob("*/*.jsonl")]):
        for line in path.read_bytes().splitlines():
            envelope = orjson.loads(line)
            endpoint, data = envelope["endpoint"], envelope["data"]
            found[endpoint, envelope["repo"], record_id(endpoint, data)] = data
    return found


def _deleted(summary: dict[str, Any]) -> set[Key]:
    """Every record the mutation deleted."""
    return {
        (kind, repo, item)
        for repo, kinds in summary["repos"].items()
        for kind, whats in kinds.items()
        for item in whats["deleted"]
    }


def compare(before: set[Key], a: Path, b: Path, summary: dict[str, Any]) -> Comparison:
    """A against B; ``before``: the keys A held before the mutation."""
    ra, rb = _records(a), _records(b)
    deleted = _deleted(summary)
    differing = [
        f"{key}: {field} {ra[key].get(field)!r} != {rb[key].get(field)!r}"
        for key in sorted(ra.keys() & rb.keys(), key=str)
        for field in sorted(ra[key].keys() | rb[key].keys())
        if ra[key].get(field) != rb[key].get(field)
    ]
    return Comparison(
        records_a=len(ra),
        records_b=len(rb),
        differing=differing,
        only_a=ra.keys() - rb.keys(),
        only_b=rb.keys() - ra.keys(),
        deleted_in_window=deleted & before,
        deleted_elsewhere=len(deleted - before),
    )


def run(repos: int = 200) -> RefreshResult:
    """Collect, refresh unchanged, mutate, refresh, collect fresh, compare."""
    with tempfile.TemporaryDirectory(prefix="ghye-bench-refresh-") as tmp:
        work = Path(tmp)
        with FakeProcess(work / "fake", "--repos", str(repos), *DATA_ARGS) as fake:
            config_a = write_config(work / "A", fake.base_url, max_concurrency=8, year=YEAR)
            config_b = write_config(work / "B", fake.base_url, max_concurrency=8, year=YEAR)
            data_a = target_dir(work / "A" / "data", year=YEAR)
            data_b = target_dir(work / "B" / "data", year=YEAR)
            fresh = _collect(fake, config_a, "fresh")
            records = count_records(data_a)
            refresh = _collect(fake, config_a, "refresh", "--refresh")
            verify_exit = _verify(config_a)
            before = set(_records(data_a))
            answer = httpx.post(f"{fake.base_url}/_fake/mutate", params=MUTATION, timeout=60)
            answer.raise_for_status()
            mutation: dict[str, Any] = answer.json()
            after = _collect(fake, config_a, "refresh-after-mutation", "--refresh")
            verify_after = _verify(config_a)
            fresh_b = _collect(fake, config_b, "fresh-b")
        comparison = compare(before, data_a, data_b, mutation)
    return RefreshResult(
        repos=repos,
        records=records,
        fresh=fresh,
        refresh=refresh,
        verify_exit=verify_exit,
        mutation=mutation,
        after_mutation=after,
        fresh_b=fresh_b,
        verify_exit_after=verify_after,
        comparison=comparison,
    )


def mutation_counts(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    """kind → {edited, added, deleted: how many} of a mutation summary."""
    return {
        kind: {what: len(ids) for what, ids in whats.items()}
        for kind, whats in summary["endpoints"].items()
    }


def main() -> int:
    """Print the figures; exit 1 when a goal or the check is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repos", type=int, default=200)
    args = parser.parse_args()
    r = run(args.repos)
    c = r.comparison
    print(f"{r.repos} repos, {YEAR} window, {r.records:,} records")
    print(f"fresh collect        {r.fresh.line()}")
    print(f"refresh (unchanged)  {r.refresh.line()}")
    tally = r.refresh.summary.get("refresh") or {}
    if tally:
        print(f"  ghye's tally: {orjson.dumps(tally).decode()}")
    print(f"  by endpoint: {dict(sorted(r.refresh.by_endpoint.items()))}")
    print(f"ghye verify on A: exit {r.verify_exit}")
    print(
        f"answered 304: {r.refresh.not_modified_share:.1%} (goal >= {GOAL_NOT_MODIFIED:.0%});"
        f" counted {r.refresh.counted} / {r.fresh.counted} = {r.counted_ratio:.2%}"
        f" (goal <= {GOAL_COUNTED:.0%}); core alone {r.refresh.core_spent} /"
        f" {r.fresh.core_spent} = {r.core_ratio:.2%}"
    )
    print()
    counts = mutation_counts(r.mutation)
    print(
        f"mutation {MUTATION}: "
        + ", ".join(
            f"{kind} " + "/".join(str(n[w]) for w in ("edited", "added", "deleted"))
            for kind, n in counts.items()
        )
        + f" (edited/added/deleted); new repos {', '.join(r.mutation['new_repos'])}"
    )
    print(f"refresh after it     {r.after_mutation.line()}")
    tally = r.after_mutation.summary.get("refresh") or {}
    if tally:
        print(f"  ghye's tally: {orjson.dumps(tally).decode()}")
    print(f"fresh collect into B {r.fresh_b.line()}")
    print(f"ghye verify on A: exit {r.verify_exit_after}")
    print(
        f"A {c.records_a:,} records, B {c.records_b:,}: {len(c.differing)} differ,"
        f" {len(c.only_a)} only in A, {len(c.only_b)} only in B; the mutation deleted"
        f" {len(c.deleted_in_window)} records A held ({c.deleted_elsewhere} more outside the"
        f" window); only in A {'==' if c.only_a == c.deleted_in_window else '!='} those"
    )
    kinds = Counter(k[0] for k in c.only_a)
    print(f"  only in A by endpoint: {dict(sorted(kinds.items()))}")
    for line in c.differing[:20]:
        print("  differs:", line)
    for key in sorted(c.only_b, key=str)[:20]:
        print("  only in B:", key)
    for key in sorted(c.only_a - c.deleted_in_window, key=str)[:20]:
        print("  only in A, not deleted:", key)
    for key in sorted(c.deleted_in_window - c.only_a, key=str)[:20]:
        print("  deleted, not kept in A:", key)
    print("OK" if r.met else "GOAL MISSED")
    return 0 if r.met else 1


if __name__ == "__main__":
    raise SystemExit(main())
