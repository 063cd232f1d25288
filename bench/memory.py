"""Row e: peak memory of ``ghye collect`` for 50,000 and for 500,000+ records.

The fake GitHub runs in its own process; each ``ghye --quiet collect`` is reaped with
``os.wait4``, whose rusage ``ru_maxrss`` is the peak RSS (VmHWM) of that one process — the
fake's memory is not counted. Both datasets have the same per-repo shape (thousands of comments
and commits per repo: many full pages); the large one has 10× the repos. The records are counted
from the collected JSONL files; VmRSS is also sampled every 0.5 s, and the highest sample of
each half of the run is shown (a leak shows as a second half above the first).
Goal: peak <= 150 MB for 500,000+ records, and flat — the large run's peak at most 1.2× the
small run's.

    .venv/bin/python bench/memory.py [--small-repos 2 --large-repos 20]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import FakeProcess, Measured, count_records, ghye_argv, measure_process

from harness import ghye_env, target_dir, write_config

GOAL_MB = 150.0
GOAL_GROWTH = 1.2
MIN_LARGE_RECORDS = 500_000
# Per repo about 26,000 records in the 2025 window (the fake's data runs 2024-01 to 2026-06).
SHAPE = (
    "--pulls", "300",
    "--issues", "1500",
    "--issue-comments", "26000",
    "--review-comments", "6000",
    "--commits", "31000",
    "--reviews-per-pull", "1.5",
    "--forks", "", "--archived", "", "--private", "",
)  # fmt: skip


@dataclass(frozen=True)
class MemoryRun:
    """One collect: its size and its process figures."""

    repos: int
    records: int
    requests: int
    run: Measured

    def halves(self) -> tuple[float, float]:
        """Highest sampled RSS (MB) in the first and in the second half of the run."""
        samples = self.run.rss_samples
        middle = self.run.wall / 2
        first = [mb for t, mb in samples if t < middle] or [0.0]
        second = [mb for t, mb in samples if t >= middle] or [0.0]
        return max(first), max(second)


@dataclass(frozen=True)
class MemoryResult:
    """The small and the large run."""

    small: MemoryRun
    large: MemoryRun

    @property
    def growth(self) -> float:
        """Large peak RSS over small peak RSS."""
        return self.large.run.max_rss_mb / self.small.run.max_rss_mb

    @property
    def met(self) -> bool:
        """Both goals, and the large run really held 500,000+ records."""
        return (
            self.large.run.max_rss_mb <= GOAL_MB
            and self.growth <= GOAL_GROWTH
            and self.large.records >= MIN_LARGE_RECORDS
        )


def measure(repos: int, work: Path) -> MemoryRun:
    """Collect ``repos`` repos of SHAPE; peak RSS of the ghye process, records on disk."""
    with FakeProcess(work / "fake", "--repos", str(repos), *SHAPE) as fake:
        config = write_config(work / "run", fake.base_url, max_concurrency=8, reviews_via="rest")
        measured = measure_process(
            ghye_argv("--quiet", "collect", "--config", str(config)),
            env=ghye_env(),
            folder=work / "run",
            name="ghye",
            timeout=900,
            sample_every=0.5,
        )
        if measured.returncode != 0:
            raise RuntimeError(
                f"ghye collect exited {measured.returncode}: {measured.stderr[-2000:]}"
            )
        requests = int(fake.stats()["requests"])
    records = count_records(target_dir(work / "run" / "data"))
    return MemoryRun(repos=repos, records=records, requests=requests, run=measured)


def run(*, small_repos: int = 2, large_repos: int = 20) -> MemoryResult:
    """The small run, then the large one, each in a temporary folder removed afterwards."""
    results = []
    for repos in (small_repos, large_repos):
        with tempfile.TemporaryDirectory(prefix="ghye-bench-memory-") as tmp:
            results.append(measure(repos, Path(tmp)))
    return MemoryResult(small=results[0], large=results[1])


def main() -> int:
    """Print the figures; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small-repos", type=int, default=2)
    parser.add_argument("--large-repos", type=int, default=20)
    args = parser.parse_args()
    r = run(small_repos=args.small_repos, large_repos=args.large_repos)
    for label, m in (("small", r.small), ("large", r.large)):
        print(
            f"{label}: {m.repos} repos, {m.records:,} records, {m.requests:,} requests,"
            f" peak RSS {m.run.max_rss_mb:.1f} MB, wall {m.run.wall:.1f} s"
        )
        first, second = m.halves()
        print(f"  highest RSS sampled: first half {first:.1f} MB, second half {second:.1f} MB")
    verdict = "ok" if r.met else "MISSED"
    print(
        f"peak {r.large.run.max_rss_mb:.1f} MB (goal <= {GOAL_MB:g}),"
        f" growth x{r.growth:.2f} (goal <= {GOAL_GROWTH}) {verdict}"
    )
    return 0 if r.met else 1


if __name__ == "__main__":
    raise SystemExit(main())
