"""Row a: what ghye costs over a bare httpx loop that fetches the same pages and discards them.

The fake GitHub runs in its own process with no latency. A warm-up ``ghye collect`` is run once
and the fake's request log gives the exact list of URLs it fetched — first pages under
``/repos/...`` and the ``/repositories/{id}/...?page=N`` next links. The bare loop is then a
separate process that fetches those same URLs with httpx (same headers and token, the same
connection limit and ``max_concurrency`` workers): each worker takes a unit's first URL and follows
the response's ``Link: rel="next"`` while it is one ghye followed (as many times as ghye did),
reading every body and discarding it. It checks nothing, parses nothing, writes nothing.

Both are timed as whole processes (interpreter start to exit), best of ``--rounds``, alternating;
the fake's counters check that both sent the same number of requests, and the first bare round
is checked URL for URL against ghye's. Figure: ghye wall / bare wall (goal <= 1.3).

    .venv/bin/python bench/overhead.py [--rounds 3] [--profile] [--variants]

``--profile`` also runs ghye once under cProfile (``python -m cProfile -o …``) and prints where
its main thread's time goes (the page commits run in worker threads, which cProfile does not
see; their CPU shows in the process's user+sys seconds). ``--variants`` times ghye and the bare
loop again with one cost removed at a time (fsync, the failed sniffio imports): see _variants.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from _common import FakeProcess, Measured, count_records, ghye_argv, measure_process

from gh_year_end.github.client import API_VERSION, USER_AGENT
from harness import TOKEN_ENV, ghye_env, target_dir, write_config

GOAL = 1.3
CONCURRENCY = 8
# 25 repos with enough items per repo that every listing has 2–5 pages (so next links are
# followed), plus one reviews request per pull request in the window, as on GitHub.
FAKE_ARGS = (
    "--repos", "25",
    "--pulls", "150",
    "--issues", "150",
    "--issue-comments", "400",
    "--review-comments", "300",
    "--commits", "400",
    "--reviews-per-pull", "1.5",
)  # fmt: skip
_PAGE_RE = re.compile(r"[?&]page=")


@dataclass(frozen=True)
class OverheadResult:
    """Best-of-N wall times of ghye and of the bare loop over the same requests."""

    requests: int
    next_links: int
    records: int
    ghye: Measured
    bare: Measured
    ghye_walls: tuple[float, ...]
    bare_walls: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """ghye best wall / bare best wall."""
        return self.ghye.wall / self.bare.wall


def plan_from_log(log: list[dict[str, object]], base_url: str) -> dict[str, object]:
    """First URLs (no page parameter) in the order ghye sent them, and the next links it took.

    Only the GET requests of list pages are replayed: ghye's GraphQL queries (the window's
    counts for its estimate, one query) stay part of ghye's own time."""
    targets = [str(entry["target"]) for entry in log if entry.get("method") == "GET"]
    origin = "/".join(base_url.split("/", 3)[:3])
    return {
        "origin": origin,
        "first": [t for t in targets if not _PAGE_RE.search(t)],
        "follow": [t for t in targets if _PAGE_RE.search(t)],
    }


async def _bare(plan_path: Path, token: str, concurrency: int) -> int:
    plan = orjson.loads(plan_path.read_bytes())
    origin: str = plan["origin"]
    # A multiset: a URL ghye fetched twice (e.g. a first page asked again) is followed twice.
    follow = Counter(plan["follow"])
    queue = [origin + t for t in reversed(plan["first"])]
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
        "Authorization": f"Bearer {token}",
    }
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        headers=headers, limits=limits, timeout=httpx.Timeout(30), follow_redirects=False
    ) as client:

        async def worker() -> int:
            sent = 0
            while queue:
                url: str | None = queue.pop()
                while url is not None:
                    response = await client.get(url)
                    sent += 1
                    if response.status_code != 200:
                        raise SystemExit(f"bare loop: {response.status_code} for {url}")
                    nxt = response.links.get("next", {}).get("url")
                    url = None
                    if nxt and follow[nxt.removeprefix(origin)] > 0:
                        follow[nxt.removeprefix(origin)] -= 1
                        url = nxt
            return sent

        counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sum(counts)


def bare_main(plan_path: Path, concurrency: int) -> int:
    """The bare loop's process: fetch the plan's pages, print how many requests were sent."""
    import os

    sent = asyncio.run(_bare(plan_path, os.environ[TOKEN_ENV], concurrency))
    print(sent)
    return 0


def _ghye_round(
    fake: FakeProcess, work: Path, name: str, *, env: dict[str, str] | None = None
) -> tuple[Measured, int, int]:
    """One timed ``ghye --quiet collect``; returns (measured, requests sent, records written)."""
    folder = work / name
    config = write_config(folder, fake.base_url, max_concurrency=CONCURRENCY, reviews_via="rest")
    fake.reset_stats()
    measured = measure_process(
        ghye_argv("--quiet", "collect", "--config", str(config)),
        env=env or ghye_env(),
        folder=folder,
        name="ghye",
    )
    if measured.returncode != 0:
        raise RuntimeError(f"ghye collect exited {measured.returncode}: {measured.stderr[-2000:]}")
    requests = int(fake.stats()["requests"])
    return measured, requests, count_records(target_dir(folder / "data"))


def _bare_round(
    fake: FakeProcess, plan: Path, work: Path, name: str, *, env: dict[str, str] | None = None
) -> tuple[Measured, int]:
    fake.reset_stats()
    measured = measure_process(
        [
            sys.executable,
            str(Path(__file__)),
            "--bare",
            str(plan),
            "--concurrency",
            str(CONCURRENCY),
        ],
        env=env or ghye_env(),
        folder=work / name,
        name="bare",
    )
    if measured.returncode != 0:
        raise RuntimeError(f"bare loop exited {measured.returncode}: {measured.stderr[-2000:]}")
    return measured, int(fake.stats()["requests"])


def run(
    *, rounds: int = 3, work: Path | None = None, profile: bool = False, variants: bool = False
) -> OverheadResult:
    """Warm up, then ``rounds`` alternating timed runs of ghye and of the bare loop."""
    with tempfile.TemporaryDirectory(prefix="ghye-bench-overhead-") as tmp:
        work = work or Path(tmp)
        with FakeProcess(work / "fake", *FAKE_ARGS) as fake:
            _, warm_requests, _ = _ghye_round(fake, work, "warmup")
            log = fake.log()
            if len(log) != warm_requests:
                raise RuntimeError(f"fake log holds {len(log)} of {warm_requests} requests")
            plan = plan_from_log(log, fake.base_url)
            pages = [e for e in log if e.get("method") == "GET"]
            plan_path = work / "plan.json"
            plan_path.write_bytes(orjson.dumps(plan))
            ghye_runs: list[Measured] = []
            bare_runs: list[Measured] = []
            records = 0
            for n in range(rounds):
                measured, requests, records = _ghye_round(fake, work, f"ghye-{n}")
                if requests != warm_requests:
                    raise RuntimeError(f"ghye sent {requests} requests, {warm_requests} before")
                ghye_runs.append(measured)
                measured, requests = _bare_round(fake, plan_path, work, f"bare-{n}")
                if requests != len(pages):
                    raise RuntimeError(f"bare loop sent {requests}, ghye {len(pages)} GETs")
                if n == 0:
                    sent = Counter(str(e["target"]) for e in fake.log()[-requests:])
                    if sent != Counter(str(e["target"]) for e in pages):
                        raise RuntimeError("the bare loop did not fetch ghye's URLs")
                bare_runs.append(measured)
            if profile:
                _profile(fake, work)
            if variants:
                _variants(fake, plan_path, work, warm_requests, len(pages))
    return OverheadResult(
        requests=warm_requests,
        next_links=len(plan["follow"]),  # type: ignore[arg-type]
        records=records,
        ghye=min(ghye_runs, key=lambda m: m.wall),
        bare=min(bare_runs, key=lambda m: m.wall),
        ghye_walls=tuple(m.wall for m in ghye_runs),
        bare_walls=tuple(m.wall for m in bare_runs),
    )


def _variants(
    fake: FakeProcess, plan: Path, work: Path, requests: int, gets: int, *, rounds: int = 2
) -> None:
    """Where ghye's extra time goes: the same runs with one cost taken away at a time.

    "fsync free": the storage root on /dev/shm (tmpfs: an fsync returns at once). "sniffio":
    a one-function ``sniffio`` on PYTHONPATH (what ``pip install sniffio`` gives), so httpcore
    stops retrying a failed ``import sniffio`` several times per request (encode/httpcore#1103).
    """
    stub = work / "sniffio-stub" / "sniffio"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text('def current_async_library():\n    return "asyncio"\n')
    sniffio = {"PYTHONPATH": str(stub.parent)}
    shm = Path("/dev/shm")
    tmpfs = Path(tempfile.mkdtemp(prefix="ghye-bench-", dir=shm)) if shm.is_dir() else None
    cases: list[tuple[str, str, Path | None, dict[str, str]]] = [
        ("bare loop", "bare", None, {}),
        ("bare loop, sniffio", "bare", None, sniffio),
        ("ghye", "ghye", work, {}),
        ("ghye, sniffio", "ghye", work, sniffio),
    ]
    if tmpfs is not None:
        cases += [
            ("ghye, fsync free", "ghye", tmpfs, {}),
            ("ghye, sniffio, fsync free", "ghye", tmpfs, sniffio),
        ]
    print(f"\nvariants (best of {rounds}, {requests} requests each):")
    try:
        for label, kind, root, extra in cases:
            runs: list[Measured] = []
            for n in range(rounds):
                env = ghye_env(**extra)
                name = f"variant-{label.replace(' ', '').replace(',', '-')}-{n}"
                if kind == "bare":
                    measured, sent = _bare_round(fake, plan, work, name, env=env)
                else:
                    assert root is not None
                    measured, sent, _ = _ghye_round(fake, root, name, env=env)
                if sent != (gets if kind == "bare" else requests):
                    raise RuntimeError(f"{label}: {sent} requests, not {requests} ({gets} GETs)")
                runs.append(measured)
            best = min(runs, key=lambda m: m.wall)
            print(f"  {label:<28} wall {best.wall:6.2f} s   cpu {best.cpu:6.2f} s")
    finally:
        if tmpfs is not None:
            shutil.rmtree(tmpfs, ignore_errors=True)


def _profile(fake: FakeProcess, work: Path) -> None:
    import pstats

    folder = work / "profile"
    config = write_config(folder, fake.base_url, max_concurrency=CONCURRENCY, reviews_via="rest")
    out = folder / "ghye.prof"
    argv = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(out),
        "-m",
        "gh_year_end",
        "--quiet",
        "collect",
        "--config",
        str(config),
    ]
    measured = measure_process(argv, env=ghye_env(), folder=folder, name="profile")
    print(
        f"\ncProfile of ghye collect (main thread; wall {measured.wall:.2f} s under the "
        f"profiler, cpu {measured.cpu:.2f} s):"
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumtime").print_stats(30)


def main() -> int:
    """Print the figures; exit 1 when the ratio misses the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also run ghye under cProfile")
    parser.add_argument(
        "--variants", action="store_true", help="also time ghye/bare without fsync or sniffio cost"
    )
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare is not None:
        return bare_main(args.bare, args.concurrency)
    r = run(rounds=args.rounds, profile=args.profile, variants=args.variants)
    print(f"requests {r.requests} ({r.next_links} next links), records {r.records:,}")
    for label, best, walls in (("ghye", r.ghye, r.ghye_walls), ("bare", r.bare, r.bare_walls)):
        print(
            f"{label}: best wall {best.wall:.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)})"
            f", cpu {best.cpu:.2f} s (user {best.user:.2f} + sys {best.system:.2f}),"
            f" peak rss {best.max_rss_mb:.0f} MB"
        )
    verdict = "ok" if r.ratio <= GOAL else "MISSED"
    print(f"ratio ghye / bare: {r.ratio:.2f} (goal <= {GOAL}) {verdict}")
    return 0 if r.ratio <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
