"""How close to GitHub's primary limit does RestClient run, without a single rate-limit error?

Starts the fake GitHub with ``--limit`` requests per ``--window`` seconds and fetches ``--pages``
pages with the real client (real clock and sleep, max_concurrency 4, a points budget too high to
matter, a small reset margin). Prints the elapsed time, its ratio to the ideal
pages / limit × window (30 s by default: goal ≤ 1.05), and the rate-limit errors received
(goal: 0).

The fake's windows are fixed and start at the first request of each, so a burst of ``limit``
requests fits at the start of every window: the last window needs no waiting, and the elapsed
time can be below the steady-rate ideal. The fixed-window bound (windows − 1) × window is
printed too.

    .venv/bin/python bench/ratelimit_run.py [--pages 300 --limit 100 --window 10]

``measure(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass

from gh_year_end.config import RateLimitConfig
from gh_year_end.github import RestClient
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings

TOKEN = "fake-token"
GOAL = 1.05


@dataclass(frozen=True)
class RateLimitResult:
    """One run against the fake's fixed-window limit."""

    pages: int
    limit: int
    window: float
    requests: int
    elapsed: float
    errors_received: int
    errors_sent: int
    max_in_flight: int
    waits: tuple[tuple[str, float], ...]

    @property
    def ideal(self) -> float:
        """pages / limit × window: the steady-rate ideal."""
        return self.pages / self.limit * self.window

    @property
    def bound(self) -> float:
        """(windows needed − 1) × window: the fixed-window lower bound."""
        return (math.ceil(self.pages / self.limit) - 1) * self.window

    @property
    def ratio(self) -> float:
        """elapsed / ideal."""
        return self.elapsed / self.ideal

    @property
    def met(self) -> bool:
        """Ratio within the goal and no rate-limit error either way."""
        return self.errors_received == 0 and self.errors_sent == 0 and self.ratio <= GOAL


async def fetch(
    base_url: str,
    pages: int,
    concurrency: int,
    margin: float,
    waits: list[tuple[str, float]] | None = None,
) -> RestClient:
    rate = RateLimitConfig(
        max_concurrency=concurrency,
        points_per_minute=1_000_000,
        reset_margin_seconds=margin,
    )
    waits = waits if waits is not None else []
    client = RestClient(
        api_url=base_url,
        token=TOKEN,
        rate=rate,
        on_wait=lambda reason, seconds: waits.append((reason, seconds)),
    )
    async with client:
        path = "/repos/acme/repo-000/pulls"
        results = await asyncio.gather(
            *(
                client.get_page(path, {"state": "all", "per_page": 1, "page": n})
                for n in range(1, pages + 1)
            )
        )
    empty = sum(1 for page in results if not page.records)
    if empty:
        raise SystemExit(f"{empty} pages came back empty — the fake holds too few pull requests")
    return client


def measure(
    *,
    pages: int = 300,
    limit: int = 100,
    window: float = 10.0,
    concurrency: int = 4,
    margin: float = 0.05,
) -> RateLimitResult:
    """Fetch ``pages`` pages through a fake allowing ``limit`` requests per ``window`` s."""
    settings = FakeSettings(
        token=TOKEN,
        repos=1,
        pulls=pages,
        issues=1,
        issue_comments=0,
        review_comments=0,
        rate_limit=limit,
        rate_window=window,
    )
    waits: list[tuple[str, float]] = []
    with FakeGitHub(settings) as fake:
        started = time.perf_counter()
        client = asyncio.run(fetch(fake.base_url, pages, concurrency, margin, waits))
        elapsed = time.perf_counter() - started
        fake_stats = fake.stats()
    stats = client.stats
    return RateLimitResult(
        pages=pages,
        limit=limit,
        window=window,
        requests=stats.requests,
        elapsed=elapsed,
        errors_received=stats.rate_limit_hits,
        errors_sent=int(fake_stats["rate_limited"]),
        max_in_flight=stats.max_in_flight,
        waits=tuple(waits),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--limit", type=int, default=100, help="requests per window")
    ap.add_argument("--window", type=float, default=10.0, help="window length, seconds")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--margin", type=float, default=0.05, help="reset_margin_seconds")
    args = ap.parse_args()

    r = measure(
        pages=args.pages,
        limit=args.limit,
        window=args.window,
        concurrency=args.concurrency,
        margin=args.margin,
    )
    for reason, seconds in r.waits:
        print(f"  waited {seconds:5.2f} s: {reason}")
    print(f"pages fetched            {r.pages} ({r.requests} requests)")
    print(f"elapsed                  {r.elapsed:.2f} s")
    print(f"ratio to ideal {r.ideal:g} s     {r.ratio:.3f}  (goal ≤ {GOAL})")
    print(
        f"fixed-window bound       {r.bound:g} s (ratio {r.elapsed / r.bound:.3f})"
        if r.bound
        else ""
    )
    print(
        f"rate-limit errors        {r.errors_received} received, {r.errors_sent} sent by fake"
        "  (goal: 0)"
    )
    print(f"max in flight            {r.max_in_flight}")
    print("OK" if r.met else "GOAL MISSED")
    if not r.met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
