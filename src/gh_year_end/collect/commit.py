"""The commit pipeline: a page's records → the unit's JSONL file (fsynced) → the checkpoint.

The order inside one commit is the product's promise: write the page's lines → flush + fsync the
data file → record the commit (offset, lines, the URL and cursor to continue from) in the
checkpoint, durably. It runs on a commit thread while the unit's next request is already on its
way. A commit that has begun always finishes, however often the run is asked to stop, so the
checkpoint and the file agree before the writer is closed. A unit's last commit finishes in a
tail task while its worker moves on to the next unit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gh_year_end.collect.context import RunContext
from gh_year_end.collect.loops import LoopGuard
from gh_year_end.collect.paging import Seen
from gh_year_end.collect.plan import Unit
from gh_year_end.errors import DataFileMismatch
from gh_year_end.github.answers import PageMeta
from gh_year_end.storage.checkpoint import Cursor, EndpointProgress, Probe
from gh_year_end.storage.jsonl import SOURCE_REST, JSONLWriter
from gh_year_end.storage.manifest import digest_file


@dataclass(frozen=True)
class Step:
    """One fetched page of a unit, filtered, and the checkpoint state it commits."""

    meta: PageMeta | None  # the answer's; None: a parent gone since it was listed (no records)
    page_no: int
    kept: list[dict[str, Any]]
    records_before: int
    resume_url: str | None
    cursor: Cursor
    complete: bool
    source: str = SOURCE_REST
    """The envelope's ``source``: which API the records came from."""
    probe: Probe | None = None
    """Where a refresh of the unit will start (None: unchanged by this page)."""


@dataclass
class Running:
    """One unit while it runs."""

    unit: Unit
    progress: EndpointProgress
    seen: Seen
    opening: asyncio.Future[JSONLWriter]
    """The in-progress mark and the writer (which cuts off an uncommitted tail), made on a
    thread while the first page loads; awaited before any other checkpoint write of the unit."""
    answered: bool = False
    """GitHub has answered the unit's first request with a page."""
    visited: LoopGuard = field(default_factory=LoopGuard)
    """The pages read in this pass over the list (one read twice: the list loops)."""


class Committer:
    """Opens units' writers and commits their pages (see the module docstring)."""

    def __init__(
        self,
        ctx: RunContext,
        *,
        on_unit_ended: Callable[[Unit], Awaitable[None]],
        on_fatal: Callable[[BaseException], None],
    ) -> None:
        self.ctx = ctx
        self.on_unit_ended = on_unit_ended
        self.tails: set[asyncio.Task[None]] = set()
        self.openings: set[asyncio.Future[JSONLWriter]] = set()
        self.phases_entered: set[str] = set()
        self.on_fatal = on_fatal

    # --- opening a unit ----------------------------------------------------------------------

    def open(self, unit: Unit, progress: EndpointProgress) -> asyncio.Future[JSONLWriter]:
        """Mark the unit in progress and open its writer, on a commit thread."""
        opening = asyncio.get_running_loop().run_in_executor(
            self.ctx.threads, self._enter, unit, progress
        )
        self.openings.add(opening)
        opening.add_done_callback(self.openings.discard)
        return opening

    def _enter(self, unit: Unit, progress: EndpointProgress) -> JSONLWriter:
        checkpoint, name = self.ctx.checkpoint, unit.endpoint.name
        if name not in self.phases_entered:
            # Endpoints run side by side; the current phase is the one most recently entered.
            self.phases_entered.add(name)
            checkpoint.set_current_phase(name)
        checkpoint.mark_repo_endpoint_in_progress(unit.repo, name)
        # Opening cuts off what a crash left past the commit, whether or not a page follows.
        return JSONLWriter(
            self.ctx.paths.raw_path(name, unit.repo),
            repo=unit.repo,
            committed_offset=progress.offset,
            committed_lines=progress.lines,
        )

    # --- committing pages --------------------------------------------------------------------

    async def begin(self, state: Running, step: Step) -> asyncio.Future[int]:
        """Hand the page to a commit thread: write its lines, fsync, commit the checkpoint."""
        unit = state.unit
        # The in-progress mark goes first: it must never land on top of this page's commit.
        writer = await state.opening
        request_id = step.meta.request_id if step.meta is not None else None
        checkpoint = self.ctx.checkpoint

        def commit() -> int:
            for record in step.kept:
                writer.write(
                    source=step.source,
                    endpoint=unit.endpoint.name,
                    data=record,
                    repo=unit.repo,
                    page=step.page_no,
                    request_id=request_id,
                )
            offset, lines = writer.flush()
            checkpoint.update_progress(
                unit.repo,
                unit.endpoint.name,
                step.page_no,
                len(step.kept),
                next_url=step.resume_url,
                offset=offset,
                lines=lines,
                cursor=step.cursor,
                complete=step.complete,
                probe=step.probe,
            )
            return offset

        return asyncio.get_running_loop().run_in_executor(self.ctx.threads, commit)

    async def commit(self, state: Running, step: Step) -> int:
        """Commit one page and wait for it; returns the unit's records so far."""
        await self._finish(await self.begin(state, step), step)
        records = step.records_before + len(step.kept)
        self.ctx.events.page_committed(
            state.unit.repo, state.unit.endpoint.name, step.page_no, len(step.kept), records
        )
        return records

    async def _finish(self, future: asyncio.Future[int], step: Step) -> None:
        """Wait for a commit that has begun — it always finishes, even when we are stopped."""
        cancelled = False
        while not future.done():
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:
                # Stopping: a commit that has begun finishes (however often we are asked to
                # stop), so the checkpoint and the file agree before the writer is closed.
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        future.result()
        self.ctx.tally.pages += 1
        self.ctx.tally.records += len(step.kept)
        budget = self.ctx.api.rate_state  # every credential's REST budget, added up
        if budget is not None:
            self.ctx.events.rate(budget.remaining, budget.limit, budget.reset)

    async def last(self, state: Running, step: Step) -> None:
        """Begin the unit's last commit and let a tail end the unit: the worker moves on."""
        future = await self.begin(state, step)
        tail = asyncio.ensure_future(self._tail(state, future, step))
        self.tails.add(tail)
        tail.add_done_callback(self.tails.discard)

    async def _tail(self, state: Running, future: asyncio.Future[int], step: Step) -> None:
        unit, ctx = state.unit, self.ctx
        name = unit.endpoint.name
        size = 0
        try:
            try:
                await self._finish(future, step)
            except DataFileMismatch as exc:
                await self.fail(unit, str(exc), retryable=False, unavailable=False)
            else:
                size = future.result()
                records = step.records_before + len(step.kept)
                ctx.events.page_committed(unit.repo, name, step.page_no, len(step.kept), records)
                ctx.events.unit_finished(unit.repo, name, "complete", None)
            finally:
                close_writer(state)
            await self.on_unit_ended(unit)
            if size > 0 and not ctx.stop.event.is_set():
                # The file is final: hashed for the manifest now, while requests are in flight,
                # once the units waiting on this one are queued. (The scheduler awaits every
                # tail before it shuts the commit threads down.)
                ctx.threads.submit(self._digest, ctx.paths.raw_path(name, unit.repo), size)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 — recorded, then re-raised by the scheduler
            self.on_fatal(exc)

    def _digest(self, path: Path, size: int) -> None:
        """Hash a completed unit's file for the manifest (a thread; a miss is hashed later)."""
        digest = digest_file(path, size)
        if digest is not None:
            self.ctx.digests[path] = digest

    # --- ending a unit otherwise -------------------------------------------------------------

    async def complete(self, unit: Unit) -> None:
        """Mark a unit complete that had nothing left to fetch."""
        await self.ctx.in_thread(
            self.ctx.checkpoint.mark_repo_endpoint_complete, unit.repo, unit.endpoint.name
        )
        self.ctx.events.unit_finished(unit.repo, unit.endpoint.name, "complete", None)

    async def fail(
        self,
        unit: Unit,
        reason: str,
        *,
        retryable: bool,
        unavailable: bool,
        http_status: int | None = None,
        cut_tail: bool = False,
    ) -> None:
        """Record why a unit stopped (its committed progress is kept for a retry).

        ``cut_tail``: the unit was not opened in this run, so bytes a crashed run left past its
        commit are cut off here (an ended unit is not opened again by a later run either).
        """
        checkpoint = self.ctx.checkpoint
        path = self.ctx.paths.raw_path(unit.endpoint.name, unit.repo)

        def record() -> None:
            if cut_tail:
                progress = checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
                _cut_tail(path, progress)
            checkpoint.mark_repo_endpoint_failed(
                unit.repo,
                unit.endpoint.name,
                reason,
                retryable,
                unavailable=unavailable,
                http_status=http_status,
            )

        await self.ctx.in_thread(record)
        status = "unavailable" if unavailable else "failed"
        self.ctx.events.unit_finished(unit.repo, unit.endpoint.name, status, reason)


def _cut_tail(path: Path, progress: EndpointProgress) -> None:
    """Cut bytes past the unit's commit, if any (a damaged file is left for the user)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size > progress.offset:
        with contextlib.suppress(DataFileMismatch):
            JSONLWriter(
                path, committed_offset=progress.offset, committed_lines=progress.lines
            ).close()


async def opened(state: Running) -> None:
    """Wait for the unit's opening before failing it; its DataFileMismatch is that failure."""
    with contextlib.suppress(DataFileMismatch):
        await state.opening


def close_writer(state: Running) -> None:
    """Close the unit's writer — now, or as soon as its opening (still on a thread) ends."""

    def close(opening: asyncio.Future[JSONLWriter]) -> None:
        if not opening.cancelled() and opening.exception() is None:
            writer = opening.result()
            writer.discard()  # a page that never reached its commit is not written
            writer.close()

    if state.opening.done():
        close(state.opening)
    else:
        state.opening.add_done_callback(close)
