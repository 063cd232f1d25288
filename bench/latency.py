"""Row c: does ghye hide network latency? 50 ms per response, 200 repos, max_concurrency 8.

The fake GitHub (its own process) delays every response by ``--latency`` seconds. With
``max_concurrency`` requests always in flight, a run cannot be shorter than
requests × latency / concurrency (requests counted by the fake). Figure: the wall time of the
``ghye --quiet collect`` process over that ideal (goal <= 1.2). The data per repo is modest
(one page per listing, one reviews request per pull request in the window), so the run is
dominated by round trips, as a real collection is.

The machine's own noise moves one run by a few percent (other tenants, page cache, timers), so
the run is repeated (``--rounds``, 5 by default) against the same fake and the median is the
figure; every round is printed with its CPU time and the hypervisor's steal time during it
(CPU the machine wanted and did not get: the rounds with the most steal are the slow ones).

``--control`` also replays the very same requests with the bare httpx loop of overhead.py
(same concurrency, each unit's pages in sequence, no dependencies between units): the ratio a
client that does nothing but fetch reaches against this fake on this machine.

    .venv/bin/python bench/latency.py [--latency 0.05 --repos 200 --concurrency 8] [--rounds 5]
                                      [--control]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import overhead
from _common import FakeProcess, Measured, count_records, ghye_argv, measure_process

from harness import ghye_env, target_dir, write_config

GOAL = 1.2
DATA_ARGS = (
    "--pulls", "50",
    "--issues", "20",
    "--issue-comments", "40",
    "--review-comments", "30",
    "--commits", "40",
    "--reviews-per-pull", "1.5",
    "--forks", "", "--archived", "",
)  # fmt: skip


@dataclass(frozen=True)
class LatencyResult:
    """One latency run."""

    latency: float
    repos: int
    concurrency: int
    requests: int
    max_inflight: int
    records: int
    runs: tuple[Measured, ...]
    control: Measured | None = None

    @property
    def run(self) -> Measured:
        """The median round (by wall time)."""
        ordered = sorted(self.runs, key=lambda m: m.wall)
        return ordered[len(ordered) // 2]

    @property
    def ideal(self) -> float:
        """requests × latency / concurrency, seconds."""
        return self.requests * self.latency / self.concurrency

    @property
    def ratio(self) -> float:
        """Wall time over the ideal."""
        return self.run.wall / self.ideal


def run(
    *,
    latency: float = 0.05,
    repos: int = 200,
    concurrency: int = 8,
    rounds: int = 5,
    control: bool = False,
) -> LatencyResult:
    """Collect ``repos`` repos through a fake that answers after ``latency`` seconds."""
    with tempfile.TemporaryDirectory(prefix="ghye-bench-latency-") as tmp:
        work = Path(tmp)
        args = ("--repos", str(repos), "--latency", str(latency), *DATA_ARGS)
        with FakeProcess(work / "fake", *args) as fake:
            runs: list[Measured] = []
            requests: set[int] = set()
            max_inflight = records = 0
            for n in range(rounds):
                fake.reset_stats()
                folder = work / f"run-{n}"
                config = write_config(
                    folder, fake.base_url, max_concurrency=concurrency, reviews_via="rest"
                )
                measured = measure_process(
                    ghye_argv("--quiet", "collect", "--config", str(config)),
                    env=ghye_env(),
                    folder=folder,
                    name="ghye",
                )
                if measured.returncode != 0:
                    raise RuntimeError(
                        f"ghye collect exited {measured.returncode}: {measured.stderr[-2000:]}"
                    )
                stats = fake.stats()
                requests.add(int(stats["requests"]))
                max_inflight = max(max_inflight, int(stats["max_inflight"]))
                records = count_records(target_dir(folder / "data"))
                runs.append(measured)
            if len(requests) != 1:
                raise RuntimeError(f"the rounds sent different numbers of requests: {requests}")
            (count,) = requests
            bare = _control(fake, work, concurrency, count) if control else None
    return LatencyResult(
        latency=latency,
        repos=repos,
        concurrency=concurrency,
        requests=count,
        max_inflight=max_inflight,
        records=records,
        runs=tuple(runs),
        control=bare,
    )


def _control(fake: FakeProcess, work: Path, concurrency: int, requests: int) -> Measured:
    """The bare loop over the URLs ghye's last round fetched (its ``requests`` log entries)."""
    log = fake.log()[-requests:]
    if len(log) != requests:
        raise RuntimeError(f"the fake's log holds {len(log)} entries, not {requests}")
    plan = work / "plan.json"
    plan.write_bytes(orjson.dumps(overhead.plan_from_log(log, fake.base_url)))
    fake.reset_stats()
    measured = measure_process(
        [sys.executable, overhead.__file__, "--bare", str(plan), "--concurrency", str(concurrency)],
        env=ghye_env(),
        folder=work / "control",
        name="bare",
    )
    if measured.returncode != 0 or int(fake.stats()["requests"]) != len(log):
        raise RuntimeError(f"the bare loop did not replay ghye's requests: {measured.stderr}")
    return measured


def main() -> int:
    """Print the figures; exit 1 when the ratio misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="runs; the median is the figure")
    parser.add_argument("--control", action="store_true", help="also time the bare loop")
    args = parser.parse_args()
    r = run(
        latency=args.latency,
        repos=args.repos,
        concurrency=args.concurrency,
        rounds=args.rounds,
        control=args.control,
    )
    print(
        f"{r.requests} requests at {r.latency * 1000:g} ms, concurrency {r.concurrency}"
        f" (fake saw at most {r.max_inflight} in flight), {r.records:,} records"
    )
    for n, m in enumerate(r.runs):
        print(
            f"round {n + 1}: elapsed {m.wall:.2f} s (cpu {m.cpu:.2f} s: user {m.user:.2f},"
            f" system {m.system:.2f}; machine steal {m.steal:.2f} s), {m.wall / r.ideal:.3f}x"
        )
    print(f"ideal {r.ideal:.2f} s, median elapsed {r.run.wall:.2f} s (cpu {r.run.cpu:.2f} s)")
    if r.control is not None:
        print(
            f"control: the bare httpx loop over the same requests took {r.control.wall:.2f} s"
            f" (cpu {r.control.cpu:.2f} s), ratio {r.control.wall / r.ideal:.3f}"
        )
    verdict = "ok" if r.ratio <= GOAL else "MISSED"
    print(f"ratio elapsed / ideal: {r.ratio:.3f} (goal <= {GOAL}) {verdict}")
    return 0 if r.ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
