"""Reviews units share GraphQL queries: batches asked together go out as one query of at most a
hundred pull requests, each unit gets its own part, and a query GitHub gives up on is split."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gh_year_end.collect.review_queries import ReviewQueries
from gh_year_end.errors import QueryTooHeavy, TransientError
from gh_year_end.github.answers import PageMeta
from gh_year_end.github.graphql import GraphQLAnswer
from gh_year_end.github.review_query import BatchAnswer, ReviewBatch

META = PageMeta(200, "https://api.github.com/graphql", None, None)


class FakeApi:
    """Answers every repository alias of a query with the pull requests it asked for; refuses
    queries of more than ``heavy`` pull requests (502 → QueryTooHeavy), or fails them all."""

    def __init__(self, *, heavy: int | None = None, fail: bool = False) -> None:
        self.heavy, self.fail = heavy, fail
        self.sizes: list[int] = []

    async def graphql(
        self, document: str, variables: dict[str, Any], *, shrinkable: bool = False
    ) -> GraphQLAnswer:
        await asyncio.sleep(0)
        size = document.count("pullRequest(number:")
        self.sizes.append(size)
        if self.fail:
            raise TransientError("GitHub answered 500 — gave up")
        if self.heavy is not None and size > self.heavy and shrinkable:
            raise QueryTooHeavy("GitHub gave up on the query (502)")
        data: dict[str, Any] = {}
        for key, name in variables.items():
            if key.startswith("n"):
                alias = f"r{key[1:]}"
                data[alias] = {"name": name}
        return GraphQLAnswer(data, (), META)


def _batch(repo: str, count: int) -> ReviewBatch:
    return ReviewBatch("acme", repo, tuple((n, None) for n in range(1, count + 1)))


async def _ask_all(queries: ReviewQueries, batches: list[ReviewBatch]) -> list[BatchAnswer]:
    async def one(batch: ReviewBatch) -> BatchAnswer:
        with queries.walking():
            return await queries.ask(batch)

    return list(await asyncio.gather(*(one(b) for b in batches)))


def test_batches_asked_together_share_one_query_and_each_gets_its_own_part() -> None:
    api = FakeApi()
    queries = ReviewQueries(api, gather_seconds=0.01)  # type: ignore[arg-type]
    batches = [_batch(f"r{i}", 3) for i in range(20)]
    answers = asyncio.run(_ask_all(queries, batches))
    assert api.sizes == [60]
    for batch, answer in zip(batches, answers, strict=True):
        assert answer.batch == batch
        assert answer.answer.data == {"repository": {"name": batch.name}}


def test_a_query_holds_a_hundred_pull_requests_at_most() -> None:
    api = FakeApi()
    queries = ReviewQueries(api, gather_seconds=0.01)  # type: ignore[arg-type]
    asyncio.run(_ask_all(queries, [_batch(f"r{i}", 30) for i in range(7)]))
    assert sorted(api.sizes) == [30, 90, 90]
    assert all(size <= 100 for size in api.sizes)


def test_a_query_github_gives_up_on_is_split_then_a_lone_batch_halved() -> None:
    api = FakeApi(heavy=40)
    queries = ReviewQueries(api, gather_seconds=0.01)  # type: ignore[arg-type]
    answers = asyncio.run(_ask_all(queries, [_batch("a", 50), _batch("b", 20), _batch("c", 10)]))
    # Refused: the batches apart, then "a" alone refused and halved; "b" and "c" together.
    assert api.sizes == [80, 50, 25, 30]
    assert [len(a.batch.items) for a in answers] == [25, 20, 10]  # "a" learns what was asked


def test_a_failed_query_is_every_asking_units_failure() -> None:
    queries = ReviewQueries(FakeApi(fail=True), gather_seconds=0.01)  # type: ignore[arg-type]

    async def go() -> list[BaseException | BatchAnswer]:
        async def one(batch: ReviewBatch) -> BatchAnswer:
            with queries.walking():
                return await queries.ask(batch)

        return list(
            await asyncio.gather(*(one(_batch(r, 2)) for r in "abc"), return_exceptions=True)
        )

    results = asyncio.run(go())
    assert all(isinstance(r, TransientError) for r in results)


def test_a_unit_stopped_while_waiting_is_left_out_of_the_query() -> None:
    api = FakeApi()
    queries = ReviewQueries(api, gather_seconds=0.05)  # type: ignore[arg-type]

    async def go() -> None:
        async def one(batch: ReviewBatch) -> BatchAnswer:
            with queries.walking():
                return await queries.ask(batch)

        stopped = asyncio.ensure_future(one(_batch("gone", 7)))
        kept = asyncio.ensure_future(one(_batch("kept", 2)))
        await asyncio.sleep(0)
        stopped.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopped
        await kept
        await queries.aclose()

    asyncio.run(go())
    assert api.sizes == [2]


def test_a_half_that_fails_fails_only_its_own_batches() -> None:
    class HalfFails(FakeApi):
        async def graphql(
            self, document: str, variables: dict[str, Any], *, shrinkable: bool = False
        ) -> GraphQLAnswer:
            if "acme" in variables.values() and variables.get("n0") == "broken":
                self.sizes.append(document.count("pullRequest(number:"))
                raise TransientError("GitHub answered 500 — gave up")
            return await super().graphql(document, variables, shrinkable=shrinkable)

    api = HalfFails(heavy=5)
    queries = ReviewQueries(api, gather_seconds=0.01)  # type: ignore[arg-type]

    async def go() -> list[BaseException | BatchAnswer]:
        async def one(batch: ReviewBatch) -> BatchAnswer:
            with queries.walking():
                return await queries.ask(batch)

        batches = [_batch("fine", 3), _batch("broken", 3)]
        return list(await asyncio.gather(*(one(b) for b in batches), return_exceptions=True))

    fine, broken = asyncio.run(go())
    assert isinstance(fine, BatchAnswer)  # answered: the other half's failure is not its own
    assert isinstance(broken, TransientError)
