"""The reviews units' GraphQL batches, several repositories to a query.

A query costs one point for up to a hundred pull requests whether they are of one repository or
of twenty: an organization of many small repositories would spend a point per repository if
each reviews unit sent its own batch. :class:`ReviewQueries` lets the reviews units running at
the same time share queries: each :meth:`~ReviewQueries.ask` waits until a hundred pull requests
are waiting, or :data:`GATHER_SECONDS` passed since the first of them asked, then one query
carries them all and each unit gets its own part of the answer, as if it had asked alone.
Each unit still commits its own batch, with its own cursor: what is exactly-once for one unit
stays so.

A query GitHub gives up on (502/504, or a 200 whose error says it timed out) is split: the
batches apart, then a lone batch halved. Any other failure of the query is each asking unit's
failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Final

from gh_year_end.errors import QueryTooHeavy
from gh_year_end.github.client import RestClient
from gh_year_end.github.graphql import GraphQLAnswer
from gh_year_end.github.review_query import MAX_BATCH, BatchAnswer, ReviewBatch, ReviewQuery

#: Longest a batch waits for others to join its query (reviews units start as their
#: repositories' pulls complete, one after the other).
GATHER_SECONDS: Final = 0.1


class ReviewQueries:
    """See the module docstring. One per run; used from the run's event loop only."""

    def __init__(self, api: RestClient, *, gather_seconds: float = GATHER_SECONDS) -> None:
        self._api = api
        self._gather = gather_seconds
        self._active = 0  # reviews units walking (they will ask again, or end)
        self._pending: list[tuple[ReviewBatch, asyncio.Future[BatchAnswer]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    @contextlib.contextmanager
    def walking(self) -> Iterator[None]:
        """A reviews unit walks its batches inside this (so queries wait for its ask)."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._maybe_send()

    async def ask(self, batch: ReviewBatch) -> BatchAnswer:
        """``batch``'s answer, from a query it may share with other units' batches."""
        answer: asyncio.Future[BatchAnswer] = asyncio.get_running_loop().create_future()
        self._pending.append((batch, answer))
        self._maybe_send()
        if not answer.done() and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._gather, self._send_all)
        try:
            return await answer
        except asyncio.CancelledError:
            # The unit stops: its batch is left out of any query not yet sent.
            self._pending = [(b, f) for b, f in self._pending if f is not answer]
            raise

    def _maybe_send(self) -> None:
        """Send when a query is full, or when no unit walking is left to ask."""
        waiting = sum(len(b.items) for b, _ in self._pending)
        if self._pending and (waiting >= MAX_BATCH or self._active == 0):
            self._send_all()

    def _send_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            group: list[tuple[ReviewBatch, asyncio.Future[BatchAnswer]]] = []
            size = 0
            while self._pending and (
                not group or size + len(self._pending[0][0].items) <= MAX_BATCH
            ):
                batch, answer = self._pending.pop(0)
                group.append((batch, answer))
                size += len(batch.items)
            task = asyncio.ensure_future(self._send(group))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def aclose(self) -> None:
        """Wait for the queries still on their way (their askers are gone: a stop)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def _send(self, group: list[tuple[ReviewBatch, asyncio.Future[BatchAnswer]]]) -> None:
        """One query for ``group``; each batch's answer (or its failure) to its asker."""
        try:
            results = await self._answers([b for b, _ in group])
        except asyncio.CancelledError:
            for _, answer in group:
                answer.cancel()  # the run stops: its askers are being cancelled too
            raise
        for (_, answer), result in zip(group, results, strict=True):
            if answer.done():
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)

    async def _answers(self, batches: list[ReviewBatch]) -> list[BatchAnswer | BaseException]:
        """The answer (or the failure) of each batch: one query, split while GitHub gives up on
        it (a half that fails fails its own batches only), a lone batch halved."""
        query = ReviewQuery(tuple(batches))
        lone = batches[0].halved() if len(batches) == 1 else None
        shrinkable = len(batches) > 1 or lone is not None
        try:
            answer = await self._api.graphql(query.document, query.variables, shrinkable=shrinkable)
            if shrinkable and timed_out(answer):
                raise QueryTooHeavy("GitHub's GraphQL API timed out on the query")
        except QueryTooHeavy:
            if len(batches) > 1:
                half = len(batches) // 2
                return [*await self._answers(batches[:half]), *await self._answers(batches[half:])]
            assert lone is not None  # one pull request alone is not shrinkable: never raised
            return await self._answers([lone])
        except Exception as exc:  # noqa: BLE001 — each asker raises it
            return [exc] * len(batches)
        return [BatchAnswer(b, a) for b, a in zip(batches, query.split(answer), strict=True)]


def timed_out(answer: GraphQLAnswer) -> bool:
    """GitHub's other answer to a query too heavy: a 200 without data whose error says it may
    be the result of a timeout."""
    return answer.data is None and any(
        not e.path and "timeout" in e.message.lower() for e in answer.errors
    )
