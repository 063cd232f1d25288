"""What one page commit costs, for a small plan and a huge one.

A page commit is: ~100 small records written to the unit's JSONL file, flush + fsync, then
``CheckpointManager.update_progress`` (one journal line + fsync; every ``compact_every``
commits the journal is folded into checkpoint.json, which is O(repos)). The promise is that
the mean cost does not grow with the number of repos: ratio huge/small <= 1.5.

The two plans are measured in alternating blocks of commits, so a busy machine slows both
alike instead of skewing the ratio.

    .venv/bin/python bench/commit_cost.py [--commits 4000] [--records 100]

``run(...)`` is importable: it returns both :class:`Result` rows and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from gh_year_end.config import Config, parse_config
from gh_year_end.endpoints import ENDPOINTS as TABLE
from gh_year_end.storage import CheckpointManager, JSONLWriter
from gh_year_end.storage.paths import PathManager

ENDPOINTS = tuple(e.name for e in TABLE if not e.opt_in)  # what a default config plans
GOAL = 1.5
BLOCK = 250


@dataclass(frozen=True)
class Result:
    """Timings of one plan size."""

    repos: int
    units: int
    commits: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    folds: int
    snapshot_bytes: int


def _config(root: Path) -> Config:
    text = (
        "github:\n  target: {mode: org, name: bench}\n  windows: {year: 2025}\n"
        f"storage: {{root: '{root}'}}\n"
    )
    return parse_config(text, source="bench", cwd=root)


class Plan:
    """A checkpoint with ``repos`` × 6 endpoints planned and a few writers in flight."""

    def __init__(self, repos: int, *, records: int, writers: int = 8) -> None:
        self.repos = repos
        self.records = records
        self._tmp = tempfile.TemporaryDirectory(prefix="ghye-bench-")
        config = _config(Path(self._tmp.name))
        paths = PathManager(config)
        self.manager = CheckpointManager(paths.checkpoint_path, journal_path=paths.journal_path)
        self.manager.create_new(config)
        names = [f"bench/repo-{i:05d}" for i in range(repos)]
        self.manager.update_repos([{"full_name": n} for n in names])
        # A handful of units in flight at once, spread over the plan like a real run's workers.
        step = max(1, repos // writers)
        self.units = [
            (names[(i * step) % repos], ENDPOINTS[i % len(ENDPOINTS)]) for i in range(writers)
        ]
        self.writers = {
            unit: JSONLWriter(paths.raw_path(unit[1], unit[0]), repo=unit[0], committed_offset=0)
            for unit in self.units
        }
        self.pages = dict.fromkeys(self.units, 0)
        self.samples: list[float] = []
        self.folds = 0
        self._n = 0

    def commit(self, count: int) -> None:
        """Time ``count`` page commits."""
        record = {"id": 0, "title": "a pull request title", "state": "open", "number": 0}
        path = self.manager.checkpoint_path
        for _ in range(count):
            unit = self.units[self._n % len(self.units)]
            writer = self.writers[unit]
            self.pages[unit] += 1
            page = self.pages[unit]
            before = path.stat().st_mtime_ns
            start = time.perf_counter()
            for i in range(self.records):
                record["id"] = record["number"] = self._n * self.records + i
                writer.write(source="bench", endpoint=unit[1], data=record, page=page)
            offset, lines = writer.flush()
            self.manager.update_progress(
                unit[0],
                unit[1],
                page,
                self.records,
                next_url=f"https://api.github.com/x?page={page + 1}",
                offset=offset,
                lines=lines,
            )
            self.samples.append(time.perf_counter() - start)
            self.folds += path.stat().st_mtime_ns != before
            self._n += 1

    def result(self) -> Result:
        """Summary of the commits timed so far."""
        ordered = sorted(self.samples)
        return Result(
            repos=self.repos,
            units=self.repos * len(ENDPOINTS),
            commits=len(ordered),
            mean_ms=statistics.fmean(ordered) * 1000,
            p50_ms=ordered[len(ordered) // 2] * 1000,
            p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
            max_ms=ordered[-1] * 1000,
            folds=self.folds,
            snapshot_bytes=self.manager.checkpoint_path.stat().st_size,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for writer in self.writers.values():
            writer.close()
        self.manager.close()
        self._tmp.cleanup()


def run(*, commits: int = 4000, records: int = 100) -> tuple[Result, Result, float]:
    """Measure 10 and 10,000 repos (alternating blocks); return both results and the ratio."""
    with Plan(10, records=records) as small, Plan(10_000, records=records) as large:
        done = 0
        while done < commits:
            block = min(BLOCK, commits - done)
            small.commit(block)
            large.commit(block)
            done += block
        small_result, large_result = small.result(), large.result()
    return small_result, large_result, large_result.mean_ms / small_result.mean_ms


def main() -> int:
    """Print the table; exit 1 when the ratio misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=4000)
    parser.add_argument("--records", type=int, default=100)
    args = parser.parse_args()
    small, large, ratio = run(commits=args.commits, records=args.records)
    print(f"page commit = {args.records} records written + fsync + update_progress")
    print(
        f"{'repos':>7} {'units':>7} {'commits':>8} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'max ms':>7} {'folds':>6} {'snapshot':>10}"
    )
    for r in (small, large):
        print(
            f"{r.repos:>7} {r.units:>7} {r.commits:>8} {r.mean_ms:>8.3f} {r.p50_ms:>7.3f}"
            f" {r.p99_ms:>7.3f} {r.max_ms:>7.1f} {r.folds:>6} {r.snapshot_bytes:>10,}"
        )
    verdict = "ok" if ratio <= GOAL else "MISSED"
    print(f"ratio 10,000 / 10 repos: {ratio:.2f} (goal <= {GOAL}) {verdict}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
