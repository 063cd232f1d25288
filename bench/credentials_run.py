"""How much faster does ghye collect with three credentials of three accounts than with one?

The fake GitHub knows three accounts, each allowed ``--limit`` requests per ``--window``
seconds (GitHub's primary limit is per account: each has its own budget). The same dataset is
collected twice with the real collector (``run_collect``, in process): once with one token,
once with a token of each account (``github.auth.token_env`` listing three variables). A whole
collection rather than a loop of pages, because that is what a user gets: discovery, the
account check, every endpoint, the GraphQL reviews — all through the credential pool.

Prints both elapsed times, the throughput ratio (requests per second with three credentials
over requests per second with one; goal ≥ 2.8×) and the rate-limit errors (answers the fake
sent, answers ghye counted; goal 0).

The dataset is sized so that both runs meet the same fixed-window arithmetic: about 650 REST
requests, i.e. 6 full windows and a bit with one credential (6 waits) and 2 full windows and a
bit per account with three (2 waits) — a 3× ratio at best, as in steady state. (With the fake's
windows starting at the first request and resetting on whole seconds, a size just under a
multiple of 300 would flatter the pool — 6 waits against 1 — and one just over a multiple of
100 would penalize it.) Takes about 90 s.

    .venv/bin/python bench/credentials_run.py [--repos 132 --limit 100 --window 10]

``measure(...)`` is importable (bench/run.py uses it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import REPO_ROOT  # noqa: F401 — puts tests/ (the harness) on the path

from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import load_config
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import SINCE, UNTIL, compare_with_expected, read_dataset, write_config

GOAL = 2.8
TOKENS = {"GHYE_BENCH_T1": "bench-token-one", "GHYE_BENCH_T2": "bench-token-two"}
TOKENS["GHYE_BENCH_T3"] = "bench-token-three"
ACCOUNTS = {"bench-token-one": "ann", "bench-token-two": "ben", "bench-token-three": "cat"}


@dataclass(frozen=True)
class Run:
    """One collection."""

    credentials: int
    elapsed: float
    requests: int  # REST and GraphQL requests the fake answered (the account checks included)
    limit_errors_sent: int
    limit_errors_received: int
    per_account: dict[str, int]
    exact: bool

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.elapsed


@dataclass(frozen=True)
class CredentialsResult:
    """One credential against three."""

    one: Run
    three: Run
    limit: int
    window: float

    @property
    def ratio(self) -> float:
        """Throughput with three credentials / throughput with one."""
        return self.three.throughput / self.one.throughput

    @property
    def errors(self) -> int:
        """Rate-limit answers, either way counted, over both runs."""
        return sum(r.limit_errors_sent + r.limit_errors_received for r in (self.one, self.three))

    @property
    def met(self) -> bool:
        """Ratio at the goal, no rate-limit answer, both datasets exact."""
        return self.ratio >= GOAL and self.errors == 0 and self.one.exact and self.three.exact


def _collect(settings: FakeSettings, names: list[str], folder: Path) -> Run:
    with FakeGitHub(settings) as fake:
        config = load_config(
            write_config(folder, fake.base_url, auth={"token_env": names}, max_concurrency=4)
        )
        started = time.perf_counter()
        result = run_collect(
            config,
            CollectRequest(),
            environ=TOKENS,
            events=NullEvents(),
            command="bench",
            install_signals=False,
        )
        elapsed = time.perf_counter() - started
        stats = fake.stats()
        problems = compare_with_expected(
            read_dataset(PathManager(config).target_dir), fake.expected(SINCE, UNTIL)
        )
    if result.outcome != "complete":
        raise SystemExit(f"the collection with {len(names)} credential(s) ended {result.outcome}")
    return Run(
        credentials=len(names),
        elapsed=elapsed,
        requests=int(stats["requests"]),
        limit_errors_sent=int(stats["rate_limited"]),
        limit_errors_received=result.rate_limit_hits,
        per_account=dict(stats["by_account"]),
        exact=not problems,
    )


def measure(*, repos: int = 132, limit: int = 100, window: float = 10.0) -> CredentialsResult:
    """Collect the same ``repos``-repo dataset with one credential, then with three."""
    settings = FakeSettings(
        repos=repos,
        pulls=6,
        issues=6,
        issue_comments=6,
        review_comments=6,
        commits=6,
        token="bench-unused-primary",
        tokens=ACCOUNTS,
        rate_limit=limit,
        rate_window=window,
    )
    with tempfile.TemporaryDirectory(prefix="ghye-bench-h-") as tmp:
        one = _collect(settings, ["GHYE_BENCH_T1"], Path(tmp) / "one")
        three = _collect(settings, list(TOKENS), Path(tmp) / "three")
    return CredentialsResult(one, three, limit, window)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repos", type=int, default=132)
    ap.add_argument("--limit", type=int, default=100, help="requests per window, per account")
    ap.add_argument("--window", type=float, default=10.0, help="window length, seconds")
    args = ap.parse_args()
    r = measure(repos=args.repos, limit=args.limit, window=args.window)
    for run in (r.one, r.three):
        accounts = ", ".join(f"{k} {v}" for k, v in sorted(run.per_account.items()))
        print(
            f"{run.credentials} credential(s)   {run.elapsed:6.2f} s  {run.requests} requests "
            f"({run.throughput:.1f}/s; {accounts}){'' if run.exact else '  NOT EXACT'}"
        )
    print(f"throughput ratio          {r.ratio:.2f}x  (goal >= {GOAL}x)")
    print(
        f"rate-limit errors         {r.one.limit_errors_sent + r.three.limit_errors_sent} sent "
        f"by the fake, {r.one.limit_errors_received + r.three.limit_errors_received} received "
        "by ghye  (goal: 0)"
    )
    print("OK" if r.met else "GOAL MISSED")
    if not r.met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
