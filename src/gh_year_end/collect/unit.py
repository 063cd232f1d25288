"""One unit, start to end: open it, walk its list with its pager, classify how it ended.

Opening reads what the unit's file already holds (the ids committed — a list that shifted between
two pages must not put a record in the file twice) and, for a unit that depends on another
(reviews on pulls), that its parent completed and which parents it lists. The walk is the one
pipelined loop: the next page is asked for while the current one is written and committed, and
only ever written after that commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from gh_year_end.collect.commit import Committer, Running, Step, close_writer, opened
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.pagers import pager_for
from gh_year_end.collect.paging import Pager, Request, Seen
from gh_year_end.collect.plan import Unit
from gh_year_end.collect.review_pager import ReviewBatchPager
from gh_year_end.errors import (
    Blocked,
    DataFileMismatch,
    GitHubError,
    PermanentError,
    Unavailable,
    UnsafeName,
    is_unavailability,
)
from gh_year_end.github.client import Page
from gh_year_end.github.review_query import BatchAnswer, ReviewBatch
from gh_year_end.storage.checkpoint import CheckpointStatus, EndpointProgress
from gh_year_end.storage.jsonl import committed_size, mismatch

T = TypeVar("T")


@dataclass(frozen=True)
class Opened:
    """Where a unit starts: its committed progress, the record ids its file holds, and (for a
    per-parent unit) its parents."""

    progress: EndpointProgress
    seen: Seen
    parents: list[int] | None = None


@dataclass(frozen=True)
class Refused:
    """A unit that cannot run: its parent did not complete, or its file does not match."""

    reason: str
    retryable: bool
    unavailable: bool
    http_status: int | None = None
    damaged: bool = False
    """Its file does not hold what the checkpoint committed: left as it is for the user."""


@dataclass(frozen=True)
class Gone:
    """A unit's first answer spoke for its whole repository (404 gone, 451 blocked)."""

    reason: str
    status: int | None


class UnitRunner:
    """Runs units (see the module docstring); reports a repository-wide answer to ``on_gone``."""

    def __init__(
        self,
        ctx: RunContext,
        committer: Committer,
        *,
        on_answer: Callable[[str], None],
        on_gone: Callable[[str, Gone, Unit], None],
    ) -> None:
        self.ctx = ctx
        self.committer = committer
        self.on_answer = on_answer
        self.on_gone = on_gone

    async def run(self, unit: Unit, planned: EndpointProgress) -> bool:
        """Run one unit; True when its last commit went to a tail that will end it."""
        ctx, ep = self.ctx, unit.endpoint
        try:
            ctx.paths.raw_path(ep.name, unit.repo)
        except UnsafeName as exc:  # a plan entry from before names were checked
            await self.committer.fail(unit, str(exc), retryable=False, unavailable=False)
            return False
        start: Opened | Refused
        if planned.offset > 0 or ep.depends_on is not None:
            try:
                start = await ctx.in_thread(self._read, unit)
            except DataFileMismatch as exc:
                start = Refused(str(exc), retryable=False, unavailable=False, damaged=True)
            if isinstance(start, Refused):
                await self.committer.fail(
                    unit,
                    start.reason,
                    retryable=start.retryable,
                    unavailable=start.unavailable,
                    http_status=start.http_status,
                    cut_tail=not start.damaged,
                )
                return False
        else:
            start = Opened(planned, Seen())  # nothing committed yet: nothing to read
        if ctx.stop.event.is_set():
            raise asyncio.CancelledError  # stopped meanwhile: the unit does not start
        opening = self.committer.open(unit, start.progress)
        state = Running(unit, start.progress, start.seen, opening)
        pager = pager_for(
            unit.repo,
            ep,
            ctx.window,
            start.progress,
            start.seen,
            parents=start.parents,
            via_graphql=ctx.api.api_url if ctx.review_queries is not None else None,
        )
        handed_off = False
        try:
            ctx.events.unit_started(
                unit.repo, ep.name, start.progress.last_page_written + 1,
                start.progress.records_collected,
            )  # fmt: skip
            queries = ctx.review_queries if isinstance(pager, ReviewBatchPager) else None
            if queries is not None:
                with queries.walking():
                    handed_off = await self._walk(state, pager)
            else:
                handed_off = await self._walk(state, pager)
        except DataFileMismatch as exc:
            await opened(state)
            await self.committer.fail(unit, str(exc), retryable=False, unavailable=False)
        except PermanentError as exc:
            await opened(state)
            if not state.answered and _repo_level(exc, unit):
                self.on_gone(unit.repo, _gone(exc, unit), unit)
            await self.committer.fail(
                unit,
                str(exc),
                retryable=False,
                unavailable=is_unavailability(exc),
                http_status=exc.status,
            )
        except GitHubError as exc:
            if not exc.retryable:
                raise
            await opened(state)
            await self.committer.fail(
                unit, str(exc), retryable=True, unavailable=False, http_status=exc.status
            )
        finally:
            if not handed_off:
                close_writer(state)
        return handed_off

    async def _walk(self, state: Running, pager: Pager) -> bool:
        """The pipelined loop: fetch the next page while the current one commits."""
        request = pager.first()
        if request is None:
            await state.opening
            await self.committer.complete(state.unit)
            return False
        page = await self._fetch(request)
        self.on_answer(state.unit.repo)
        page_no = state.progress.last_page_written
        records = state.progress.records_collected
        while True:
            if isinstance(page, BatchAnswer):
                # (Loop detection is the pager's: a cursor that does not move.)
                state.answered = True
            elif page is not None:
                state.answered = True
                state.visited.arrived(page.meta.url)
            page_no += 1
            advance = pager.advance(page)
            if advance.new_pass:
                state.visited.clear()  # another list, or the same one from its front again
            step = Step(
                page.meta if page is not None else None,
                page_no,
                advance.kept,
                records,
                advance.resume_url,
                advance.cursor,
                complete=advance.next is None,
                source=advance.source,
                probe=advance.probe,
            )
            if advance.next is None:
                await self.committer.last(state, step)
                return True
            ahead = self._ahead(functools.partial(self._fetch, advance.next))
            async with _dropping(ahead):
                records = await self.committer.commit(state, step)
                page = await ahead

    async def _fetch(self, request: Request) -> Page | BatchAnswer | None:
        """One page; None for a parent gone since it was listed (it has nothing to collect)."""
        if request.graphql is not None:
            return await self._query(request.graphql)
        try:
            return await self.ctx.api.get_page(
                request.url, request.params, empty_on_409=request.empty_on_409, key=request.key
            )
        except Unavailable:
            if request.gone_is_empty:
                return None
            raise

    async def _query(self, batch: ReviewBatch) -> BatchAnswer:
        """One GraphQL batch, in a query it may share with other units' (see
        :mod:`.review_queries`)."""
        queries = self.ctx.review_queries
        if queries is None:
            raise RuntimeError("reviews through GraphQL without the run's ReviewQueries")
        return await queries.ask(batch)

    def _ahead(self, fetch: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Future[T]:
        """Start the next request now; when the run is stopping it never starts (cancelled)."""
        if self.ctx.stop.event.is_set():
            never: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            never.cancel()
            return never
        return asyncio.ensure_future(fetch())

    def _read(self, unit: Unit) -> Opened | Refused:
        """A unit's progress, the ids its file holds, its parent's state (on a thread)."""
        ctx, repo, ep = self.ctx, unit.repo, unit.endpoint
        progress = ctx.checkpoint.get_endpoint(repo, ep.name)
        parents: list[int] | None = None
        if ep.depends_on is not None:
            parent = ctx.checkpoint.get_endpoint(repo, ep.depends_on)
            if parent.status is not CheckpointStatus.COMPLETE:
                why = parent.error or parent.status.value
                return Refused(
                    f"skipped: {ep.depends_on} did not complete ({why})",
                    retryable=bool(parent.retryable),
                    unavailable=parent.unavailable,
                    http_status=parent.http_status,
                )
            parents = pull_numbers(ctx.paths.raw_path(ep.depends_on, repo), parent.offset)
        seen = committed_ids(ctx.paths.raw_path(ep.name, repo), progress.offset, ep.record_id)
        return Opened(progress, seen, parents)


@contextlib.asynccontextmanager
async def _dropping(ahead: asyncio.Future[Any]) -> AsyncIterator[None]:
    """When the body fails (or is cancelled), the request started ahead is dropped with it."""
    try:
        yield
    except BaseException:
        ahead.cancel()
        # Its own failure, if it already had one, goes with it unreported.
        ahead.add_done_callback(_swallow)
        raise


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _repo_level(exc: PermanentError, unit: Unit) -> bool:
    """Whether a unit's first answer speaks for its whole repository: 451 (blocked), or 404 on
    a repository's own list (gone or hidden). A 410 (issues disabled) or a 403 (a permission
    one endpoint needs) concerns that endpoint only."""
    if isinstance(exc, Blocked):
        return True
    return isinstance(exc, Unavailable) and exc.status == 404 and unit.endpoint.depends_on is None


def _gone(exc: PermanentError, unit: Unit) -> Gone:
    what = (
        "blocked for legal reasons"
        if exc.status == 451
        else "the repository is gone, or the token cannot see it"
    )
    return Gone(
        f"not requested: {unit.repo} answered {exc.status} for {unit.endpoint.name} — {what}",
        exc.status,
    )


# --- what a unit's file already holds -----------------------------------------------------------


def committed_records(path: Path, committed_offset: int) -> Iterator[dict[str, Any]]:
    """The records of a unit's file up to its committed offset, one line at a time (a pulls
    file of hundreds of megabytes is never held in memory).

    DataFileMismatch (naming the line and the `ghye reset` that mends it) when the file is
    shorter than the commit, or a committed line is not a record in ghye's envelope — a file
    edited behind ghye's back fails its unit, never the run.
    """
    if committed_offset <= 0:
        return
    committed_size(path, committed_offset)
    remaining = committed_offset
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if remaining <= 0:
                break
            remaining -= len(line)
            try:
                data = orjson.loads(line)["data"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                data = None
            if not isinstance(data, dict):
                raise mismatch(path, f"line {number} is not a record in ghye's envelope")
            yield data


def committed_ids(path: Path, committed_offset: int, key: str) -> Seen:
    """The record ids already committed to a unit's file, with their versions' update times."""
    versions: dict[Any, str | None] = {}
    for data in committed_records(path, committed_offset):
        record_id = data.get(key)
        if record_id is not None:
            stamp = data.get("updated_at")
            versions[record_id] = stamp if isinstance(stamp, str) else None
    return Seen(versions)


def pull_numbers(path: Path, committed_offset: int) -> list[int]:
    """The pull request numbers in a repo's committed pulls file, in file order, once each."""
    numbers: dict[int, None] = {}
    for data in committed_records(path, committed_offset):
        number = data.get("number")
        if isinstance(number, int):
            numbers.setdefault(number)
    return list(numbers)
