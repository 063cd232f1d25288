"""The endpoints read only through GraphQL, several repositories a query: repository health
(``repo_health``, one record per repository, 25 a query) and the sizes of the window's commits
(``commit_stats``, one record per commit, keyed by sha; a page of 100 commits of each of 100
repositories a query). They run after the other units of a
collect, each query's answer committed per unit as any page is: the records written and
fsynced, then the unit's commit (a history page with its cursor; health complete at once).

A query GitHub gives up on (502/504, or a 200 timeout) is split in two; a repository GitHub
says is gone (``NOT_FOUND``) or refused (``FORBIDDEN`` at the repository) makes its unit
unavailable; any other failure fails its units for ``ghye resume``. Without GraphQL (an old
GitHub Enterprise Server, a credential refused it) these units fail with one reason naming it.

A refresh reads health again (25 repositories a query, a record replaced only when it differs)
and the commit sizes of a repository whose commits changed in the same refresh (in full); the
others are current as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from gh_year_end.collect.batch_writes import BatchWrites, Stopped
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.discovery import read_repos, until_stopped
from gh_year_end.collect.health import (
    Incomplete,
    check_complete,
    health_record,
    stats_records,
    trees,
)
from gh_year_end.collect.paging import Seen
from gh_year_end.collect.plan import Unit
from gh_year_end.collect.review_probe import graphql_problem
from gh_year_end.collect.review_queries import timed_out
from gh_year_end.collect.unit import committed_ids
from gh_year_end.errors import GitHubError, QueryTooHeavy
from gh_year_end.github.graphql import GraphQLAnswer, GraphQLError
from gh_year_end.github.repo_query import (
    HEALTH_REPOS_PER_QUERY,
    HISTORY_REPOS_PER_QUERY,
    HealthQuery,
    HistoryQuery,
    Repo,
)
from gh_year_end.storage.checkpoint import CheckpointStatus, Cursor, EndpointProgress

HEALTH: Final = "repo_health"
STATS: Final = "commit_stats"


@dataclass
class _Walk:
    """A commit-sizes unit while it pages: its cursor, the shas its file holds, its pages."""

    unit: Unit
    after: str | None
    seen: Seen
    page: int
    records: list[dict[str, Any]]


class BatchRunner:
    """Collects (or refreshes) the units read only through GraphQL; see the module docstring."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.writes = BatchWrites(ctx)
        self._listing: dict[str, Mapping[str, Any]] | None = None
        self._problem: str | None = None
        self._asked = False

    # --- collect -------------------------------------------------------------------------------

    async def collect(self, units: Sequence[Unit]) -> None:
        """Collect ``units`` (pending, in progress, or failed for a reason that may pass)."""
        if not units or self.ctx.stop.event.is_set():
            return
        await self._with_threads(self._collect(units))

    async def _collect(self, units: Sequence[Unit]) -> None:
        if await self._unavailable(units):
            return
        for name in (HEALTH, STATS):
            mine = [u for u in units if u.endpoint.name == name]
            if not mine or self.ctx.stop.event.is_set():
                continue
            await self.ctx.in_thread(self.ctx.checkpoint.set_current_phase, name)
            if name == HEALTH:
                await self._health(mine, generation=None)
            else:
                await self._stats(mine, generation=None)
            if all(self._ended(u) for u in mine):
                await self.ctx.in_thread(self.ctx.checkpoint.mark_phase_complete, name)

    # --- refresh -------------------------------------------------------------------------------

    async def refresh(self, units: Sequence[Unit], generation: int) -> None:
        """Bring ``units`` (complete, not yet current for ``generation``) up to date."""
        if not units or self.ctx.stop.event.is_set():
            return
        await self._with_threads(self._refresh(units, generation))

    async def _refresh(self, units: Sequence[Unit], generation: int) -> None:
        if await self._unavailable(units):
            return
        health = [u for u in units if u.endpoint.name == HEALTH]
        await self._health(health, generation=generation)
        stats: list[Unit] = []
        for unit in units:
            if unit.endpoint.name != STATS:
                continue
            verdict = await self._stats_due(unit, generation)
            if verdict == "read":
                stats.append(unit)
            elif verdict == "current":
                await self.writes.current(unit, generation)
            elif self.ctx.refresh is not None:  # "wait": the refresh stays open for it
                self.ctx.refresh.left.append(
                    f"{unit.repo} {unit.endpoint.name}: waits for its commits to be current"
                )
        await self._stats(stats, generation=generation)

    async def _stats_due(self, unit: Unit, generation: int) -> str:
        """Whether a commit-sizes unit is read again ("read": its commits list holds a commit
        its file lacks, or commits are not collected), is current as it is ("current"), or
        waits for its commits to be current for this refresh ("wait")."""
        ctx = self.ctx
        if "commits" not in _planned(ctx):
            return "read"
        commits = ctx.checkpoint.get_endpoint(unit.repo, "commits")
        if commits.status is not CheckpointStatus.COMPLETE:
            return "wait" if not _ended(commits) else "current"
        if commits.refresh_generation < generation:
            return "wait"
        sizes = ctx.checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
        have = await ctx.in_thread(
            committed_ids, ctx.paths.raw_path(STATS, unit.repo), sizes.offset, "sha"
        )
        listed = await ctx.in_thread(
            committed_ids, ctx.paths.raw_path("commits", unit.repo), commits.offset, "sha"
        )
        return "read" if any(sha not in have for sha in listed.ids()) else "current"

    # --- health --------------------------------------------------------------------------------

    async def _health(self, units: Sequence[Unit], *, generation: int | None) -> None:
        folders = trees(self.ctx.config.collection.hygiene)
        if generation is None:
            # A unit whose file already holds its record (failed after, retried) is complete.
            held = [u for u in units if self._state(u).lines > 0]
            for unit in held:
                await self.ctx.in_thread(
                    self.ctx.checkpoint.mark_repo_endpoint_complete, unit.repo, unit.endpoint.name
                )
            kept = set(held)
            units = [u for u in units if u not in kept]
        for chunk in _chunks(units):
            if self.ctx.stop.event.is_set():
                return
            query = HealthQuery(tuple(_repo(u) for u in chunk), folders)
            answers = await self._answers(query, chunk)
            for unit, answer in zip(chunk, answers, strict=True):
                if isinstance(answer, BaseException):
                    await self.writes.fail(unit, answer)
                    continue
                if await self._repository_refused(unit, answer):
                    continue
                try:
                    record = health_record(
                        unit.repo,
                        answer,
                        self._listed().get(unit.repo),
                        self.ctx.config.collection.hygiene,
                    )
                except Incomplete as exc:
                    await self.writes.record_failure(unit, str(exc), retryable=True)
                    continue
                if generation is None:
                    await self.writes.commit(unit, [record], page=1, cursor=Cursor(), complete=True)
                else:
                    await self.writes.switch(unit, {unit.repo: record}, generation)

    # --- commit sizes --------------------------------------------------------------------------

    async def _stats(self, units: Sequence[Unit], *, generation: int | None) -> None:
        walks: list[_Walk] = []
        for unit in units:
            progress = self.ctx.checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
            if generation is None:
                path = self.ctx.paths.raw_path(unit.endpoint.name, unit.repo)
                seen = await self.ctx.in_thread(committed_ids, path, progress.offset, "sha")
                after = progress.cursor.history_after
                walks.append(_Walk(unit, after, seen, progress.pages_collected, []))
            else:
                walks.append(_Walk(unit, None, Seen(), 0, []))
        window = self.ctx.window
        while walks and not self.ctx.stop.event.is_set():
            chunk = walks[:HISTORY_REPOS_PER_QUERY]
            walks = walks[HISTORY_REPOS_PER_QUERY:]
            repos = tuple(_repo(w.unit, after=w.after) for w in chunk)
            query = HistoryQuery(repos, window.since_param, window.until_param)
            answers = await self._answers(query, [w.unit for w in chunk])
            for walk, answer in zip(chunk, answers, strict=True):
                going = await self._stats_page(walk, answer, generation)
                if going:
                    walks.append(walk)

    async def _stats_page(
        self, walk: _Walk, answer: GraphQLAnswer | BaseException, generation: int | None
    ) -> bool:
        """Commit (or gather, when refreshing) one history page; True when more pages follow."""
        unit = walk.unit
        if isinstance(answer, BaseException):
            await self.writes.fail(unit, answer)
            return False
        if await self._repository_refused(unit, answer):
            return False
        try:
            check_complete(answer)
            history = _history(answer)
            page = stats_records(history)
        except Incomplete as exc:
            await self.writes.record_failure(unit, str(exc), retryable=True)
            return False
        records = [
            r for r in page if unit.endpoint.keep(r, self.ctx.window) and r["sha"] not in walk.seen
        ]
        for record in records:
            walk.seen.add(record["sha"])
        info = history.get("pageInfo")
        after = info.get("endCursor") if isinstance(info, Mapping) else None
        more = bool(info.get("hasNextPage")) if isinstance(info, Mapping) else False
        more = more and isinstance(after, str)
        walk.page += 1
        if generation is not None:
            walk.records += records
            if not more:
                await self.writes.switch(unit, {r["sha"]: r for r in walk.records}, generation)
            walk.after = after
            return more
        cursor = Cursor(history_after=after if more else None)
        await self.writes.commit(unit, records, page=walk.page, cursor=cursor, complete=not more)
        walk.after = after
        return more

    # --- asking --------------------------------------------------------------------------------

    async def _answers(
        self, query: HealthQuery | HistoryQuery, units: Sequence[Unit]
    ) -> list[GraphQLAnswer | BaseException]:
        """Each repository's part of ``query``'s answer (or the failure), the query split in
        two while GitHub gives up on it."""
        api = self.ctx.api
        try:
            asking = api.graphql(query.document, query.variables, shrinkable=len(units) > 1)
            answer = await until_stopped(asking, self.ctx.stop)
            if answer is None:  # stopped (a limit's wait included): nothing of it is written
                return [Stopped("stopped")] * len(units)
            if len(units) > 1 and timed_out(answer):
                raise QueryTooHeavy("GitHub's GraphQL API timed out on the query")
        except QueryTooHeavy:
            half = len(units) // 2
            return [
                *await self._answers(_narrowed(query, 0, half), units[:half]),
                *await self._answers(_narrowed(query, half, len(units)), units[half:]),
            ]
        except GitHubError as exc:
            if not exc.retryable and exc.status == 401:
                raise
            return [exc] * len(units)
        return list(query.split(answer))

    async def _unavailable(self, units: Sequence[Unit]) -> bool:
        """Whether GraphQL cannot serve these units (then each fails naming why)."""
        if not self._asked:
            self._asked = True
            # The run's reviews already go through GraphQL: it answered the same check.
            if self.ctx.review_queries is None:
                self._problem = await graphql_problem(self.ctx.api)
        if self._problem is None:
            return False
        reason = f"read only through GitHub's GraphQL API, and {self._problem}"
        for unit in units:
            await self.writes.record_failure(unit, reason, retryable=False)
        return True

    async def _repository_refused(self, unit: Unit, answer: GraphQLAnswer) -> bool:
        """A repository GitHub says is gone or refused: its unit is unavailable (True); a query
        GitHub refused as a whole (a field this GitHub lacks, a scope the credential lacks):
        its units fail for good, naming why."""
        data = answer.data or {}
        if data.get("repository") is not None:
            return False
        whole = [e for e in answer.errors if not e.path]
        if answer.data is None and whole and not _passing(whole):
            why = "; ".join(e.describe() for e in whole[:2])
            await self.writes.record_failure(
                unit, f"GitHub refused the query: {why}", retryable=False
            )
            return True
        kinds = {e.type for e in answer.errors if tuple(e.path[:1]) == ("repository",)}
        if "NOT_FOUND" in kinds or "FORBIDDEN" in kinds:
            status = 404 if "NOT_FOUND" in kinds else 403
            why = "; ".join(e.describe() for e in answer.errors[:2])
            await self.writes.record_failure(
                unit, why, retryable=False, unavailable=True, status=status
            )
            return True
        why = "; ".join(e.describe() for e in answer.errors[:2]) or "no data in GitHub's answer"
        await self.writes.record_failure(unit, f"GitHub's GraphQL answer: {why}", retryable=True)
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _state(self, unit: Unit) -> EndpointProgress:
        return self.ctx.checkpoint.get_endpoint(unit.repo, unit.endpoint.name)

    def _ended(self, unit: Unit) -> bool:
        return _ended(self._state(unit))

    def _listed(self) -> dict[str, Mapping[str, Any]]:
        """The repositories' listing records (repos.jsonl), by full name (read once)."""
        if self._listing is None:
            self._listing = dict(read_repos(self.ctx.paths.repos_path))
        return self._listing

    async def _with_threads(self, work: Awaitable[None]) -> None:
        ctx = self.ctx
        if ctx.executor is not None:
            await work
            return
        concurrency = ctx.config.rate_limit.max_concurrency
        ctx.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch")
        try:
            await work
        finally:
            ctx.threads.shutdown(wait=True)
            ctx.executor = None


def _ended(state: EndpointProgress) -> bool:
    return state.status is CheckpointStatus.COMPLETE or (
        state.status is CheckpointStatus.FAILED and state.retryable is False
    )


def _passing(errors: Sequence[GraphQLError]) -> bool:
    """Whether GitHub's errors for a whole query say it may work when asked again."""
    return any(
        "timeout" in e.message.lower() or "something went wrong" in e.message.lower()
        for e in errors
    )


def _planned(ctx: RunContext) -> set[str]:
    return {e.name for e in ctx.config.enabled_endpoints}


def _repo(unit: Unit, *, after: str | None = None) -> Repo:
    owner, _, name = unit.repo.partition("/")
    return Repo(owner, name, after)


def _chunks(units: Sequence[Unit]) -> list[Sequence[Unit]]:
    size = HEALTH_REPOS_PER_QUERY
    return [units[i : i + size] for i in range(0, len(units), size)]


def _narrowed(
    query: HealthQuery | HistoryQuery, start: int, end: int
) -> HealthQuery | HistoryQuery:
    """The query for ``query``'s repositories ``start:end``."""
    if isinstance(query, HealthQuery):
        return HealthQuery(query.repos[start:end], query.trees)
    return HistoryQuery(query.repos[start:end], query.since, query.until)


def _history(answer: GraphQLAnswer) -> Mapping[str, Any]:
    repository = (answer.data or {}).get("repository") or {}
    branch = repository.get("defaultBranchRef") if isinstance(repository, Mapping) else None
    target = branch.get("target") if isinstance(branch, Mapping) else None
    history = target.get("history") if isinstance(target, Mapping) else None
    return history if isinstance(history, Mapping) else {}


__all__ = ["HEALTH", "STATS", "BatchRunner"]
