"""Quota per dataset: the requests one year of a simulated org costs with reviews through REST
and through GraphQL, and that both give the same dataset, field by field.

The org: the fake GitHub's default data (20 pull requests, 20 issues, 40 issue comments,
30 review comments, 40 commits and 1.5 reviews per pull request per repository over 2024–2026)
with 16 repositories, none filtered out, the 2025 window, every endpoint. ghye collects it twice
into two folders — ``collection.reviews_via: rest``, then ``graphql`` — and the fake counts the
requests of each run per endpoint. Every JSONL record of the two datasets is compared (the
envelope's ``source`` and ``timestamp`` aside): they must be equal, key by key.

Goal: GraphQL's run costs at most 0.35x REST's requests (REST's core requests plus GraphQL's
queries, each query counted as one request; its points are reported too).

    .venv/bin/python bench/quota.py [--repos 16]

``run(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common  # noqa: F401 — puts tests/ on the path
import orjson

from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import load_config
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import TEST_TOKEN, TOKEN_ENV, write_config

GOAL = 0.35
VIAS = ("rest", "graphql")


@dataclass(frozen=True)
class QuotaResult:
    """Requests per endpoint of each run, and how the datasets compare."""

    repos: int
    by_endpoint: dict[str, dict[str, int]]
    """via → endpoint → requests."""
    graphql_points: int
    records: int
    differences: list[str]

    def total(self, via: str) -> int:
        """Every request of one run (a GraphQL query counts as one)."""
        return sum(self.by_endpoint[via].values())

    @property
    def ratio(self) -> float:
        """GraphQL's requests / REST's."""
        return self.total("graphql") / self.total("rest")

    @property
    def met(self) -> bool:
        """The goal holds and the datasets are equal."""
        return self.ratio <= GOAL and not self.differences


def _records(target: Path) -> dict[tuple[str, str, Any], dict[str, Any]]:
    """(endpoint, repo, id) → record, for every JSONL file of a dataset."""
    found: dict[tuple[str, str, Any], dict[str, Any]] = {}
    for path in sorted(target.glob("*/*.jsonl")):
        for line in path.read_bytes().splitlines():
            envelope = orjson.loads(line)
            data = envelope["data"]
            key = (envelope["endpoint"], envelope["repo"], data.get("id", data.get("sha")))
            found[key] = data
    return found


def compare(rest: Path, graphql: Path) -> tuple[int, list[str]]:
    """How many records, and every difference between the two datasets (empty: equal)."""
    a, b = _records(rest), _records(graphql)
    differences = [f"only through REST: {k}" for k in a.keys() - b.keys()]
    differences += [f"only through GraphQL: {k}" for k in b.keys() - a.keys()]
    for key in a.keys() & b.keys():
        for field in a[key].keys() | b[key].keys():
            if a[key].get(field) != b[key].get(field):
                differences.append(f"{key} {field}: {a[key].get(field)!r} != {b[key].get(field)!r}")
    return len(a), sorted(differences)


def run(repos: int = 16, work: Path | None = None) -> QuotaResult:
    """Collect the org twice (REST reviews, GraphQL reviews); count and compare."""
    settings = FakeSettings(repos=repos, token=TEST_TOKEN)
    with tempfile.TemporaryDirectory() as scratch:
        folder = work or Path(scratch)
        by_endpoint: dict[str, dict[str, int]] = {}
        targets: dict[str, Path] = {}
        points = 0
        with FakeGitHub(settings).start() as fake:
            for via in VIAS:
                fake.reset_stats()
                config = load_config(
                    write_config(folder / via, fake.base_url, max_concurrency=8, reviews_via=via)
                )
                result = run_collect(
                    config,
                    CollectRequest(),
                    environ={TOKEN_ENV: TEST_TOKEN},
                    events=NullEvents(),
                    command="bench",
                    install_signals=False,
                )
                if result.exit_code != 0:
                    raise SystemExit(f"the {via} run ended with exit {result.exit_code}")
                stats = fake.stats()
                by_endpoint[via] = dict(Counter(stats["by_endpoint"]))
                if via == "graphql":
                    points = int(stats.get("graphql_points", 0))
                targets[via] = PathManager(config).target_dir
        records, differences = compare(targets["rest"], targets["graphql"])
    return QuotaResult(repos, by_endpoint, points, records, differences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=16)
    args = parser.parse_args()
    r = run(args.repos)
    endpoints = sorted(r.by_endpoint["rest"].keys() | r.by_endpoint["graphql"].keys())
    print(f"{'endpoint':<18} {'REST':>6} {'GraphQL':>8}")
    for endpoint in endpoints:
        rest, graphql = (
            r.by_endpoint["rest"].get(endpoint, 0),
            r.by_endpoint["graphql"].get(endpoint, 0),
        )
        print(f"{endpoint:<18} {rest:>6} {graphql:>8}")
    print(f"{'total':<18} {r.total('rest'):>6} {r.total('graphql'):>8}")
    print(
        f"ratio {r.ratio:.2f} (goal <= {GOAL}); GraphQL points {r.graphql_points}; "
        f"{r.records:,} records, {len(r.differences)} differences"
    )
    for line in r.differences[:20]:
        print("  ", line)


if __name__ == "__main__":
    main()
