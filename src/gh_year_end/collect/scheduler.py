"""Which unit runs when: ``max_concurrency`` workers over one priority queue — and reviews units
through GraphQL beside them (each mostly waits for a query it shares with the others: see
:mod:`.review_queries`).

- Plan order, except that a unit whose parent just completed (reviews, the longest) goes first:
  a run should not end waiting on one long unit. A unit that depends on another waits for it.
- One unit of a repository not yet heard from asks first; the repository's other units wait for
  its first answer. When that answer speaks for the whole repository (404 gone, 451 blocked),
  its other units are recorded the same way without a request: a repository that is gone costs
  one request, not six.
- A fatal error (401, disk full, a bug) ends the run; the other units stop with it. Commits
  already begun finish before the commit threads stop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from gh_year_end.collect.commit import Committer
from gh_year_end.collect.context import RunContext
from gh_year_end.collect.plan import Planned, Selection, Unit
from gh_year_end.collect.unit import Gone, UnitRunner

# Queue ranks: a unit whose parent just completed, a unit in plan order, the end of the work.
_PARENT_DONE, _PLAN_ORDER, _LAST = 0, 1, 2
#: Reviews units through GraphQL running at once beside the workers (each mostly waits for a
#: shared query; a hundred pull requests fill one).
LIGHT_UNITS: Final = 100


class Scheduler:
    """Runs the selected units of one collect (see the module docstring)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.concurrency = ctx.config.rate_limit.max_concurrency
        self.queue: asyncio.PriorityQueue[tuple[int, int, Planned | None]] = asyncio.PriorityQueue()
        self.arrivals = itertools.count()
        self.outstanding = 0
        self.left: Counter[str] = Counter()  # units left per endpoint (its phase ends at 0)
        self.waiting: dict[tuple[str, str], list[Planned]] = {}  # (repo, parent) → dependants
        self.fatal: BaseException | None = None
        self.answered: set[str] = set()
        self.probing: dict[str, Unit] = {}  # repo → the unit asking first
        self.parked: dict[str, list[Planned]] = {}
        self.gone: dict[str, Gone] = {}
        self.lights: set[asyncio.Task[None]] = set()
        self.light_slots = asyncio.Semaphore(LIGHT_UNITS)
        self.committer = Committer(ctx, on_unit_ended=self._unit_ended, on_fatal=self._fatal)
        self.runner = UnitRunner(
            ctx, self.committer, on_answer=self._repo_answered, on_gone=self._repo_gone
        )

    async def run(self, selection: Selection, units: list[Unit]) -> None:
        """Run ``selection.todo``; ``units`` is the whole plan (for the phases)."""
        ctx = self.ctx
        self.answered = set(selection.answered)
        todo = selection.todo
        ctx.tally.skipped += selection.skipped
        for planned in todo:
            self.left[planned.unit.endpoint.name] += 1
        if todo:
            # The data is about to change: a manifest from an earlier run no longer describes it.
            ctx.paths.manifest_path.unlink(missing_ok=True)
        for name in {u.endpoint.name for u in units}:
            if self.left[name] == 0 and not ctx.checkpoint.is_phase_complete(name):
                ctx.checkpoint.mark_phase_complete(name)
        ctx.events.plan(len(units), selection.units_done, selection.records_done)
        pending = {(p.unit.repo, p.unit.endpoint.name) for p in todo}
        for planned in todo:
            self.outstanding += 1
            parent = planned.unit.endpoint.depends_on
            if parent is not None and (planned.unit.repo, parent) in pending:
                self.waiting.setdefault((planned.unit.repo, parent), []).append(planned)
            else:
                self._put(planned, _PLAN_ORDER)
        if self.outstanding == 0:
            return
        ctx.executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="commit")
        try:
            await self._work()
        finally:
            ctx.executor = None
        if self.fatal is not None:
            raise self.fatal

    async def _work(self) -> None:
        ctx = self.ctx
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        stopper = asyncio.create_task(ctx.stop.event.wait())
        try:
            await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
            while (
                not ctx.stop.event.is_set()
                and self.fatal is None
                and not all(w.done() for w in workers)
            ):
                await asyncio.wait([stopper, *workers], return_when=asyncio.FIRST_COMPLETED)
            if self.lights and self.fatal is None and not ctx.stop.event.is_set():
                # The workers ended when nothing was outstanding: light units have ended too.
                await asyncio.gather(*self.lights, return_exceptions=True)
        finally:
            try:
                stopper.cancel()
                for task in (*workers, *self.lights):
                    task.cancel()
                await asyncio.gather(*workers, *self.lights, return_exceptions=True)
                # Units whose last commit is still running end (or fail) before we go on, and
                # the writers of units stopped while opening get closed.
                await asyncio.gather(
                    *self.committer.tails, *self.committer.openings, return_exceptions=True
                )
            finally:
                # Commits already begun finish before the checkpoint is saved and the lock
                # released — even if this very wait is cancelled.
                ctx.threads.shutdown(wait=True)

    async def _worker(self) -> None:
        while True:
            _, _, item = await self.queue.get()
            if item is None or self.ctx.stop.event.is_set():
                return  # stopping: no unit starts
            if not await self._run_one(item):
                return

    async def _light(self, item: Planned) -> None:
        """A reviews unit through GraphQL, beside the workers: it mostly waits for a query it
        shares with the other reviews units running (the limiter still bounds the requests in
        flight), so it holds no worker, and more of them share each query."""
        async with self.light_slots:
            if not self.ctx.stop.event.is_set():
                await self._run_one(item)

    async def _run_one(self, item: Planned) -> bool:
        """Run one unit; False when the run must end (a fatal error)."""
        unit, repo = item.unit, item.unit.repo
        if repo not in self.answered and repo not in self.gone:
            if repo in self.probing:
                self.parked.setdefault(repo, []).append(item)
                return True
            self.probing[repo] = unit
        try:
            gone = self.gone.get(repo)
            if gone is not None:
                await self.committer.fail(
                    unit,
                    gone.reason,
                    retryable=False,
                    unavailable=True,
                    http_status=gone.status,
                    cut_tail=True,
                )
                await self._unit_ended(unit)
            elif not await self.runner.run(unit, item.progress):
                await self._unit_ended(unit)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 — recorded, then re-raised by run()
            self._fatal(exc)
            return False
        finally:
            # However the unit ended (usually its first page already did this), the repo's
            # waiting units may go now: none may wait for ever.
            self._repo_answered(repo)
        return True

    def _repo_answered(self, repo: str) -> None:
        """The repo's first unit heard back (a page, or an error): its other units may go."""
        if repo in self.answered:
            return
        self.answered.add(repo)
        self.probing.pop(repo, None)
        for item in self.parked.pop(repo, []):
            self._put(item, _PARENT_DONE)

    def _repo_gone(self, repo: str, gone: Gone, unit: Unit) -> None:
        """A unit's first answer was 404/451: the repo is gone if that unit asked first for it.

        Only the probe speaks for the repository: a resumed unit whose saved next link now
        answers 404, or a unit of a repository others already read, concerns itself alone.
        """
        if self.probing.get(repo) == unit:
            self.gone[repo] = gone

    def _fatal(self, exc: BaseException) -> None:
        """A fatal error (401, disk full, a bug) ends the run; the others stop with it."""
        if self.fatal is None:
            self.fatal = exc
        self.ctx.stop.event.set()

    def _put(self, item: Planned | None, rank: int) -> None:
        if item is not None and self._is_light(item):
            task = asyncio.ensure_future(self._light(item))
            self.lights.add(task)
            task.add_done_callback(self.lights.discard)
            return
        self.queue.put_nowait((rank, next(self.arrivals), item))

    def _is_light(self, item: Planned) -> bool:
        """Whether the unit runs beside the workers: reviews through GraphQL (see _light)."""
        return self.ctx.review_queries is not None and item.unit.endpoint.name == "reviews"

    async def _unit_ended(self, unit: Unit) -> None:
        # The bookkeeping first, synchronously: the units waiting on this one are queued
        # before anything here can wait (or be cancelled by a stop).
        name = unit.endpoint.name
        self.left[name] -= 1
        for item in self.waiting.pop((unit.repo, name), []):
            self._put(item, _PARENT_DONE)
        self.outstanding -= 1
        if self.outstanding == 0:
            for _ in range(self.concurrency):
                self._put(None, _LAST)
        if self.left[name] <= 0:
            await self.ctx.in_thread(self.ctx.checkpoint.mark_phase_complete, name)
