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
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

from gh_year_end.config import RateLimitConfig
from gh_year_end.github import RestClient
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings

TOKEN = "fake-token"


async def fetch(base_url: str, pages: int, concurrency: int, margin: float) -> RestClient:
    rate = RateLimitConfig(
        max_concurrency=concurrency,
        points_per_minute=1_000_000,
        reset_margin_seconds=margin,
    )
    waits: list[tuple[str, float]] = []
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
    for reason, seconds in waits:
        print(f"  waited {seconds:5.2f} s: {reason}")
    return client


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--limit", type=int, default=100, help="requests per window")
    ap.add_argument("--window", type=float, default=10.0, help="window length, seconds")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--margin", type=float, default=0.05, help="reset_margin_seconds")
    args = ap.parse_args()

    settings = FakeSettings(
        token=TOKEN,
        repos=1,
        pulls=args.pages,
        issues=1,
        issue_comments=0,
        review_comments=0,
        rate_limit=args.limit,
        rate_window=args.window,
    )
    with FakeGitHub(settings) as fake:
        started = time.perf_counter()
        client = asyncio.run(fetch(fake.base_url, args.pages, args.concurrency, args.margin))
        elapsed = time.perf_counter() - started
        fake_stats = fake.stats()

    ideal = args.pages / args.limit * args.window
    bound = (math.ceil(args.pages / args.limit) - 1) * args.window
    stats = client.stats
    errors = stats.rate_limit_hits
    print(f"pages fetched            {args.pages} ({stats.requests} requests)")
    print(f"elapsed                  {elapsed:.2f} s")
    print(f"ratio to ideal {ideal:g} s     {elapsed / ideal:.3f}  (goal ≤ 1.05)")
    print(f"fixed-window bound       {bound:g} s (ratio {elapsed / bound:.3f})" if bound else "")
    print(
        f"rate-limit errors        {errors} received, {fake_stats['rate_limited']} sent by fake"
        "  (goal: 0)"
    )
    print(f"max in flight            {stats.max_in_flight}")
    ok = errors == 0 and fake_stats["rate_limited"] == 0 and elapsed / ideal <= 1.05
    print("OK" if ok else "GOAL MISSED")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
