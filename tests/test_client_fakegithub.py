"""RestClient against the fake GitHub over real loopback HTTP.

Server and client share one fake clock that only the client's sleeps move, so rate-limit windows
pass without real waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from gh_year_end.config import RateLimitConfig
from gh_year_end.errors import AuthenticationFailed, ForeignNextLink
from gh_year_end.github import Page, RestClient
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings

T = TypeVar("T")
TOKEN = "fake-token"


class SharedClock:
    """Time for both sides: the server reads it from its thread, the client's sleeps move it."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(seconds, 0.0)
        # A long wait lets requests still in flight on the real loopback finish first.
        await asyncio.sleep(0.05 if seconds >= 1.0 else 0.0)


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


def start_fake(clock: SharedClock, **settings: Any) -> FakeGitHub:
    base: dict[str, Any] = {"token": TOKEN, "repos": 3, "pulls": 25, "issues": 5}
    base.update(settings)
    return FakeGitHub(FakeSettings(**base), clock=clock).start()


@pytest.fixture
def fake_factory(clock: SharedClock) -> Iterator[Any]:
    started: list[FakeGitHub] = []

    def make(**settings: Any) -> FakeGitHub:
        fake = start_fake(clock, **settings)
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


def client_for(
    fake: FakeGitHub, clock: SharedClock, *, token: str = TOKEN, **rate: Any
) -> RestClient:
    values: dict[str, Any] = {"max_concurrency": 4, "reset_margin_seconds": 0.1}
    values.update(rate)
    return RestClient(
        api_url=fake.base_url,
        token=token,
        rate=RateLimitConfig(**values),
        sleep=clock.sleep,
        clock=clock,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def all_pages(client: RestClient, path: str, params: dict[str, str | int]) -> list[Page]:
    pages = [await client.get_page(path, params)]
    while pages[-1].next_url is not None:
        next_url = pages[-1].next_url
        assert next_url is not None
        pages.append(await client.get_page(next_url))
    return pages


def test_pages_follow_link_through_repositories_id_under_the_prefix(
    fake_factory: Any, clock: SharedClock
) -> None:
    fake = fake_factory(prefix="/api/v3")

    async def main() -> tuple[list[Page], RestClient]:
        async with client_for(fake, clock) as client:
            repos = await client.get_page("/orgs/acme/repos", {"per_page": 100})
            name = repos.records[0]["full_name"]
            return await all_pages(
                client, f"/repos/{name}/pulls", {"state": "all", "per_page": 10}
            ), client

    pages, client = run(main())
    assert len(pages) == 3
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == 25
    assert len(set(ids)) == 25
    for page in pages[:-1]:
        assert page.next_url is not None
        assert page.next_url.startswith(f"{fake.base_url}/repositories/")
    assert pages[0].meta.url.startswith(f"{fake.origin}/api/v3/repos/")
    assert pages[0].meta.request_id
    stats = fake.stats()
    assert stats["bad_auth"] == 0
    assert list(stats["hosts"]) == [f"127.0.0.1:{fake.port}"]
    assert client.stats.requests == 4


def test_wrong_token_is_authentication_failed(fake_factory: Any, clock: SharedClock) -> None:
    fake = fake_factory()

    async def main() -> None:
        async with client_for(fake, clock, token="ghp_wrong") as client:
            await client.get_page("/orgs/acme/repos")

    with pytest.raises(AuthenticationFailed, match=r"^GitHub rejected the token \(401 Bad cred"):
        run(main())
    assert fake.stats()["bad_auth"] == 1


def test_primary_window_is_waited_out_without_a_single_rate_limit_error(
    fake_factory: Any, clock: SharedClock
) -> None:
    fake = fake_factory(rate_limit=20, rate_window=1.0, repos=1, pulls=60)
    start = clock.now

    async def main() -> RestClient:
        async with client_for(fake, clock, max_concurrency=4) as client:
            name = (await client.get_page("/orgs/acme/repos")).records[0]["full_name"]
            path = f"/repos/{name}/pulls"
            await asyncio.gather(
                *(
                    client.get_page(path, {"state": "all", "per_page": 1, "page": n})
                    for n in range(1, 60)
                )
            )
            return client

    client = run(main())
    assert fake.stats()["rate_limited"] == 0
    assert client.stats.rate_limit_hits == 0
    assert client.stats.requests == 60
    assert clock.now - start >= 2.0  # three windows of 20
    assert client.stats.max_in_flight <= 4


def test_faults_are_retried(fake_factory: Any, clock: SharedClock) -> None:
    faults = {2: "500", 3: "truncate", 5: "badjson", 7: "reset", 9: "502", 10: "503"}
    fake = fake_factory(faults=faults, repos=1, pulls=30)

    async def main() -> tuple[list[Page], RestClient]:
        async with client_for(fake, clock, max_retries=3) as client:
            name = (await client.get_page("/orgs/acme/repos")).records[0]["full_name"]
            return await all_pages(
                client, f"/repos/{name}/pulls", {"state": "all", "per_page": 5}
            ), client

    pages, client = run(main())
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert client.stats.retries == len(faults)
    assert sum(fake.stats()["faults"].values()) == len(faults)


def test_secondary_limit_pauses_and_recovers(fake_factory: Any, clock: SharedClock) -> None:
    # The fake admits one request at a time; the client sends two: one is refused, every request
    # pauses for the Retry-After, then both get through.
    fake = fake_factory(max_concurrent=1, secondary_retry_after=2, latency=0.01, repos=1)

    async def main() -> tuple[list[Page], RestClient]:
        async with client_for(fake, clock, max_concurrency=2) as client:
            name = (await client.get_page("/orgs/acme/repos")).records[0]["full_name"]
            pages = await asyncio.gather(
                *(
                    client.get_page(
                        f"/repos/{name}/pulls", {"state": "all", "per_page": 10, "page": n}
                    )
                    for n in (1, 2)
                )
            )
            return list(pages), client

    pages, client = run(main())
    assert all(page.records for page in pages)
    assert client.stats.secondary_hits == fake.stats()["secondary_limited"] == 1
    assert clock.slept == [pytest.approx(2.0)]


def test_foreign_next_link_from_the_server_is_not_followed(
    fake_factory: Any, clock: SharedClock
) -> None:
    fake = fake_factory(link_base_url="http://127.0.0.1:9/api/v3", repos=1, pulls=30)

    async def main() -> None:
        async with client_for(fake, clock) as client:
            name = (await client.get_page("/orgs/acme/repos")).records[0]["full_name"]
            await all_pages(client, f"/repos/{name}/pulls", {"state": "all", "per_page": 10})

    with pytest.raises(
        ForeignNextLink, match=r"points at http://127\.0\.0\.1:9, not http://127\.0\.0\.1:"
    ):
        run(main())
    assert list(fake.stats()["hosts"]) == [f"127.0.0.1:{fake.port}"]
