"""A refresh: every complete unit brought to what a fresh collect would give now, for the same
window, with as few counted requests as GitHub allows (``ghye collect --refresh``; ``ghye
resume`` continues one that was stopped).

Refreshes are numbered (the checkpoint's ``refresh`` phase holds the number). Refresh *n* covers
every complete unit whose ``refresh_generation`` is below *n*; each unit's refresh is one
commit (:mod:`.refresh_unit`), so a refresh stopped at any instant — a kill -9 included — goes
on with the units not yet done, and ends as an uninterrupted one does. Units that are not
complete when it starts (failed, pending, or new repositories) are collected first, as any
collect does; they are then refreshed like the rest (a unit just collected answers ``304``).

Order: the units no other depends on the refresh of run first, ``max_concurrency`` at a time;
then the dependants (reviews) of the parents refreshed, whose changed pull requests they read
again. A unit whose refresh fails for a reason that may pass (a timeout, a 5xx after its
retries) is left for the next ``ghye resume``; one GitHub now refuses (the repository gone, or
hidden from the credential) keeps what was collected, is counted as refused, and is done for
this refresh.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from gh_year_end.collect.batch import BatchRunner
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.events import RefreshTally
from gh_year_end.collect.plan import Unit
from gh_year_end.collect.refresh_unit import UnitRefreshed, UnitRefresher
from gh_year_end.endpoints import Transport
from gh_year_end.errors import (
    DataFileMismatch,
    GitHubError,
    PermanentError,
    is_unavailability,
)
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus, Refreshed
from gh_year_end.storage.checkpoint.state import REFRESH_PHASE
from gh_year_end.storage.paths import PathManager
from gh_year_end.storage.rewrite import finish_switch, sweep_strays

PHASE: Final = REFRESH_PHASE


def generation_in_progress(checkpoint: CheckpointManager) -> int | None:
    """The number of the refresh under way (None: no refresh is under way)."""
    return checkpoint.refresh_under_way()


def begin(checkpoint: CheckpointManager, paths: PathManager) -> int:
    """The refresh to run: the one under way, else a new one (numbered after the last). The
    manifest goes: the data is about to change (the end of the refresh writes it again)."""
    number = generation_in_progress(checkpoint)
    if number is None:
        number = (checkpoint.refresh_generation() or 0) + 1
        checkpoint.restart_phase(PHASE, generation=number)
    # Gone while a refresh is under way (a stopped one included), whatever an earlier run left.
    paths.manifest_path.unlink(missing_ok=True)
    return number


def finish_switches(checkpoint: CheckpointManager, paths: PathManager) -> int:
    """Rename every refreshed file a commit vouches for over its unit's file (a refresh killed
    between its commit and the rename), then remove the refreshed files none vouches for.
    Runs under the lock before any unit is opened; returns how many switches it finished."""
    finished = 0
    for repo, endpoint, state in checkpoint.units():
        if state.switch is None:
            continue
        try:
            finish_switch(paths.raw_path(endpoint, repo), state.switch, state.offset)
        except DataFileMismatch as exc:
            # Neither file is what the commit names (a power cut lost the rename's folder
            # entry): that unit fails, the run goes on; `ghye reset` collects it again.
            checkpoint.mark_repo_endpoint_failed(repo, endpoint, str(exc), False)
        checkpoint.switch_done(repo, endpoint)
        finished += 1
    sweep_strays((paths.target_dir / e for e in checkpoint.planned_endpoints()), keep=set())
    return finished


class RefreshRunner:
    """Runs one refresh over the planned units (see the module docstring)."""

    def __init__(self, ctx: RunContext, generation: int) -> None:
        self.ctx = ctx
        self.tally = RefreshTally(generation)
        self.refresher = UnitRefresher(ctx)

    def due(self, units: list[Unit]) -> list[Unit]:
        """The complete units this refresh has not brought up to date yet."""
        checkpoint, number = self.ctx.checkpoint, self.tally.generation
        due: list[Unit] = []
        for unit in units:
            state = checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
            if state.status is CheckpointStatus.COMPLETE and state.refresh_generation < number:
                due.append(unit)
        return due

    async def run(self, units: list[Unit]) -> RefreshTally:
        """Refresh the due units; the phase is marked complete when none is left."""
        ctx = self.ctx
        due = self.due(units)
        records = sum(state.records_collected for _, _, state in ctx.checkpoint.units())
        ctx.events.message(
            f"refresh {self.tally.generation}: {len(due):,} units to bring up to date"
        )
        ctx.events.plan(len(due), 0, records)  # the progress display counts the refresh now
        concurrency = ctx.config.rate_limit.max_concurrency
        ctx.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="refresh")
        try:
            batch = [u for u in due if u.endpoint.transport is Transport.GRAPHQL_BATCH]
            parents = [
                u
                for u in due
                if u.endpoint.depends_on is None
                and u.endpoint.transport is not Transport.GRAPHQL_BATCH
            ]
            await self._each(parents, concurrency)
            if batch and not ctx.stop.event.is_set():
                # After the commits: sizes are read again where commits changed.
                await BatchRunner(ctx).refresh(batch, self.tally.generation)
            if not ctx.stop.event.is_set():
                children = [
                    u for u in due if u.endpoint.depends_on is not None and self._parent_current(u)
                ]
                await self._each(children, concurrency)
        finally:
            ctx.threads.shutdown(wait=True)
            ctx.executor = None
        if not ctx.stop.event.is_set() and self.current(units):
            await asyncio.to_thread(ctx.checkpoint.mark_phase_complete, PHASE)
        return self.tally

    def current(self, units: list[Unit]) -> bool:
        """Whether every planned unit is current for this refresh, or has ended otherwise
        (failed for good, or unavailable). A unit still to be collected — pending, in
        progress, or failed for a reason that may pass — keeps the refresh open: once ``ghye
        resume`` collects it, it is refreshed under the same number (reviews then read the
        pull requests this refresh found changed)."""
        checkpoint, number = self.ctx.checkpoint, self.tally.generation
        for unit in units:
            state = checkpoint.get_endpoint(unit.repo, unit.endpoint.name)
            if state.status is CheckpointStatus.COMPLETE:
                if state.refresh_generation < number:
                    return False
            elif not (
                state.status is CheckpointStatus.FAILED
                and (state.unavailable or state.retryable is False)
            ):
                return False
        return True

    def _parent_current(self, unit: Unit) -> bool:
        parent = unit.endpoint.depends_on
        assert parent is not None
        state = self.ctx.checkpoint.get_endpoint(unit.repo, parent)
        if state.refresh_generation == self.tally.generation:
            return True
        self.tally.left.append(f"{unit.repo} {unit.endpoint.name}: {parent} not refreshed yet")
        return False

    async def _each(self, units: list[Unit], concurrency: int) -> None:
        queue: asyncio.Queue[Unit] = asyncio.Queue()
        for unit in units:
            queue.put_nowait(unit)

        async def worker() -> None:
            while not queue.empty() and not self.ctx.stop.event.is_set():
                await self._one(queue.get_nowait())

        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(units)))]
        stopper = asyncio.create_task(self.ctx.stop.event.wait())
        try:
            running: set[asyncio.Task[object]] = set(workers)
            while running and not self.ctx.stop.event.is_set():
                done, running = await asyncio.wait(
                    {*running, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                running.discard(stopper)
                for task in done:
                    failure = None if task is stopper else task.exception()
                    if failure is not None:
                        raise failure
        finally:
            stopper.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, stopper, return_exceptions=True)

    async def _one(self, unit: Unit) -> None:
        ctx, tally = self.ctx, self.tally
        name = f"{unit.repo} {unit.endpoint.name}"
        ctx.events.unit_started(unit.repo, unit.endpoint.name, 1, 0)
        try:
            done = await self.refresher.refresh(unit, tally.generation)
        except PermanentError as exc:
            if not is_unavailability(exc):
                await self._failed(unit, str(exc), http_status=exc.status)
                return
            # Refused now (gone, hidden, blocked): what was collected stays, not brought up to
            # date (its refreshed_at stays); done for this refresh.
            tally.refused.append(f"{name}: {exc}")
            await ctx.in_thread(
                ctx.checkpoint.commit_refresh,
                unit.repo,
                unit.endpoint.name,
                Refreshed(tally.generation, None, None),
            )
            ctx.events.unit_finished(unit.repo, unit.endpoint.name, "unavailable", str(exc))
            return
        except DataFileMismatch as exc:
            await self._failed(unit, str(exc), http_status=None)
            return
        except GitHubError as exc:
            if not exc.retryable:
                raise
            tally.left.append(f"{name}: {exc}")
            ctx.events.unit_finished(unit.repo, unit.endpoint.name, "failed", str(exc))
            return
        self._count(done)
        ctx.events.unit_finished(unit.repo, unit.endpoint.name, "complete", None)

    async def _failed(self, unit: Unit, reason: str, *, http_status: int | None) -> None:
        """A refresh that fails for good (a list that loops, a next link to another host, a
        file changed behind ghye's back): the unit is recorded failed, its data kept as
        collected — the run says so (exit 3), the refresh can end, and ``ghye resume
        --retry-failed`` (or ``ghye reset`` for a damaged file) takes it up again."""
        ctx = self.ctx
        self.tally.failed.append(f"{unit.repo} {unit.endpoint.name}: {reason}")
        await ctx.in_thread(
            ctx.checkpoint.mark_repo_endpoint_failed,
            unit.repo,
            unit.endpoint.name,
            reason,
            False,
            http_status=http_status,
        )
        ctx.events.unit_finished(unit.repo, unit.endpoint.name, "failed", reason)

    def _count(self, done: UnitRefreshed) -> None:
        tally = self.tally
        tally.units += 1
        tally.requests += done.requests
        if done.not_modified:
            tally.not_modified += 1
        elif done.requests == 0:
            tally.untouched += 1
        elif done.outcome == "changed":
            tally.changed += 1
            tally.replaced += done.replaced
            tally.added += done.added
        else:
            tally.unchanged += 1


__all__ = [
    "PHASE",
    "RefreshRunner",
    "begin",
    "finish_switches",
    "generation_in_progress",
]
