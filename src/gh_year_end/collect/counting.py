"""Counting a dataset before (or right after) discovery, and keeping what it will cost where
``ghye status`` reads it: estimate.json beside the checkpoint.

:func:`count_repos` sends the count queries (:mod:`gh_year_end.github.counts`), a point for
21 repositories each, all at once under the client's limits (estimate.json itself is
:mod:`.estimate_file`). :func:`estimate_after_discovery` is a collect's part: when no estimate
matches the dataset and its plan, it counts and writes one — within :data:`DEADLINE_SECONDS`,
and a failure only logs: a collect never fails nor waits long for its estimate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeVar

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.estimate import Budget, make_estimate
from gh_year_end.collect.estimate_file import matches, read_estimate, spent_pages, write_estimate
from gh_year_end.endpoints import Window
from gh_year_end.errors import GhyeError, GitHubError, Interrupted
from gh_year_end.github.client import RestClient
from gh_year_end.github.counts import CountQuery, RepoCounts, Unseen, batches
from gh_year_end.github.ratelimit import CORE, GRAPHQL
from gh_year_end.signals import StopSignal
from gh_year_end.storage.paths import is_safe_repo_name

logger = logging.getLogger(__name__)

#: Longest a collect spends on its estimate (a GraphQL budget spent would otherwise hold the
#: run until its reset).
DEADLINE_SECONDS: Final = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class Counted:
    """What the count queries found: per repository its counts, or why it has none."""

    found: dict[str, RepoCounts | Unseen]
    queries: int
    points: int
    """Points GitHub charged (``rateLimit.cost``; a query that did not say counts 1)."""
    problem: str | None = None
    """Why some query failed as a whole (then its repositories are ERROR)."""


async def count_repos(client: RestClient, repos: Iterable[str], window: Window) -> Counted:
    """The counts of ``repos`` in ``window``, in their order.

    A query that fails (GitHub without GraphQL, retries spent) leaves its repositories
    uncounted (:class:`Unseen` ERROR) and says why in ``problem``; AuthenticationFailed is
    raised (no credential works)."""
    names = list(repos)
    safe = [name for name in names if is_safe_repo_name(name)]
    queries = [CountQuery(group, window) for group in batches(safe)]
    answers = await asyncio.gather(*(_ask(client, query) for query in queries))
    found: dict[str, RepoCounts | Unseen] = {}
    problems: list[str] = []
    points = 0
    for part, charged, problem in answers:
        found.update(part)
        points += charged
        if problem is not None:
            problems.append(problem)
    for name in names:
        if name not in found:
            found[name] = Unseen("ERROR", "not a GitHub repository name: not counted")
    ordered = {name: found[name] for name in names}
    return Counted(ordered, len(queries), points, problems[0] if problems else None)


async def _ask(
    client: RestClient, query: CountQuery
) -> tuple[dict[str, RepoCounts | Unseen], int, str | None]:
    try:
        answer = await client.graphql(query.document, query.variables)
    except GitHubError as exc:
        why = f"GitHub's GraphQL API did not answer the count query ({exc})"
        return {repo: Unseen("ERROR", why) for repo in query.repos}, 0, why
    found, charged = query.read(answer)
    problem = None
    if answer.data is None:
        problem = "; ".join(e.describe() for e in answer.errors[:2]) or "no data"
    return found, charged.points if charged is not None else 1, problem


def budgets_of(client: RestClient) -> dict[str, tuple[Budget, ...]]:
    """Each credential's last known budget per resource (what responses and /rate_limit said)."""
    found: dict[str, tuple[Budget, ...]] = {}
    for resource in (CORE, GRAPHQL):
        known = tuple(
            Budget(label, state.limit, state.remaining, state.reset)
            for label, state in client.pool.budgets(resource)
            if state is not None
        )
        if known:
            found[resource] = known
    return found


# --- a collect's part ---------------------------------------------------------------------------


async def estimate_after_discovery(ctx: RunContext, client: RestClient) -> None:
    """Write estimate.json for the run's dataset when none matches it (see the module
    docstring). Never raises but for a stop; a failure logs one line."""
    config, paths, checkpoint = ctx.config, ctx.paths, ctx.checkpoint
    repos = checkpoint.repo_names()
    if not repos or matches(read_estimate(paths.estimate_path), config.digest, repos):
        return
    try:
        counted = await _within(count_repos(client, repos, config.window), ctx.stop)
        if counted is None:
            return  # stopped, or out of time: no estimate this run
        if counted.problem is not None and not any(
            isinstance(v, RepoCounts) for v in counted.found.values()
        ):
            logger.warning(
                "no estimate for `ghye status` (%s): its ETA counts units", counted.problem
            )
            return
        estimate = make_estimate(
            config_digest=config.digest,
            endpoints=config.enabled_endpoints,
            reviews_via=config.collection.reviews_via,
            found=counted.found,
            written_at=datetime.now(UTC),
            written_by="ghye collect",
            budgets=budgets_of(client),
            spent=spent_pages(checkpoint, config.collection.reviews_via),
        )
        write_estimate(paths.estimate_path, estimate)
    except Interrupted:
        raise
    except GhyeError as exc:
        logger.warning("no estimate for `ghye status` (%s): its ETA counts units", exc)


async def _within(work: Awaitable[T], stop: StopSignal) -> T | None:
    """``work``'s result — None (and ``work`` cancelled) when the stop event or the deadline
    comes first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.event.wait())
    try:
        done, _ = await asyncio.wait(
            {task, stopper}, timeout=DEADLINE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if not stop.event.is_set():
        logger.warning(
            "no estimate for `ghye status`: counting took longer than %.0f s; its ETA counts units",
            DEADLINE_SECONDS,
        )
    return None
